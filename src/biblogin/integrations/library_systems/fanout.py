"""Ask several library systems at once: one result per library, never all-or-nothing.

DESIGN.md convention 8, R-PORTAL-13: each library gets its own call, run concurrently, with a
per-library timeout (handed to the call, which passes it to its library system) and one overall
deadline for all of them. A library that fails, refuses or has not answered by the deadline gets
an error result; the others keep their values.

No library takes more than ``KEY_SHARE`` of a pool's threads: a hung library's calls hold their
threads past the fan-out's deadline (until their own timeout), and enough of them would leave
every other library's calls queued behind them. Its calls beyond the share get an error at once.

The executor is a parameter: the process's shared thread pool by default, ``InlineExecutor`` in
tests that want the calls one after the other in the test's own thread (and its database
transaction); the setting ``LIBRARY_FANOUT_INLINE`` makes that the default (tests only).
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import math
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.conf import settings
from django.db import close_old_connections

from biblogin.integrations.library_systems.protocol import (
    LibrarySystemTimeout,
    LibrarySystemUnavailable,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Threads shared by every fan-out of the process: enough for a profile's libraries of a few
# requests at once; a fan-out never waits past its deadline for a free one.
POOL_THREADS = 32
# One key's (library's) calls queued or running in one pool, at most: a quarter of the threads.
KEY_SHARE = POOL_THREADS // 4


@dataclass(frozen=True)
class FanoutResult(Generic[T]):
    """One library's outcome: its value, or the error it raised (never both)."""

    key: str
    value: T | None = None
    error: BaseException | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class InlineExecutor(concurrent.futures.Executor):
    """Run each call at once in the caller's thread (tests: one database transaction)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future: concurrent.futures.Future[object] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def shared_executor() -> concurrent.futures.Executor:
    """Return the process's thread pool for fan-outs (created on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=POOL_THREADS, thread_name_prefix="library-fanout"
            )
        return _pool


_running: weakref.WeakKeyDictionary[concurrent.futures.Executor, Counter[str]] = (
    weakref.WeakKeyDictionary()
)
_running_lock = threading.Lock()


def _share_taken(pool: concurrent.futures.Executor, key: str) -> bool:
    """Count one more call of ``key`` in ``pool``; False when its share is used up."""
    with _running_lock:
        running = _running.setdefault(pool, Counter())
        if running[key] >= KEY_SHARE:
            return False
        running[key] += 1
        return True


def _share_given_back(pool: concurrent.futures.Executor, key: str, _done: object) -> None:
    with _running_lock:
        running = _running.get(pool)
        if running is not None:
            running[key] -= 1


def _in_worker(call: Callable[[float], T], timeout: float, inline: bool) -> tuple[T, float]:
    started = time.monotonic()
    try:
        return call(timeout), time.monotonic() - started
    finally:
        if not inline:
            # A pool thread must not keep a database connection past its call.
            close_old_connections()


def fan_out(
    calls: Mapping[str, Callable[[float], T]],
    *,
    timeout: float,
    deadline: float,
    executor: concurrent.futures.Executor | None = None,
) -> dict[str, FanoutResult[T]]:
    """Run ``calls[key](timeout)`` for every key concurrently; return a result per key.

    ``timeout`` is each library's own limit, handed to its call; ``deadline`` (seconds from
    now) bounds the whole fan-out: a call still running then is reported as a timeout and its
    answer ignored. Exceptions, whatever they are, become that key's error.
    """
    if not calls:
        return {}
    deadline = deadline if math.isfinite(deadline) and deadline > 0 else 0.0
    timeout = min(timeout if math.isfinite(timeout) and timeout > 0 else 0.0, deadline)
    if executor is None and getattr(settings, "LIBRARY_FANOUT_INLINE", False):
        executor = InlineExecutor()
    pool = executor or shared_executor()
    inline = isinstance(pool, InlineExecutor)
    ends = time.monotonic() + deadline
    futures: dict[concurrent.futures.Future[tuple[T, float]], str] = {}
    results: dict[str, FanoutResult[T]] = {}
    for key, call in calls.items():
        if not inline and not _share_taken(pool, key):
            logger.warning("library fan-out: %s has %d calls in the pool already", key, KEY_SHARE)
            results[key] = FanoutResult(
                key=key, error=LibrarySystemUnavailable(f"{key}: too many calls still running")
            )
            continue
        # Inline, each call gets what is left of the deadline, not the whole of it.
        left = max(0.0, ends - time.monotonic())
        future = pool.submit(_in_worker, call, min(timeout, left), inline)
        if not inline:
            # Given back when the call ends, or is cancelled before it started.
            future.add_done_callback(functools.partial(_share_given_back, pool, key))
        futures[future] = key
    done, _pending = concurrent.futures.wait(futures, timeout=max(0.0, ends - time.monotonic()))
    for future, key in futures.items():
        if future not in done:
            future.cancel()
            logger.warning("library fan-out: %s missed the deadline of %.3f s", key, deadline)
            results[key] = FanoutResult(
                key=key,
                error=LibrarySystemTimeout(f"{key} did not answer within {deadline:.3f} s"),
                seconds=deadline,
            )
            continue
        error = future.exception()
        if error is not None:
            results[key] = FanoutResult(key=key, error=error)
            continue
        value, seconds = future.result()
        results[key] = FanoutResult(key=key, value=value, seconds=seconds)
    # In the order the calls were given, whatever order they finished in.
    return {key: results[key] for key in calls}

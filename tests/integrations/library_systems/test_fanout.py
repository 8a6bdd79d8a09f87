"""The fan-out asks every library at once and gives one result per library (DESIGN.md 8)."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import pytest

from biblogin.integrations.library_systems import fanout
from biblogin.integrations.library_systems.fanout import InlineExecutor, fan_out
from biblogin.integrations.library_systems.protocol import (
    BorrowerNotFound,
    LibrarySystemTimeout,
    LibrarySystemUnavailable,
)

# The shared pool's threads close their database connections after each call (fanout.py); a
# thread that served an earlier test's call has one, so these tests must allow database access.
pytestmark = pytest.mark.django_db


def _answers_after(seconds: float, value: str):  # type: ignore[no-untyped-def]
    def call(timeout: float) -> str:
        if seconds > timeout:
            time.sleep(timeout)
            raise LibrarySystemTimeout("too slow")
        time.sleep(seconds)
        return value

    return call


def test_calls_run_concurrently_so_ten_take_about_as_long_as_one_R_PORTAL_13() -> None:
    calls = {f"7{i:02d}100": _answers_after(0.2, f"lib {i}") for i in range(10)}
    # A pool of its own: the process's shared pool may still hold calls another test left
    # hanging (a slow library's held calls), which would queue these behind them.
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        started = time.monotonic()
        results = fan_out(calls, timeout=2.0, deadline=3.0, executor=pool)
        elapsed = time.monotonic() - started
    assert [r.value for r in results.values()] == [f"lib {i}" for i in range(10)]
    assert elapsed < 0.2 * 3, elapsed  # not 10 x 0.2 s


def test_one_failing_library_does_not_take_the_others_with_it_R_PORTAL_13() -> None:
    def down(timeout: float) -> str:
        raise LibrarySystemUnavailable("down")

    def unknown(timeout: float) -> str:
        raise BorrowerNotFound("unknown")

    results = fan_out(
        {"710100": _answers_after(0, "kbh"), "715700": down, "775100": unknown},
        timeout=1.0,
        deadline=1.0,
    )
    assert results["710100"].ok and results["710100"].value == "kbh"
    assert isinstance(results["715700"].error, LibrarySystemUnavailable)
    assert isinstance(results["775100"].error, BorrowerNotFound)
    assert list(results) == ["710100", "715700", "775100"]


def test_the_per_library_timeout_is_handed_to_each_call() -> None:
    seen: list[float] = []

    def call(timeout: float) -> str:
        seen.append(timeout)
        return "ok"

    fan_out({"a": call, "b": call}, timeout=0.7, deadline=5.0)
    assert seen == [0.7, 0.7]
    seen.clear()
    # A deadline shorter than the timeout caps it.
    fan_out({"a": call}, timeout=5.0, deadline=0.3)
    assert seen and seen[0] <= 0.3


def test_a_call_past_the_overall_deadline_is_reported_as_a_timeout_at_the_deadline() -> None:
    release = threading.Event()

    def ignores_its_timeout(timeout: float) -> str:
        release.wait(5)
        return "late"

    started = time.monotonic()
    results = fan_out(
        {"slow": ignores_its_timeout, "fast": _answers_after(0, "fast")},
        timeout=5.0,
        deadline=0.3,
    )
    elapsed = time.monotonic() - started
    release.set()
    assert 0.25 < elapsed < 1.0, elapsed
    assert isinstance(results["slow"].error, LibrarySystemTimeout)
    assert results["fast"].value == "fast"


def test_the_inline_executor_runs_each_call_in_the_callers_thread() -> None:
    threads: list[int] = []

    def call(timeout: float) -> int:
        threads.append(threading.get_ident())
        return len(threads)

    results = fan_out({"a": call, "b": call}, timeout=1, deadline=1, executor=InlineExecutor())
    assert threads == [threading.get_ident()] * 2
    assert [r.value for r in results.values()] == [1, 2]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0, 0.0])
def test_nonsense_limits_give_errors_not_hangs(bad: float) -> None:
    results = fan_out({"a": _answers_after(0.05, "x")}, timeout=bad, deadline=bad)
    assert not results["a"].ok


def test_no_calls_no_results() -> None:
    assert fan_out({}, timeout=1, deadline=1) == {}


def test_a_hung_library_takes_at_most_its_share_of_the_pool_so_the_others_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """R-BC-6, R-PORTAL-13: a hung library's calls outlive each page's deadline and keep their
    threads; beyond its share of the pool its calls get an error at once, not a thread, so the
    other libraries' calls are not queued behind them."""
    monkeypatch.setattr(fanout, "KEY_SHARE", 2)
    release = threading.Event()

    def hung(timeout: float) -> str:
        release.wait(30)
        return "late"

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        try:
            pages = [fan_out({"715700": hung}, timeout=30, deadline=0.05, executor=pool)]
            pages += [fan_out({"715700": hung}, timeout=30, deadline=0.05, executor=pool)]
            # Its share is taken: the next pages' calls to it are refused without a thread.
            for _ in range(3):
                pages.append(fan_out({"715700": hung}, timeout=30, deadline=5, executor=pool))
            errors = [type(page["715700"].error) for page in pages]
            assert errors == [LibrarySystemTimeout] * 2 + [LibrarySystemUnavailable] * 3
            # Another library's call finds a free thread (without the share: all 4 hung).
            other = fan_out(
                {"710100": _answers_after(0, "kbh")}, timeout=5, deadline=5, executor=pool
            )
            assert other["710100"].value == "kbh"
            release.set()
            # The ended calls give their share back.
            ends = time.monotonic() + 10
            again = fan_out(
                {"715700": _answers_after(0, "ok")}, timeout=5, deadline=5, executor=pool
            )
            while not again["715700"].ok and time.monotonic() < ends:
                time.sleep(0.02)
                again = fan_out(
                    {"715700": _answers_after(0, "ok")}, timeout=5, deadline=5, executor=pool
                )
            assert again["715700"].value == "ok"
        finally:
            release.set()

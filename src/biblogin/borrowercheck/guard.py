"""R-BC-6: one library's slow or failing system never slows the others.

Every call to a library system passes ``library_call``, which holds two per-agency guards:

* a bulkhead: at most ``BORROWER_CHECK_BULKHEAD_SIZE`` calls to one agency at once. A call beyond
  that is refused at once, never queued, so a slow library ties up at most that many of the
  server's worker threads and the rest stay free for the other libraries;
* a circuit breaker: after ``BORROWER_CHECK_BREAKER_FAILURES`` timeouts or failures in a row (each
  within ``BORROWER_CHECK_BREAKER_WINDOW_SECONDS`` of the last), the agency is answered "not
  answering" at once for ``BORROWER_CHECK_BREAKER_COOLDOWN_SECONDS``; then one call is let through
  as a probe (half-open): its answer closes the breaker, its failure opens it again.

The state lives in the cache alias ``library_guard``: Redis in the scaled set-up, so all workers
share one bound and one breaker per agency (a slot is a key with a TTL: a crashed worker's slot
frees itself); in the embedded set-up each process's memory (see config/settings.py for why).
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import BaseCache, caches

from biblogin.integrations.library_systems.protocol import (
    LibrarySystemAnswer,
    LibrarySystemError,
)

logger = logging.getLogger(__name__)

CACHE_ALIAS = "library_guard"
_PREFIX = "biblogin:libguard:"
# A slot outlives the longest call it can cover (the timeout) by this much; only a worker that
# died mid-call leaves one behind, and only for this long past the timeout.
SLOT_MARGIN_SECONDS = 5
# How long an open breaker is remembered with no call at all: then the agency starts afresh.
OPEN_MEMORY_SECONDS = 3600


class LibraryNotAnswering(LibrarySystemError):
    """Refused without asking the library system: its bulkhead is full or its breaker open."""

    def __init__(self, agency_id: str, reason: str) -> None:
        super().__init__(f"library system {agency_id} refused: {reason}")
        self.agency_id = agency_id
        self.reason = reason


@dataclass(frozen=True)
class _Ticket:
    agency_id: str
    slot_key: str
    slot_token: str
    probe: bool
    # The agency had failures counted when this call started: an answer must forget them.
    had_failures: bool


class LibraryGuard:
    """The bulkhead and circuit breaker of every agency, kept in one cache."""

    def __init__(
        self,
        *,
        cache: BaseCache,
        size: int,
        failures: int,
        window_seconds: float,
        cooldown_seconds: float,
        call_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cache = cache
        self.size = max(1, size)
        self.failures = max(1, failures)
        self.window = max(1, math.ceil(window_seconds))
        self.cooldown = max(0.0, cooldown_seconds)
        budget = call_seconds if math.isfinite(call_seconds) and call_seconds > 0 else 0.0
        self.slot_ttl = math.ceil(budget) + SLOT_MARGIN_SECONDS
        # Wall-clock time: the moment a breaker opened must mean the same in every process.
        self.clock = clock

    @staticmethod
    def _key(agency_id: str, part: str) -> str:
        return f"{_PREFIX}{agency_id}:{part}"

    def enter(self, agency_id: str) -> _Ticket:
        """Reserve a call to the agency's system, or raise ``LibraryNotAnswering`` at once."""
        open_key, fails_key = self._key(agency_id, "open"), self._key(agency_id, "fails")
        state = self.cache.get_many([open_key, fails_key])
        probe = False
        opened = state.get(open_key)
        if opened is not None:
            if self.clock() < float(opened) + self.cooldown:
                raise LibraryNotAnswering(agency_id, "circuit_open")
            # Half-open: exactly one call (the first to take the probe key) asks the library.
            if not self.cache.add(self._key(agency_id, "probe"), 1, self.slot_ttl):
                raise LibraryNotAnswering(agency_id, "circuit_open")
            probe = True
        token = secrets.token_hex(8)
        for slot in range(self.size):
            slot_key = self._key(agency_id, f"slot:{slot}")
            # Reserved before the call, atomically (SET NX on Redis): the bound holds whatever
            # the number of workers.
            if self.cache.add(slot_key, token, self.slot_ttl):
                return _Ticket(
                    agency_id=agency_id,
                    slot_key=slot_key,
                    slot_token=token,
                    probe=probe,
                    had_failures=bool(state.get(fails_key)),
                )
        if probe:
            self.cache.delete(self._key(agency_id, "probe"))
        raise LibraryNotAnswering(agency_id, "bulkhead_full")

    def _leave(self, ticket: _Ticket) -> None:
        # Only our own slot: had it expired and been taken, the taker keeps it.
        if self.cache.get(ticket.slot_key) == ticket.slot_token:
            self.cache.delete(ticket.slot_key)
        if ticket.probe:
            self.cache.delete(self._key(ticket.agency_id, "probe"))

    def answered(self, ticket: _Ticket) -> None:
        """The system answered (also "not found" or a refusal): it works, so close the breaker."""
        self._leave(ticket)
        if ticket.probe:
            self.cache.delete_many(
                [self._key(ticket.agency_id, "open"), self._key(ticket.agency_id, "fails")]
            )
            logger.info("library system answers again agency=%s breaker=closed", ticket.agency_id)
        elif ticket.had_failures:
            self.cache.delete(self._key(ticket.agency_id, "fails"))

    def failed(self, ticket: _Ticket) -> None:
        """The system timed out or failed: count it; open the breaker at the limit."""
        self._leave(ticket)
        agency_id = ticket.agency_id
        if ticket.probe:
            self._open(agency_id)
            return
        fails_key = self._key(agency_id, "fails")
        if self.cache.add(fails_key, 1, self.window):
            count = 1
        else:
            try:
                count = int(self.cache.incr(fails_key))
            except ValueError:  # expired meanwhile
                self.cache.add(fails_key, 1, self.window)
                count = 1
            # Some backends give an incremented key a default life: failures count only while
            # each comes within the window of the last.
            self.cache.touch(fails_key, self.window)
        if count >= self.failures:
            self._open(agency_id)

    def abandoned(self, ticket: _Ticket) -> None:
        """The call ended in an error of ours, not the library's: free its slot, judge nothing."""
        self._leave(ticket)

    def _open(self, agency_id: str) -> None:
        self.cache.set(self._key(agency_id, "open"), self.clock(), OPEN_MEMORY_SECONDS)
        self.cache.delete(self._key(agency_id, "fails"))
        logger.warning(
            "library system not answering agency=%s breaker=open seconds=%d",
            agency_id,
            self.cooldown,
        )


def _now() -> float:
    return time.time()


def library_guard(*, call_seconds: float) -> LibraryGuard:
    """The guard as this deployment configures it (settings, cache alias ``library_guard``)."""
    return LibraryGuard(
        cache=caches[CACHE_ALIAS],
        size=int(settings.BORROWER_CHECK_BULKHEAD_SIZE),
        failures=int(settings.BORROWER_CHECK_BREAKER_FAILURES),
        window_seconds=float(settings.BORROWER_CHECK_BREAKER_WINDOW_SECONDS),
        cooldown_seconds=float(settings.BORROWER_CHECK_BREAKER_COOLDOWN_SECONDS),
        call_seconds=call_seconds,
        clock=_now,
    )


@contextmanager
def library_call(agency_id: str, *, timeout: float) -> Iterator[None]:
    """Hold one of the agency's bulkhead slots for one call, under its breaker (R-BC-6).

    Raises ``LibraryNotAnswering`` at once, without calling, when the bulkhead is full or the
    breaker open; a timeout or failure of the call counts towards opening the breaker.
    """
    guard = library_guard(call_seconds=timeout)
    ticket = guard.enter(agency_id)
    try:
        yield
    except LibrarySystemError:
        # Timeout, unavailable: the system did not answer.
        guard.failed(ticket)
        raise
    except LibrarySystemAnswer:
        # BorrowerNotFound, RequestRefused: the system answered.
        guard.answered(ticket)
        raise
    except BaseException:
        guard.abandoned(ticket)
        raise
    guard.answered(ticket)

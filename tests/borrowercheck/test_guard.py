"""R-BC-6: the per-agency bulkhead and circuit breaker (biblogin.borrowercheck.guard).

The guard is driven with an explicit clock and plain cache instances, so nothing here waits for
real time except the one test that proves a dead worker's slot frees itself (a cache TTL).
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import BaseCache
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.locmem import LocMemCache
from hypothesis import given
from hypothesis import strategies as st

from biblogin.borrowercheck import guard as guard_module
from biblogin.borrowercheck.guard import LibraryGuard, LibraryNotAnswering, library_call
from biblogin.borrowercheck.services import BorrowerCheckStatus, borrower_check
from biblogin.integrations.library_systems.protocol import (
    BorrowerNotFound,
    LibrarySystemTimeout,
    LibrarySystemUnavailable,
)
from biblogin.integrations.library_systems.services import (
    simulated_borrower_create,
    simulated_system_configure,
)
from biblogin.integrations.library_systems.simulated import SimulatedLibrarySystem
from tests.borrowercheck.builders import PORTAL, agency_build

SLOW, HEALTHY = "710100", "715700"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> Iterator[BaseCache]:
    cache = LocMemCache(f"test-guard-{id(object())}", {})
    yield cache
    cache.clear()


def make_guard(cache: BaseCache, clock: Callable[[], float], **overrides: Any) -> LibraryGuard:
    options: dict[str, Any] = {
        "size": 2,
        "failures": 3,
        "window_seconds": 60,
        "cooldown_seconds": 30,
        "call_seconds": 3.0,
    }
    options.update(overrides)
    return LibraryGuard(cache=cache, clock=clock, **options)


def refusal(guard: LibraryGuard, agency_id: str = SLOW) -> str:
    with pytest.raises(LibraryNotAnswering) as refused:
        guard.enter(agency_id)
    return refused.value.reason


def fail_times(guard: LibraryGuard, times: int, agency_id: str = SLOW) -> None:
    for _ in range(times):
        guard.failed(guard.enter(agency_id))


# --- the bulkhead --------------------------------------------------------------------------------


def test_a_call_beyond_the_bulkhead_is_refused_at_once_and_a_freed_slot_is_reused(store, clock):
    """R-BC-6: at most ``size`` calls per agency at once; the next is refused, not queued."""
    guard = make_guard(store, clock, size=2)
    first, second = guard.enter(SLOW), guard.enter(SLOW)
    assert refusal(guard) == "bulkhead_full"
    # Another agency has its own bulkhead.
    guard.answered(guard.enter(HEALTHY))
    guard.answered(first)
    third = guard.enter(SLOW)
    assert refusal(guard) == "bulkhead_full"
    guard.answered(second)
    guard.answered(third)


def test_a_full_bulkhead_does_not_count_towards_the_breaker(store, clock):
    """R-BC-6: refusing a call is not the library failing; the breaker stays closed."""
    guard = make_guard(store, clock, size=1, failures=1)
    held = guard.enter(SLOW)
    for _ in range(5):
        assert refusal(guard) == "bulkhead_full"
    guard.answered(held)
    guard.answered(guard.enter(SLOW))


def test_a_dead_workers_slot_frees_itself_after_its_ttl(store, clock, monkeypatch):
    """R-BC-6: a worker that dies mid-call cannot leak its slot for ever (a key with a TTL)."""
    monkeypatch.setattr(guard_module, "SLOT_MARGIN_SECONDS", 0)
    guard = make_guard(store, clock, size=1, call_seconds=1.0)
    guard.enter(SLOW)  # never left: the worker "died"
    assert refusal(guard) == "bulkhead_full"
    time.sleep(1.2)  # the slot's TTL (the call's timeout, margin patched to 0)
    guard.answered(guard.enter(SLOW))


def test_twenty_parallel_calls_never_hold_more_than_the_bulkhead(store, clock):
    """R-BC-6: the bound holds whatever the concurrency (reserved atomically before the call)."""
    guard = make_guard(store, clock, size=4)
    lock = threading.Lock()
    inside, peak, refused = [0], [0], [0]
    barrier = threading.Barrier(20)
    release = threading.Event()

    def call() -> None:
        barrier.wait()
        try:
            ticket = guard.enter(SLOW)
        except LibraryNotAnswering:
            with lock:
                refused[0] += 1
            return
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        release.wait(5)
        with lock:
            inside[0] -= 1
        guard.answered(ticket)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while refused[0] < 16 and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    for thread in threads:
        thread.join(10)
    assert peak[0] == 4
    assert refused[0] == 16


# --- the circuit breaker -------------------------------------------------------------------------


def test_three_failures_in_a_row_open_the_breaker_for_the_cool_down(store, clock):
    """R-BC-6: after 3 timeouts the agency is answered 'not answering' at once for 30 s."""
    guard = make_guard(store, clock)
    fail_times(guard, 2)
    guard.answered(guard.enter(HEALTHY))  # another agency's answers do not reset this one
    fail_times(guard, 1)
    assert refusal(guard) == "circuit_open"
    clock.now += 29
    assert refusal(guard) == "circuit_open"
    # Only this agency: the others are asked as usual.
    guard.answered(guard.enter(HEALTHY))


def test_an_answer_between_failures_keeps_the_breaker_closed(store, clock):
    """R-BC-6: only failures in a row count; an answer (even 'not found') forgets them."""
    guard = make_guard(store, clock)
    fail_times(guard, 2)
    guard.answered(guard.enter(SLOW))
    fail_times(guard, 2)
    guard.answered(guard.enter(SLOW))
    guard.answered(guard.enter(SLOW))


def test_after_the_cool_down_one_probe_goes_through_and_its_answer_closes_the_breaker(store, clock):
    """R-BC-6: half-open lets exactly one call probe; an answer closes the breaker."""
    guard = make_guard(store, clock, size=4)
    fail_times(guard, 3)
    clock.now += 31
    probe = guard.enter(SLOW)
    assert probe.probe
    # While the probe is out, everyone else is still answered at once.
    assert refusal(guard) == "circuit_open"
    guard.answered(probe)
    first, second = guard.enter(SLOW), guard.enter(SLOW)
    assert not first.probe and not second.probe
    guard.answered(first)
    guard.answered(second)
    # Closed afresh: it takes three new failures to open it again.
    fail_times(guard, 2)
    guard.answered(guard.enter(SLOW))


def test_a_failed_probe_opens_the_breaker_for_another_cool_down(store, clock):
    """R-BC-6: half-open, a probe that fails again means another full cool-down."""
    guard = make_guard(store, clock)
    fail_times(guard, 3)
    clock.now += 31
    guard.failed(guard.enter(SLOW))
    assert refusal(guard) == "circuit_open"
    clock.now += 29
    assert refusal(guard) == "circuit_open"
    clock.now += 2
    guard.answered(guard.enter(SLOW))


def test_a_probe_refused_by_a_full_bulkhead_leaves_the_probe_to_the_next_call(store, clock):
    """R-BC-6: a probe that never asked must not keep the breaker half-open and locked."""
    guard = make_guard(store, clock, size=1)
    fail_times(guard, 3)
    clock.now += 31
    # A call from before the breaker opened still holds the only slot.
    store.add("biblogin:libguard:710100:slot:0", "someone", 60)
    assert refusal(guard) == "bulkhead_full"
    store.delete("biblogin:libguard:710100:slot:0")
    assert guard.enter(SLOW).probe


@given(outcomes=st.lists(st.sampled_from(["answer", "failure", "bug"]), max_size=30))
def test_the_breaker_opens_exactly_at_the_third_failure_in_a_row_and_never_leaks_a_slot(outcomes):
    """R-BC-6 (property): whatever the calls' outcomes, it opens at the 3rd failure in a row,
    not before; answers reset the count, our own errors neither count nor reset; no slot leaks."""
    clock = Clock()
    cache = LocMemCache(f"test-guard-property-{secrets.token_hex(4)}", {})
    guard = make_guard(cache, clock, size=1)
    in_a_row = 0
    for outcome in outcomes:
        if in_a_row >= 3:
            assert refusal(guard) == "circuit_open"
            continue
        ticket = guard.enter(SLOW)  # size 1: a leaked slot would refuse this
        if outcome == "answer":
            guard.answered(ticket)
            in_a_row = 0
        elif outcome == "failure":
            guard.failed(ticket)
            in_a_row += 1
        else:
            guard.abandoned(ticket)
    cache.clear()


# --- shared by every worker ----------------------------------------------------------------------


def _two_clients() -> list[Any]:
    """Two clients of each shared store this run has: the database cache, and Redis if set."""
    if not os.environ.get("REDIS_URL"):
        return [pytest.param(lambda: DatabaseCache("biblogin_cache", {}), id="database-cache")]
    # The project's Redis backend (one redis.Redis per pool): what the workers share through.
    from biblogin.common.redis_cache import RedisCache

    # The xdist worker's own Redis database (config/settings_test.py), read when the test runs:
    # clear() is a FLUSHDB, which must not empty another worker's database.
    def redis() -> Any:
        from django.conf import settings

        return RedisCache(settings.CACHES["default"]["LOCATION"], {"KEY_PREFIX": "test-guard"})

    return [pytest.param(redis, id="redis")]


@pytest.mark.django_db
@pytest.mark.parametrize("client", _two_clients())
def test_two_workers_share_one_bulkhead_and_one_breaker(client, clock):
    """R-BC-6: two processes (two cache clients on one store) see one bound and one breaker."""
    one, other = make_guard(client(), clock, size=2), make_guard(client(), clock, size=2)
    assert one.cache is not other.cache
    one.cache.clear()
    held = [one.enter(SLOW), other.enter(SLOW)]
    assert refusal(one) == "bulkhead_full"
    assert refusal(other) == "bulkhead_full"
    other.answered(held.pop())
    one.answered(one.enter(SLOW))
    one.answered(held.pop())
    # Failures seen by either worker add up; the breaker one opens refuses at the other.
    fail_times(one, 2)
    fail_times(other, 1)
    assert refusal(one) == "circuit_open"
    assert refusal(other) == "circuit_open"
    clock.now += 31
    probe = other.enter(SLOW)
    assert refusal(one) == "circuit_open"  # the probe is the other worker's
    other.answered(probe)
    one.answered(one.enter(SLOW))
    one.cache.clear()


# --- library_call, and the borrower check around it ----------------------------------------------


def test_library_call_judges_the_call_by_how_it_ended(settings, clock):
    """R-BC-6: timeouts and failures count, 'not found' is an answer, our own bugs judge nothing."""
    settings.BORROWER_CHECK_BREAKER_FAILURES = 2
    with pytest.raises(BorrowerNotFound), library_call(SLOW, timeout=1):
        raise BorrowerNotFound
    with pytest.raises(ZeroDivisionError), library_call(SLOW, timeout=1):
        raise ZeroDivisionError
    with pytest.raises(LibrarySystemTimeout), library_call(SLOW, timeout=1):
        raise LibrarySystemTimeout
    with pytest.raises(KeyError), library_call(SLOW, timeout=1):
        raise KeyError  # not the library's failure: neither counted nor forgiven
    with pytest.raises(LibrarySystemUnavailable), library_call(SLOW, timeout=1):
        raise LibrarySystemUnavailable
    with pytest.raises(LibraryNotAnswering), library_call(SLOW, timeout=1):
        raise AssertionError("the breaker is open: the call must not run")


@pytest.fixture
def two_libraries(db: None) -> None:
    for agency_id, municipality_no in ((SLOW, 101), (HEALTHY, 157)):
        agency_build(
            agency_id=agency_id,
            name=f"Bibliotek {agency_id}",
            municipality_no=municipality_no,
            user_id_kinds=("borrower_number",),
        )
        simulated_system_configure(agency_id=agency_id)
        simulated_borrower_create(
            agency_id=agency_id, name="Anna", pin="1234", borrower_numbers=["L1"]
        )


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The agencies whose library system was actually called (the integration boundary)."""
    calls: list[str] = []
    original = SimulatedLibrarySystem.authenticate

    def counting(self: SimulatedLibrarySystem, **kwargs: Any) -> Any:
        calls.append(self.agency_id)
        return original(self, **kwargs)

    monkeypatch.setattr(SimulatedLibrarySystem, "authenticate", counting)
    return calls


def check(agency_id: str) -> BorrowerCheckStatus:
    return borrower_check(
        service_requester=PORTAL, agency_id=agency_id, user_id="L1", password="1234"
    ).status


def test_a_failing_library_is_not_asked_again_until_the_cool_down_is_over(
    two_libraries, asked, settings
):
    """R-BC-6, R-BC-3: the retry counts too; once open, the check answers without asking."""
    settings.BORROWER_CHECK_TIMEOUT_SECONDS = 0.05
    simulated_system_configure(agency_id=SLOW, latency_ms=1000)  # always times out
    assert check(SLOW) == BorrowerCheckStatus.SERVICE_UNAVAILABLE
    assert asked == [SLOW, SLOW]  # the first attempt and the retry (R-BC-3)
    # The third timeout opens the breaker: this check's retry is refused without asking.
    assert check(SLOW) == BorrowerCheckStatus.SERVICE_UNAVAILABLE
    assert asked == [SLOW, SLOW, SLOW]
    for _ in range(3):
        assert check(SLOW) == BorrowerCheckStatus.SERVICE_UNAVAILABLE
    assert asked == [SLOW, SLOW, SLOW]
    # The other library is asked as usual.
    assert check(HEALTHY) == BorrowerCheckStatus.OK
    assert asked[-1] == HEALTHY


def test_the_library_answering_again_is_found_by_the_probe(
    two_libraries, asked, monkeypatch, clock
):
    """R-BC-6: after the cool-down one probe asks; its answer lets every login through again."""
    monkeypatch.setattr(guard_module, "_now", clock)
    simulated_system_configure(agency_id=SLOW, down=True)
    check(SLOW)
    check(SLOW)
    assert len(asked) == 3
    clock.now += 29
    assert check(SLOW) == BorrowerCheckStatus.SERVICE_UNAVAILABLE
    assert len(asked) == 3
    simulated_system_configure(agency_id=SLOW)
    clock.now += 2
    assert check(SLOW) == BorrowerCheckStatus.OK  # the probe
    assert check(SLOW) == BorrowerCheckStatus.OK
    assert len(asked) == 5


def test_the_retry_needs_a_free_slot_like_any_call(two_libraries, asked, settings, monkeypatch):
    """R-BC-6, R-BC-3: the retry needs a slot like any call; with none free it is refused."""
    settings.BORROWER_CHECK_BULKHEAD_SIZE = 1
    simulated_system_configure(agency_id=SLOW, down=True)
    original = LibraryGuard.failed

    def another_worker_takes_the_freed_slot(self: LibraryGuard, ticket: Any) -> None:
        original(self, ticket)
        self.cache.add(ticket.slot_key, "another worker", 60)

    monkeypatch.setattr(LibraryGuard, "failed", another_worker_takes_the_freed_slot)
    assert check(SLOW) == BorrowerCheckStatus.SERVICE_UNAVAILABLE
    assert asked == [SLOW]  # the retry was refused without asking
    assert check(HEALTHY) == BorrowerCheckStatus.OK

"""R-VIP-11: a registry change takes effect for the very next request (no stale-cache window)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
from django.db import connection

from biblogin.registry import selectors, services
from biblogin.registry.models import Agency
from tests.registry.builders import branch, requester, research_library


@pytest.mark.django_db
def test_change_through_the_service_is_seen_by_the_next_selector_call_R_VIP_11():
    requester("bibliotek.dk")
    agency = research_library(
        "829000", borrower_check=True, borrower_check_services=["bibliotek.dk"]
    )
    assert selectors.agency_get(agency_id="829000").borrower_check is True
    assert [a.agency_id for a in selectors.agencies_search(query="829000")] == ["829000"]

    services.agency_update(agency=agency, borrower_check=False, name="Omdøbt")
    assert selectors.agency_get(agency_id="829000").borrower_check is False
    assert selectors.agency_get(agency_id="829000").name == "Omdøbt"
    assert selectors.agencies_search(query="829000", borrower_check_only=True) == []

    services.agency_update(agency=agency, borrower_check=True, borrower_check_services=[])
    assert not selectors.agency_is_licensed_for(agency=agency, service_requester="bibliotek.dk")
    assert selectors.agencies_search(query="829000", service_requester="bibliotek.dk") == []

    services.agency_update(agency=agency, user_id_kinds=["email"])
    assert selectors.agency_user_id_kinds(agency=selectors.agency_get(agency_id="829000")) == [
        "email"
    ]

    services.order_user_parameters_set(
        agency=agency, parameters=[{"type": "cpr", "required": True}]
    )
    assert selectors.agency_order_user_parameters(agency=agency)[0].type == "cpr"

    b = branch(agency, "829000")
    assert [x.branch_id for x in selectors.branches_for_pickup(agency_ids=["829000"])] == ["829000"]
    services.branch_update(branch=b, pickup_allowed=False)
    assert selectors.branches_for_pickup(agency_ids=["829000"]) == []


@pytest.mark.django_db
def test_a_licence_changed_on_an_agency_fetched_earlier_is_still_seen_R_VIP_11():
    """A caller holding an agency object (even with the relation prefetched) gets the truth."""
    requester("bibliotek.dk")
    research_library("829000", borrower_check=True, borrower_check_services=["bibliotek.dk"])
    held = Agency.objects.prefetch_related("borrower_check_services").get(agency_id="829000")
    assert selectors.agency_is_licensed_for(agency=held, service_requester="bibliotek.dk")
    services.agency_update(
        agency=Agency.objects.get(agency_id="829000"), borrower_check_services=[]
    )
    assert not selectors.agency_is_licensed_for(agency=held, service_requester="bibliotek.dk")


@dataclass(frozen=True)
class Read:
    published_before: int  # the last generation committed before the read started
    pending_after: int  # the last generation whose commit had started when the read ended
    borrower_check: bool
    offered: bool  # offered in the login page's picker for bibliotek.dk
    ended_at: float


READERS = 6
FLIPS = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_readers_see_a_borrower_check_flip_as_soon_as_the_writer_commits_R_VIP_11():
    """Readers on their own connections never see an old value after the writer has committed."""
    requester("bibliotek.dk")
    research_library("829000", borrower_check=True, borrower_check_services=["bibliotek.dk"])

    def value(generation: int) -> bool:
        return generation % 2 == 0  # generation 0 is the initial True

    state = {"pending": 0, "published": 0}
    # Per reader: the newest generation that had been published when one of its reads began.
    observed = [-1] * READERS
    commit_times: dict[int, float] = {}
    lock = threading.Lock()
    # Notified whenever a reader records a read: the writer waits on it, no polling loop.
    read_recorded = threading.Condition(lock)
    stop = threading.Event()
    start = threading.Barrier(READERS + 1)
    reads: list[list[Read]] = [[] for _ in range(READERS)]
    errors: list[BaseException] = []

    def reader(index: int) -> None:
        try:
            start.wait()
            while not stop.is_set():
                with lock:
                    published_before = state["published"]
                agency = selectors.agency_get(agency_id="829000")
                offered = bool(
                    selectors.agencies_search(query="829000", service_requester="bibliotek.dk")
                )
                with lock:
                    pending_after = state["pending"]
                reads[index].append(
                    Read(
                        published_before,
                        pending_after,
                        agency.borrower_check,
                        offered,
                        time.monotonic(),
                    )
                )
                with read_recorded:
                    observed[index] = published_before
                    read_recorded.notify_all()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    def wait_until_every_reader_has_read(generation: int) -> None:
        with read_recorded:
            if not read_recorded.wait_for(lambda: min(observed) >= generation, timeout=20):
                raise TimeoutError(f"readers stuck before generation {generation}: {observed}")

    def writer() -> None:
        try:
            start.wait()
            for generation in range(1, FLIPS + 1):
                wait_until_every_reader_has_read(generation - 1)
                with lock:
                    state["pending"] = generation
                agency = Agency.objects.get(agency_id="829000")
                services.agency_update(agency=agency, borrower_check=value(generation))
                # agency_update's transaction has committed when it returns.
                with lock:
                    state["published"] = generation
                    commit_times[generation] = time.monotonic()
            wait_until_every_reader_has_read(FLIPS)
        except BaseException as exc:
            errors.append(exc)
        finally:
            stop.set()
            connection.close()

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)

    strict = 0
    for per_reader in reads:
        assert per_reader, "every reader ran"
        for r in per_reader:
            # Never older than what had been committed when the read began.
            allowed = {value(g) for g in range(r.published_before, r.pending_after + 1)}
            assert r.borrower_check in allowed, r
            assert r.offered in allowed, r
            if r.pending_after == r.published_before:
                strict += 1
                assert r.borrower_check == value(r.published_before), r
                assert r.offered == value(r.published_before), r
        # Each flip was observed by every reader.
        seen = {r.published_before for r in per_reader}
        assert set(range(FLIPS + 1)) <= seen

    # How long after each commit the first reader reported the new value (one read's duration).
    delays = []
    for generation, committed_at in commit_times.items():
        firsts = [
            r.ended_at
            for per_reader in reads
            for r in per_reader
            if r.published_before >= generation and r.borrower_check == value(generation)
        ]
        delays.append(min(firsts) - committed_at)
    total = sum(len(p) for p in reads)
    print(
        f"\nR-VIP-11: {total} reads by {READERS} readers over {FLIPS} flips, {strict} strict; "
        f"new value first seen {max(delays) * 1000:.1f} ms after commit at worst"
    )
    assert strict >= READERS * FLIPS
    assert Agency.objects.get(agency_id="829000").borrower_check is value(FLIPS)

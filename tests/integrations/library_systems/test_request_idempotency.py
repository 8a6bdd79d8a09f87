"""Placing a request in the simulated system is idempotent per key (R-ORDER-5), also at once."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections

from biblogin.integrations.library_systems.models import SimBorrower, SimRequest, SimReservation
from biblogin.integrations.library_systems.protocol import (
    BorrowerNotFound,
    LibrarySystemError,
    RefusalReason,
    RequestReceipt,
    RequestRefused,
)
from biblogin.integrations.library_systems.services import (
    simulated_borrower_create,
    simulated_system_configure,
)
from biblogin.integrations.library_systems.simulated import SimulatedLibrarySystem

AGENCY = "710100"


def _borrower(ref_number: str = "L1") -> SimBorrower:
    simulated_system_configure(agency_id=AGENCY)
    return simulated_borrower_create(
        agency_id=AGENCY, name="Anna", pin="1234", borrower_numbers=[ref_number]
    )


def _place(borrower: SimBorrower, key: str, *materials: str) -> RequestReceipt:
    return SimulatedLibrarySystem(agency_id=AGENCY).request_place(
        borrower_ref=borrower.borrower_ref,
        idempotency_key=key,
        material_ids=list(materials),
        pickup_branch_id="710104",
        timeout=1.0,
    )


@pytest.mark.django_db
def test_same_idempotency_key_gives_the_same_receipt_and_one_reservation_R_ORDER_5() -> None:
    anna = _borrower()
    first = _place(anna, "order-1:1", "870970-basis:1")
    again = _place(anna, "order-1:1", "870970-basis:1")
    assert again == first
    assert SimReservation.objects.filter(borrower=anna).count() == 1
    # Another key for the same material is a new request, refused as already reserved.
    with pytest.raises(RequestRefused) as refused:
        _place(anna, "order-2:1", "870970-basis:1")
    assert refused.value.code == RefusalReason.ALREADY_RESERVED


@pytest.mark.django_db
def test_one_request_for_any_of_several_materials_takes_the_shortest_queue() -> None:
    anna, other = _borrower("L1"), _borrower("L2")
    _place(other, "theirs", "edition-a")
    receipt = _place(anna, "mine", "edition-a", "edition-b")
    assert receipt.material_id == "edition-b" and receipt.queue_position == 1
    assert list(SimReservation.objects.filter(borrower=anna).values_list("material_id")) == [
        ("edition-b",)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", " ", "x" * 101, "a\x00b"])
def test_an_unusable_idempotency_key_is_refused_and_nothing_placed(key: str) -> None:
    anna = _borrower()
    with pytest.raises(RequestRefused) as refused:
        _place(anna, key, "m1")
    assert refused.value.code == RefusalReason.INVALID_REQUEST
    assert not SimReservation.objects.exists()


@pytest.mark.django_db
def test_answers_are_not_library_system_errors() -> None:
    """A fan-out must not call "unknown user here" an outage: answers are no transport errors."""
    _borrower()
    system = SimulatedLibrarySystem(agency_id=AGENCY)
    with pytest.raises(BorrowerNotFound) as unknown:
        system.user_status(borrower_ref="nobody", timeout=1.0)
    assert not isinstance(unknown.value, LibrarySystemError)
    assert not issubclass(RequestRefused, LibrarySystemError)


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_requests_with_one_key_place_one_reservation_R_ORDER_5() -> None:
    anna = _borrower()
    barrier = threading.Barrier(4)
    receipts: list[RequestReceipt] = []
    errors: list[BaseException] = []

    def place() -> None:
        try:
            barrier.wait()
            receipts.append(_place(anna, "double-click", "870970-basis:9"))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=place) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # SQLite may make a loser wait out its lock and give up: never a second reservation.
    assert receipts, errors
    assert len({r.request_id for r in receipts}) == 1
    assert SimReservation.objects.filter(borrower=anna).count() == 1
    assert SimRequest.objects.filter(idempotency_key="double-click").count() == 1

"""The simulated library system behaves like a remote one: latency, timeouts, failures, answers."""

from __future__ import annotations

import datetime as dt
import logging
import random
import time

import argon2
import pytest
from django.utils import timezone

from biblogin.integrations.library_systems.models import SimBorrower, SimLoan, SimReservation
from biblogin.integrations.library_systems.protocol import (
    BorrowerNotFound,
    LibrarySystem,
    LibrarySystemTimeout,
    LibrarySystemUnavailable,
    RefusalReason,
    RequestRefused,
)
from biblogin.integrations.library_systems.selectors import library_system_for
from biblogin.integrations.library_systems.services import (
    simulated_borrower_create,
    simulated_debt_add,
    simulated_loan_add,
    simulated_reservation_add,
    simulated_system_configure,
)
from biblogin.integrations.library_systems.simulated import (
    LOAN_PERIOD_DAYS,
    SimulatedLibrarySystem,
)

pytestmark = pytest.mark.django_db

AGENCY = "710100"
CPR = "0101801234"
PIN = "80417"


@pytest.fixture
def anna() -> SimBorrower:
    simulated_system_configure(agency_id=AGENCY)
    return simulated_borrower_create(
        agency_id=AGENCY,
        name="Anna Jensen",
        pin=PIN,
        cpr=CPR,
        borrower_numbers=["L1001"],
        emails=["Anna@Example.dk"],
        municipality_no=101,
        email="anna@example.dk",
    )


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count Argon2 verifications at the library's boundary with argon2-cffi."""
    calls: list[int] = []
    original = argon2.PasswordHasher.verify

    def counting(self: argon2.PasswordHasher, hash: str, password: str) -> bool:
        calls.append(1)
        return original(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting)
    return calls


def system() -> LibrarySystem:
    return library_system_for(AGENCY)


@pytest.mark.parametrize("user_id", [CPR, "L1001", "anna@example.dk", "ANNA@EXAMPLE.DK"])
def test_authenticate_finds_the_borrower_by_each_user_id(anna: SimBorrower, user_id: str) -> None:
    borrower = system().authenticate(user_id=user_id, password=PIN, timeout=1.0)
    assert borrower.borrower_ref == anna.borrower_ref
    assert borrower.cpr == CPR
    assert borrower.borrower_numbers == ("L1001",)
    assert borrower.emails == ("anna@example.dk",)
    assert (borrower.name, borrower.municipality_no, borrower.blocked) == (
        "Anna Jensen",
        101,
        False,
    )


def test_unknown_user_and_wrong_pin_both_raise_borrower_not_found_after_one_verification_R_BC_2(
    anna: SimBorrower, verifications: list[int]
) -> None:
    with pytest.raises(BorrowerNotFound) as wrong_pin:
        system().authenticate(user_id="L1001", password="00000", timeout=1.0)
    assert len(verifications) == 1
    with pytest.raises(BorrowerNotFound) as unknown:
        system().authenticate(user_id="L9999", password=PIN, timeout=1.0)
    assert len(verifications) == 2
    assert str(wrong_pin.value) == str(unknown.value)


def test_a_borrower_without_pin_cannot_authenticate(verifications: list[int]) -> None:
    simulated_borrower_create(agency_id=AGENCY, name="B", pin=None, borrower_numbers=["L2"])
    with pytest.raises(BorrowerNotFound):
        system().authenticate(user_id="L2", password="", timeout=1.0)
    assert len(verifications) == 1


def test_lookup_finds_without_pin_and_without_argon2(
    anna: SimBorrower, verifications: list[int]
) -> None:
    assert system().lookup(user_id="L1001", timeout=1.0).borrower_ref == anna.borrower_ref
    with pytest.raises(BorrowerNotFound):
        system().lookup(user_id="L404", timeout=1.0)
    assert verifications == []


def test_an_agency_without_a_simulated_system_knows_nobody() -> None:
    empty = library_system_for("899999")
    with pytest.raises(BorrowerNotFound):
        empty.lookup(user_id="L1001", timeout=1.0)
    with pytest.raises(BorrowerNotFound):
        empty.authenticate(user_id="L1001", password="1234", timeout=1.0)
    assert list(empty.borrowers_export()) == []


def test_borrowers_of_another_agency_are_not_found(anna: SimBorrower) -> None:
    with pytest.raises(BorrowerNotFound):
        library_system_for("775100").authenticate(user_id="L1001", password=PIN, timeout=1.0)


def test_each_call_waits_the_configured_latency(anna: SimBorrower) -> None:
    simulated_system_configure(agency_id=AGENCY, latency_ms=120)
    started = time.monotonic()
    system().lookup(user_id="L1001", timeout=2.0)
    assert time.monotonic() - started >= 0.12


def test_jitter_adds_up_to_its_value(anna: SimBorrower) -> None:
    simulated_system_configure(agency_id=AGENCY, latency_ms=20, latency_jitter_ms=60)
    for _ in range(3):
        started = time.monotonic()
        system().lookup(user_id="L1001", timeout=2.0)
        assert 0.02 <= time.monotonic() - started < 0.5


def test_latency_above_the_timeout_waits_only_the_timeout_and_raises_timeout(
    anna: SimBorrower,
) -> None:
    simulated_system_configure(agency_id=AGENCY, latency_ms=2000)
    started = time.monotonic()
    with pytest.raises(LibrarySystemTimeout):
        system().authenticate(user_id="L1001", password=PIN, timeout=0.05)
    elapsed = time.monotonic() - started
    assert 0.05 <= elapsed < 0.5


def test_a_system_that_is_down_fails_at_once(anna: SimBorrower) -> None:
    simulated_system_configure(agency_id=AGENCY, latency_ms=2000, down=True)
    started = time.monotonic()
    with pytest.raises(LibrarySystemUnavailable):
        system().lookup(user_id="L1001", timeout=5.0)
    with pytest.raises(LibrarySystemUnavailable):
        system().borrowers_export()
    assert time.monotonic() - started < 0.5


def test_failure_rate_one_always_fails(anna: SimBorrower) -> None:
    simulated_system_configure(agency_id=AGENCY, failure_rate=1.0)
    for _ in range(5):
        with pytest.raises(LibrarySystemUnavailable):
            system().authenticate(user_id="L1001", password=PIN, timeout=1.0)


def test_failure_rate_fails_that_share_of_calls(anna: SimBorrower) -> None:
    simulated_system_configure(agency_id=AGENCY, failure_rate=0.3)
    seeded = SimulatedLibrarySystem(agency_id=AGENCY, rng=random.Random(2024))
    failures = 0
    for _ in range(300):
        try:
            seeded.lookup(user_id="L1001", timeout=1.0)
        except LibrarySystemUnavailable:
            failures += 1
    assert 60 <= failures <= 120


def test_configuration_changes_take_effect_on_the_next_call(anna: SimBorrower) -> None:
    same = system()
    same.lookup(user_id="L1001", timeout=1.0)
    simulated_system_configure(agency_id=AGENCY, down=True)
    with pytest.raises(LibrarySystemUnavailable):
        same.lookup(user_id="L1001", timeout=1.0)


def test_user_status_lists_loans_reservations_and_debts(anna: SimBorrower) -> None:
    due = timezone.localdate() + dt.timedelta(days=3)
    simulated_loan_add(borrower=anna, title="Kongens fald", due_date=due)
    simulated_reservation_add(borrower=anna, title="Stormen", queue_position=4)
    simulated_reservation_add(
        borrower=anna, title="Grønt", ready_for_pickup=True, pickup_branch_id="710104"
    )
    simulated_debt_add(borrower=anna, title="Overskredet", amount_dkk="12.5")
    status = system().user_status(borrower_ref=anna.borrower_ref, timeout=1.0)
    assert [(loan.title, loan.due_date) for loan in status.loans] == [("Kongens fald", due)]
    assert [(r.title, r.ready_for_pickup, r.queue_position) for r in status.reservations] == [
        ("Grønt", True, None),
        ("Stormen", False, 4),
    ]
    assert status.reservations[0].pickup_branch_id == "710104"
    assert [(d.title, d.amount_dkk) for d in status.debts] == [("Overskredet", "12.50")]
    with pytest.raises(BorrowerNotFound):
        system().user_status(borrower_ref="nobody", timeout=1.0)


def test_renew_moves_the_due_date_one_loan_period(anna: SimBorrower) -> None:
    due = timezone.localdate() + dt.timedelta(days=5)
    loan = simulated_loan_add(borrower=anna, title="Bog", due_date=due)
    renewed = system().loan_renew(borrower_ref=anna.borrower_ref, loan_id=str(loan.pk), timeout=1)
    assert renewed.due_date == due + dt.timedelta(days=LOAN_PERIOD_DAYS)
    loan.refresh_from_db()
    assert (loan.due_date, loan.renewals) == (renewed.due_date, 1)


def test_renew_an_overdue_loan_counts_from_today(anna: SimBorrower) -> None:
    loan = simulated_loan_add(
        borrower=anna, title="Bog", due_date=timezone.localdate() - dt.timedelta(days=10)
    )
    renewed = system().loan_renew(borrower_ref=anna.borrower_ref, loan_id=str(loan.pk), timeout=1)
    assert renewed.due_date == timezone.localdate() + dt.timedelta(days=LOAN_PERIOD_DAYS)


def test_renew_is_refused_when_not_renewable_unknown_or_someone_elses(anna: SimBorrower) -> None:
    due = timezone.localdate() + dt.timedelta(days=5)
    fixed = simulated_loan_add(borrower=anna, title="Fast", due_date=due, renewable=False)
    other = simulated_borrower_create(agency_id=AGENCY, name="B", pin=PIN, borrower_numbers=["B"])
    theirs = simulated_loan_add(borrower=other, title="Deres", due_date=due)
    for loan_id in (str(fixed.pk), str(theirs.pk), "999999", "abc", "1" * 40):
        with pytest.raises(RequestRefused) as refused:
            system().loan_renew(borrower_ref=anna.borrower_ref, loan_id=loan_id, timeout=1.0)
        assert refused.value.code in (RefusalReason.NOT_RENEWABLE, RefusalReason.LOAN_NOT_FOUND)
    assert SimLoan.objects.get(pk=fixed.pk).due_date == due
    assert SimLoan.objects.get(pk=theirs.pk).renewals == 0


def test_a_blocked_borrower_cannot_renew_or_reserve() -> None:
    blocked = simulated_borrower_create(
        agency_id=AGENCY, name="B", pin=PIN, borrower_numbers=["B"], blocked=True
    )
    loan = simulated_loan_add(borrower=blocked, title="Bog", due_date=timezone.localdate())
    with pytest.raises(RequestRefused):
        system().loan_renew(borrower_ref=blocked.borrower_ref, loan_id=str(loan.pk), timeout=1)
    with pytest.raises(RequestRefused):
        system().request_place(
            borrower_ref=blocked.borrower_ref,
            idempotency_key="key-1",
            material_ids=["870970-basis:1"],
            pickup_branch_id="710104",
            timeout=1.0,
        )


def test_request_place_joins_the_end_of_the_queue_once(anna: SimBorrower) -> None:
    other = simulated_borrower_create(agency_id=AGENCY, name="B", pin=PIN, borrower_numbers=["B"])
    first = system().request_place(
        borrower_ref=other.borrower_ref,
        idempotency_key="key-2",
        material_ids=["870970-basis:1"],
        pickup_branch_id="710104",
        timeout=1.0,
    )
    second = system().request_place(
        borrower_ref=anna.borrower_ref,
        idempotency_key="key-3",
        material_ids=["870970-basis:1"],
        pickup_branch_id="710104",
        timeout=1.0,
    )
    assert (first.queue_position, second.queue_position) == (1, 2)
    with pytest.raises(RequestRefused):
        system().request_place(
            borrower_ref=anna.borrower_ref,
            idempotency_key="key-4",
            material_ids=["870970-basis:1"],
            pickup_branch_id="710104",
            timeout=1.0,
        )
    status = system().user_status(borrower_ref=anna.borrower_ref, timeout=1.0)
    assert [(r.reservation_id, r.queue_position) for r in status.reservations] == [
        (second.request_id, 2)
    ]


def test_cancel_removes_the_reservation_and_moves_the_queue_up(anna: SimBorrower) -> None:
    other = simulated_borrower_create(agency_id=AGENCY, name="B", pin=PIN, borrower_numbers=["B"])
    mine = system().request_place(
        borrower_ref=anna.borrower_ref,
        idempotency_key="key-5",
        material_ids=["m1"],
        pickup_branch_id="",
        timeout=1.0,
    )
    theirs = system().request_place(
        borrower_ref=other.borrower_ref,
        idempotency_key="key-6",
        material_ids=["m1"],
        pickup_branch_id="",
        timeout=1.0,
    )
    system().reservation_cancel(
        borrower_ref=anna.borrower_ref, reservation_id=mine.request_id, timeout=1.0
    )
    assert not SimReservation.objects.filter(pk=int(mine.request_id)).exists()
    assert SimReservation.objects.get(pk=int(theirs.request_id)).queue_position == 1
    with pytest.raises(RequestRefused):
        system().reservation_cancel(
            borrower_ref=anna.borrower_ref, reservation_id=theirs.request_id, timeout=1.0
        )
    with pytest.raises(RequestRefused):
        system().reservation_cancel(
            borrower_ref=anna.borrower_ref, reservation_id=mine.request_id, timeout=1.0
        )


def test_borrowers_export_yields_every_borrower_of_the_agency_only(anna: SimBorrower) -> None:
    simulated_borrower_create(agency_id=AGENCY, name="B", pin=None, borrower_numbers=["B"])
    simulated_borrower_create(agency_id="775100", name="C", pin=None, borrower_numbers=["C"])
    exported = system().borrowers_export()
    by_name = {b.name: b for b in exported}
    assert set(by_name) == {"Anna Jensen", "B"}
    assert by_name["Anna Jensen"].cpr == CPR
    assert by_name["Anna Jensen"].borrower_numbers == ("L1001",)
    assert by_name["B"].cpr is None


def test_the_pin_is_never_logged_nor_in_errors_R_BC_5(
    anna: SimBorrower, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    system().authenticate(user_id="L1001", password=PIN, timeout=1.0)
    with pytest.raises(BorrowerNotFound) as wrong:
        system().authenticate(user_id="L1001", password="31337", timeout=1.0)
    assert PIN not in caplog.text
    assert "31337" not in caplog.text
    assert "31337" not in str(wrong.value)
    assert "31337" not in repr(wrong.value)


@pytest.mark.parametrize("bad", ["L10\x0001", "", "x" * 300])
def test_unusable_ids_are_answered_not_crashed_on(anna: SimBorrower, bad: str) -> None:
    with pytest.raises(BorrowerNotFound):
        system().authenticate(user_id=bad, password=PIN, timeout=1.0)
    with pytest.raises(BorrowerNotFound):
        system().lookup(user_id=bad, timeout=1.0)
    with pytest.raises(BorrowerNotFound):
        system().user_status(borrower_ref=bad, timeout=1.0)
    with pytest.raises(RequestRefused):
        system().request_place(
            borrower_ref=anna.borrower_ref,
            idempotency_key="key-7",
            material_ids=[bad],
            pickup_branch_id="",
            timeout=1.0,
        )
    if bad:  # no pickup branch at all is the system's default branch
        with pytest.raises(RequestRefused):
            system().request_place(
                borrower_ref=anna.borrower_ref,
                idempotency_key="key-8",
                material_ids=["m1"],
                pickup_branch_id=bad,
                timeout=1,
            )
    assert not SimReservation.objects.exists()

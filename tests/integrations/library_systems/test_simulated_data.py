"""Setting up simulated library systems: behaviour, borrowers, PINs, CPRs, loans and the rest."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import argon2
import pytest

from biblogin.common.cpr_crypto import cpr_hash
from biblogin.common.errors import ApplicationError
from biblogin.integrations.library_systems import pins
from biblogin.integrations.library_systems.models import (
    SimBorrower,
    SimBorrowerId,
    SimDebt,
    SimLoan,
    SimReservation,
    SimulatedSystem,
)
from biblogin.integrations.library_systems.services import (
    simulated_borrower_create,
    simulated_debt_add,
    simulated_loan_add,
    simulated_reservation_add,
    simulated_system_configure,
    simulated_user_status_clear,
)

pytestmark = pytest.mark.django_db

CPR = "0101801234"
PIN = "4711"


def test_configure_creates_then_updates_the_system() -> None:
    simulated_system_configure(agency_id="710100", latency_ms=120, failure_rate=0.25)
    simulated_system_configure(agency_id="710100", latency_ms=5, latency_jitter_ms=3, down=True)
    system = SimulatedSystem.objects.get(agency_id="710100")
    assert (system.latency_ms, system.latency_jitter_ms, system.failure_rate, system.down) == (
        5,
        3,
        0.0,
        True,
    )
    assert SimulatedSystem.objects.count() == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"agency_id": "71010"},
        {"agency_id": "abcdef"},
        {"agency_id": "710100", "failure_rate": 1.5},
        {"agency_id": "710100", "failure_rate": -0.1},
        {"agency_id": "710100", "latency_ms": -1},
        {"agency_id": "710100", "latency_jitter_ms": 10_000_000},
    ],
)
def test_configure_refuses_bad_values_and_changes_nothing(kwargs: dict[str, object]) -> None:
    with pytest.raises(ApplicationError):
        simulated_system_configure(**kwargs)
    assert not SimulatedSystem.objects.exists()


@pytest.mark.usefixtures("production_hashing")
def test_pin_is_kept_only_as_an_argon2id_hash_at_owasp_parameters_R_BC_5() -> None:
    borrower = simulated_borrower_create(
        agency_id="710100", name="Anna", pin=PIN, borrower_numbers=["L1"]
    )
    params = argon2.extract_parameters(borrower.pin_hash)
    assert params.type is argon2.Type.ID
    assert (params.time_cost, params.memory_cost, params.parallelism) == (2, 19456, 1)
    stored = [str(getattr(borrower, f.attname)) for f in SimBorrower._meta.concrete_fields]
    assert not any(PIN in value for value in stored if value != borrower.pin_hash)


@pytest.mark.usefixtures("production_hashing")
def test_the_dummy_hash_costs_what_a_real_pin_hash_costs_R_BC_2() -> None:
    real = argon2.extract_parameters(pins.pin_hash("1234"))
    dummy = argon2.extract_parameters(pins.DUMMY_PIN_HASH)
    assert dummy == real
    assert pins.dummy_pin_hash() == pins.DUMMY_PIN_HASH


def test_the_dummy_hash_follows_configured_argon2_parameters_R_BC_2(settings) -> None:
    """R-BC-2 holds at any cost setting (the tests' cheap one too): same parameters, same cost."""
    settings.PIN_ARGON2 = {"time_cost": 1, "memory_cost": 64, "parallelism": 1}
    real = argon2.extract_parameters(pins.pin_hash("1234"))
    assert (real.time_cost, real.memory_cost, real.parallelism) == (1, 64, 1)
    assert argon2.extract_parameters(pins.dummy_pin_hash()) == real
    assert pins.pin_verify(stored_hash=None, pin="1234") is False


def test_pin_verify_without_a_stored_hash_says_no_even_for_the_dummy_secret() -> None:
    assert pins.pin_verify(stored_hash=None, pin="") is False
    assert pins.pin_verify(stored_hash="", pin="anything") is False
    assert pins.pin_verify(stored_hash="not a hash", pin="x") is False
    assert pins.pin_verify(stored_hash=pins.pin_hash("1234"), pin="1234") is True


def test_cpr_is_stored_encrypted_and_found_by_keyed_hash() -> None:
    borrower = simulated_borrower_create(
        agency_id="710100", name="Anna", pin=PIN, cpr="010180-1234"
    )
    assert CPR not in borrower.cpr_encrypted
    assert borrower.cpr == CPR
    assert borrower.cpr_hash == cpr_hash(CPR)
    assert borrower.cpr_masked == "010180-XXXX"
    assert SimBorrowerId.objects.get(borrower=borrower, kind="cpr").value == cpr_hash(CPR)


def test_an_invalid_cpr_is_refused() -> None:
    with pytest.raises(ApplicationError):
        simulated_borrower_create(agency_id="710100", name="Anna", pin=PIN, cpr="3213801234")
    assert not SimBorrower.objects.exists()


def test_create_is_idempotent_by_agency_and_first_user_id() -> None:
    first = simulated_borrower_create(
        agency_id="710100",
        name="Anna",
        pin="1111",
        cpr=CPR,
        borrower_numbers=["L1", "L2"],
        municipality_no=101,
    )
    again = simulated_borrower_create(
        agency_id="710100",
        name="Anna Jensen",
        pin="2222",
        cpr=CPR,
        borrower_numbers=["L3"],
        blocked=True,
        municipality_no=147,
    )
    assert again.pk == first.pk
    assert again.borrower_ref == first.borrower_ref
    assert SimBorrower.objects.count() == 1
    again.refresh_from_db()
    assert (again.name, again.blocked, again.municipality_no) == ("Anna Jensen", True, 147)
    assert pins.pin_verify(stored_hash=again.pin_hash, pin="2222")
    numbers = set(
        SimBorrowerId.objects.filter(borrower=again, kind="borrower_number").values_list(
            "value", flat=True
        )
    )
    assert numbers == {"L3"}


def test_the_same_user_id_at_another_agency_is_another_borrower() -> None:
    a = simulated_borrower_create(agency_id="710100", name="A", pin=PIN, borrower_numbers=["L1"])
    b = simulated_borrower_create(agency_id="775100", name="B", pin=PIN, borrower_numbers=["L1"])
    assert a.pk != b.pk
    assert a.agency_id == "710100"
    assert b.agency_id == "775100"


def test_a_user_id_of_another_borrower_is_refused() -> None:
    simulated_borrower_create(agency_id="710100", name="A", pin=PIN, emails=["a@example.dk"])
    with pytest.raises(ApplicationError):
        simulated_borrower_create(
            agency_id="710100",
            name="B",
            pin=PIN,
            borrower_numbers=["L9"],
            emails=["A@Example.DK"],
        )
    assert SimBorrower.objects.count() == 1


def test_email_user_ids_are_stored_lower_cased_and_become_the_contact_address() -> None:
    borrower = simulated_borrower_create(
        agency_id="820010", name="Stud", pin=PIN, emails=["  Stud@UCN.dk "]
    )
    assert SimBorrowerId.objects.get(borrower=borrower).value == "stud@ucn.dk"
    assert borrower.email == "stud@ucn.dk"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "No ID"},
        {"name": "", "borrower_numbers": ["L1"]},
        {"name": "Bad mail", "emails": ["no-at-sign"]},
        {"name": "Twice", "borrower_numbers": ["L1", "L1"]},
        {"name": "Empty number", "borrower_numbers": [" "]},
    ],
)
def test_borrowers_without_a_usable_user_id_or_name_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ApplicationError):
        simulated_borrower_create(agency_id="710100", pin=PIN, **kwargs)
    assert not SimBorrower.objects.exists()


def test_a_borrower_created_without_pin_has_no_pin_hash() -> None:
    borrower = simulated_borrower_create(
        agency_id="710100", name="A", pin=None, borrower_numbers=["L1"]
    )
    assert borrower.pin_hash == ""


def test_loans_reservations_and_debts_are_added_and_cleared() -> None:
    borrower = simulated_borrower_create(
        agency_id="710100", name="A", pin=PIN, borrower_numbers=["L1"]
    )
    due = dt.date(2030, 1, 1)
    loan = simulated_loan_add(borrower=borrower, title="Bog", due_date=due, renewable=False)
    assert (loan.title, loan.due_date, loan.renewable, loan.renewals) == ("Bog", due, False, 0)
    queued = simulated_reservation_add(borrower=borrower, title="Kø")
    assert queued.queue_position == 1
    ready = simulated_reservation_add(
        borrower=borrower, title="Klar", ready_for_pickup=True, pickup_branch_id="710104"
    )
    assert ready.queue_position is None
    assert ready.pickup_expires is not None
    debt = simulated_debt_add(borrower=borrower, title="Gebyr", amount_dkk="12.5")
    assert debt.amount_dkk == Decimal("12.50")

    simulated_user_status_clear(borrower=borrower)
    assert not SimLoan.objects.exists()
    assert not SimReservation.objects.exists()
    assert not SimDebt.objects.exists()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"title": "x", "ready_for_pickup": True, "queue_position": 2},
        {"title": "x", "queue_position": 0},
        {"title": "  "},
    ],
)
def test_contradictory_reservations_are_refused(kwargs: dict[str, object]) -> None:
    borrower = simulated_borrower_create(
        agency_id="710100", name="A", pin=PIN, borrower_numbers=["L1"]
    )
    with pytest.raises(ApplicationError):
        simulated_reservation_add(borrower=borrower, **kwargs)
    assert not SimReservation.objects.exists()


@pytest.mark.parametrize("amount", ["abc", "-5", "0", "NaN", "Infinity", "1e12"])
def test_bad_debt_amounts_are_refused(amount: str) -> None:
    borrower = simulated_borrower_create(
        agency_id="710100", name="A", pin=PIN, borrower_numbers=["L1"]
    )
    with pytest.raises(ApplicationError):
        simulated_debt_add(borrower=borrower, title="Gebyr", amount_dkk=amount)
    assert not SimDebt.objects.exists()

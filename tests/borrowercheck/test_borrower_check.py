"""The borrower check: the registry's rules, the library system's answer, and R-BC-1…5."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import argon2
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from biblogin.borrowercheck import services as borrowercheck_services
from biblogin.borrowercheck.services import (
    BorrowerCheckResult,
    BorrowerCheckStatus,
    borrower_check,
    borrower_lookup,
)
from biblogin.integrations.library_systems.protocol import (
    LibrarySystemTimeout,
    LibrarySystemUnavailable,
)
from biblogin.integrations.library_systems.services import (
    simulated_borrower_create,
    simulated_system_configure,
)
from biblogin.integrations.library_systems.simulated import SimulatedLibrarySystem
from biblogin.registry.models import Agency, AgencyStatus, AgencyType
from tests.borrowercheck.builders import PORTAL, agency_build

pytestmark = pytest.mark.django_db

Status = BorrowerCheckStatus
PUBLIC = "710100"
FFU = "820010"
CPR = "0101801234"
PIN = "80417"


@pytest.fixture
def public_library() -> Agency:
    agency = agency_build(agency_id=PUBLIC, user_id_kinds=("cpr", "borrower_number"))
    simulated_system_configure(agency_id=PUBLIC)
    simulated_borrower_create(
        agency_id=PUBLIC,
        name="Anna Jensen",
        pin=PIN,
        cpr=CPR,
        borrower_numbers=["L1001"],
        municipality_no=101,
        email="anna@example.dk",
    )
    return agency


@pytest.fixture
def ffu_library() -> Agency:
    """A research library whose users log in with their e-mail (like UCN)."""
    agency = agency_build(
        agency_id=FFU,
        name="UCN Biblioteket",
        agency_type=AgencyType.FORSKNINGSBIBLIOTEK,
        municipality_no=None,
        user_id_kinds=("email", "borrower_number"),
    )
    simulated_borrower_create(
        agency_id=FFU, name="Stud Ent", pin=PIN, emails=["stud.ent@ucn.dk"], cpr=CPR
    )
    return agency


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count Argon2 verifications at the boundary with argon2-cffi."""
    calls: list[int] = []
    original = argon2.PasswordHasher.verify

    def counting(self: argon2.PasswordHasher, hash: str, password: str) -> bool:
        calls.append(1)
        return original(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting)
    return calls


@pytest.fixture
def authenticate_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count calls to the library system's authenticate."""
    calls: list[int] = []
    original = SimulatedLibrarySystem.authenticate

    def counting(self: SimulatedLibrarySystem, **kwargs: Any) -> Any:
        calls.append(1)
        return original(self, **kwargs)

    monkeypatch.setattr(SimulatedLibrarySystem, "authenticate", counting)
    return calls


def check(**overrides: Any) -> BorrowerCheckResult:
    arguments: dict[str, Any] = {
        "service_requester": PORTAL,
        "agency_id": PUBLIC,
        "user_id": "L1001",
        "password": PIN,
    }
    arguments.update(overrides)
    return borrower_check(**arguments)


# R-BC-1 --------------------------------------------------------------------------------------


def test_the_statuses_are_exactly_those_of_R_BC_1() -> None:
    assert {s.value for s in BorrowerCheckStatus} == {
        "ok",
        "service_not_licensed",
        "service_unavailable",
        "library_not_found",
        "borrowercheck_not_allowed",
        "borrower_not_found",
        "borrower_not_in_municipality",
        "municipality_check_not_supported_by_library",
        "no_user_in_request",
        "error_in_request",
    }


def test_ok_carries_blocked_municipality_name_and_email_R_BC_1(public_library: Agency) -> None:
    result = check()
    assert result.status == Status.OK
    assert result.ok
    assert (result.agency_id, result.user_id, result.user_id_is_cpr) == (PUBLIC, "L1001", False)
    assert (result.blocked, result.municipality_no) == (False, 101)
    assert (result.name, result.email) == ("Anna Jensen", "anna@example.dk")
    assert result.cpr == CPR
    assert result.borrower_ref


def test_a_blocked_borrower_is_ok_and_blocked_R_BC_1(public_library: Agency) -> None:
    simulated_borrower_create(
        agency_id=PUBLIC, name="Spærret", pin=PIN, borrower_numbers=["L666"], blocked=True
    )
    result = check(user_id="L666")
    assert (result.status, result.blocked) == (Status.OK, True)


def test_an_unknown_agency_gives_library_not_found_R_BC_1(public_library: Agency) -> None:
    assert check(agency_id="799999").status == Status.LIBRARY_NOT_FOUND


def test_a_deleted_agency_gives_library_not_found_R_BC_1(public_library: Agency) -> None:
    Agency.objects.filter(agency_id=PUBLIC).update(status=AgencyStatus.DELETED)
    assert check().status == Status.LIBRARY_NOT_FOUND


def test_an_invisible_agency_still_checks_its_borrowers(public_library: Agency) -> None:
    Agency.objects.filter(agency_id=PUBLIC).update(status=AgencyStatus.INVISIBLE)
    assert check().status == Status.OK


def test_an_agency_without_borrower_check_gives_borrowercheck_not_allowed_R_VIP_3(
    public_library: Agency, authenticate_calls: list[int]
) -> None:
    Agency.objects.filter(agency_id=PUBLIC).update(borrower_check=False)
    assert check().status == Status.BORROWERCHECK_NOT_ALLOWED
    assert authenticate_calls == []


def test_a_requester_the_agency_has_not_opted_in_gives_service_not_licensed_R_VIP_4(
    public_library: Agency, authenticate_calls: list[int]
) -> None:
    assert check(service_requester="other.dk").status == Status.SERVICE_NOT_LICENSED
    public_library.borrower_check_services.clear()
    assert check().status == Status.SERVICE_NOT_LICENSED
    assert authenticate_calls == []


def test_registry_changes_count_from_the_next_check_R_VIP_11(public_library: Agency) -> None:
    assert check().status == Status.OK
    public_library.borrower_check = False
    public_library.save()
    assert check().status == Status.BORROWERCHECK_NOT_ALLOWED


def test_an_agency_without_a_simulated_system_gives_borrower_not_found() -> None:
    agency_build(agency_id="775100", name="Aarhus", municipality_no=751)
    assert check(agency_id="775100").status == Status.BORROWER_NOT_FOUND


@pytest.mark.parametrize(
    "overrides",
    [
        {"user_id": "L" * 255},
        {"password": "1" * 255},
        {"service_requester": "x" * 255},
        {"user_id": "L10\x0001"},
        {"user_id": "L10\x1b01"},
        {"password": "80\x00417"},
        {"password": "80417\n"},
        {"service_requester": "bibliotek.dk\r\n"},
        {"service_requester": ""},
        {"agency_id": "71010"},
        {"agency_id": "7101000"},
        {"agency_id": "abcdef"},
        {"agency_id": "\uff17\uff11\uff10\uff11\uff10\uff10"},  # full-width digits
        {"agency_id": ""},
        {"municipality_no": -1},
        {"municipality_no": 1000},
        {"municipality_no": True},
        {"user_id": None},
        {"password": 1234},
        {"agency_id": 710100},
    ],
)
def test_malformed_requests_give_error_in_request_R_BC_1(
    public_library: Agency, authenticate_calls: list[int], overrides: dict[str, Any]
) -> None:
    assert check(**overrides).status == Status.ERROR_IN_REQUEST
    assert authenticate_calls == []


@pytest.mark.parametrize(
    "overrides",
    [{"user_id": ""}, {"user_id": "   "}, {"password": ""}, {"password": None}],
)
def test_an_empty_user_id_or_pin_gives_no_user_in_request_R_BC_1(
    public_library: Agency, authenticate_calls: list[int], overrides: dict[str, Any]
) -> None:
    assert check(**overrides).status == Status.NO_USER_IN_REQUEST
    assert authenticate_calls == []


def test_the_rules_apply_in_the_documented_order(public_library: Agency) -> None:
    assert check(agency_id="abc", user_id="").status == Status.ERROR_IN_REQUEST
    assert check(agency_id="799999", user_id="").status == Status.NO_USER_IN_REQUEST
    Agency.objects.filter(agency_id=PUBLIC).update(borrower_check=False)
    assert check(service_requester="other.dk").status == Status.BORROWERCHECK_NOT_ALLOWED
    Agency.objects.filter(agency_id=PUBLIC).update(borrower_check=True)
    simulated_system_configure(agency_id=PUBLIC, down=True)
    assert check(service_requester="other.dk").status == Status.SERVICE_NOT_LICENSED
    assert check(password="wrong", municipality_no=999).status == Status.SERVICE_UNAVAILABLE
    simulated_system_configure(agency_id=PUBLIC)
    assert check(password="wrong", municipality_no=999).status == Status.BORROWER_NOT_FOUND


def test_the_same_municipality_is_ok_R_BC_1(public_library: Agency) -> None:
    assert check(municipality_no=101).status == Status.OK


def test_another_municipality_gives_borrower_not_in_municipality_R_BC_1(
    public_library: Agency,
) -> None:
    result = check(municipality_no=751)
    assert result.status == Status.BORROWER_NOT_IN_MUNICIPALITY
    assert (result.name, result.cpr, result.borrower_ref) == ("", None, "")


def test_a_borrower_without_municipality_is_not_in_the_asked_one_R_BC_1(
    public_library: Agency,
) -> None:
    simulated_borrower_create(agency_id=PUBLIC, name="Ny", pin=PIN, borrower_numbers=["L7"])
    assert check(user_id="L7", municipality_no=101).status == Status.BORROWER_NOT_IN_MUNICIPALITY


def test_a_municipality_check_at_a_research_library_is_not_supported_R_BC_1(
    ffu_library: Agency,
) -> None:
    result = check(agency_id=FFU, user_id="stud.ent@ucn.dk", municipality_no=101)
    assert result.status == Status.MUNICIPALITY_CHECK_NOT_SUPPORTED_BY_LIBRARY
    assert check(agency_id=FFU, user_id="stud.ent@ucn.dk").status == Status.OK


# R-BC-2 --------------------------------------------------------------------------------------


def test_unknown_user_and_wrong_pin_both_give_borrower_not_found_at_one_verify_each_R_BC_2(
    public_library: Agency, verifications: list[int]
) -> None:
    """R-BC-2: the same answer and the same work (one Argon2id verify) for both.

    The same time follows from the same work: the unknown user's verify runs against a dummy
    hash at the real hashes' parameters (test_simulated_data.py). The wall-clock comparison is a
    benchmark now (``python -m bench.rbc2_timing``): no timing assertions in unit tests.
    """
    wrong_pin = check(password="00000")
    assert wrong_pin.status == Status.BORROWER_NOT_FOUND
    assert len(verifications) == 1
    unknown = check(user_id="L9999")
    assert unknown.status == Status.BORROWER_NOT_FOUND
    assert len(verifications) == 2
    # The two answers differ only in the user ID they echo.
    assert wrong_pin == BorrowerCheckResult(
        status=Status.BORROWER_NOT_FOUND, agency_id=PUBLIC, user_id="L1001"
    )
    assert unknown == BorrowerCheckResult(
        status=Status.BORROWER_NOT_FOUND, agency_id=PUBLIC, user_id="L9999"
    )
    for i in range(15):  # interleaved: each one verify, never a short cut for either
        assert check(password=f"0000{i}").status == Status.BORROWER_NOT_FOUND
        assert len(verifications) == 3 + 2 * i
        assert check(user_id=f"L9{i:03d}").status == Status.BORROWER_NOT_FOUND
        assert len(verifications) == 4 + 2 * i


def test_an_unknown_cpr_costs_one_verification_too_R_BC_2(
    public_library: Agency, verifications: list[int]
) -> None:
    assert check(user_id="020280-1234").status == Status.BORROWER_NOT_FOUND
    assert len(verifications) == 1


# R-BC-3 --------------------------------------------------------------------------------------


def test_a_library_system_that_times_out_gives_service_unavailable_after_two_calls_R_BC_3(
    public_library: Agency, authenticate_calls: list[int], settings: Any
) -> None:
    settings.BORROWER_CHECK_TIMEOUT_SECONDS = 0.05
    simulated_system_configure(agency_id=PUBLIC, latency_ms=2000)
    started = time.monotonic()
    assert check().status == Status.SERVICE_UNAVAILABLE
    elapsed = time.monotonic() - started
    assert len(authenticate_calls) == 2
    # Two waits of the timeout each, never the library system's full latency.
    assert 0.1 <= elapsed < 1.0


def test_a_library_system_within_the_timeout_is_ok_R_BC_3(
    public_library: Agency, authenticate_calls: list[int], settings: Any
) -> None:
    settings.BORROWER_CHECK_TIMEOUT_SECONDS = 0.5
    simulated_system_configure(agency_id=PUBLIC, latency_ms=50)
    assert check().status == Status.OK
    assert len(authenticate_calls) == 1


@pytest.mark.parametrize("first_error", [LibrarySystemUnavailable, LibrarySystemTimeout])
def test_one_failure_then_an_answer_is_ok_the_check_retries_once_R_BC_3(
    public_library: Agency, monkeypatch: pytest.MonkeyPatch, first_error: type[Exception]
) -> None:
    calls: list[int] = []
    original = SimulatedLibrarySystem.authenticate

    def fails_once(self: SimulatedLibrarySystem, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise first_error("flaky")
        return original(self, **kwargs)

    monkeypatch.setattr(SimulatedLibrarySystem, "authenticate", fails_once)
    assert check().status == Status.OK
    assert len(calls) == 2


def test_a_wrong_pin_is_not_retried_R_BC_3(
    public_library: Agency, authenticate_calls: list[int]
) -> None:
    assert check(password="00000").status == Status.BORROWER_NOT_FOUND
    assert len(authenticate_calls) == 1


def test_failure_rate_one_gives_service_unavailable_after_two_calls_R_BC_3(
    public_library: Agency, authenticate_calls: list[int]
) -> None:
    simulated_system_configure(agency_id=PUBLIC, failure_rate=1.0)
    result = check()
    assert result.status == Status.SERVICE_UNAVAILABLE
    assert (result.name, result.cpr) == ("", None)
    assert len(authenticate_calls) == 2


def test_a_library_system_that_is_down_gives_service_unavailable_R_BC_3(
    public_library: Agency,
) -> None:
    simulated_system_configure(agency_id=PUBLIC, down=True)
    assert check().status == Status.SERVICE_UNAVAILABLE


# R-BC-4 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["0101801234", "010180-1234", "010180 1234", " 01 01 80 12 34 ", "\t010180-1234\n"]
)
def test_a_cpr_typed_with_dash_or_spaces_finds_the_borrower_R_BC_4(
    public_library: Agency, typed: str
) -> None:
    result = check(user_id=typed)
    assert result.status == Status.OK
    assert (result.user_id, result.user_id_is_cpr) == (CPR, True)


def test_a_cpr_with_an_impossible_date_is_not_a_cpr_R_BC_4(public_library: Agency) -> None:
    simulated_borrower_create(agency_id=PUBLIC, name="Nr", pin=PIN, borrower_numbers=["3213801234"])
    result = check(user_id="321380-1234")
    assert (result.status, result.user_id_is_cpr) == (Status.BORROWER_NOT_FOUND, False)
    assert result.user_id == "321380-1234"
    # Ten digits that are no date can still be someone's borrower number.
    result = check(user_id="3213801234")
    assert (result.status, result.user_id_is_cpr) == (Status.OK, False)


def test_a_cpr_looking_id_at_an_agency_without_cpr_stays_a_local_id_R_BC_4(
    ffu_library: Agency,
) -> None:
    simulated_borrower_create(
        agency_id=FFU, name="Lokal", pin=PIN, borrower_numbers=["010180-1234"]
    )
    result = check(agency_id=FFU, user_id=" 010180-1234 ")
    assert (result.status, result.name) == (Status.OK, "Lokal")
    assert (result.user_id, result.user_id_is_cpr) == ("010180-1234", False)


def test_user_ids_are_trimmed_R_BC_4(public_library: Agency) -> None:
    result = check(user_id="  L1001\t")
    assert (result.status, result.user_id) == (Status.OK, "L1001")


def test_email_user_ids_are_case_insensitive_R_BC_4(ffu_library: Agency) -> None:
    for typed in ("stud.ent@ucn.dk", "Stud.Ent@UCN.dk", "  STUD.ENT@UCN.DK "):
        result = check(agency_id=FFU, user_id=typed)
        assert (result.status, result.user_id) == (Status.OK, "stud.ent@ucn.dk")


cpr_formatting = st.tuples(
    st.text(alphabet=" \t\n", max_size=3),
    st.lists(st.sampled_from(["", "", "", " ", "-", "  "]), min_size=9, max_size=9),
    st.text(alphabet=" \t\n", max_size=3),
)


@hsettings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(formatting=cpr_formatting)
def test_any_formatting_of_a_valid_cpr_finds_the_same_borrower_R_BC_4(
    public_library: Agency, formatting: tuple[str, list[str], str]
) -> None:
    leading, separators, trailing = formatting
    typed = leading + "".join(d + s for d, s in zip(CPR, [*separators, ""], strict=True))
    typed += trailing
    result = check(user_id=typed)
    assert result.status == Status.OK, repr(typed)
    assert (result.user_id, result.name) == (CPR, "Anna Jensen")


@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(user_id=st.text(max_size=300), agency=st.sampled_from([PUBLIC, FFU]))
def test_any_user_id_string_gets_a_status_and_never_raises_R_BC_4(
    public_library: Agency, ffu_library: Agency, user_id: str, agency: str
) -> None:
    result = check(agency_id=agency, user_id=user_id)
    assert result.status in set(BorrowerCheckStatus)
    if result.status == Status.OK:
        assert result.name in {"Anna Jensen", "Stud Ent"}


# R-BC-5 --------------------------------------------------------------------------------------


def test_the_pin_is_never_logged_nor_in_a_result_R_BC_5(
    public_library: Agency, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "59172648"
    simulated_borrower_create(agency_id=PUBLIC, name="Hemmelig", pin=secret, cpr="0202801234")
    results = [
        check(user_id="020280-1234", password=secret),  # ok
        check(user_id="020280-1234", password=secret, municipality_no=751),
        check(user_id="L1001", password=secret),  # wrong PIN
        check(user_id="nobody", password=secret),  # unknown user
        check(user_id="020280-1234", password=secret + "\x00"),  # malformed
    ]
    simulated_system_configure(agency_id=PUBLIC, failure_rate=1.0)
    results.append(check(user_id="020280-1234", password=secret))
    assert [r.status for r in results] == [
        Status.OK,
        Status.BORROWER_NOT_IN_MUNICIPALITY,
        Status.BORROWER_NOT_FOUND,
        Status.BORROWER_NOT_FOUND,
        Status.ERROR_IN_REQUEST,
        Status.SERVICE_UNAVAILABLE,
    ]
    assert caplog.records, "the checks are logged"
    for text in [caplog.text, *map(repr, results), *map(str, results)]:
        assert secret not in text
        # Nor the CPR in full (R-CULR-5): the result's repr masks it.
        assert "0202801234" not in text
    for result in results:
        assert secret not in [str(v) for v in vars(result).values()]


def test_the_pin_goes_to_the_library_system_untouched_R_BC_5(
    public_library: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[str] = []
    original = SimulatedLibrarySystem.authenticate

    def spy(self: SimulatedLibrarySystem, **kwargs: Any) -> Any:
        received.append(kwargs["password"])
        return original(self, **kwargs)

    monkeypatch.setattr(SimulatedLibrarySystem, "authenticate", spy)
    simulated_borrower_create(
        agency_id=PUBLIC, name="Mellemrum", pin=" 1 2 ", borrower_numbers=["S"]
    )
    assert check(user_id="S", password=" 1 2 ").status == Status.OK
    assert received == [" 1 2 "]


def test_the_result_repr_masks_a_cpr_user_id(public_library: Agency) -> None:
    result = check(user_id="010180-1234")
    assert CPR not in repr(result)
    assert "010180-XXXX" in repr(result)


# Look-up without PIN (R-ORDER-3) -------------------------------------------------------------


def test_lookup_finds_a_borrower_without_pin_and_without_argon2(
    public_library: Agency, verifications: list[int]
) -> None:
    result = borrower_lookup(service_requester=PORTAL, agency_id=PUBLIC, user_id="010180-1234")
    assert (result.status, result.name, result.user_id) == (Status.OK, "Anna Jensen", CPR)
    assert borrower_lookup(service_requester=PORTAL, agency_id=PUBLIC, user_id="L404").status == (
        Status.BORROWER_NOT_FOUND
    )
    assert verifications == []


def test_lookup_follows_the_registry_rules(public_library: Agency) -> None:
    lookup: Callable[..., BorrowerCheckResult] = borrower_lookup
    assert lookup(service_requester="x.dk", agency_id=PUBLIC, user_id="L1001").status == (
        Status.SERVICE_NOT_LICENSED
    )
    assert lookup(service_requester=PORTAL, agency_id=PUBLIC, user_id=" ").status == (
        Status.NO_USER_IN_REQUEST
    )
    Agency.objects.filter(agency_id=PUBLIC).update(borrower_check=False)
    assert lookup(service_requester=PORTAL, agency_id=PUBLIC, user_id="L1001").status == (
        Status.BORROWERCHECK_NOT_ALLOWED
    )


def test_the_check_reads_the_library_system_through_the_one_entry_point(
    public_library: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def library_system_for(agency_id: str) -> SimulatedLibrarySystem:
        asked.append(agency_id)
        return SimulatedLibrarySystem(agency_id=agency_id)

    monkeypatch.setattr(borrowercheck_services, "library_system_for", library_system_for)
    assert check().status == Status.OK
    assert asked == [PUBLIC]

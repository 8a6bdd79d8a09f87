"""The SIP2 adapter over real TCP against a server built on the third-party ``pysip2``.

The server serves the demo's UCN library (829000) from the simulator's tables, so every answer
here crossed the wire as SIP2 frames encoded by code that is not ours.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from typing import Any

import pytest
from django.utils import timezone

from biblogin.integrations.library_systems import services as simulated
from biblogin.integrations.library_systems.models import SimBorrower, SimLoan, SimReservation
from biblogin.integrations.library_systems.protocol import (
    BorrowerNotFound,
    LibrarySystemTimeout,
    LibrarySystemUnavailable,
    RefusalReason,
    RequestRefused,
)
from biblogin.integrations.library_systems.sip2.adapter import Sip2LibrarySystem
from biblogin.integrations.library_systems.sip2.client import (
    Sip2Endpoint,
    Sip2LoginRefused,
    Sip2Unreachable,
    client_for,
)
from tests.integrations.library_systems.sip2.stand import AGENCY, INSTITUTION, LOGIN_USER

CLARA, CLARA_PIN = "clara@ucn.example", "5555"
T = 10.0  # generous: these tests are about answers, not speed


def _clara() -> SimBorrower:
    return SimBorrower.objects.get(system__agency_id=AGENCY, name="Clara Christensen")


# -- login and PIN ---------------------------------------------------------------------------


def test_right_pin_gives_the_borrower_the_library_knows(sip2: Any) -> None:
    """R-BC-1: valid patron (BL) and valid PIN (CQ) give the borrower, AA as their reference."""
    borrower = sip2.authenticate(user_id=CLARA, password=CLARA_PIN, timeout=T)
    assert borrower.name == "Clara Christensen"
    assert borrower.email == CLARA
    assert borrower.borrower_ref == _clara().borrower_ref
    assert borrower.blocked is False
    # SIP2 2.00 carries no CPR and no municipality.
    assert borrower.cpr is None and borrower.municipality_no is None


def test_wrong_pin_and_unknown_user_are_one_answer_borrower_not_found(sip2: Any) -> None:
    """R-BC-2: CQ=N (wrong PIN) and BL=N (unknown patron) raise the same error."""
    with pytest.raises(BorrowerNotFound) as wrong_pin:
        sip2.authenticate(user_id=CLARA, password="0000", timeout=T)
    with pytest.raises(BorrowerNotFound) as unknown:
        sip2.authenticate(user_id="nobody@ucn.example", password=CLARA_PIN, timeout=T)
    assert str(wrong_pin.value) == str(unknown.value)


def test_user_id_or_pin_that_cannot_travel_in_sip2_names_nobody(sip2: Any) -> None:
    """R-BC-2: a | or CR would split the frame; such input never reaches the server."""
    for user_id, pin in [("clara|x", CLARA_PIN), (CLARA, "55|55"), ("a\rb", "1"), (CLARA, "5\r")]:
        with pytest.raises(BorrowerNotFound):
            sip2.authenticate(user_id=user_id, password=pin, timeout=T)
    # The connection stayed in step: the next login works on it.
    assert sip2.authenticate(user_id=CLARA, password=CLARA_PIN, timeout=T).name
    assert client_for(sip2.endpoint).connections_opened == 1


def test_lookup_without_pin_finds_the_borrower_and_not_a_stranger(sip2: Any) -> None:
    assert sip2.lookup(user_id=CLARA, timeout=T).name == "Clara Christensen"
    with pytest.raises(BorrowerNotFound):
        sip2.lookup(user_id="nobody@ucn.example", timeout=T)


def test_blocked_borrower_is_reported_blocked_from_the_patron_status_flags(sip2: Any) -> None:
    simulated.simulated_borrower_create(
        agency_id=AGENCY,
        name="Spærret Sørensen",
        pin="9999",
        emails=["s@ucn.example"],
        blocked=True,
    )
    borrower = sip2.authenticate(user_id="s@ucn.example", password="9999", timeout=T)
    assert borrower.blocked is True
    assert borrower.name == "Spærret Sørensen"  # Danish letters survive cp850


def test_wrong_sc_login_is_a_clear_unavailable_not_a_wrong_pin(endpoint: Sip2Endpoint) -> None:
    """A refused 93 login is the registry's fault, never the borrower's (not BorrowerNotFound)."""
    wrong = Sip2Endpoint(
        host=endpoint.host,
        port=endpoint.port,
        institution_id=INSTITUTION,
        login_user=LOGIN_USER,
        login_password="not-the-password",
    )
    system = Sip2LibrarySystem(agency_id=AGENCY, endpoint=wrong)
    with pytest.raises(Sip2LoginRefused, match="refused the login") as refused:
        system.authenticate(user_id=CLARA, password=CLARA_PIN, timeout=T)
    assert isinstance(refused.value, LibrarySystemUnavailable)
    assert "not-the-password" not in str(refused.value)


# -- loans, holds, fines ---------------------------------------------------------------------


def test_loans_come_with_title_and_due_date(sip2: Any) -> None:
    clara = _clara()
    due = timezone.localdate() + dt.timedelta(days=9)
    simulated.simulated_loan_add(borrower=clara, title="Æbler | pærer", due_date=due)
    status = sip2.user_status(borrower_ref=clara.borrower_ref, timeout=T)
    by_title = {loan.title: loan for loan in status.loans}
    expected = {loan.title.replace("|", "/") for loan in SimLoan.objects.filter(borrower=clara)}
    assert set(by_title) == expected
    assert by_title["Æbler / pærer"].due_date == due
    assert all(loan.renewable for loan in status.loans)


def test_holds_ready_and_waiting_come_apart(sip2: Any) -> None:
    clara = _clara()
    expires = timezone.localdate() + dt.timedelta(days=5)
    simulated.simulated_reservation_add(
        borrower=clara,
        title="Klar på hylden",
        ready_for_pickup=True,
        pickup_branch_id="829001",
        pickup_expires=expires,
    )
    simulated.simulated_reservation_add(borrower=clara, title="I køen", queue_position=3)
    status = sip2.user_status(borrower_ref=clara.borrower_ref, timeout=T)
    holds = {r.title: r for r in status.reservations}
    assert holds["Klar på hylden"].ready_for_pickup is True
    assert holds["Klar på hylden"].pickup_branch_id == "829001"
    assert holds["Klar på hylden"].pickup_expires == expires
    assert holds["I køen"].ready_for_pickup is False
    assert holds["I køen"].pickup_expires is None


def test_fines_come_with_amount_and_text(sip2: Any) -> None:
    clara = _clara()
    simulated.simulated_debt_add(borrower=clara, title="For sent afleveret", amount_dkk="25.50")
    simulated.simulated_debt_add(borrower=clara, title="Mistet bog", amount_dkk=300)
    status = sip2.user_status(borrower_ref=clara.borrower_ref, timeout=T)
    assert {(d.title, d.amount_dkk) for d in status.debts} == {
        ("For sent afleveret", "25.50"),
        ("Mistet bog", "300.00"),
    }


def test_user_status_of_an_unknown_borrower_is_borrower_not_found(sip2: Any) -> None:
    with pytest.raises(BorrowerNotFound):
        sip2.user_status(borrower_ref="no-such-borrower", timeout=T)


# -- renew -----------------------------------------------------------------------------------


def test_renew_moves_the_due_date_in_the_library(sip2: Any) -> None:
    clara = _clara()
    loan = simulated.simulated_loan_add(
        borrower=clara, title="Fornyes", due_date=timezone.localdate() + dt.timedelta(days=2)
    )
    renewed = sip2.loan_renew(borrower_ref=clara.borrower_ref, loan_id=f"L{loan.pk}", timeout=T)
    loan.refresh_from_db()
    assert renewed.due_date == loan.due_date > timezone.localdate() + dt.timedelta(days=2)
    assert renewed.title == "Fornyes" and renewed.loan_id == f"L{loan.pk}"
    assert loan.renewals == 1


def test_renew_refused_carries_the_librarys_screen_message(sip2: Any) -> None:
    clara = _clara()
    due = timezone.localdate() + dt.timedelta(days=2)
    loan = simulated.simulated_loan_add(borrower=clara, title="Fast", due_date=due, renewable=False)
    with pytest.raises(RequestRefused) as refused:
        sip2.loan_renew(borrower_ref=clara.borrower_ref, loan_id=f"L{loan.pk}", timeout=T)
    # SIP2 carries no reason code: a refused renewal is NOT_RENEWABLE, the AF its detail.
    assert refused.value.code == RefusalReason.NOT_RENEWABLE
    assert refused.value.detail == "Lånet kan ikke fornys."  # AF, from the library
    loan.refresh_from_db()
    assert loan.due_date == due and loan.renewals == 0


def test_renew_of_a_loan_that_is_not_theirs_is_refused(sip2: Any) -> None:
    other = simulated.simulated_borrower_create(
        agency_id=AGENCY, name="Anden", pin="1111", emails=["anden@ucn.example"]
    )
    loan = simulated.simulated_loan_add(
        borrower=other, title="Andens", due_date=timezone.localdate()
    )
    for loan_id in (f"L{loan.pk}", "L999999", "nonsense", "L1|AB2"):
        with pytest.raises(RequestRefused):
            sip2.loan_renew(borrower_ref=_clara().borrower_ref, loan_id=loan_id, timeout=T)
    loan.refresh_from_db()
    assert loan.renewals == 0


# -- holds: place and cancel -----------------------------------------------------------------


def test_hold_placed_then_cancelled(sip2: Any) -> None:
    clara = _clara()
    receipt = sip2.request_place(
        borrower_ref=clara.borrower_ref,
        idempotency_key="order-1",
        material_ids=["870970-basis:12345678"],
        pickup_branch_id="829001",
        timeout=T,
    )
    assert receipt.queue_position == 1
    placed = SimReservation.objects.get(borrower=clara, material_id="870970-basis:12345678")
    assert placed.pickup_branch_id == "829001"
    listed = sip2.user_status(borrower_ref=clara.borrower_ref, timeout=T).reservations
    assert [r.reservation_id for r in listed] == [receipt.request_id]

    sip2.reservation_cancel(
        borrower_ref=clara.borrower_ref, reservation_id=receipt.request_id, timeout=T
    )
    assert not SimReservation.objects.filter(pk=placed.pk).exists()
    with pytest.raises(RequestRefused, match="findes ikke"):
        sip2.reservation_cancel(
            borrower_ref=clara.borrower_ref, reservation_id=receipt.request_id, timeout=T
        )


def test_second_hold_on_the_same_material_is_refused_with_the_reason(sip2: Any) -> None:
    ref = _clara().borrower_ref
    sip2.request_place(
        borrower_ref=ref, idempotency_key="k1", material_ids=["m-1"], pickup_branch_id="", timeout=T
    )
    with pytest.raises(RequestRefused, match="allerede reserveret") as refused:
        sip2.request_place(
            borrower_ref=ref,
            idempotency_key="k2",
            material_ids=["m-1"],
            pickup_branch_id="",
            timeout=T,
        )
    assert refused.value.code == RefusalReason.OTHER


def test_hold_with_the_same_idempotency_key_is_placed_once(sip2: Any) -> None:
    """R-ORDER-5 over SIP2, which knows no key: the same key again gives the same receipt."""
    clara = _clara()
    kwargs = {
        "borrower_ref": clara.borrower_ref,
        "idempotency_key": "order-7:line-1",
        "material_ids": ["m-7"],
        "pickup_branch_id": "",
        "timeout": T,
    }
    first = sip2.request_place(**kwargs)
    again = sip2.request_place(**kwargs)
    assert again == first
    assert SimReservation.objects.filter(borrower=clara, material_id="m-7").count() == 1


def test_hold_whose_answer_was_lost_is_found_on_retry_not_placed_again(sip2: Any) -> None:
    """R-ORDER-5: the hold arrived but its answer did not; the retry finds it by the key."""
    clara = _clara()
    kwargs = {
        "borrower_ref": clara.borrower_ref,
        "idempotency_key": "order-8:line-1",
        "material_ids": ["m-8"],
        "pickup_branch_id": "",
        "timeout": T,
    }
    real_hold = sip2._hold
    calls: list[str] = []

    def hold_then_lose_the_answer(*args: Any, **kw: Any) -> Any:
        answer = real_hold(*args, **kw)
        calls.append(kw["mode"])
        if len(calls) == 1:
            raise LibrarySystemTimeout("answer lost")
        return answer

    sip2._hold = hold_then_lose_the_answer
    try:
        with pytest.raises(LibrarySystemTimeout):
            sip2.request_place(**kwargs)
        receipt = sip2.request_place(**kwargs)
    finally:
        sip2._hold = real_hold
    held = SimReservation.objects.get(borrower=clara, material_id="m-8")
    assert calls == ["+"]  # the retry placed nothing
    assert receipt.request_id == f"R{held.pk}"
    assert sip2.request_place(**kwargs) == receipt


# -- the connection: reuse, threads, slow, gone ----------------------------------------------


def test_connection_is_reused_across_calls(sip2: Any) -> None:
    ref = _clara().borrower_ref
    for _ in range(3):
        sip2.authenticate(user_id=CLARA, password=CLARA_PIN, timeout=T)
        sip2.user_status(borrower_ref=ref, timeout=T)
    assert client_for(sip2.endpoint).connections_opened == 1


def test_parallel_calls_each_get_their_own_answer(sip2: Any) -> None:
    """Threads share the pool, never a connection: each answer belongs to its own question."""
    others = [
        simulated.simulated_borrower_create(
            agency_id=AGENCY, name=f"Låner {n}", pin=f"{n:04d}", emails=[f"l{n}@ucn.example"]
        )
        for n in range(6)
    ]
    results: dict[int, str] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(others))

    def call(n: int) -> None:
        try:
            start.wait()
            results[n] = sip2.authenticate(
                user_id=f"l{n}@ucn.example", password=f"{n:04d}", timeout=30
            ).name
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(len(others))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == {n: f"Låner {n}" for n in range(len(others))}
    assert client_for(sip2.endpoint).connections_opened <= len(others)


def test_slow_server_is_a_timeout_and_its_late_answer_is_never_read(
    sip2: Any, sip2_server: Any
) -> None:
    """R-BC-3: the simulator behind the server takes 1.5 s per call; we wait 0.3 s.

    The bound on the elapsed time is structural (not blocked for the server's 1.5 s), on a
    shared 2-core machine.
    """
    simulated.simulated_system_configure(agency_id=AGENCY, latency_ms=1500)
    began = time.monotonic()
    with pytest.raises(LibrarySystemTimeout):
        sip2.authenticate(user_id=CLARA, password=CLARA_PIN, timeout=0.3)
    assert time.monotonic() - began < 1.4
    # At once, while the late answer is still on its way: on the timed-out connection it would
    # be read as this call's answer. A fresh connection gets the right one.
    borrower = sip2.lookup(user_id=CLARA, timeout=T)
    assert borrower.name == "Clara Christensen"
    assert client_for(sip2.endpoint).connections_opened == 2
    sip2_server.wait_idle()  # no handler runs when the test's transaction is rolled back


def _port_nobody_listens_on() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_server_gone_is_unavailable_with_connection_refused() -> None:
    endpoint = Sip2Endpoint(host="127.0.0.1", port=_port_nobody_listens_on(), institution_id="X")
    system = Sip2LibrarySystem(agency_id=AGENCY, endpoint=endpoint)
    with pytest.raises(Sip2Unreachable, match="connection refused") as gone:
        system.authenticate(user_id=CLARA, password=CLARA_PIN, timeout=T)
    assert isinstance(gone.value, LibrarySystemUnavailable)


def test_server_stopped_under_a_pooled_connection_is_unavailable(
    sip2: Any, sip2_server: Any
) -> None:
    assert sip2.lookup(user_id=CLARA, timeout=T).name
    sip2_server.stop()
    with pytest.raises(LibrarySystemUnavailable):
        sip2.lookup(user_id=CLARA, timeout=T)


def test_nonsense_timeouts_never_hang(sip2: Any) -> None:
    for timeout in (0.0, -1.0, float("nan")):
        with pytest.raises(LibrarySystemTimeout):
            sip2.lookup(user_id=CLARA, timeout=timeout)

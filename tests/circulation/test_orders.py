"""Placing orders: who may order where (R-ORDER-3, -4, R-PORTAL-8), idempotency (R-ORDER-5),
receipt, history and audit (R-ORDER-7, R-LOGIN-13)."""

from __future__ import annotations

import pytest

from biblogin.audit.models import AuditAction, AuditEvent
from biblogin.circulation import orders as orders_module
from biblogin.circulation.history import last_pickup_branch_id
from biblogin.circulation.models import LineOutcome, Order, OrderState
from biblogin.circulation.orderer import OrderRefusal
from biblogin.circulation.orders import InvalidCode, order_get_for_owner
from biblogin.integrations.library_systems.models import SimReservation
from tests.circulation.builders import (
    ANNA_CPR,
    ERIK_CPR,
    bo_linked,
    book,
    guest,
    invalid,
    key,
    not_lendable,
    profile,
    refused,
    session,
    submit,
)

pytestmark = pytest.mark.usefixtures("demo")


def reservations(material_id: str) -> int:
    return SimReservation.objects.filter(material_id=material_id).count()


def test_profile_user_order_is_placed_in_the_pickup_agencys_library_system_R_ORDER_1() -> None:
    result = submit(
        profile(ANNA_CPR), at="710104", materials=[book("870970-basis:p1"), book("870970-basis:p2")]
    )
    order = result.order
    assert order.state == OrderState.COMPLETED and not result.replayed
    assert [line.outcome for line in order.lines.all()] == [LineOutcome.PLACED] * 2
    assert reservations("870970-basis:p1") == 1
    placed = SimReservation.objects.get(material_id="870970-basis:p1")
    assert placed.pickup_branch_id == "710104"
    assert placed.borrower.system.agency_id == "710100"


def test_a_material_that_cannot_be_ordered_is_reported_and_the_rest_go_on_R_ORDER_1() -> None:
    order = submit(
        profile(ANNA_CPR),
        at="710104",
        materials=[book("870970-basis:ok1"), not_lendable("870970-basis:none")],
    ).order
    outcomes = {line.pid: (line.outcome, line.reason_code) for line in order.lines.all()}
    assert outcomes["870970-basis:ok1"] == (LineOutcome.PLACED, "")
    assert outcomes["870970-basis:none"] == (LineOutcome.NOT_ORDERABLE, "NOT_OWNED_NO_ILL_LOC")
    assert reservations("870970-basis:none") == 0


def test_more_than_25_materials_or_none_orderable_order_nothing_R_ORDER_1() -> None:
    many = [book(f"870970-basis:m{i}") for i in range(26)]
    too_many = invalid(profile(ANNA_CPR), at="710104", materials=many)
    assert too_many.code == InvalidCode.TOO_MANY_MATERIALS
    nothing = invalid(profile(ANNA_CPR), at="710104", materials=[not_lendable()])
    assert nothing.code == InvalidCode.NOTHING_ORDERABLE
    assert not Order.objects.exists()


def test_a_repeated_submit_of_the_same_form_makes_one_order_R_ORDER_5() -> None:
    form_key = key()
    anna = profile(ANNA_CPR)
    first = submit(anna, submission_key=form_key, at="710104", materials=[book()])
    again = submit(anna, submission_key=form_key, at="710104", materials=[book()])
    assert again.replayed and again.order.pk == first.order.pk
    assert Order.objects.count() == 1 and reservations(book().pid) == 1


def test_the_same_key_in_another_persons_form_is_another_order_R_ORDER_5() -> None:
    form_key = key()
    anna = submit(profile(ANNA_CPR), submission_key=form_key, at="710104").order
    bo = submit(session("820099", "CS-4711"), submission_key=form_key, at="820099").order
    assert anna.pk != bo.pk
    assert order_get_for_owner(public_id=str(anna.public_id), owner="session:pairwise-bo") is None


def test_the_order_is_recorded_before_the_library_is_called_R_ORDER_5(monkeypatch) -> None:
    seen: list[tuple[str, str]] = []
    original = orders_module._request

    def recording(system, *, order, line, timeout):
        stored = Order.objects.get(pk=order.pk)
        seen.append((stored.state, stored.lines.get(pk=line.pk).outcome))
        return original(system, order=order, line=line, timeout=timeout)

    monkeypatch.setattr(orders_module, "_request", recording)
    submit(profile(ANNA_CPR), at="710104", materials=[book()])
    assert seen == [(OrderState.PLACING, LineOutcome.PENDING)]


def test_blocked_borrower_cannot_order_R_ORDER_3() -> None:
    refusal = refused(profile(ERIK_CPR), at="710100")
    assert refusal.code == OrderRefusal.BORCHK_USER_BLOCKED_BY_AGENCY
    assert not Order.objects.exists()
    event = AuditEvent.objects.get(action=AuditAction.ORDER_REFUSED)
    assert event.outcome == "BORCHK_USER_BLOCKED_BY_AGENCY" and event.agency_id == "710100"


def test_a_culr_account_the_library_no_longer_knows_is_told_so_R_ORDER_3() -> None:
    from biblogin.common.cpr_crypto import cpr_hash
    from biblogin.integrations.library_systems.models import SimBorrower

    SimBorrower.objects.filter(
        system__agency_id="710100", identifiers__value=cpr_hash(ANNA_CPR)
    ).delete()
    refusal = refused(profile(ANNA_CPR), at="710104")
    assert refusal.code == OrderRefusal.BORCHK_USER_NO_LONGER_EXIST_ON_AGENCY


def test_a_library_not_answering_the_status_check_orders_nothing_R_ORDER_3() -> None:
    from biblogin.integrations.library_systems.models import SimulatedSystem

    SimulatedSystem.objects.filter(agency_id="710100").update(down=True)
    refusal = refused(profile(ANNA_CPR), at="710104")
    assert refusal.code == OrderRefusal.BORCHK_USER_NOT_VERIFIED
    assert not Order.objects.exists()


def test_session_user_orders_to_the_library_logged_in_at_without_typing_more_R_ORDER_3() -> None:
    bo = session("820099", "CS-4711")
    order = submit(bo, at="820099").order
    assert order.lines.get().outcome == LineOutcome.PLACED
    elsewhere = refused(bo, at="710104")
    assert elsewhere.code == OrderRefusal.NOT_REGISTERED


def test_profile_user_must_type_the_pin_for_an_ffu_library_R_PORTAL_8() -> None:
    bo = bo_linked()
    missing = refused(bo, at="820099")
    assert missing.code == OrderRefusal.ERROR_MISSING_PINCODE
    wrong = refused(bo, at="820099", pin="0000")
    assert wrong.code == OrderRefusal.WRONG_PINCODE and wrong.attempts_left == 4
    assert not Order.objects.exists() and reservations(book().pid) == 0
    order = submit(bo, at="820099", pin="4711").order
    assert order.lines.get().outcome == LineOutcome.PLACED
    # A public library delivering to CULR needs no PIN.
    submit(bo, at="710100", materials=[book("870970-basis:kb")])


def test_wrong_pins_when_ordering_are_throttled_like_logins_R_PORTAL_8_R_LOGIN_5() -> None:
    bo = bo_linked()
    codes = [refused(bo, at="820099", pin="9999").code for _attempt in range(6)]
    assert codes[:4] == [OrderRefusal.WRONG_PINCODE] * 4
    assert codes[4:] == [OrderRefusal.PIN_THROTTLED] * 2
    blocked = refused(bo, at="820099", pin="4711")
    assert blocked.code == OrderRefusal.PIN_THROTTLED
    assert reservations(book().pid) == 0


HH_DETAILS = {"userId": "HH-1001", "userName": "Ida Iversen", "userMail": "ida@example.dk"}


def test_guest_orders_with_exactly_the_librarys_user_parameters_R_ORDER_4() -> None:
    order = submit(guest(HH_DETAILS), at="830099").order
    assert order.lines.get().outcome == LineOutcome.PLACED
    assert SimReservation.objects.get(material_id=book().pid).borrower.system.agency_id == "830099"
    assert order.email == "ida@example.dk" and order.patron_guid is None


@pytest.mark.parametrize(
    ("details", "fields"),
    [
        ({"userId": "HH-1001", "userName": "Ida"}, {"userMail": "required"}),
        ({"userId": "HH-1001", "userName": "Ida", "userMail": "ida@"}, {"userMail": "invalid"}),
        ({"userName": "Ida", "userMail": "ida@example.dk"}, {"userId": "required"}),
    ],
)
def test_guest_missing_or_malformed_parameters_order_nothing_R_ORDER_4(details, fields) -> None:
    refusal = refused(guest(details), at="830099")
    assert refusal.code == OrderRefusal.USER_PARAMETERS_INVALID
    assert refusal.fields == fields
    assert not Order.objects.exists()


def test_guest_cannot_order_where_the_library_takes_no_orders_without_login_R_ORDER_4() -> None:
    refusal = refused(guest(HH_DETAILS), at="850099")
    assert refusal.code == OrderRefusal.NO_ORDERS_WITHOUT_LOGIN


def test_guest_at_a_library_with_borrower_check_gives_a_pin_that_is_checked_R_ORDER_4() -> None:
    details = {"userId": "1000001", "userName": "Anna Andersen", "userMail": "anna@example.dk"}
    missing = refused(guest(details), at="710104")
    assert missing.code == OrderRefusal.ERROR_MISSING_PINCODE
    wrong = refused(guest(details), at="710104", pin="0000")
    assert wrong.code == OrderRefusal.WRONG_PINCODE
    order = submit(guest(details), at="710104", pin="1234").order
    assert order.lines.get().outcome == LineOutcome.PLACED


def test_every_order_is_audited_and_the_branch_becomes_the_last_used_R_ORDER_7_R_LOGIN_13():
    anna = profile(ANNA_CPR)
    order = submit(anna, at="710104").order
    event = AuditEvent.objects.get(action=AuditAction.ORDER)
    assert event.subject == f"order:{order.public_id}" and event.agency_id == "710100"
    assert event.details["placed"] == 1 and "pin" not in str(event.details).lower()
    assert last_pickup_branch_id(patron_guid=anna.patron_guid) == "710104"
    assert order_get_for_owner(public_id=str(order.public_id), owner=anna.owner) == order


def test_a_malformed_submission_key_orders_nothing_R_SEC_3() -> None:
    for bad in ["", "short", "x" * 200, "ключ-ключ-ключ-ключ", "a b c d e f g h i j k l"]:
        invalid(profile(ANNA_CPR), submission_key=bad, at="710104")
    assert not Order.objects.exists()

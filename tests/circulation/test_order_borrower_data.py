"""The borrower data an order carries to the pickup library (R-VIP-7, R-ORDER-4).

Handelshøjskolens Bibliotek (830099, no borrower check) takes orders without login; each test
sets the user parameters it asks for ("Slutbrugere > Lånerdata") and reads what its simulated
system received with the request.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from biblogin.circulation import orders as orders_module
from biblogin.circulation.history import order_history_cleanup
from biblogin.circulation.models import (
    LineOutcome,
    Order,
    OrdererKind,
    OrderHistoryConsent,
    OrderState,
)
from biblogin.circulation.orderer import Orderer, OrderRefusal
from biblogin.circulation.orders import order_submit
from biblogin.integrations.library_systems.models import SimRequest
from biblogin.integrations.library_systems.protocol import LibrarySystemTimeout
from biblogin.registry.models import Agency, OrderUserParameter
from tests.circulation.builders import ANNA_CPR, book, guest, key, refused, session, submit

pytestmark = pytest.mark.usefixtures("demo")

HH = "830099"
IDA = {"userId": "HH-1001", "userName": "Ida Iversen", "userMail": "ida@example.dk"}
KEPT = "00000000-0000-0000-0000-000000000001"


def asks_for(*parameters: tuple[str, bool], agency_id: str = HH) -> None:
    """The library's user parameters, in this order: (type, required)."""
    agency = Agency.objects.get(agency_id=agency_id)
    OrderUserParameter.objects.filter(agency=agency).delete()
    OrderUserParameter.objects.bulk_create(
        OrderUserParameter(agency=agency, position=position, parameter_type=kind, required=required)
        for position, (kind, required) in enumerate(parameters)
    )


def received(agency_id: str = HH) -> dict[str, str]:
    """What the pickup library's system got with the (one) request placed."""
    return SimRequest.objects.get(system_id=agency_id).borrower_data


def test_the_library_receives_the_user_parameters_it_asks_for_and_none_other_R_VIP_7() -> None:
    """R-VIP-7 / R-ORDER-4: exactly the library's data fields reach it; nothing it does not
    list (the telephone here), and not the ID, which names the borrower already."""
    asks_for(
        ("userId", True),
        ("userName", True),
        ("userMail", True),
        ("userAddress", True),
        ("userDateOfBirth", False),
    )
    details = {
        **IDA,
        "userAddress": "  Porcelænshaven 1, 2000 Frederiksberg ",
        "userDateOfBirth": "1995-03-03",
        "userTelephone": "12345678",
    }
    order = submit(guest(details), at=HH).order
    assert order.lines.get().outcome == LineOutcome.PLACED
    assert received() == {
        "userName": "Ida Iversen",
        "userMail": "ida@example.dk",
        "userAddress": "Porcelænshaven 1, 2000 Frederiksberg",
        "userDateOfBirth": "1995-03-03",
    }


def test_an_optional_parameter_left_empty_is_not_sent_R_VIP_7() -> None:
    """R-VIP-7: an optional field the guest left empty is not sent as an empty value."""
    asks_for(("userId", True), ("userName", True), ("userMail", True), ("userTelephone", False))
    submit(guest({**IDA, "userTelephone": "  "}), at=HH)
    assert received() == {"userName": "Ida Iversen", "userMail": "ida@example.dk"}


def test_a_cpr_as_the_id_field_is_never_copied_into_the_borrower_data_R_VIP_7() -> None:
    """R-VIP-7: the CPR is the guest's ID (it names the borrower); it is neither sent as data
    nor kept with the order."""
    asks_for(("cpr", True), ("userName", True), ("userMail", False), agency_id="710100")
    anna = {"cpr": ANNA_CPR, "userName": "Anna Andersen", "userMail": "anna@example.dk"}
    order = submit(guest(anna), at="710104", pin="1234").order
    assert order.lines.get().outcome == LineOutcome.PLACED
    assert received("710100") == {"userName": "Anna Andersen", "userMail": "anna@example.dk"}
    for row in Order.objects.values_list("borrower_data", "email", "borrower_ref"):
        assert ANNA_CPR not in str(row)


def test_a_session_user_sends_what_the_library_knows_with_the_typed_values_R_VIP_7() -> None:
    """R-VIP-7 for a logged-in user: the typed contact details where given, else what the
    library's own system knows of its borrower (the name, the e-mail)."""
    asks_for(
        ("userId", True),
        ("userName", True),
        ("userMail", True),
        ("userTelephone", False),
        agency_id="820099",
    )
    dorte = Orderer(
        kind=OrdererKind.SESSION,
        owner="session:pairwise-dorte",
        login_agency_id="820099",
        login_user_id="CS-0815",
        contact_details={"userTelephone": "+45 12345678", "userAddress": "not asked for"},
    )
    submit(dorte, at="820099")
    assert received("820099") == {
        "userName": "Dorte Dahl",
        "userMail": "dorte@example.dk",
        "userTelephone": "+45 12345678",
    }


class LosesAnswers:
    """The library's system, whose answers to request_place never arrive in time."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def request_place(self, **kwargs):
        self.inner.request_place(**kwargs)
        raise LibrarySystemTimeout("no answer in time")


def test_a_retry_sends_the_same_data_and_the_order_keeps_it_only_until_answered_R_VIP_7(
    monkeypatch,
) -> None:
    """R-VIP-7 with R-ORDER-5: the data stays with the order while a line is uncertain, the
    retry sends the same, and once every line has its answer the order keeps none of it."""
    asks_for(("userId", True), ("userName", True), ("userMail", True), ("userAddress", False))
    details = {**IDA, "userAddress": "Porcelænshaven 1"}
    real = orders_module.library_system_for
    sent: list[dict[str, str]] = []

    def system_for(agency_id: str):
        return LosesAnswers(real(agency_id))

    real_request = orders_module._request

    def request(system, *, order, line, timeout):
        sent.append(dict(order.borrower_data))
        return real_request(system, order=order, line=line, timeout=timeout)

    monkeypatch.setattr(orders_module, "_request", request)
    monkeypatch.setattr(orders_module, "library_system_for", system_for)
    form_key = key()
    first = submit(guest(details), at=HH, submission_key=form_key).order
    assert first.state == OrderState.PLACING
    assert first.lines.get().outcome == LineOutcome.UNCERTAIN
    expected = {
        "userName": "Ida Iversen",
        "userMail": "ida@example.dk",
        "userAddress": details["userAddress"],
    }
    assert first.borrower_data == expected

    monkeypatch.setattr(orders_module, "library_system_for", real)
    # The retry is the same form again: changed values in it do not change the order.
    again = order_submit(
        submission_key=form_key,
        orderer=guest({**details, "userAddress": "Somewhere else"}),
        pickup_branch_id=HH,
        materials=[book()],
    )
    assert again.replayed and again.order.state == OrderState.COMPLETED
    assert sent == [expected, expected]
    assert received() == expected
    assert Order.objects.get().borrower_data == {}


def test_an_unfinished_order_past_30_days_keeps_no_borrower_data_R_VIP_7(monkeypatch) -> None:
    """R-VIP-7 / R-PORTAL-18: an order left unfinished does not keep the data for good."""
    asks_for(("userId", True), ("userName", True), ("userMail", True))
    real = orders_module.library_system_for
    monkeypatch.setattr(orders_module, "library_system_for", lambda a: LosesAnswers(real(a)))
    order = submit(guest(IDA), at=HH).order
    assert order.state == OrderState.PLACING and order.borrower_data
    # A profile that consented to a longer history: the order itself is kept past 30 days.
    Order.objects.filter(pk=order.pk).update(patron_guid=KEPT)
    OrderHistoryConsent.objects.create(patron_guid=KEPT)
    order_history_cleanup(now=timezone.now() + dt.timedelta(days=31))
    assert Order.objects.get(pk=order.pk).borrower_data == {}


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("userAddress", "Vej 1\x00"),
        ("userAddress", "x" * 301),
        ("userName", "Ida\x00Iversen"),
        ("userDateOfBirth", "1995-13-40"),
    ],
)
def test_malformed_borrower_data_orders_nothing_and_names_the_field_R_ORDER_4(
    kind: str, value: str
) -> None:
    """R-ORDER-4: a NUL byte or an over-long value in a data field is the field's error."""
    asks_for(
        ("userId", True),
        ("userName", True),
        ("userMail", True),
        ("userAddress", False),
        ("userDateOfBirth", False),
    )
    refusal = refused(guest({**IDA, kind: value}), at=HH)
    assert refusal.code == OrderRefusal.USER_PARAMETERS_INVALID
    assert refusal.fields == {kind: "invalid"}
    assert not Order.objects.exists() and not SimRequest.objects.exists()


@pytest.mark.parametrize("value", ["+45\x0012345678", "1" * 301])
def test_a_logged_in_users_malformed_contact_detail_orders_nothing_R_ORDER_4(value) -> None:
    """R-ORDER-4 for a logged-in user's typed contact details: refused, the field named."""
    bo = session("820099", "CS-4711")
    bo = Orderer(
        kind=bo.kind,
        owner=bo.owner,
        login_agency_id=bo.login_agency_id,
        login_user_id=bo.login_user_id,
        contact_details={"userTelephone": value},
    )
    refusal = refused(bo, at="820099")
    assert refusal.code == OrderRefusal.USER_PARAMETERS_INVALID
    assert refusal.fields == {"userTelephone": "invalid"}
    assert not Order.objects.exists()

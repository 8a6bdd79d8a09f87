"""Bestillingshistorik (R-PORTAL-18, R-ORDER-7): 30 days unless consent; revoking deletes."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from biblogin.audit.models import AuditAction, AuditEvent
from biblogin.circulation.history import (
    order_history_consent_give,
    order_history_consent_revoke,
    order_history_for,
)
from biblogin.circulation.models import Order
from biblogin.circulation.orders import order_submit
from tests.circulation.builders import ANNA_CPR, book, guest, key, profile

pytestmark = pytest.mark.usefixtures("demo")


def aged(days: int, pid: str, orderer=None) -> Order:
    order = order_submit(
        submission_key=key(),
        orderer=orderer or profile(ANNA_CPR),
        pickup_branch_id="710104" if orderer is None else "830099",
        materials=[book(pid)],
    ).order
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - dt.timedelta(days=days))
    return order


def test_history_shows_30_days_unless_the_user_consents_R_PORTAL_18() -> None:
    anna = profile(ANNA_CPR)
    recent, old = aged(2, "870970-basis:h1"), aged(40, "870970-basis:h2")
    assert order_history_for(patron_guid=anna.patron_guid) == [recent]
    order_history_consent_give(patron_guid=anna.patron_guid)
    assert order_history_for(patron_guid=anna.patron_guid) == [recent, old]
    assert AuditEvent.objects.filter(action=AuditAction.ORDER_HISTORY_CONSENT).exists()


def test_revoking_consent_deletes_the_older_orders_R_PORTAL_18() -> None:
    anna = profile(ANNA_CPR)
    order_history_consent_give(patron_guid=anna.patron_guid)
    recent, old = aged(2, "870970-basis:h1"), aged(40, "870970-basis:h2")
    assert order_history_consent_revoke(patron_guid=anna.patron_guid) == 1
    assert list(Order.objects.all()) == [recent]
    assert not Order.objects.filter(pk=old.pk).exists()


def test_the_cleanup_command_enforces_the_30_days_R_PORTAL_18() -> None:
    anna = profile(ANNA_CPR)
    recent, old = aged(2, "870970-basis:h1"), aged(31, "870970-basis:h2")
    old_guest = aged(
        35,
        "870970-basis:h3",
        orderer=guest({"userId": "HH-1001", "userName": "Ida", "userMail": "ida@example.dk"}),
    )
    out = StringIO()
    call_command("orderhistory_cleanup", stdout=out)
    assert "2 orders" in out.getvalue()
    assert list(Order.objects.all()) == [recent]
    assert not Order.objects.filter(pk__in=[old.pk, old_guest.pk]).exists()
    # With consent, old orders stay.
    kept = aged(50, "870970-basis:h4")
    order_history_consent_give(patron_guid=anna.patron_guid)
    call_command("orderhistory_cleanup", stdout=StringIO())
    assert Order.objects.filter(pk=kept.pk).exists()


def test_a_guests_orders_are_no_ones_history() -> None:
    aged(
        1,
        "870970-basis:h5",
        orderer=guest({"userId": "HH-1001", "userName": "Ida", "userMail": "ida@example.dk"}),
    )
    assert order_history_for(patron_guid=profile(ANNA_CPR).patron_guid) == []
    assert order_history_for(patron_guid="not-a-guid") == []

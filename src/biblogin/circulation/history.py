"""Profile users' order history, "Bestillingshistorik" (R-PORTAL-18, R-ORDER-7).

Decision: the order record is the history (no copy in userdata): a profile's orders are the
orders with its patron guid. They are shown, and kept, for 30 days unless the profile consents
to longer storage; revoking the consent deletes the older ones at once, and
``biblogin orderhistory_cleanup`` deletes every order older than 30 days without consent.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import transaction
from django.utils import timezone

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.circulation.models import LastPickup, Order, OrderHistoryConsent, OrderState

HISTORY_DAYS = 30


def _guid(value: uuid.UUID | str) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def _cutoff(now: dt.datetime | None) -> dt.datetime:
    return (now or timezone.now()) - dt.timedelta(days=HISTORY_DAYS)


def order_history_consented(*, patron_guid: uuid.UUID | str) -> bool:
    """Return whether the profile consented to keeping its order history beyond 30 days."""
    guid = _guid(patron_guid)
    return guid is not None and OrderHistoryConsent.objects.filter(patron_guid=guid).exists()


def order_history_for(
    *, patron_guid: uuid.UUID | str, now: dt.datetime | None = None
) -> list[Order]:
    """Return the profile's orders, newest first: 30 days, or all with consent (R-PORTAL-18)."""
    guid = _guid(patron_guid)
    if guid is None:
        return []
    orders = Order.objects.filter(patron_guid=guid).prefetch_related("lines")
    if not order_history_consented(patron_guid=guid):
        orders = orders.filter(created_at__gte=_cutoff(now))
    return list(orders.order_by("-created_at", "-id")[:200])


@transaction.atomic
def order_history_consent_give(*, patron_guid: uuid.UUID | str) -> None:
    """Keep the profile's order history beyond 30 days (R-PORTAL-18)."""
    guid = _guid(patron_guid)
    if guid is None:
        return
    _row, created = OrderHistoryConsent.objects.get_or_create(patron_guid=guid)
    if created:
        audit_event_record(
            action=AuditAction.ORDER_HISTORY_CONSENT, outcome="ok", subject=str(guid)
        )


@transaction.atomic
def order_history_consent_revoke(
    *, patron_guid: uuid.UUID | str, now: dt.datetime | None = None
) -> int:
    """Revoke the consent: orders older than 30 days are deleted now (R-PORTAL-18)."""
    guid = _guid(patron_guid)
    if guid is None:
        return 0
    OrderHistoryConsent.objects.filter(patron_guid=guid).delete()
    old = Order.objects.filter(patron_guid=guid, created_at__lt=_cutoff(now))
    deleted = old.count()
    old.delete()
    audit_event_record(
        action=AuditAction.ORDER_HISTORY_REVOKED,
        outcome="ok",
        subject=str(guid),
        details={"deleted": deleted},
    )
    return deleted


@transaction.atomic
def order_history_cleanup(*, now: dt.datetime | None = None) -> int:
    """Delete every order older than 30 days whose profile has not consented (R-PORTAL-18).

    Orders of guests and session users are records only, not history: they go after 30
    days too. A kept order never left unfinished keeps no borrower data either (R-VIP-7).
    """
    consenting = OrderHistoryConsent.objects.values("patron_guid")
    Order.objects.filter(created_at__lt=_cutoff(now), state=OrderState.PLACING).update(
        borrower_data={}
    )
    old = Order.objects.filter(created_at__lt=_cutoff(now)).exclude(patron_guid__in=consenting)
    count = old.count()
    if count:
        old.delete()
        audit_event_record(
            action=AuditAction.ORDER_HISTORY_PURGED, outcome="ok", details={"orders": count}
        )
    return count


def last_pickup_branch_id(*, patron_guid: uuid.UUID | str) -> str:
    """Return the profile's last-used pickup branch (R-ORDER-7), or ""."""
    guid = _guid(patron_guid)
    if guid is None:
        return ""
    return (
        LastPickup.objects.filter(patron_guid=guid).values_list("branch_id", flat=True).first()
        or ""
    )

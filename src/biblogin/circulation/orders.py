"""Place orders, idempotently and atomically (R-ORDER-1, -5, -7).

How an order is never lost nor doubled (R-ORDER-5):

1. The submission key the order form carries is hashed with the orderer's ID into the order's
   ``idempotency_key``, which is UNIQUE. The first submit inserts the order and its lines
   (state ``placing``, lines ``pending``) in one short transaction and commits it BEFORE any
   library is called. A second submit of the same form, on any worker, at any moment, hits the
   unique key (the database serialises the two inserts) and gets that order back instead.
2. Each line is placed in the pickup agency's system under its own stable key
   (``<order>:<line>``). A timeout is retried once with the same key; if the library still
   does not answer, the line is ``uncertain``: the hold may or may not exist.
3. Reconciling: a later submit of the same form (the receipt's "Prøv igen", a reload) claims
   the order's next attempt with one conditional UPDATE (only one worker wins it; an attempt
   that died is claimable again after ``STALE_ATTEMPT_SECONDS``) and asks the library again
   for the pending and uncertain lines, with the same keys: the library answers with the hold
   it already has, or places it. The order is ``completed`` when every line has an answer.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.circulation.models import (
    LastPickup,
    LineKind,
    LineOutcome,
    Order,
    OrderLine,
    OrderState,
)
from biblogin.circulation.orderer import (
    Orderer,
    OrdererRefused,
    VerifiedOrderer,
    borrower_data_for,
    orderer_verify,
)
from biblogin.common.cpr_crypto import keyed_hash
from biblogin.integrations.library_systems.protocol import (
    BorrowerNotFound,
    LibrarySystem,
    LibrarySystemError,
    LibrarySystemTimeout,
    RequestReceipt,
    RequestRefused,
)
from biblogin.integrations.library_systems.selectors import library_system_for
from biblogin.registry.models import Agency, Branch
from biblogin.registry.selectors import pickup_branch_get

logger = logging.getLogger(__name__)

MAX_MATERIALS = 25  # R-ORDER-1
STALE_ATTEMPT_SECONDS = 60
_OPEN = (LineOutcome.PENDING, LineOutcome.UNCERTAIN)
_MAX_KEY = 100


class OrderInvalid(Exception):
    """The order itself cannot be placed as asked (R-ORDER-1); nothing was ordered."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class InvalidCode(StrEnum):
    NO_MATERIALS = "NO_MATERIALS"
    TOO_MANY_MATERIALS = "TOO_MANY_MATERIALS"
    NOTHING_ORDERABLE = "NOTHING_ORDERABLE"
    PICKUP_NOT_ALLOWED = "PICKUP_NOT_ALLOWED"
    PICKUP_CLOSED = "PICKUP_CLOSED"
    MOBILE_STOP_REQUIRED = "MOBILE_STOP_REQUIRED"
    SUBMISSION_KEY_INVALID = "SUBMISSION_KEY_INVALID"


class LineReason(StrEnum):
    LIBRARY_NOT_ANSWERING = "LIBRARY_NOT_ANSWERING"
    LIBRARY_REFUSED = "LIBRARY_REFUSED"
    UNKNOWN_USER = "UNKNOWN_USER"


@dataclass(frozen=True)
class MaterialRequest:
    """One material to order, as judged for the pickup agency (R-ORDER-2, R-ORDER-6)."""

    pid: str
    title: str
    # R-ORDER-2's policy (an OrderPolicy value), or DIGITAL_ARTICLE_SERVICE (R-ORDER-6).
    policy: str
    orderable: bool
    kind: LineKind = LineKind.PHYSICAL
    # What the library is asked for (the periodical's PID for a physical issue).
    material_id: str = ""
    periodical: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderResult:
    order: Order
    # True when this submit found the order a previous submit of the same form made.
    replayed: bool


def _owner_key(owner: str) -> str:
    return keyed_hash(owner, purpose="order-owner")


def _idempotency_key(owner: str, submission_key: str) -> str:
    return keyed_hash(f"{owner}\x00{submission_key}", purpose="order-submission")


def _submission_key_ok(value: object) -> bool:
    return (
        isinstance(value, str)
        and 16 <= len(value) <= _MAX_KEY
        and value.isascii()
        and all(c.isalnum() or c in "-_" for c in value)
    )


def pickup_branch_for_order(*, branch_id: str, mobile_stop: str = "") -> Branch:
    """R-ORDER-1: an open branch with ``pickup_allowed``; a mobile library needs a stop."""
    branch = pickup_branch_get(branch_id=branch_id)
    if branch is None:
        raise OrderInvalid(InvalidCode.PICKUP_NOT_ALLOWED)
    if branch.temporarily_closed:
        raise OrderInvalid(InvalidCode.PICKUP_CLOSED)
    if branch.is_mobile and mobile_stop not in {s.name for s in branch.mobile_stops.all()}:
        raise OrderInvalid(InvalidCode.MOBILE_STOP_REQUIRED)
    return branch


def order_find(*, orderer: Orderer, submission_key: str) -> Order | None:
    """Return the order a previous submit of this form made, if any."""
    if not _submission_key_ok(submission_key):
        return None
    return Order.objects.filter(
        idempotency_key=_idempotency_key(orderer.owner, submission_key)
    ).first()


def order_submit(
    *,
    submission_key: str,
    orderer: Orderer,
    pickup_branch_id: str,
    materials: Sequence[MaterialRequest],
    mobile_stop: str = "",
    pin: str = "",
) -> OrderResult:
    """Place one order of up to 25 materials at one pickup branch (R-ORDER-1, -5).

    Raises ``OrderInvalid`` (nothing recorded) or ``OrdererRefused`` (R-ORDER-3/4, R-PORTAL-8;
    nothing recorded, audited). A repeated submit of the same form returns the first order.
    """
    if not _submission_key_ok(submission_key):
        raise OrderInvalid(InvalidCode.SUBMISSION_KEY_INVALID)
    key = _idempotency_key(orderer.owner, submission_key)
    existing = Order.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return OrderResult(order=order_resume(order=existing), replayed=True)
    if not materials:
        raise OrderInvalid(InvalidCode.NO_MATERIALS)
    if len(materials) > MAX_MATERIALS or len({m.pid for m in materials}) != len(materials):
        raise OrderInvalid(InvalidCode.TOO_MANY_MATERIALS)
    if not any(m.orderable for m in materials):
        raise OrderInvalid(InvalidCode.NOTHING_ORDERABLE)
    branch = pickup_branch_for_order(branch_id=pickup_branch_id, mobile_stop=mobile_stop)
    agency: Agency = branch.agency
    try:
        verified = orderer_verify(orderer=orderer, agency=agency, pin=pin)
    except OrdererRefused as refused:
        audit_event_record(
            action=AuditAction.ORDER_REFUSED,
            outcome=refused.code.value,
            actor="bibliotek.dk",
            agency_id=agency.agency_id,
            subject=f"orderer:{_owner_key(orderer.owner)[:16]}",
            ip=orderer.ip or None,
            details={"kind": orderer.kind, "materials": len(materials)},
        )
        raise
    try:
        order = _order_record(
            key=key,
            orderer=orderer,
            verified=verified,
            borrower_data=borrower_data_for(orderer=orderer, agency=agency, verified=verified),
            branch=branch,
            mobile_stop=mobile_stop if branch.is_mobile else "",
            materials=materials,
        )
    except IntegrityError:
        # The same form submitted at the same moment elsewhere: that insert won.
        return OrderResult(
            order=order_resume(order=Order.objects.get(idempotency_key=key)), replayed=True
        )
    _lines_place(order=order)
    order.refresh_from_db()
    _order_audit(order=order, orderer=orderer)
    return OrderResult(order=order, replayed=False)


def _order_record(
    *,
    key: str,
    orderer: Orderer,
    verified: VerifiedOrderer,
    borrower_data: dict[str, str],
    branch: Branch,
    mobile_stop: str,
    materials: Sequence[MaterialRequest],
) -> Order:
    """Write the order and its lines BEFORE any library call (R-ORDER-5), claiming attempt 1."""
    with transaction.atomic():
        order = Order.objects.create(
            idempotency_key=key,
            owner_key=_owner_key(orderer.owner),
            orderer_kind=orderer.kind,
            patron_guid=orderer.patron_guid or None,
            pickup_agency_id=branch.agency.agency_id,
            pickup_branch_id=branch.branch_id,
            mobile_stop=mobile_stop[:200],
            borrower_ref=verified.borrower_ref[:100],
            email=(orderer.email or verified.email)[:254],
            borrower_data=borrower_data,
            attempts=1,
            attempt_started_at=timezone.now(),
        )
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=order,
                    position=position,
                    pid=m.pid[:100],
                    title=m.title[:300],
                    kind=m.kind,
                    policy=m.policy[:32],
                    periodical=m.periodical,
                    material_id=(m.material_id or m.pid)[:100],
                    outcome=LineOutcome.PENDING if m.orderable else LineOutcome.NOT_ORDERABLE,
                    reason_code="" if m.orderable else m.policy[:64],
                )
                for position, m in enumerate(materials, start=1)
            ]
        )
    return order


def order_resume(*, order: Order) -> Order:
    """Reconcile an order a previous attempt left open: ask the library again, same keys.

    Only one caller wins the attempt (a conditional UPDATE); the others return the order as
    it stands. Completed orders are returned as they are.
    """
    if order.state != OrderState.PLACING:
        return order
    now = timezone.now()
    claimed = (
        Order.objects.filter(pk=order.pk, state=OrderState.PLACING)
        .filter(
            Q(attempt_started_at__isnull=True)
            | Q(attempt_started_at__lt=now - dt.timedelta(seconds=STALE_ATTEMPT_SECONDS))
        )
        .update(attempts=F("attempts") + 1, attempt_started_at=now)
    )
    if claimed:
        _lines_place(order=order)
    order.refresh_from_db()
    return order


def _request(
    system: LibrarySystem, *, order: Order, line: OrderLine, timeout: float
) -> RequestReceipt:
    """Ask the library for one hold under the line's stable key; a timeout is retried once."""
    for attempt in (1, 2):
        try:
            return system.request_place(
                borrower_ref=order.borrower_ref,
                idempotency_key=line.library_key,
                material_ids=[line.material_id],
                pickup_branch_id=order.pickup_branch_id,
                timeout=timeout,
                borrower_data=order.borrower_data,
            )
        except LibrarySystemTimeout:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _lines_place(*, order: Order) -> None:
    """Place the order's open lines; write each answer; release the attempt."""
    timeout = float(settings.BORROWER_CHECK_TIMEOUT_SECONDS)
    system = library_system_for(order.pickup_agency_id)
    lines = list(OrderLine.objects.filter(order=order, outcome__in=_OPEN).select_related("order"))
    for line in lines:
        updates: dict[str, Any]
        if line.kind == LineKind.DIGITAL_ARTICLE:
            # R-ORDER-6: the Digital Article Service sends a copy to the e-mail on the order;
            # the request is this line (no hold at the library).
            updates = {"outcome": LineOutcome.PLACED, "request_id": f"das:{line.library_key}"}
        else:
            try:
                receipt = _request(system, order=order, line=line, timeout=timeout)
            except RequestRefused as refused:
                updates = {
                    "outcome": LineOutcome.REFUSED,
                    # The library's reason code (RefusalReason); its own words for OTHER.
                    "reason_code": refused.code.value,
                    "reason_text": refused.detail[:300],
                }
            except BorrowerNotFound:
                updates = {"outcome": LineOutcome.REFUSED, "reason_code": LineReason.UNKNOWN_USER}
            except LibrarySystemError:
                # Placed or not, only the library knows: a retry asks again under the same key.
                updates = {
                    "outcome": LineOutcome.UNCERTAIN,
                    "reason_code": LineReason.LIBRARY_NOT_ANSWERING,
                }
            else:
                updates = {
                    "outcome": LineOutcome.PLACED,
                    "reason_code": "",
                    "reason_text": "",
                    "request_id": receipt.request_id[:100],
                    "queue_position": receipt.queue_position,
                }
        OrderLine.objects.filter(pk=line.pk).update(**updates)
    still_open = OrderLine.objects.filter(order=order, outcome__in=_OPEN).exists()
    done: dict[str, Any] = {} if still_open else {"borrower_data": {}}  # R-VIP-7: kept no longer
    Order.objects.filter(pk=order.pk).update(
        state=OrderState.PLACING if still_open else OrderState.COMPLETED,
        attempt_started_at=None,
        updated_at=timezone.now(),
        **done,
    )
    if (
        order.patron_guid
        and OrderLine.objects.filter(order=order, outcome=LineOutcome.PLACED).exists()
    ):
        # R-ORDER-7: the branch becomes the profile's last-used pickup branch.
        LastPickup.objects.update_or_create(
            patron_guid=order.patron_guid, defaults={"branch_id": order.pickup_branch_id}
        )


def _order_audit(*, order: Order, orderer: Orderer) -> None:
    """R-LOGIN-13: every order an audit event (no PIN, no user ID: the order's public ID)."""
    outcomes = list(order.lines.values_list("outcome", flat=True))
    audit_event_record(
        action=AuditAction.ORDER,
        outcome=order.state,
        actor="bibliotek.dk",
        agency_id=order.pickup_agency_id,
        subject=f"order:{order.public_id}",
        ip=orderer.ip or None,
        details={
            "kind": order.orderer_kind,
            "branch": order.pickup_branch_id,
            "lines": len(outcomes),
            "placed": outcomes.count(LineOutcome.PLACED),
            "uncertain": outcomes.count(LineOutcome.UNCERTAIN),
            "refused": outcomes.count(LineOutcome.REFUSED),
            "not_orderable": outcomes.count(LineOutcome.NOT_ORDERABLE),
        },
    )


def order_get_for_owner(*, public_id: str, owner: str) -> Order | None:
    """Return an order (its receipt) only to the one who placed it."""
    try:
        parsed = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return (
        Order.objects.prefetch_related("lines")
        .filter(public_id=parsed, owner_key=_owner_key(owner))
        .first()
    )

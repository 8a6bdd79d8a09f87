"""Set up the simulated library systems: behaviour, borrowers, loans, reservations, debts.

Used by the demo loader, the admin and the tests; the platform itself reads a library system only
through ``selectors.library_system_for``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from biblogin.common.agency_ids import is_agency_id
from biblogin.common.cpr import normalise_cpr
from biblogin.common.cpr_crypto import cpr_hash, encrypt_cpr
from biblogin.common.errors import ApplicationError
from biblogin.common.secret_crypto import encrypt_secret
from biblogin.integrations.library_systems.models import (
    SIP2_PASSWORD_PURPOSE,
    SimBorrower,
    SimBorrowerId,
    SimBorrowerIdKind,
    SimDebt,
    SimLoan,
    SimReservation,
    SimulatedSystem,
    Sip2Configuration,
    Sip2Encoding,
)
from biblogin.integrations.library_systems.pins import pin_hash

_MAX_ID_LENGTH = 254
_DEFAULT_PICKUP_DAYS = 7


def _valid_agency_id(agency_id: str) -> str:
    if not is_agency_id(agency_id):
        raise ApplicationError(_("Biblioteksnummeret skal være 6 cifre."), code="invalid_agency")
    return agency_id


@transaction.atomic
def simulated_system_configure(
    *,
    agency_id: str,
    latency_ms: int = 0,
    latency_jitter_ms: int = 0,
    failure_rate: float = 0.0,
    down: bool = False,
) -> SimulatedSystem:
    """Create or update how an agency's simulated system behaves."""
    _valid_agency_id(agency_id)
    if not 0 <= latency_ms <= 600_000 or not 0 <= latency_jitter_ms <= 600_000:
        raise ApplicationError(
            _("Svartiden skal være mellem 0 og 600000 ms."), code="invalid_latency"
        )
    if not 0.0 <= failure_rate <= 1.0:
        raise ApplicationError(_("Fejlraten skal være mellem 0 og 1."), code="invalid_failure_rate")
    system, _created = SimulatedSystem.objects.update_or_create(
        agency_id=agency_id,
        defaults={
            "latency_ms": latency_ms,
            "latency_jitter_ms": latency_jitter_ms,
            "failure_rate": failure_rate,
            "down": down,
        },
    )
    return system


def _identifiers(
    *, cpr: str | None, borrower_numbers: Sequence[str], emails: Sequence[str]
) -> list[tuple[str, str]]:
    """Return (kind, stored value) pairs, the first one naming the borrower for idempotency."""
    found: list[tuple[str, str]] = []
    if cpr is not None:
        normalised = normalise_cpr(cpr)
        if normalised is None:
            raise ApplicationError(_("Ugyldigt CPR-nummer."), code="invalid_cpr")
        found.append((SimBorrowerIdKind.CPR, cpr_hash(normalised)))
    for number in borrower_numbers:
        value = number.strip()
        if not value or len(value) > _MAX_ID_LENGTH or not value.isprintable():
            raise ApplicationError(_("Ugyldigt lånernummer."), code="invalid_borrower_number")
        found.append((SimBorrowerIdKind.BORROWER_NUMBER, value))
    for email in emails:
        # E-mail user IDs are matched case-insensitively: stored lower-cased.
        value = email.strip().lower()
        if "@" not in value or len(value) > _MAX_ID_LENGTH or not value.isprintable():
            raise ApplicationError(_("Ugyldig e-mailadresse."), code="invalid_email")
        found.append((SimBorrowerIdKind.EMAIL, value))
    if not found:
        raise ApplicationError(
            _("En låner skal have mindst ét bruger-id (CPR, lånernummer eller e-mail)."),
            code="no_user_id",
        )
    if len(set(found)) != len(found):
        raise ApplicationError(_("Det samme bruger-id er angivet to gange."), code="duplicate_id")
    return found


@transaction.atomic
def simulated_borrower_create(
    *,
    agency_id: str,
    name: str,
    pin: str | None,
    cpr: str | None = None,
    borrower_numbers: Sequence[str] = (),
    emails: Sequence[str] = (),
    municipality_no: int | None = None,
    blocked: bool = False,
    email: str = "",
) -> SimBorrower:
    """Create a borrower, or update the one with the same first user ID at this agency.

    The first user ID is the CPR if given, else the first borrower number, else the first
    e-mail. The borrower's user IDs become exactly the ones given. ``pin=None``: no PIN login.
    """
    _valid_agency_id(agency_id)
    name = name.strip()
    if not name:
        raise ApplicationError(_("Låneren skal have et navn."), code="no_name")
    identifiers = _identifiers(cpr=cpr, borrower_numbers=borrower_numbers, emails=emails)
    system, _created = SimulatedSystem.objects.get_or_create(agency_id=agency_id)

    first_kind, first_value = identifiers[0]
    existing = (
        SimBorrowerId.objects.select_related("borrower")
        .filter(system=system, kind=first_kind, value=first_value)
        .first()
    )
    borrower = existing.borrower if existing else SimBorrower(system=system)
    if not borrower.borrower_ref:
        borrower.borrower_ref = uuid.uuid4().hex[:16]

    others = (
        SimBorrowerId.objects.filter(system=system)
        .exclude(borrower_id=borrower.pk)
        .filter(kind__in=[k for k, _v in identifiers], value__in=[v for _k, v in identifiers])
    )
    if any((other.kind, other.value) in identifiers for other in others):
        raise ApplicationError(
            _("Et af bruger-id'erne tilhører allerede en anden låner ved dette bibliotek."),
            code="user_id_taken",
        )

    normalised_cpr = normalise_cpr(cpr) if cpr is not None else None
    borrower.name = name
    login_emails = [v for k, v in identifiers if k == SimBorrowerIdKind.EMAIL]
    # Without a contact address, the first e-mail user ID is where the library writes.
    borrower.email = email.strip() or (login_emails[0] if login_emails else "")
    borrower.municipality_no = municipality_no
    borrower.blocked = blocked
    # R-BC-5: only the Argon2id hash is kept.
    borrower.pin_hash = pin_hash(pin) if pin is not None else ""
    borrower.cpr_encrypted = encrypt_cpr(normalised_cpr) if normalised_cpr else ""
    borrower.cpr_hash = cpr_hash(normalised_cpr) if normalised_cpr else None
    borrower.save()

    SimBorrowerId.objects.filter(borrower=borrower).delete()
    SimBorrowerId.objects.bulk_create(
        [
            SimBorrowerId(system=system, borrower=borrower, kind=kind, value=value)
            for kind, value in identifiers
        ]
    )
    return borrower


@transaction.atomic
def simulated_user_status_clear(*, borrower: SimBorrower) -> None:
    """Remove a borrower's loans, reservations and debts, so a re-run loader starts afresh."""
    SimLoan.objects.filter(borrower=borrower).delete()
    SimReservation.objects.filter(borrower=borrower).delete()
    SimDebt.objects.filter(borrower=borrower).delete()


@transaction.atomic
def simulated_loan_add(
    *,
    borrower: SimBorrower,
    title: str,
    due_date: dt.date,
    renewable: bool = True,
    material_id: str = "",
) -> SimLoan:
    """Lend a title to a simulated borrower (``material_id``: the record, e.g. a PID)."""
    title = title.strip()
    if not title:
        raise ApplicationError(_("Lånet skal have en titel."), code="no_title")
    return SimLoan.objects.create(
        borrower=borrower,
        title=title,
        due_date=due_date,
        renewable=renewable,
        material_id=material_id.strip()[:100],
    )


@transaction.atomic
def simulated_reservation_add(
    *,
    borrower: SimBorrower,
    title: str,
    queue_position: int | None = None,
    ready_for_pickup: bool = False,
    pickup_branch_id: str = "",
    pickup_expires: dt.date | None = None,
    material_id: str = "",
) -> SimReservation:
    """Add a reservation: waiting in the queue, or ready for pickup at a branch."""
    title = title.strip()
    if not title:
        raise ApplicationError(_("Reserveringen skal have en titel."), code="no_title")
    if ready_for_pickup:
        if queue_position is not None:
            raise ApplicationError(
                _("En reservering klar til afhentning har ingen plads i køen."),
                code="ready_and_queued",
            )
        if pickup_expires is None:
            pickup_expires = timezone.localdate() + dt.timedelta(days=_DEFAULT_PICKUP_DAYS)
    else:
        if queue_position is None:
            queue_position = 1
        if queue_position < 1:
            raise ApplicationError(
                _("Pladsen i køen skal være 1 eller mere."), code="invalid_queue_position"
            )
    return SimReservation.objects.create(
        borrower=borrower,
        title=title,
        material_id=material_id,
        queue_position=queue_position,
        ready_for_pickup=ready_for_pickup,
        pickup_branch_id=pickup_branch_id,
        pickup_expires=pickup_expires,
    )


@transaction.atomic
def simulated_debt_add(
    *,
    borrower: SimBorrower,
    title: str,
    amount_dkk: Decimal | str | int,
    date: dt.date | None = None,
) -> SimDebt:
    """Record an amount (DKK) the borrower owes the library."""
    title = title.strip()
    if not title:
        raise ApplicationError(_("Mellemværendet skal have en tekst."), code="no_title")
    try:
        amount = Decimal(str(amount_dkk)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ApplicationError(_("Ugyldigt beløb."), code="invalid_amount") from exc
    if not amount.is_finite() or amount <= 0 or amount >= Decimal("100000000"):
        raise ApplicationError(_("Ugyldigt beløb."), code="invalid_amount")
    return SimDebt.objects.create(
        borrower=borrower, title=title, amount_dkk=amount, date=date or timezone.localdate()
    )


@transaction.atomic
def sip2_configuration_save(
    *,
    agency_id: str,
    host: str,
    port: int,
    institution_id: str,
    login_user: str = "",
    login_password: str | None = None,
    location_code: str = "",
    encoding: str = Sip2Encoding.CP850,
    enabled: bool = True,
) -> Sip2Configuration:
    """Create or update an agency's SIP2 entry; ``login_password=None`` keeps the stored one.

    The password is kept only encrypted. (No audit event here: the layers put ``audit`` above
    ``integrations``; a caller above records one.)
    """
    _valid_agency_id(agency_id)
    config = Sip2Configuration.objects.filter(agency_id=agency_id).first() or Sip2Configuration(
        agency_id=agency_id
    )
    config.host = host.strip()
    config.port = port
    config.institution_id = institution_id.strip()
    config.login_user = login_user.strip()
    config.location_code = location_code.strip()
    config.encoding = encoding
    config.enabled = enabled
    if login_password is not None:
        config.login_password_encrypted = (
            encrypt_secret(login_password, purpose=SIP2_PASSWORD_PURPOSE) if login_password else ""
        )
    try:
        config.full_clean()
    except ValidationError as exc:
        raise ApplicationError(
            "; ".join(message for messages in exc.message_dict.values() for message in messages),
            code="invalid_sip2_configuration",
        ) from exc
    config.save()
    return config

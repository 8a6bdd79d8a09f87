"""Write the user register (CULR): patrons by CPR, accounts at agencies (R-CULR-1, R-CULR-4).

Concurrency (several app processes on PostgreSQL, READ COMMITTED): the database decides.
- A patron is unique by its CPR hash. "Get or create" reads, and on a miss inserts inside a
  savepoint; a racing insert blocks on the unique index until the winner commits, fails with
  IntegrityError, rolls back only its savepoint and re-reads the winner's row (READ COMMITTED
  gives every statement a fresh snapshot). No error reaches the caller.
- Every change to a patron's set of accounts first locks the patron rows involved
  (SELECT ... FOR UPDATE, in primary-key order) and then re-reads the account under the lock.
  That serialises "create the same account twice" (the second one then sees the first's row)
  and "delete the last two accounts at once" (exactly one of them deactivates the patron).
- Each attempt runs in its own savepoint. When the rows changed between the plain read and
  the locks (an account moved, or an insert collided on a unique constraint), the attempt is
  rolled back, which releases its locks, and starts again; so no attempt ever holds one patron
  while waiting for another out of order, and two movers cannot deadlock.
  Callers that compose several of these calls in one transaction of their own keep the locks
  of the earlier calls: keep such a transaction to one person (as the CULR delivery does).
SQLite needs none of this (its IMMEDIATE transactions take the write lock at BEGIN) and Django
ignores FOR UPDATE there, so the one code path serves both databases.

Every account created, moved or deleted is audited inside the attempt's savepoint, so an attempt
that is retried leaves no event behind (DESIGN convention 9; no CPR and no local ID in it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.common.cpr_crypto import cpr_hash, encrypt_cpr
from biblogin.common.errors import ApplicationError
from biblogin.patrons.inputs import (
    parse_agency_id,
    parse_cpr,
    parse_local_id,
    parse_municipality_no,
)
from biblogin.patrons.models import Account, AccountIdType, Patron

logger = logging.getLogger(__name__)

_ATTEMPTS = 10
_T = TypeVar("_T")


class _Retry(Exception):
    """The rows changed between reading and locking them: undo this attempt and look again."""


def _with_retries(attempt: Callable[[], _T]) -> _T:
    """Run ``attempt`` in a savepoint until it stops asking to be retried.

    A retried attempt is rolled back to its savepoint, which also lets go of the row locks it
    took: every attempt then takes its locks afresh in primary-key order, so attempts never
    hold one patron while waiting for another out of order (no deadlock).
    """
    for _attempt in range(_ATTEMPTS):
        try:
            with transaction.atomic():
                return attempt()
        except _Retry:
            continue
    raise _busy()


@dataclass(frozen=True)
class AccountLinkResult:
    """What ``account_link`` did: the account and which rows it had to create or change."""

    account: Account
    account_created: bool = False
    account_moved: bool = False
    patron_created: bool = False
    patron_changed: bool = False

    @property
    def changed(self) -> bool:
        return (
            self.account_created or self.account_moved or self.patron_created or self.patron_changed
        )


def _busy() -> ApplicationError:
    return ApplicationError(
        _("Lånerregistret er optaget lige nu. Prøv igen om lidt."), code="culr_busy"
    )


def _lock_patrons(pks: Iterable[int]) -> dict[int, Patron]:
    # Primary-key order: two transactions locking the same pair never wait on each other crosswise.
    return {
        p.pk: p for p in Patron.objects.select_for_update().filter(pk__in=set(pks)).order_by("pk")
    }


def _patron_get_or_create(*, cpr: str, municipality_no: int | None) -> tuple[Patron, bool]:
    """Return the patron with this (normalised) CPR, creating it if absent; safe under races."""
    digest = cpr_hash(cpr)
    for _attempt in range(_ATTEMPTS):
        patron = Patron.objects.filter(cpr_hash=digest).first()
        if patron is not None:
            return patron, False
        try:
            with transaction.atomic():  # a savepoint: a lost race must not spoil the caller's
                patron = Patron.objects.create(
                    cpr_hash=digest, cpr_encrypted=encrypt_cpr(cpr), municipality_no=municipality_no
                )
        except IntegrityError:
            continue  # another process created this patron first: read theirs
        logger.info("CULR patron created: %s", patron.guid)
        return patron, True
    raise _busy()


def _patron_refresh(patron: Patron, *, municipality_no: int | None, reactivate: bool) -> bool:
    """Update a locked patron's municipality and active flag; return whether it changed."""
    fields: list[str] = []
    if municipality_no is not None and patron.municipality_no != municipality_no:
        patron.municipality_no = municipality_no
        fields.append("municipality_no")
    if reactivate and not patron.is_active:
        patron.is_active = True
        fields.append("is_active")
    if fields:
        patron.save(update_fields=[*fields, "updated_at"])
    return bool(fields)


def _deactivate_if_empty(patron: Patron) -> bool:
    """R-CULR-4: a patron left with no accounts is deactivated (the patron row is locked)."""
    if patron.is_active and not Account.objects.filter(patron=patron).exists():
        patron.is_active = False
        patron.save(update_fields=["is_active", "updated_at"])
        logger.info("CULR patron deactivated (no accounts left): %s", patron.guid)
        return True
    return False


def _audit(
    action: AuditAction, *, account: Account, patron: Patron, actor: str, **details: object
) -> None:
    audit_event_record(
        action=action,
        outcome="ok",
        actor=actor,
        agency_id=account.agency_id,
        subject=str(patron.guid),
        details={"account": account.pk, "id_type": account.id_type, **details},
    )


@transaction.atomic
def patron_get_or_create_by_cpr(*, cpr: str, municipality_no: int | None = None) -> Patron:
    """Return the patron with this CPR, creating it if absent (R-CULR-1, R-CULR-4).

    A given ``municipality_no`` is the patron's current home municipality and is stored.
    A deactivated patron is returned as it is; giving it an account reactivates it.
    """
    number = parse_cpr(cpr)
    municipality = parse_municipality_no(municipality_no)
    patron, _created = _patron_get_or_create(cpr=number, municipality_no=municipality)
    if municipality is not None and patron.municipality_no != municipality:
        patron = _lock_patrons([patron.pk])[patron.pk]
        _patron_refresh(patron, municipality_no=municipality, reactivate=False)
    return patron


@transaction.atomic
def patron_reactivate(*, patron: Patron) -> Patron:
    """Mark a deactivated patron active again (an account is being given back to them)."""
    locked = _lock_patrons([patron.pk]).get(patron.pk)
    if locked is None:
        raise ApplicationError(_("Låneren findes ikke."), code="patron_not_found")
    _patron_refresh(locked, municipality_no=None, reactivate=True)
    return locked


def _account_attach(
    *,
    agency_id: str,
    cpr: str,
    local_id: str | None,
    municipality_no: int | None,
    move: bool,
    actor: str,
) -> AccountLinkResult:
    agency = parse_agency_id(agency_id)
    number = parse_cpr(cpr)
    local = None if local_id is None else parse_local_id(local_id)
    municipality = parse_municipality_no(municipality_no)
    # The person's own CPR given as "local ID" is their CPR account: a CPR is never kept in
    # plain text (R-CULR-5).
    if local is not None and _cpr_or_none(local) == number:
        local = None

    patron, patron_created = _patron_get_or_create(cpr=number, municipality_no=municipality)
    id_type = AccountIdType.CPR if local is None else AccountIdType.LOCAL

    def attempt() -> AccountLinkResult:
        if local is None:
            existing = Account.objects.filter(
                agency_id=agency, id_type=id_type, patron=patron
            ).first()
        else:
            existing = Account.objects.filter(
                agency_id=agency, id_type=id_type, local_id=local
            ).first()
        locked = _lock_patrons({patron.pk} | ({existing.patron_id} if existing else set()))
        target = locked[patron.pk]  # patrons are never deleted, only deactivated
        # Re-read under the locks: what we saw before locking may have changed.
        current = (
            Account.objects.select_for_update().filter(pk=existing.pk).first() if existing else None
        )
        if existing is not None and (current is None or current.patron_id not in locked):
            raise _Retry  # deleted or moved by someone else meanwhile
        if current is None:
            try:
                with transaction.atomic():  # savepoint: a colliding insert is retried
                    account = Account.objects.create(
                        patron=target, agency_id=agency, id_type=id_type, local_id=local or ""
                    )
            except IntegrityError:
                raise _Retry from None  # made by someone else meanwhile: read theirs
            changed = _patron_refresh(target, municipality_no=municipality, reactivate=True)
            _audit(
                AuditAction.CULR_ACCOUNT_CREATED,
                account=account,
                patron=target,
                actor=actor,
                patron_created=patron_created,
            )
            logger.info(
                "CULR account created: agency=%s type=%s patron=%s", agency, id_type, target.guid
            )
            return AccountLinkResult(
                account=account,
                account_created=True,
                patron_created=patron_created,
                patron_changed=changed and not patron_created,
            )
        if current.patron_id == target.pk:
            changed = _patron_refresh(target, municipality_no=municipality, reactivate=True)
            current.patron = target
            return AccountLinkResult(
                account=current, patron_created=patron_created, patron_changed=changed
            )
        if not move:
            raise ApplicationError(
                _("Det lokale id er allerede knyttet til en anden låner ved dette bibliotek."),
                code="account_belongs_to_other_patron",
            )
        former = locked[current.patron_id]
        current.patron = target
        current.save(update_fields=["patron", "updated_at"])
        deactivated = _deactivate_if_empty(former)
        changed = _patron_refresh(target, municipality_no=municipality, reactivate=True)
        _audit(
            AuditAction.CULR_ACCOUNT_MOVED,
            account=current,
            patron=target,
            actor=actor,
            from_patron=str(former.guid),
            from_patron_deactivated=deactivated,
        )
        logger.info("CULR account moved: agency=%s from=%s to=%s", agency, former.guid, target.guid)
        return AccountLinkResult(
            account=current,
            account_moved=True,
            patron_created=patron_created,
            patron_changed=changed and not patron_created,
        )

    return _with_retries(attempt)


def _cpr_or_none(value: str) -> str | None:
    try:
        return parse_cpr(value)
    except ApplicationError:
        return None


@transaction.atomic
def account_create(
    *,
    agency_id: str,
    cpr: str,
    local_id: str | None = None,
    municipality_no: int | None = None,
    actor: str = "",
) -> Account:
    """Create an account under the patron with this CPR, creating the patron if absent (R-CULR-4).

    ``local_id`` None gives a CPR account. Creating an account that exists returns it; a local ID
    held by another patron at the agency is refused (use ``account_link`` to move it).
    """
    return _account_attach(
        agency_id=agency_id,
        cpr=cpr,
        local_id=local_id,
        municipality_no=municipality_no,
        move=False,
        actor=actor,
    ).account


@transaction.atomic
def account_link(
    *,
    agency_id: str,
    cpr: str,
    local_id: str | None = None,
    municipality_no: int | None = None,
    actor: str = "",
) -> AccountLinkResult:
    """Put the account under the patron with this CPR: create it, or move it there (R-PORTAL-6)."""
    return _account_attach(
        agency_id=agency_id,
        cpr=cpr,
        local_id=local_id,
        municipality_no=municipality_no,
        move=True,
        actor=actor,
    )


@transaction.atomic
def account_delete(*, account: Account, actor: str = "") -> None:
    """Remove the account; a patron left with none is deactivated (R-CULR-4). Idempotent."""

    def attempt() -> None:
        seen = Account.objects.filter(pk=account.pk).values_list("patron_id", flat=True).first()
        if seen is None:
            return  # already gone
        locked = _lock_patrons([seen])
        current = Account.objects.select_for_update().filter(pk=account.pk).first()
        if current is None:
            return
        if current.patron_id not in locked:
            raise _Retry  # moved meanwhile: lock its new patron instead
        pk = current.pk
        current.delete()
        current.pk = pk  # for the audit event: which account it was
        patron = locked[current.patron_id]
        logger.info(
            "CULR account deleted: agency=%s type=%s patron=%s",
            current.agency_id,
            current.id_type,
            patron.guid,
        )
        deactivated = _deactivate_if_empty(patron)
        _audit(
            AuditAction.CULR_ACCOUNT_DELETED,
            account=current,
            patron=patron,
            actor=actor,
            patron_deactivated=deactivated,
        )

    _with_retries(attempt)


@transaction.atomic
def account_move(*, account: Account, to_patron: Patron, actor: str = "") -> Account:
    """Re-parent a LOCAL account; the former patron is deactivated if left with none (R-CULR-4)."""

    def attempt() -> Account:
        seen = Account.objects.filter(pk=account.pk).values_list("patron_id", flat=True).first()
        if seen is None:
            raise ApplicationError(_("Kontoen findes ikke længere."), code="account_not_found")
        locked = _lock_patrons([seen, to_patron.pk])
        if to_patron.pk not in locked:
            raise ApplicationError(_("Låneren findes ikke."), code="patron_not_found")
        current = Account.objects.select_for_update().filter(pk=account.pk).first()
        if current is None:
            raise ApplicationError(_("Kontoen findes ikke længere."), code="account_not_found")
        if current.patron_id not in locked:
            raise _Retry
        if current.id_type != AccountIdType.LOCAL:
            raise ApplicationError(
                _("Kun lokale konti kan flyttes; en CPR-konto hører til CPR-nummerets låner."),
                code="not_a_local_account",
            )
        target = locked[to_patron.pk]
        if current.patron_id == target.pk:
            current.patron = target
            return current
        former = locked[current.patron_id]
        current.patron = target
        current.save(update_fields=["patron", "updated_at"])
        deactivated = _deactivate_if_empty(former)
        _patron_refresh(target, municipality_no=None, reactivate=True)
        _audit(
            AuditAction.CULR_ACCOUNT_MOVED,
            account=current,
            patron=target,
            actor=actor,
            from_patron=str(former.guid),
            from_patron_deactivated=deactivated,
        )
        logger.info(
            "CULR account moved: agency=%s from=%s to=%s",
            current.agency_id,
            former.guid,
            target.guid,
        )
        return current

    return _with_retries(attempt)

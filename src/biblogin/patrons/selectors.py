"""Read the user register (CULR): look-ups by CPR and by (agency, local ID) (R-CULR-3).

A look-up with input that cannot name anything (a malformed CPR, a 7-digit agency ID) finds
nothing: it returns None rather than raising, so callers treat it like an unknown user.
Deactivated patrons (no accounts left, R-CULR-4) are not found unless asked for.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from biblogin.common.cpr_crypto import cpr_hash
from biblogin.common.errors import ApplicationError
from biblogin.patrons.inputs import parse_agency_id, parse_cpr, parse_local_id
from biblogin.patrons.models import Account, AccountIdType, Patron


def patron_get_by_cpr(*, cpr: str, include_inactive: bool = False) -> Patron | None:
    """Return the patron with this CPR, found through its keyed hash (R-CULR-3, R-CULR-5)."""
    try:
        digest = cpr_hash(parse_cpr(cpr))
    except ApplicationError:
        return None
    patrons = Patron.objects.filter(cpr_hash=digest)
    if not include_inactive:
        patrons = patrons.filter(is_active=True)
    return patrons.first()


def patron_get_by_guid(*, guid: uuid.UUID | str, include_inactive: bool = False) -> Patron | None:
    """Return the patron with this public profile key."""
    try:
        key = guid if isinstance(guid, uuid.UUID) else uuid.UUID(str(guid).strip())
    except ValueError:
        return None
    patrons = Patron.objects.filter(guid=key)
    if not include_inactive:
        patrons = patrons.filter(is_active=True)
    return patrons.first()


def patron_get_by_local_id(
    *, agency_id: str, local_id: str, include_inactive: bool = False
) -> Patron | None:
    """Return the patron holding this local ID at this agency (R-CULR-3)."""
    account = account_get_local(agency_id=agency_id, local_id=local_id)
    if account is None or not (include_inactive or account.patron.is_active):
        return None
    return account.patron


def account_get_local(*, agency_id: str, local_id: str) -> Account | None:
    """Return the LOCAL account (agency, local ID), with its patron (R-CULR-3)."""
    try:
        agency, local = parse_agency_id(agency_id), parse_local_id(local_id)
    except ApplicationError:
        return None
    return (
        Account.objects.select_related("patron")
        .filter(agency_id=agency, id_type=AccountIdType.LOCAL, local_id=local)
        .first()
    )


def account_get_cpr(*, agency_id: str, cpr: str) -> Account | None:
    """Return the CPR account of the person with this CPR at this agency."""
    try:
        agency, digest = parse_agency_id(agency_id), cpr_hash(parse_cpr(cpr))
    except ApplicationError:
        return None
    return (
        Account.objects.select_related("patron")
        .filter(agency_id=agency, id_type=AccountIdType.CPR, patron__cpr_hash=digest)
        .first()
    )


# A patron has one CPR account per agency and a local ID is unique per agency: a total order.
_ACCOUNT_ORDER = ("agency_id", "id_type", "local_id")


def accounts_for_patron(*, patron: Patron) -> list[Account]:
    """Return the patron's accounts, ordered by agency ID, CPR account before local ones."""
    return list(Account.objects.filter(patron=patron).order_by(*_ACCOUNT_ORDER))


class PatronFacts(Protocol):
    """What a reader of ``PatronAccounts`` may use of the patron: a ``Patron``, or a plain row of
    the same columns (the login platform's lean path reads them with the token)."""

    @property
    def guid(self) -> uuid.UUID: ...
    @property
    def cpr(self) -> str | None: ...
    @property
    def municipality_no(self) -> int | None: ...
    @property
    def is_active(self) -> bool: ...


class AccountFacts(Protocol):
    """What a reader of ``PatronAccounts`` may use of an account: an ``Account`` or a row."""

    @property
    def agency_id(self) -> str: ...
    @property
    def id_type(self) -> str: ...
    @property
    def local_id(self) -> str: ...


@dataclass(frozen=True)
class PatronAccounts:
    """A patron as stored (also a deactivated one, R-CULR-4) with all its accounts, or nothing."""

    patron: PatronFacts | None = None
    # Ordered as ``accounts_for_patron`` orders them.
    accounts: Sequence[AccountFacts] = field(default_factory=list)

    @property
    def active_patron(self) -> PatronFacts | None:
        """The patron if active: what ``patron_get_by_cpr`` / ``patron_get_by_local_id`` give."""
        return self.patron if self.patron is not None and self.patron.is_active else None

    def has_cpr_account(self, *, agency_id: str) -> bool:
        """Tell whether the patron has a CPR account at this agency (as ``account_get_cpr``)."""
        try:
            agency = parse_agency_id(agency_id)
        except ApplicationError:
            return False
        return any(a.agency_id == agency and a.id_type == AccountIdType.CPR for a in self.accounts)

    def has_local_account(self, *, agency_id: str, local_id: str) -> bool:
        """Tell whether the patron holds this LOCAL account (as ``account_get_local``)."""
        try:
            agency, local = parse_agency_id(agency_id), parse_local_id(local_id)
        except ApplicationError:
            return False
        return any(
            a.agency_id == agency and a.id_type == AccountIdType.LOCAL and a.local_id == local
            for a in self.accounts
        )


def patron_accounts_get_by_cpr(*, cpr: str) -> PatronAccounts:
    """Return the patron with this CPR, active or not, and its accounts: one query as a rule."""
    try:
        digest = cpr_hash(parse_cpr(cpr))
    except ApplicationError:
        return PatronAccounts()
    accounts = list(
        Account.objects.select_related("patron")
        .filter(patron__cpr_hash=digest)
        .order_by(*_ACCOUNT_ORDER)
    )
    if accounts:
        return PatronAccounts(patron=accounts[0].patron, accounts=accounts)
    # A patron without accounts (just created, or deactivated) needs a read of its own.
    return PatronAccounts(patron=Patron.objects.filter(cpr_hash=digest).first())


def patron_accounts_get_by_local_id(*, agency_id: str, local_id: str) -> PatronAccounts:
    """Return the patron holding this LOCAL account, active or not, and all its accounts (1 query).

    Nothing found means no such account, as ``account_get_local`` would say.
    """
    try:
        agency, local = parse_agency_id(agency_id), parse_local_id(local_id)
    except ApplicationError:
        return PatronAccounts()
    # The local ID is unique per agency, so the join names at most one patron and no row twice.
    accounts = list(
        Account.objects.select_related("patron")
        .filter(
            patron__accounts__agency_id=agency,
            patron__accounts__id_type=AccountIdType.LOCAL,
            patron__accounts__local_id=local,
        )
        .order_by(*_ACCOUNT_ORDER)
    )
    return PatronAccounts(patron=accounts[0].patron if accounts else None, accounts=accounts)


def accounts_at_agency(*, agency_id: str) -> list[Account]:
    """Return every account at one agency, with patrons (the CULR delivery compares these)."""
    try:
        agency = parse_agency_id(agency_id)
    except ApplicationError:
        return []
    return list(Account.objects.select_related("patron").filter(agency_id=agency).order_by("pk"))


def patron_home_municipality(*, patron: Patron) -> int | None:
    """Return the patron's home municipality number, as last delivered by a public library.

    Its library is the registry's to say: ``registry.selectors.agency_home_for_municipality``.
    """
    return patron.municipality_no

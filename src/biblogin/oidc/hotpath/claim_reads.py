# ruff: noqa: S608 - table and column names come from the models' meta, every value is a parameter
"""The claims' reads of CULR and the registry in raw SQL, for the lean path.

The same questions as ``patrons.selectors.patron_accounts_get_by_cpr`` / ``_by_local_id`` and
``registry.selectors.agency_lookup``, with the same answers (the differential test compares the
claims), fresh on every call as R-VIP-11 asks, but without building the query each time. A rare
case (a patron without accounts) asks the ORM selector.

``reads_for`` answers the same questions from the facts read in the login's own statement
(``store.ClaimFacts``), where they are the answer to exactly that question; any other question
is read as above.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from biblogin.common.agency_ids import agency_id_clean
from biblogin.common.cpr_crypto import cpr_hash, decrypt_cpr
from biblogin.common.errors import ApplicationError
from biblogin.login.constants import IdentityProvider
from biblogin.oidc.claims import ClaimReads
from biblogin.oidc.hotpath.store import ClaimFacts, LoginRow, when
from biblogin.patrons import selectors as culr
from biblogin.patrons.inputs import parse_agency_id, parse_cpr, parse_local_id
from biblogin.patrons.models import Account, AccountIdType, Patron
from biblogin.registry import selectors as registry
from biblogin.registry.models import Agency, AgencyStatus, AgencyType, Branch

_q = connection.ops.quote_name
_ACCOUNT = _q(Account._meta.db_table)
_PATRON = _q(Patron._meta.db_table)
_AGENCY = _q(Agency._meta.db_table)
_BRANCH = _q(Branch._meta.db_table)
_ACCOUNT_FIELDS = [f.attname for f in Account._meta.concrete_fields]
_PATRON_FIELDS = [f.attname for f in Patron._meta.concrete_fields]
_COLUMNS = ", ".join(
    [f"a.{f.column}" for f in Account._meta.concrete_fields]
    + [f"p.{f.column}" for f in Patron._meta.concrete_fields]
)
_ORDER = "ORDER BY a.agency_id, a.id_type, a.local_id"
_VISIBLE = (AgencyStatus.ACTIVE.value, AgencyStatus.INVISIBLE.value)


def _accounts(rows: list[Any]) -> culr.PatronAccounts:
    if not rows:
        return culr.PatronAccounts()
    n = len(_ACCOUNT_FIELDS)
    patron_values = list(rows[0][n:])
    for name in ("created_at", "updated_at"):
        i = _PATRON_FIELDS.index(name)
        patron_values[i] = when(patron_values[i])
    active = _PATRON_FIELDS.index("is_active")
    patron_values[active] = bool(patron_values[active])
    guid = _PATRON_FIELDS.index("guid")
    patron_values[guid] = Patron._meta.get_field("guid").to_python(patron_values[guid])
    patron = Patron.from_db("default", _PATRON_FIELDS, patron_values)
    accounts = []
    for row in rows:
        values = list(row[:n])
        for name in ("created_at", "updated_at"):
            i = _ACCOUNT_FIELDS.index(name)
            values[i] = when(values[i])
        account = Account.from_db("default", _ACCOUNT_FIELDS, values)
        account.patron = patron
        accounts.append(account)
    return culr.PatronAccounts(patron=patron, accounts=accounts)


def patron_accounts_get_by_cpr(*, cpr: str) -> culr.PatronAccounts:
    try:
        digest = cpr_hash(parse_cpr(cpr))
    except ApplicationError:
        return culr.PatronAccounts()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_COLUMNS} FROM {_ACCOUNT} a JOIN {_PATRON} p ON p.id = a.patron_id "
            f"WHERE p.cpr_hash = %s {_ORDER}",
            [digest],
        )
        rows = cursor.fetchall()
    if not rows:
        # A patron without accounts (just created, or deactivated): the selector's own read.
        return culr.patron_accounts_get_by_cpr(cpr=cpr)
    return _accounts(rows)


def patron_accounts_get_by_local_id(*, agency_id: str, local_id: str) -> culr.PatronAccounts:
    try:
        agency, local = parse_agency_id(agency_id), parse_local_id(local_id)
    except ApplicationError:
        return culr.PatronAccounts()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_COLUMNS} FROM {_ACCOUNT} a JOIN {_PATRON} p ON p.id = a.patron_id "
            f"WHERE p.id IN (SELECT b.patron_id FROM {_ACCOUNT} b WHERE b.agency_id = %s "
            f"AND b.id_type = %s AND b.local_id = %s) {_ORDER}",
            [agency, AccountIdType.LOCAL.value, local],
        )
        rows = cursor.fetchall()
    return _accounts(rows)


def agency_lookup(
    *, agency_ids: Iterable[str], municipality_nos: Iterable[int | None] = ()
) -> registry.AgencyLookup:
    ids = frozenset(c for c in map(agency_id_clean, agency_ids) if c is not None)
    municipalities = {m for m in municipality_nos if isinstance(m, int) and not isinstance(m, bool)}
    if not ids and not municipalities:
        return registry.AgencyLookup(agencies={}, homes={}, asked_ids=ids)
    id_list, mun_list = sorted(ids), sorted(municipalities)
    conditions = []
    params: list[Any] = list(_VISIBLE)
    if id_list:
        conditions.append(f"g.agency_id IN ({', '.join(['%s'] * len(id_list))})")
        params.extend(id_list)
    if mun_list:
        conditions.append(
            f"(g.agency_type = %s AND g.municipality_no IN ({', '.join(['%s'] * len(mun_list))}))"
        )
        params.extend([AgencyType.FOLKEBIBLIOTEK.value, *mun_list])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT g.agency_id, g.agency_type, g.municipality_no, g.culr_sync, b.branch_id "
            f"FROM {_AGENCY} g LEFT JOIN {_BRANCH} b ON b.agency_id = g.id "
            f"WHERE g.status IN (%s, %s) AND ({' OR '.join(conditions)})",
            params,
        )
        rows = cursor.fetchall()
    # From here as registry.selectors.agency_lookup builds its answer from the same rows.
    culr_syncs: dict[str, bool] = {}
    with_main_branch: set[str] = set()
    candidates: dict[int, set[str]] = {}
    for agency_id, agency_type, municipality_no, culr_sync, branch_id in rows:
        if agency_id in ids:
            culr_syncs[agency_id] = bool(culr_sync)
            if branch_id == agency_id:
                with_main_branch.add(agency_id)
        if agency_type == AgencyType.FOLKEBIBLIOTEK and municipality_no in municipalities:
            candidates.setdefault(municipality_no, set()).add(agency_id)
    agencies = {
        a: registry.AgencyFacts(a, sync, a in with_main_branch) for a, sync in culr_syncs.items()
    }
    homes = {
        m: registry.agency_home_pick(municipality_no=m, agency_ids=candidates.get(m, ()))
        for m in municipalities
    }
    return registry.AgencyLookup(agencies=agencies, homes=homes, asked_ids=ids)


def account_get_local(*, agency_id: str, local_id: str) -> Account | None:
    return culr.account_get_local(agency_id=agency_id, local_id=local_id)


READS = ClaimReads(
    patron_accounts_get_by_cpr=patron_accounts_get_by_cpr,
    patron_accounts_get_by_local_id=patron_accounts_get_by_local_id,
    account_get_local=account_get_local,
    agency_lookup=agency_lookup,
)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


class PatronRow:
    """A CULR patron's columns the claims read (``culr.PatronFacts``); its CPR decrypted on
    first use, at most once."""

    __slots__ = ("_cpr", "cpr_encrypted", "guid", "is_active", "municipality_no")
    _UNREAD: Any = object()

    def __init__(
        self, guid: uuid.UUID, cpr_encrypted: str, municipality_no: int | None, is_active: bool
    ) -> None:
        self.guid = guid
        self.cpr_encrypted = cpr_encrypted
        self.municipality_no = municipality_no
        self.is_active = is_active
        self._cpr = self._UNREAD

    @property
    def cpr(self) -> str | None:
        if self._cpr is self._UNREAD:
            self._cpr = decrypt_cpr(self.cpr_encrypted) if self.cpr_encrypted else None
        return self._cpr


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account's columns the claims read (``culr.AccountFacts``)."""

    agency_id: str
    id_type: str
    local_id: str


_GUID = Patron._meta.get_field("guid")


class _Prefetched:
    """The claims' reads for one login, answered from its ``ClaimFacts`` where they apply."""

    __slots__ = ("_accounts", "_facts", "_login")

    def __init__(self, login: LoginRow, facts: ClaimFacts) -> None:
        self._login = login
        self._facts = facts
        self._accounts: culr.PatronAccounts | None = None

    def _patron_accounts(self) -> culr.PatronAccounts:
        """The prefetched patron and its accounts (no patron: empty)."""
        if self._accounts is None:
            row = self._facts.row
            if row[0] is None:
                self._accounts = culr.PatronAccounts()
            else:
                patron = PatronRow(_GUID.to_python(row[1]), row[2] or "", row[3], bool(row[4]))
                listed = _json(row[5]) or []
                if self._facts.vendor != "postgresql":
                    listed.sort()  # PostgreSQL ordered them; SQLite's BINARY order is Python's
                accounts = [AccountRow(a, t, local) for a, t, local in listed]
                self._accounts = culr.PatronAccounts(patron=patron, accounts=accounts)
        return self._accounts

    def by_cpr(self, *, cpr: str) -> culr.PatronAccounts:
        try:
            digest = cpr_hash(parse_cpr(cpr))
        except ApplicationError:
            return culr.PatronAccounts()
        identity = self._login.identity
        if not identity.cpr_hash or digest != identity.cpr_hash:
            return patron_accounts_get_by_cpr(cpr=cpr)
        found = self._patron_accounts()
        if not found.accounts:
            # A patron without accounts, or none: the selector's own read (as above).
            return culr.patron_accounts_get_by_cpr(cpr=cpr)
        return found

    def by_local_id(self, *, agency_id: str, local_id: str) -> culr.PatronAccounts:
        try:
            agency, local = parse_agency_id(agency_id), parse_local_id(local_id)
        except ApplicationError:
            return culr.PatronAccounts()
        identity = self._login.identity
        if (
            identity.cpr_hash
            or identity.idp == IdentityProvider.MITID
            or not identity.library_user_id
            or (agency, local) != (identity.agency_id, identity.library_user_id)
        ):
            return patron_accounts_get_by_local_id(agency_id=agency_id, local_id=local_id)
        return self._patron_accounts()

    def agencies(
        self, *, agency_ids: Iterable[str], municipality_nos: Iterable[int | None] = ()
    ) -> registry.AgencyLookup:
        ids = frozenset(c for c in map(agency_id_clean, agency_ids) if c is not None)
        municipalities = {
            m for m in municipality_nos if isinstance(m, int) and not isinstance(m, bool)
        }
        identity, row = self._login.identity, self._facts.row
        read_ids = {
            a for a in (identity.agency_id, self._login.agency_id) if a and agency_id_clean(a) == a
        }
        read_municipalities = {m for m in (row[3], identity.municipality_no) if m is not None}
        if not ids <= read_ids or not municipalities <= read_municipalities:
            return agency_lookup(agency_ids=agency_ids, municipality_nos=municipality_nos)
        # As agency_lookup builds its answer, from the rows the statement read.
        culr_syncs: dict[str, bool] = {}
        with_main_branch: set[str] = set()
        candidates: dict[int, set[str]] = {}
        for agency_id, agency_type, municipality_no, culr_sync, has_main in _json(row[6]) or []:
            if agency_id in ids:
                culr_syncs[agency_id] = bool(culr_sync)
                if has_main:
                    with_main_branch.add(agency_id)
            if agency_type == AgencyType.FOLKEBIBLIOTEK and municipality_no in municipalities:
                candidates.setdefault(municipality_no, set()).add(agency_id)
        agencies = {
            a: registry.AgencyFacts(a, sync, a in with_main_branch)
            for a, sync in culr_syncs.items()
        }
        homes = {
            m: registry.agency_home_pick(municipality_no=m, agency_ids=candidates.get(m, ()))
            for m in municipalities
        }
        return registry.AgencyLookup(agencies=agencies, homes=homes, asked_ids=ids)


def reads_for(login: LoginRow, facts: ClaimFacts) -> ClaimReads:
    """The claims' reads for this login, from the facts its statement brought."""
    prefetched = _Prefetched(login, facts)
    return ClaimReads(
        patron_accounts_get_by_cpr=prefetched.by_cpr,
        patron_accounts_get_by_local_id=prefetched.by_local_id,
        account_get_local=account_get_local,
        agency_lookup=prefetched.agencies,
    )

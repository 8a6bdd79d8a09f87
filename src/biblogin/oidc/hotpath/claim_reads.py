# ruff: noqa: S608 - table and column names come from the models' meta, every value is a parameter
"""The claims' reads of CULR and the registry in raw SQL, for the lean path.

The same questions as ``patrons.selectors.patron_accounts_get_by_cpr`` / ``_by_local_id`` and
``registry.selectors.agency_lookup``, with the same answers (the differential test compares the
claims), fresh on every call as R-VIP-11 asks, but without building the query each time. A rare
case (a patron without accounts) asks the ORM selector.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection

from biblogin.common.agency_ids import agency_id_clean
from biblogin.common.cpr_crypto import cpr_hash
from biblogin.common.errors import ApplicationError
from biblogin.oidc.claims import ClaimReads
from biblogin.oidc.hotpath.store import when
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

# ruff: noqa: S608 - table and column names come from the models' meta, every value is a parameter
"""Raw SQL on django-oauth-toolkit's tables and ours, for the lean path only.

Each function is one statement (or two) through Django's connection, so transactions,
connection reuse and both databases (SQLite, PostgreSQL) are Django's. Values are converted
the way Django's fields do (datetimes, UUIDs, JSON), and rows come back as plain objects with
only the columns the lean path uses (no model instances: no ``from_db``, no init signals).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from django.db import connection
from oauth2_provider.models import AccessToken, IDToken, RefreshToken

from biblogin.common.cpr_crypto import decrypt_cpr
from biblogin.login.constants import IdentityProvider
from biblogin.login.models import Authentication, Identity
from biblogin.oidc.models import AuthorizationCode, Client, TokenFamily
from biblogin.patrons.models import Account, AccountIdType, Patron
from biblogin.registry.models import Agency, AgencyStatus, AgencyType, Branch

_q = connection.ops.quote_name
_AT = _q(AccessToken._meta.db_table)
_RT = _q(RefreshToken._meta.db_table)
_ID = _q(IDToken._meta.db_table)
_CLIENT = _q(Client._meta.db_table)
_CODE = _q(AuthorizationCode._meta.db_table)
_FAMILY = _q(TokenFamily._meta.db_table)
_AUTH = _q(Authentication._meta.db_table)
_IDENTITY = _q(Identity._meta.db_table)
_ACCOUNT = _q(Account._meta.db_table)
_PATRON = _q(Patron._meta.db_table)
_AGENCY = _q(Agency._meta.db_table)
_BRANCH = _q(Branch._meta.db_table)
_UUID_FIELD = RefreshToken._meta.get_field("token_family")


_held = threading.local()


@contextmanager
def one_cursor() -> Iterator[None]:
    """Within the block, this module's statements on this thread share one cursor (opening a
    cursor through Django's connection costs more than some of the statements)."""
    outer = getattr(_held, "cursor", None)
    with connection.cursor() as cursor:
        _held.cursor = cursor
        try:
            yield
        finally:
            _held.cursor = outer


def _cursor() -> AbstractContextManager[Any]:
    held = getattr(_held, "cursor", None)
    return nullcontext(held) if held is not None else connection.cursor()


def when(value: Any) -> dt.datetime | None:
    """A datetime column as an aware UTC datetime (SQLite gives text, PostgreSQL datetimes)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _db_when(value: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _db_uuid(value: uuid.UUID) -> Any:
    return _UUID_FIELD.get_db_prep_value(value, connection)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


@dataclass(frozen=True)
class ClientRow:
    pk: int
    client_id: str
    client_type: str
    client_secret: str
    is_active: bool
    allowed_claims: list[str]


_CLIENT_COLUMNS = "c.id, c.client_id, c.client_type, c.client_secret, c.is_active, c.allowed_claims"
_CLIENT_WIDTH = 6


def _client(row: Any) -> ClientRow:
    claims = _json(row[5])
    return ClientRow(
        pk=row[0],
        client_id=row[1],
        client_type=row[2],
        client_secret=row[3],
        is_active=bool(row[4]),
        allowed_claims=claims if isinstance(claims, list) else [],
    )


def client_get(client_id: str) -> ClientRow | None:
    with _cursor() as cursor:
        cursor.execute(
            f"SELECT {_CLIENT_COLUMNS} FROM {_CLIENT} c WHERE c.client_id = %s", [client_id]
        )
        row = cursor.fetchone()
    return _client(row) if row is not None else None


@dataclass(frozen=True)
class CodeRow:
    pk: int
    application_id: int
    user_id: int
    expires: dt.datetime
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    nonce: str
    resource: list[str]
    authentication_id: int | None


def code_get(code: str) -> CodeRow | None:
    with _cursor() as cursor:
        cursor.execute(
            f"SELECT id, application_id, user_id, expires, redirect_uri, scope, code_challenge, "
            f"code_challenge_method, nonce, resource, authentication_id FROM {_CODE} "
            f"WHERE code = %s",
            [code],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    resource = _json(row[9]) if row[9] else []
    return CodeRow(
        pk=row[0],
        application_id=row[1],
        user_id=row[2],
        expires=when(row[3]),  # type: ignore[arg-type]
        redirect_uri=row[4] or "",
        scope=row[5] or "",
        code_challenge=row[6] or "",
        code_challenge_method=row[7] or "",
        nonce=row[8] or "",
        resource=resource if isinstance(resource, list) else [],
        authentication_id=row[10],
    )


def code_spend(*, pk: int, now: dt.datetime) -> bool:
    """R-LOGIN-1: mark the code used; of two concurrent redemptions only one gets True."""
    with _cursor() as cursor:
        cursor.execute(
            f"UPDATE {_CODE} SET used_at = %s WHERE id = %s AND used_at IS NULL",
            [_db_when(now), pk],
        )
        return bool(cursor.rowcount == 1)


def code_family(*, pk: int) -> uuid.UUID | None:
    with _cursor() as cursor:
        cursor.execute(f"SELECT token_family FROM {_CODE} WHERE id = %s", [pk])
        row = cursor.fetchone()
    return uuid.UUID(str(row[0])) if row and row[0] else None


class IdentityRow:
    """The identity columns the claims read (``claims.IdentityFacts``); the CPR is decrypted
    on first use and at most once."""

    __slots__ = (
        "_cpr",
        "agency_id",
        "blocked",
        "cpr_encrypted",
        "cpr_hash",
        "idp",
        "library_user_id",
        "municipality_no",
        "name",
        "user_id_is_cpr",
    )
    _UNREAD: Any = object()

    def __init__(self, row: Any) -> None:
        (
            self.idp,
            self.agency_id,
            self.library_user_id,
            user_id_is_cpr,
            self.cpr_encrypted,
            self.cpr_hash,
            blocked,
            self.municipality_no,
            self.name,
        ) = row
        self.user_id_is_cpr = bool(user_id_is_cpr)
        self.blocked = None if blocked is None else bool(blocked)
        self._cpr = self._UNREAD

    @property
    def cpr(self) -> str | None:
        if self._cpr is self._UNREAD:
            self._cpr = decrypt_cpr(self.cpr_encrypted) if self.cpr_encrypted else None
        return self._cpr


@dataclass(frozen=True, slots=True)
class LoginRow:
    """A login record with its identity (``claims.LoginFacts``), as plain values."""

    pk: int
    agency_id: str
    branch_id: str
    auth_time: dt.datetime
    acr: str
    amr: list[str]
    identity: IdentityRow


_LOGIN_COLUMNS = (
    "a.id, a.agency_id, a.branch_id, a.auth_time, a.acr, a.amr, i.idp, i.agency_id, "
    "i.library_user_id, i.user_id_is_cpr, i.cpr_encrypted, i.cpr_hash, i.blocked, "
    "i.municipality_no, i.name"
)
_LOGIN_WIDTH = 15
_LOGIN_JOIN = f"{_AUTH} a JOIN {_IDENTITY} i ON i.id = a.identity_id"


def _login(row: Any) -> LoginRow:
    """A login record with its identity from the columns above."""
    amr = _json(row[5]) if row[5] is not None else []
    return LoginRow(
        pk=row[0],
        agency_id=row[1],
        branch_id=row[2],
        auth_time=when(row[3]),  # type: ignore[arg-type]
        acr=row[4],
        amr=amr,
        identity=IdentityRow(row[6:15]),
    )


def authentication_get(pk: int) -> LoginRow | None:
    """The login record with its identity (one query, no ORM compile)."""
    with _cursor() as cursor:
        cursor.execute(f"SELECT {_LOGIN_COLUMNS} FROM {_LOGIN_JOIN} WHERE a.id = %s", [pk])
        row = cursor.fetchone()
    return _login(row) if row is not None else None


# --- the claims' facts, read with the login -------------------------------------------------
# The CULR patron the claims will read (by the identity's CPR hash, else by its library user
# ID, as ``claims._culr_read`` does), its accounts, and the registry rows the claims may need
# (the agencies of the identity and the login, the public libraries of the patron's and the
# identity's municipalities), as columns after the login's: the claims' reads then need no
# statement of their own. ``claim_reads.reads_for`` uses them only where they answer exactly
# the question the claims ask, and reads afresh otherwise; every value is as fresh as the
# statement (R-VIP-11).


def _literal(value: str) -> str:
    assert value.isalnum(), value  # a constant of the code, never input
    return f"'{value}'"


_FACTS_PATRON_JOIN = (
    f"LEFT JOIN {_PATRON} p ON p.id = (CASE WHEN i.cpr_hash <> '' THEN "
    f"(SELECT p2.id FROM {_PATRON} p2 WHERE p2.cpr_hash = i.cpr_hash) "
    f"WHEN i.idp <> {_literal(IdentityProvider.MITID.value)} AND i.library_user_id <> '' THEN "
    f"(SELECT b.patron_id FROM {_ACCOUNT} b WHERE b.agency_id = i.agency_id "
    f"AND b.id_type = {_literal(AccountIdType.LOCAL.value)} AND b.local_id = i.library_user_id "
    f"LIMIT 1) END)"
)
_FACTS_AGENCIES_WHERE = (
    f"g.status IN ({_literal(AgencyStatus.ACTIVE.value)}, {_literal(AgencyStatus.INVISIBLE.value)})"
    f" AND (g.agency_id IN (i.agency_id, a.agency_id) OR (g.agency_type = "
    f"{_literal(AgencyType.FOLKEBIBLIOTEK.value)} AND g.municipality_no IN "
    f"(p.municipality_no, i.municipality_no)))"
)
_FACTS_MAIN_BRANCH = (
    f"EXISTS (SELECT 1 FROM {_BRANCH} mb WHERE mb.agency_id = g.id AND mb.branch_id = g.agency_id)"
)
FACTS_WIDTH = 7


def _facts_columns(vendor: str) -> str:
    if vendor == "postgresql":
        accounts = (
            f"(SELECT json_agg(json_build_array(x.agency_id, x.id_type, x.local_id) "
            f"ORDER BY x.agency_id, x.id_type, x.local_id) FROM {_ACCOUNT} x "
            f"WHERE x.patron_id = p.id)"
        )
        agencies = (
            f"(SELECT json_agg(json_build_array(g.agency_id, g.agency_type, g.municipality_no, "
            f"g.culr_sync, {_FACTS_MAIN_BRANCH})) FROM {_AGENCY} g WHERE {_FACTS_AGENCIES_WHERE})"
        )
    else:
        # SQLite: no ORDER BY inside an aggregate before 3.44; claim_reads sorts the accounts.
        accounts = (
            f"(SELECT json_group_array(json_array(x.agency_id, x.id_type, x.local_id)) "
            f"FROM {_ACCOUNT} x WHERE x.patron_id = p.id)"
        )
        agencies = (
            f"(SELECT json_group_array(json_array(g.agency_id, g.agency_type, g.municipality_no, "
            f"g.culr_sync, {_FACTS_MAIN_BRANCH})) FROM {_AGENCY} g WHERE {_FACTS_AGENCIES_WHERE})"
        )
    return f"p.id, p.guid, p.cpr_encrypted, p.municipality_no, p.is_active, {accounts}, {agencies}"


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What the facts columns gave, raw: ``claim_reads.reads_for`` interprets them."""

    vendor: str
    row: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class RefreshRow:
    pk: int
    user_id: int
    application_id: int
    access_token_id: int | None
    token_family: uuid.UUID | None
    revoked: dt.datetime | None
    resource: list[str]
    access_expires: dt.datetime | None
    access_scope: str
    # (subject, login with identity, the claims' facts) of the token's family, if it has one.
    grant: tuple[str, LoginRow, ClaimFacts] | None


_REFRESH_COLUMNS = (
    "rt.id, rt.user_id, rt.application_id, rt.access_token_id, rt.token_family, rt.revoked, "
    "rt.resource, at.expires, at.scope, f.subject"
)
_REFRESH_WIDTH = 10


def _client_refresh_sql(vendor: str) -> str:
    # The client by its ID, and the refresh token as DOT looks it up (the unrevoked row with
    # this checksum first, else the latest revoked) with its family's login and the claims'
    # facts: one statement for everything a refresh grant reads.
    return (
        f"SELECT {_CLIENT_COLUMNS}, {_REFRESH_COLUMNS}, {_LOGIN_COLUMNS}, {_facts_columns(vendor)} "
        f"FROM {_CLIENT} c LEFT JOIN {_RT} rt ON rt.id = (SELECT r2.id FROM {_RT} r2 "
        f"WHERE r2.token_checksum = %s "
        f"ORDER BY CASE WHEN r2.revoked IS NULL THEN 0 ELSE 1 END, r2.revoked DESC LIMIT 1) "
        f"LEFT JOIN {_AT} at ON at.id = rt.access_token_id "
        f"LEFT JOIN {_FAMILY} f ON f.token_family = rt.token_family "
        f"LEFT JOIN {_AUTH} a ON a.id = f.authentication_id "
        f"LEFT JOIN {_IDENTITY} i ON i.id = a.identity_id {_FACTS_PATRON_JOIN} "
        f"WHERE c.client_id = %s"
    )


_SQL: dict[tuple[str, str], str] = {}


def _sql(name: str, build: Any) -> str:
    """The statement ``name`` for this connection's back-end, built once."""
    key = (name, connection.vendor)
    sql = _SQL.get(key)
    if sql is None:
        sql = _SQL[key] = build(connection.vendor)
    return sql


def _grant(row: Any, subject_at: int, login_at: int) -> tuple[str, LoginRow, ClaimFacts] | None:
    login = row[login_at : login_at + _LOGIN_WIDTH]
    # No family, or (never with the foreign keys) a family whose login is gone: no grant.
    if login[0] is None or login[6] is None:
        return None
    facts = ClaimFacts(connection.vendor, tuple(row[login_at + _LOGIN_WIDTH :]))
    return row[subject_at] or "", _login(login), facts


def client_refresh_get(client_id: str, checksum: str) -> tuple[ClientRow | None, RefreshRow | None]:
    """The client and the refresh token as DOT looks it up, with its grant, in one statement."""
    with _cursor() as cursor:
        cursor.execute(_sql("client_refresh", _client_refresh_sql), [checksum, client_id])
        row = cursor.fetchone()
    if row is None:
        return None, None
    client = _client(row)
    row = row[_CLIENT_WIDTH:]
    if row[0] is None:
        return client, None
    resource = _json(row[6]) if row[6] else []
    return client, RefreshRow(
        pk=row[0],
        user_id=row[1],
        application_id=row[2],
        access_token_id=row[3],
        token_family=uuid.UUID(str(row[4])) if row[4] else None,
        revoked=when(row[5]),
        resource=resource if isinstance(resource, list) else [],
        access_expires=when(row[7]),
        access_scope=row[8] or "",
        grant=_grant(row, 9, _REFRESH_WIDTH),
    )


def revoked_refresh_token_exists(checksum: str) -> bool:
    with _cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {_RT} WHERE token_checksum = %s AND revoked IS NOT NULL LIMIT 1",
            [checksum],
        )
        return cursor.fetchone() is not None


def refresh_token_rotate_out(*, pk: int, access_token_id: int | None, now: dt.datetime) -> bool:
    """Revoke the presented refresh token and delete its access token (DOT's ``revoke``).

    The conditional UPDATE decides a race: of two concurrent rotations of one token only one
    gets True; the other is a reuse (RFC 9700 §4.14.2).
    """
    with _cursor() as cursor:
        cursor.execute(
            f"UPDATE {_RT} SET revoked = %s, updated = %s, access_token_id = NULL "
            f"WHERE id = %s AND revoked IS NULL",
            [_db_when(now), _db_when(now), pk],
        )
        if cursor.rowcount != 1:
            return False
        if access_token_id is not None:
            cursor.execute(f"DELETE FROM {_AT} WHERE id = %s", [access_token_id])
    return True


# PostgreSQL: the whole rotation of a refresh grant in one statement (one round trip instead
# of five). Each part runs only when the conditional UPDATE revoked the presented token, so a
# concurrent rotation that lost the race (the UPDATE waits for the row, then finds it revoked)
# writes nothing, as with the statements one by one.
_ROTATE_SQL = (
    f"WITH rotated AS (UPDATE {_RT} SET revoked = %s, updated = %s, access_token_id = NULL "
    f"WHERE id = %s AND revoked IS NULL RETURNING id), "
    f"gone AS (DELETE FROM {_AT} WHERE id = %s AND EXISTS (SELECT 1 FROM rotated) RETURNING id), "
    f"idt AS (INSERT INTO {_ID} (user_id, jti, application_id, expires, scope, created, updated) "
    f"SELECT %s, %s, %s, %s, %s, %s, %s WHERE %s AND EXISTS (SELECT 1 FROM rotated) "
    f"RETURNING id), "
    f"acc AS (INSERT INTO {_AT} (user_id, source_refresh_token_id, token, token_checksum, "
    f"id_token_id, application_id, expires, scope, resource, created, updated) "
    f"SELECT %s, %s, '', %s, (SELECT id FROM idt), %s, %s, %s, '[]', %s, %s "
    f"WHERE EXISTS (SELECT 1 FROM rotated) RETURNING id), "
    f"ref AS (INSERT INTO {_RT} (user_id, token, token_checksum, application_id, "
    f"access_token_id, token_family, resource, created, updated) "
    f"SELECT %s, '', %s, %s, acc.id, %s, '[]', %s, %s FROM acc RETURNING id) "
    f"SELECT (SELECT count(*) FROM rotated), (SELECT count(*) FROM ref)"
)


def refresh_rotate_in_one(
    *,
    previous_pk: int,
    previous_access_id: int | None,
    user_id: int,
    application_id: int,
    jti: uuid.UUID | None,
    id_expires: dt.datetime,
    access_checksum: str,
    access_expires: dt.datetime,
    refresh_checksum: str,
    token_family: uuid.UUID,
    scope: str,
    now: dt.datetime,
) -> bool:
    """PostgreSQL only: rotate out the presented refresh token and write the new ID, access and
    refresh tokens in one statement. False (nothing written) when it was already revoked."""
    at = _db_when(now)
    params = [
        at, at, previous_pk,
        previous_access_id,
        user_id, _db_uuid(jti) if jti else None, application_id, _db_when(id_expires), scope,
        at, at, jti is not None,
        user_id, previous_pk, access_checksum, application_id, _db_when(access_expires), scope,
        at, at,
        user_id, refresh_checksum, application_id, _db_uuid(token_family), at, at,
    ]  # fmt: skip
    with _cursor() as cursor:
        cursor.execute(_ROTATE_SQL, params)
        rotated, inserted = cursor.fetchone()
    return bool(rotated == 1 and inserted == 1)


def id_token_insert(
    *, user_id: int, application_id: int, jti: uuid.UUID, expires: dt.datetime, scope: str
) -> int:
    now = _db_when(dt.datetime.now(dt.UTC))
    return _insert(
        _ID,
        ["user_id", "jti", "application_id", "expires", "scope", "created", "updated"],
        [user_id, _db_uuid(jti), application_id, _db_when(expires), scope, now, now],
    )


def access_token_insert(
    *,
    user_id: int,
    application_id: int,
    checksum: str,
    id_token_id: int | None,
    source_refresh_token_id: int | None,
    expires: dt.datetime,
    scope: str,
) -> int:
    now = _db_when(dt.datetime.now(dt.UTC))
    # RFC 9700 token storage (DOT's COMPLIANT_BCP_RFC9700_TOKEN_STORAGE): only the checksum.
    return _insert(
        _AT,
        [
            "user_id",
            "source_refresh_token_id",
            "token",
            "token_checksum",
            "id_token_id",
            "application_id",
            "expires",
            "scope",
            "resource",
            "created",
            "updated",
        ],
        [
            user_id,
            source_refresh_token_id,
            "",
            checksum,
            id_token_id,
            application_id,
            _db_when(expires),
            scope,
            "[]",
            now,
            now,
        ],
    )


def refresh_token_insert(
    *,
    user_id: int,
    application_id: int,
    checksum: str,
    access_token_id: int,
    token_family: uuid.UUID,
) -> int:
    now = _db_when(dt.datetime.now(dt.UTC))
    return _insert(
        _RT,
        [
            "user_id",
            "token",
            "token_checksum",
            "application_id",
            "access_token_id",
            "token_family",
            "resource",
            "created",
            "updated",
        ],
        [
            user_id,
            "",
            checksum,
            application_id,
            access_token_id,
            _db_uuid(token_family),
            "[]",
            now,
            now,
        ],
    )


def family_insert(
    *, token_family: uuid.UUID, authentication_id: int, client_pk: int, subject: str
) -> None:
    _insert(
        _FAMILY,
        ["token_family", "authentication_id", "client_id", "subject", "created_at"],
        [
            _db_uuid(token_family),
            authentication_id,
            client_pk,
            subject,
            _db_when(dt.datetime.now(dt.UTC)),
        ],
    )


def code_link_family(*, pk: int, token_family: uuid.UUID) -> None:
    with _cursor() as cursor:
        cursor.execute(
            f"UPDATE {_CODE} SET token_family = %s WHERE id = %s", [_db_uuid(token_family), pk]
        )


@dataclass(frozen=True, slots=True)
class AccessRow:
    pk: int
    user_id: int | None
    application_id: int | None
    expires: dt.datetime | None
    scope: str
    resource: list[str]
    source_refresh_token_id: int | None
    client: ClientRow | None
    # (subject, login with identity, the claims' facts) of the grant, as
    # ``token_family_for_access_token`` finds it.
    grant: tuple[str, LoginRow, ClaimFacts] | None


# The grant of an access token: the family of the refresh token issued with it, or of the one
# it was refreshed from; the oldest family if several (as the ORM's look-up orders them).
_GRANT_OF_ACCESS = (
    f"(SELECT f2.id FROM {_FAMILY} f2 WHERE f2.token_family IN "
    f"(SELECT rt.token_family FROM {_RT} rt "
    f"WHERE rt.access_token_id = at.id OR rt.id = at.source_refresh_token_id) "
    f"ORDER BY f2.id LIMIT 1)"
)
_ACCESS_COLUMNS = (
    "at.id, at.user_id, at.application_id, at.expires, at.scope, at.resource, "
    "at.source_refresh_token_id, c.client_id, c.client_type, c.is_active, c.allowed_claims, "
    "f.subject"
)
_ACCESS_WIDTH = 12


def _access_sql(vendor: str) -> str:
    return (
        f"SELECT {_ACCESS_COLUMNS}, {_LOGIN_COLUMNS}, {_facts_columns(vendor)} FROM {_AT} at "
        f"LEFT JOIN {_CLIENT} c ON c.id = at.application_id "
        f"LEFT JOIN {_FAMILY} f ON f.id = {_GRANT_OF_ACCESS} "
        f"LEFT JOIN {_AUTH} a ON a.id = f.authentication_id "
        f"LEFT JOIN {_IDENTITY} i ON i.id = a.identity_id {_FACTS_PATRON_JOIN} "
        f"WHERE at.token_checksum = %s"
    )


def access_token_get(checksum: str) -> AccessRow | None:
    """The access token with its client, its grant's login and the claims' facts, in one
    statement (userinfo)."""
    with _cursor() as cursor:
        cursor.execute(_sql("access", _access_sql), [checksum])
        row = cursor.fetchone()
    if row is None:
        return None
    resource = _json(row[5]) if row[5] else []
    client = None
    if row[2] is not None and row[7] is not None:
        claims = _json(row[10])
        client = ClientRow(
            pk=row[2],
            client_id=row[7],
            client_type=row[8],
            client_secret="",
            is_active=bool(row[9]),
            allowed_claims=claims if isinstance(claims, list) else [],
        )
    return AccessRow(
        pk=row[0],
        user_id=row[1],
        application_id=row[2],
        expires=when(row[3]),
        scope=row[4] or "",
        resource=resource if isinstance(resource, list) else [],
        source_refresh_token_id=row[6],
        client=client,
        grant=_grant(row, 11, _ACCESS_WIDTH),
    )


def _insert(table: str, columns: list[str], values: list[Any]) -> int:
    marks = ", ".join(["%s"] * len(values))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    with _cursor() as cursor:
        if connection.features.can_return_columns_from_insert:
            cursor.execute(sql + " RETURNING id", values)
            return int(cursor.fetchone()[0])
        cursor.execute(sql, values)
        return int(cursor.lastrowid)

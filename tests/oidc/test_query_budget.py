"""Query budgets of the token endpoint and userinfo (issue 5): no row is read twice per request.

The budgets are maxima the code before the change exceeded: besides the claims' own reads of the
registry and CULR (R-LOGIN-8, not counted here), 23 queries per code exchange, 28 per refresh and
3 per userinfo. The per-table counts name what each request may read.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from biblogin.audit.models import AuditEvent
from biblogin.oidc import keys
from biblogin.oidc.models import SigningKey
from tests.oidc_flow import OIDCFlow, Started

SELECT_FROM = re.compile(r'^SELECT .*? FROM "(\w+)"', re.DOTALL)
CLAIMS_TABLES = ("registry_", "patrons_")


@pytest.fixture(autouse=True)
def _forget_the_signing_key() -> Iterator[None]:
    keys.signing_key_memo_forget()
    yield
    keys.signing_key_memo_forget()


def _outer(sql: str) -> str:
    """The statement without its parenthesised parts: what its own FROM reads, not subqueries'."""
    inner = re.compile(r"\([^()]*\)")
    while True:
        stripped = inner.sub("", sql)
        if stripped == sql:
            return sql
        sql = stripped


def selects(queries: CaptureQueriesContext) -> tuple[Counter[str], int]:
    """Count the SELECTs by the table read (not subqueries), and all queries but the claims'
    (the claims' statements of their own; on the lean path they are subqueries of the token's).

    Call it before the next request: a request empties the connection's query log.
    """
    tables: Counter[str] = Counter()
    for query in queries.captured_queries:
        match = SELECT_FROM.match(_outer(query["sql"]))
        if match:
            tables[match.group(1)] += 1
    claims = sum(n for table, n in tables.items() if table.startswith(CLAIMS_TABLES))
    return tables, len(queries) - claims


def code_and_started(flow: OIDCFlow) -> tuple[str, Started]:
    started = flow.start()
    response = flow.library_login(started, agency_id="710100", user_id="1000001", pin="1234")
    return flow.code_from(response, started), started


@pytest.mark.django_db
def test_the_code_exchange_reads_the_code_and_the_client_once(portal):
    """R-LOGIN-1: one read and one spend of the code; the ID token is not read back."""
    code, started = code_and_started(portal)
    keys.signing_key_active()  # made on first use
    with CaptureQueriesContext(connection) as queries:
        tokens = portal.exchange(code, started)
    tables, total = selects(queries)
    assert portal.id_token_claims(tokens["id_token"], started)["sub"]
    assert tables["oidc_authorizationcode"] == 1  # was 7
    assert tables["oidc_client"] == 1
    assert tables["oauth2_provider_idtoken"] == 0  # DOT read the row it had just written
    assert tables["oauth2_provider_accesstoken"] == 0  # only for a signal nobody listens to
    # Inside the test's transaction the signing key is not kept (see keys.py): read per use.
    assert tables["oidc_signingkey"] <= 2  # was 3
    assert total <= 14  # was 23


@pytest.mark.django_db
def test_a_replayed_code_still_revokes_what_it_gave(portal):
    """RFC 6749 §4.1.2: the row read once per request still spends the code exactly once."""
    code, started = code_and_started(portal)
    tokens = portal.exchange(code, started)
    replay = portal.token_request(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": started.pkce.verifier,
        }
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert portal.refresh(tokens["refresh_token"]).status_code == 400
    assert AuditEvent.objects.filter(action="oidc_code_replayed", outcome="tokens_revoked").exists()


@pytest.mark.django_db
def test_the_refresh_grant_reads_its_client_and_user_once(portal):
    """R-LOGIN-1: rotation as before, without the repeated client, user and ID token reads."""
    code, started = code_and_started(portal)
    tokens = portal.exchange(code, started)
    with CaptureQueriesContext(connection) as queries:
        response = portal.refresh(tokens["refresh_token"])
    tables, total = selects(queries)
    assert response.status_code == 200
    refreshed = response.json()
    assert portal.id_token_claims(refreshed["id_token"])["sub"]
    assert tables["oidc_client"] == 1  # was 2; the lean path reads the refresh token with it
    assert tables["common_user"] == 0  # was 1: joined to the refresh token
    assert tables["oauth2_provider_idtoken"] == 0  # was 1
    assert tables["oauth2_provider_accesstoken"] <= 2  # was 3: DOT's locks during rotation
    assert tables["oidc_signingkey"] <= 2  # was 3
    assert total <= 23  # was 28
    assert portal.userinfo(refreshed["access_token"]).status_code == 200


@pytest.mark.django_db
def test_userinfo_reads_the_token_with_its_grant_and_login_in_one_query(app):
    """The access token, its client, its grant and login in one statement (the family by a
    subquery), still read on every request: a revoked token is refused at once. Issue 14: the
    claims' reads of CULR and the registry are subqueries of that statement too."""
    tokens = app.login_library(agency_id="710100", user_id="1000001", pin="1234")
    sub = app.id_token_claims(tokens["id_token"])["sub"]

    def userinfo(access_token: str, status: int) -> None:
        with CaptureQueriesContext(connection) as queries:
            response = app.userinfo(access_token)
        assert response.status_code == status
        if status == 200:
            assert response.json()["sub"] == sub
        # One statement in all, claims included (was 3: the token, CULR, the registry).
        assert len(queries) == 1
        sql = queries.captured_queries[0]["sql"]
        assert re.search(r'\) FROM "oauth2_provider_accesstoken" at LEFT JOIN', sql)
        for table in ("oauth2_provider_refreshtoken", "patrons_account", "registry_agency"):
            assert f'FROM "{table}"' in sql  # subqueries of that statement

    userinfo(tokens["access_token"], 200)
    refreshed = app.refresh(tokens["refresh_token"]).json()
    userinfo(refreshed["access_token"], 200)
    userinfo(tokens["access_token"], 401)  # died with the rotation


@pytest.mark.django_db(transaction=True)
def test_the_active_signing_key_is_kept_by_the_process_until_a_rotation():
    """Committed outside a transaction: kept; a rotation in this process takes effect at once."""
    first = keys.signing_key_active()
    with CaptureQueriesContext(connection) as queries:
        assert keys.signing_key_active() == first
    assert len(queries) == 0
    new = keys.signing_key_rotate()
    assert keys.signing_key_active().kid == new.kid != first.kid
    # An emptied table (flush: the test runner between tests) is not answered from memory.
    call_command("flush", interactive=False, verbosity=0)
    assert SigningKey.objects.filter(kid=keys.signing_key_active().kid).exists()


@pytest.mark.django_db
def test_a_signing_key_read_inside_a_transaction_is_not_kept():
    """A key seen inside a transaction may yet be rolled back: it is read again each time."""
    keys.signing_key_active()
    with CaptureQueriesContext(connection) as queries:
        keys.signing_key_active()
    assert len(queries) == 1
    assert SigningKey.objects.count() == 1

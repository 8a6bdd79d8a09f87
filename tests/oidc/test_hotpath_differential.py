"""Issue 14: the lean path is the same protocol as django-oauth-toolkit's own views.

Each scenario drives one sequence of requests (good and bad) through the lean path of the
WSGI entry and then, in a fresh browser, through DOT's views (``testing.django_only``), and
compares what a client sees: status codes, error codes, the keys of token answers, and the
claims of ID tokens and userinfo (without the values that differ per login: times, ``jti``,
hashes of the tokens). R-LOGIN-1, R-LOGIN-8/9, RFC 6749 §4.1.2/§5.2, RFC 7636, RFC 9700 §4.14.2.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client as Browser
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from biblogin.audit.models import AuditEvent
from biblogin.oidc.hotpath import testing
from biblogin.oidc.models import AuthorizationCode
from tests.oidc_flow import TOKEN, OIDCFlow, Started

pytestmark = pytest.mark.django_db

VOLATILE = {"iat", "exp", "jti", "at_hash", "auth_time", "nonce"}

Observed = list[Any]
TOKEN_AUDIT = {"oidc_code_replayed", "oidc_refresh_token_reused"}


def _claims(flow: OIDCFlow, id_token: str, started: Started | None) -> dict[str, Any]:
    claims = flow.id_token_claims(id_token)
    if started is not None:
        assert claims.get("nonce") == started.nonce
    return {k: v for k, v in claims.items() if k not in VOLATILE}


def _seen(flow: OIDCFlow, response: Any, started: Started | None = None) -> Any:
    """What a client sees of one answer."""
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        body = None
    if response.status_code != 200:
        return (response.status_code, body.get("error") if isinstance(body, dict) else None)
    assert isinstance(body, dict)
    if "access_token" in body:
        assert response["Cache-Control"] == "no-store"
        seen: dict[str, Any] = {"keys": sorted(body), "scope": body["scope"]}
        seen["token_type"], seen["expires_in"] = body["token_type"], body["expires_in"]
        if "id_token" in body:
            seen["id_token"] = _claims(flow, body["id_token"], started)
        return (200, seen)
    return (200, {k: v for k, v in body.items() if k != "auth_time"})


def anna(flow: OIDCFlow, **extra: str) -> tuple[Started, str]:
    """A library login up to the code (not redeemed)."""
    started = flow.start(**extra)
    response = flow.library_login(started, agency_id="710100", user_id="1000001", pin="1234")
    return started, flow.code_from(response, started)


def redeem(flow: OIDCFlow, started: Started, code: str, **override: str) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flow.redirect_uri,
        "code_verifier": started.pkce.verifier,
    }
    data.update(override)
    return flow.token_request({k: v for k, v in data.items() if v != ""})


def good_flow(flow: OIDCFlow, other: OIDCFlow) -> Observed:
    started, code = anna(flow)
    first = redeem(flow, started, code)
    tokens = first.json()
    refreshed = flow.refresh(tokens["refresh_token"])
    newer = refreshed.json()
    return [
        _seen(flow, first, started),
        _seen(flow, flow.userinfo(tokens["access_token"])),
        _seen(flow, refreshed),
        _seen(flow, flow.userinfo(tokens["access_token"])),  # died with the rotation
        _seen(flow, flow.userinfo(newer["access_token"])),
        _seen(flow, flow.refresh(newer["refresh_token"])),
    ]


def portal_flow(flow: OIDCFlow, other: OIDCFlow) -> Observed:
    """The confidential portal (HTTP Basic), every claim and the cpr scope."""
    started, code = anna(other, scope="openid profile cpr")
    first = redeem(other, started, code)
    tokens = first.json()
    return [
        _seen(other, first, started),
        _seen(other, other.userinfo(tokens["access_token"])),
        _seen(other, other.refresh(tokens["refresh_token"])),
    ]


def wrong_verifier(flow: OIDCFlow, other: OIDCFlow) -> Observed:
    started, code = anna(flow)
    return [
        _seen(flow, redeem(flow, started, code, code_verifier="x" * 50)),
        _seen(flow, redeem(flow, started, code)),  # the code was spent by the first try
    ]


def missing_verifier_and_wrong_redirect(flow: OIDCFlow, other: OIDCFlow) -> Observed:
    started, code = anna(flow)
    started2 = flow.start()  # answered from this browser's login (SSO)
    code2 = flow.code_from(started2.response, started2)
    return [
        _seen(flow, redeem(flow, started, code, code_verifier="")),
        _seen(flow, redeem(flow, started2, code2, redirect_uri="http://127.0.0.1:8765/other")),
    ]


def reused_code(flow: OIDCFlow, other: OIDCFlow) -> Observed:
    started, code = anna(flow)
    tokens = redeem(flow, started, code).json()
    replay = redeem(flow, started, code)
    return [
        _seen(flow, replay),
        # RFC 6749 §4.1.2: what the first redemption gave is revoked.
        _seen(flow, flow.refresh(tokens["refresh_token"])),
        _seen(flow, flow.userinfo(tokens["access_token"])),
    ]


def other_clients_code(flow: OIDCFlow, other: OIDCFlow) -> Observed:
    started, code = anna(flow)
    stolen = redeem(other, started, code, redirect_uri=flow.redirect_uri)
    return [_seen(other, stolen), _seen(flow, redeem(flow, started, code))]


def reused_refresh_token(flow: OIDCFlow, other: OIDCFlow) -> Observed:
    started, code = anna(flow)
    tokens = redeem(flow, started, code).json()
    rotated = flow.refresh(tokens["refresh_token"]).json()
    return [
        _seen(flow, flow.refresh(tokens["refresh_token"])),
        _seen(flow, flow.refresh(rotated["refresh_token"])),
        _seen(flow, flow.userinfo(rotated["access_token"])),
    ]


def revoked_token(flow: OIDCFlow, other: OIDCFlow) -> Observed:
    started, code = anna(flow)
    tokens = redeem(flow, started, code).json()
    revoke = flow.browser.post(
        "/login/revoke/", {"token": tokens["refresh_token"], "client_id": flow.client_id}
    )
    return [
        revoke.status_code,
        _seen(flow, flow.refresh(tokens["refresh_token"])),
        _seen(flow, flow.userinfo(tokens["access_token"])),
    ]


def expired_code(flow: OIDCFlow, other: OIDCFlow) -> Observed:
    started, code = anna(flow)
    row = AuthorizationCode.objects.get(code=code)
    AuthorizationCode.objects.filter(pk=row.pk).update(expires=row.created)
    return [_seen(flow, redeem(flow, started, code))]


def bad_client(flow: OIDCFlow, other: OIDCFlow) -> Observed:
    started, code = anna(other)
    wrong = base64.b64encode(f"{other.client_id}:wrong-secret".encode()).decode()
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": other.redirect_uri,
        "code_verifier": started.pkce.verifier,
    }
    return [
        _seen(other, other.browser.post(TOKEN, data, HTTP_AUTHORIZATION=f"Basic {wrong}")),
        # A confidential client without its secret.
        _seen(other, other.browser.post(TOKEN, {**data, "client_id": other.client_id})),
        _seen(other, other.browser.post(TOKEN, {**data, "client_id": "nobody"})),
        _seen(flow, flow.refresh("not-a-token")),
        _seen(flow, flow.userinfo("not-a-token")),
    ]


SCENARIOS: dict[str, Callable[[OIDCFlow, OIDCFlow], Observed]] = {
    "good": good_flow,
    "portal": portal_flow,
    "wrong_verifier": wrong_verifier,
    "missing_verifier_wrong_redirect": missing_verifier_and_wrong_redirect,
    "reused_code": reused_code,
    "other_clients_code": other_clients_code,
    "reused_refresh_token": reused_refresh_token,
    "revoked_token": revoked_token,
    "expired_code": expired_code,
    "bad_client": bad_client,
}


def _run(scenario: Callable[[OIDCFlow, OIDCFlow], Observed]) -> Observed:
    browser = Browser()
    return scenario(OIDCFlow(browser), OIDCFlow.portal(browser))


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_lean_path_answers_as_django_oauth_toolkit_does(demo, name):
    """Issue 14: same statuses, error codes and claims through the lean path and DOT's views."""
    AuditEvent.objects.all().delete()
    before = sum(testing.LEAN_SERVED.values())
    lean = _run(SCENARIOS[name])
    assert sum(testing.LEAN_SERVED.values()) > before, "the lean path answered nothing"
    lean_audit = sorted(AuditEvent.objects.values_list("action", "outcome"))
    AuditEvent.objects.all().delete()
    served = sum(testing.LEAN_SERVED.values())
    with testing.django_only():
        dot = _run(SCENARIOS[name])
    assert sum(testing.LEAN_SERVED.values()) == served
    dot_audit = sorted(AuditEvent.objects.values_list("action", "outcome"))
    assert lean == dot
    # Audit where DOT's path audits (code replay, refresh reuse), and the same events.
    assert [a for a in lean_audit if a[0] in TOKEN_AUDIT] == [
        a for a in dot_audit if a[0] in TOKEN_AUDIT
    ]


def test_the_lean_path_writes_the_rows_dot_writes(demo):
    """DOT's admin, revocation and introspection see the lean path's tokens as their own."""
    flow = OIDCFlow(Browser())
    started, code = anna(flow)
    tokens = redeem(flow, started, code).json()
    rotated = flow.refresh(tokens["refresh_token"]).json()
    access = get_access_token_model().objects.get()
    refreshes = list(get_refresh_token_model().objects.order_by("pk"))
    assert access.token == "" and access.id_token is not None
    assert access.source_refresh_token == refreshes[0]
    assert refreshes[0].revoked is not None and refreshes[0].access_token is None
    assert refreshes[1].revoked is None and refreshes[1].access_token == access
    assert refreshes[0].token_family == refreshes[1].token_family
    assert access.resource == [] and refreshes[1].resource == []
    # RFC 7662 introspection (DOT's view) knows the lean path's access token.
    answer = OIDCFlow.portal(Browser()).browser.post(
        "/login/introspect/",
        {"token": rotated["access_token"]},
        HTTP_AUTHORIZATION=OIDCFlow.portal(Browser())._client_auth()["HTTP_AUTHORIZATION"],
    )
    assert answer.status_code == 200

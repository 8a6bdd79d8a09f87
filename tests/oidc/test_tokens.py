"""Tokens after login: refresh rotation and reuse, revocation, introspection, logout.

R-LOGIN-1, R-LOGIN-12; RFC 6749 §6, RFC 7009, RFC 7662, RFC 9700 §4.14, OIDC RP-Initiated Logout.
"""

from __future__ import annotations

import base64

import pytest
from django.conf import settings
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from biblogin.audit.models import AuditEvent
from biblogin.login.journey import SESSION_RECENT
from tests.oidc_flow import APP_POST_LOGOUT, OIDCFlow, query_of

pytestmark = pytest.mark.django_db


def anna(flow: OIDCFlow, **extra: str) -> dict:
    return flow.login_library(agency_id="710100", user_id="1000001", pin="1234", **extra)


def test_tokens_are_stored_hashed(app):
    """R-SEC-1, RFC 9700 §4: no usable token at rest."""
    tokens = anna(app)
    stored = get_access_token_model().objects.get()
    assert stored.token == "" and tokens["access_token"] not in stored.token_checksum
    assert get_refresh_token_model().objects.get().token == ""


def test_refresh_rotates_and_keeps_the_subject_and_login(app):
    """R-LOGIN-1: a refresh gives a new refresh token; the old one is spent."""
    tokens = anna(app)
    first = app.id_token_claims(tokens["id_token"])
    response = app.refresh(tokens["refresh_token"])
    assert response.status_code == 200
    refreshed = response.json()
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]
    claims = app.id_token_claims(refreshed["id_token"])
    assert claims["sub"] == first["sub"] and claims["auth_time"] == first["auth_time"]
    assert claims["acr"] == first["acr"]
    # The old access token died with the rotation; the new one works.
    assert app.userinfo(tokens["access_token"]).status_code == 401
    assert app.userinfo(refreshed["access_token"]).json()["sub"] == first["sub"]


def test_a_reused_refresh_token_revokes_the_whole_family(app):
    """RFC 9700 §4.14.2: replaying a rotated refresh token kills every token of the grant."""
    tokens = anna(app)
    rotated = app.refresh(tokens["refresh_token"]).json()
    replay = app.refresh(tokens["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # The legitimate client's newest tokens are gone too.
    assert app.refresh(rotated["refresh_token"]).status_code == 400
    assert app.userinfo(rotated["access_token"]).status_code == 401
    assert AuditEvent.objects.filter(action="oidc_refresh_token_reused").exists()


def test_a_refresh_token_of_another_client_is_refused(app, portal):
    """RFC 6749 §6: the refresh token is bound to the client it was issued to."""
    tokens = anna(app)
    response = portal.refresh(tokens["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_revoking_a_refresh_token_ends_the_grant(app):
    """RFC 7009: revocation of a refresh token also revokes its access token."""
    tokens = anna(app)
    response = app.browser.post(
        "/login/revoke/",
        {
            "token": tokens["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": app.client_id,
        },
    )
    assert response.status_code == 200
    assert app.refresh(tokens["refresh_token"]).status_code == 400
    assert app.userinfo(tokens["access_token"]).status_code == 401


def test_revoking_an_access_token_and_another_clients_token(app, portal):
    """RFC 7009 §2.1: a client revokes only its own tokens; unknown tokens answer 200."""
    mine = anna(app)
    others = portal.sso_tokens()
    response = app.browser.post(
        "/login/revoke/", {"token": others["access_token"], "client_id": app.client_id}
    )
    assert response.status_code == 200
    assert portal.userinfo(others["access_token"]).status_code == 200  # untouched
    response = app.browser.post(
        "/login/revoke/", {"token": mine["access_token"], "client_id": app.client_id}
    )
    assert response.status_code == 200
    assert app.userinfo(mine["access_token"]).status_code == 401
    unknown = app.browser.post("/login/revoke/", {"token": "nothing", "client_id": app.client_id})
    assert unknown.status_code == 200


def test_a_confidential_client_must_authenticate_to_revoke(portal):
    tokens = anna(portal)
    response = portal.browser.post(
        "/login/revoke/", {"token": tokens["access_token"], "client_id": portal.client_id}
    )
    assert response.status_code == 401
    assert portal.userinfo(tokens["access_token"]).status_code == 200


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode()}


def test_introspection_for_a_client_allowed_it(portal, app):
    """RFC 7662: an allowed, authenticated client learns whether its own token is active."""
    tokens = anna(portal)
    auth = basic(portal.client_id, settings.PORTAL_OIDC_CLIENT_SECRET)
    active = portal.browser.post("/login/introspect/", {"token": tokens["access_token"]}, **auth)
    assert active.status_code == 200
    data = active.json()
    assert data["active"] is True and data["client_id"] == portal.client_id
    assert data["sub"] == portal.id_token_claims(tokens["id_token"])["sub"]
    assert data["iss"] == settings.OIDC_ISSUER and "username" not in data
    refresh = portal.browser.post(
        "/login/introspect/", {"token": tokens["refresh_token"]}, **auth
    ).json()
    assert refresh["active"] is True
    portal.browser.post("/login/revoke/", {"token": tokens["access_token"]}, **auth)
    gone = portal.browser.post("/login/introspect/", {"token": tokens["access_token"]}, **auth)
    assert gone.json() == {"active": False}


def _portal_upsert(**changes) -> None:
    from oauth2_provider.models import AbstractApplication

    from biblogin.oidc.models import Claim, Scope
    from biblogin.oidc.services import client_upsert

    client_upsert(
        **{
            "client_id": portal_id(),
            "display_name": "Bibliotek.dk",
            "client_type": AbstractApplication.CLIENT_CONFIDENTIAL,
            "client_secret": settings.PORTAL_OIDC_CLIENT_SECRET,
            "redirect_uris": [f"{settings.BASE_URL}/auth/callback/"],
            "post_logout_redirect_uris": [f"{settings.BASE_URL}/"],
            "service_requester": "bibliotek.dk",
            "allowed_scopes": [Scope.OPENID, Scope.PROFILE, Scope.CPR],
            "allowed_claims": list(Claim.values),
            "create_culr_account_agency": "190101",
            "introspection_allowed": True,
            **changes,
        }
    )


def portal_id() -> str:
    return getattr(settings, "PORTAL_OIDC_CLIENT_ID", "bibliotek-dk")


def test_a_token_of_another_client_is_inactive_unless_that_client_is_named(portal, app):
    """RFC 7662 §4: a client allowed to introspect learns nothing of tokens issued to others,
    unless it is explicitly trusted with that client's tokens."""
    tokens = anna(app)
    auth = basic(portal.client_id, settings.PORTAL_OIDC_CLIENT_SECRET)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        answer = portal.browser.post("/login/introspect/", {"token": token}, **auth)
        assert answer.status_code == 200 and answer.json() == {"active": False}
    _portal_upsert(introspects_tokens_of=["demo-app"])
    for token in (tokens["access_token"], tokens["refresh_token"]):
        data = portal.browser.post("/login/introspect/", {"token": token}, **auth).json()
        assert data["active"] is True and data["client_id"] == "demo-app"


def test_naming_an_unknown_client_to_introspect_is_refused(portal):
    from biblogin.common.errors import ApplicationError

    with pytest.raises(ApplicationError):
        _portal_upsert(introspects_tokens_of=["no-such-client"])


def test_introspection_is_refused_to_others(portal, app):
    """Introspection only for clients allowed it; public clients cannot authenticate."""
    tokens = anna(app)
    response = app.browser.post(
        "/login/introspect/", {"token": tokens["access_token"], "client_id": "demo-app"}
    )
    assert response.status_code == 401
    wrong = basic(portal.client_id, "not-the-secret")
    assert portal.browser.post("/login/introspect/", {"token": "x"}, **wrong).status_code == 401
    bearer = app.browser.post(
        "/login/introspect/",
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}",
    )
    assert bearer.status_code == 401


def test_logout_with_id_token_hint_returns_to_the_registered_uri(app, portal):
    """R-LOGIN-12: logout ends the login session and returns to the exact registered URI."""
    tokens = anna(app)
    portal_tokens = portal.sso_tokens()  # SSO: the portal too
    response = app.browser.get(
        "/login/logout/",
        {
            "id_token_hint": tokens["id_token"],
            "client_id": app.client_id,
            "post_logout_redirect_uri": APP_POST_LOGOUT,
            "state": "bye",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == APP_POST_LOGOUT + "?state=bye"
    assert SESSION_RECENT not in app.browser.session
    # The session is over: the next request needs a login again.
    assert app.start().response["Location"].startswith("/login/?plan=")
    assert app.userinfo(tokens["access_token"]).status_code == 401
    assert portal.userinfo(portal_tokens["access_token"]).status_code == 401
    assert portal.refresh(portal_tokens["refresh_token"]).status_code == 400
    assert AuditEvent.objects.filter(action="logout").exists()


def test_logout_refuses_an_unregistered_post_logout_uri(app):
    """R-LOGIN-12: only a registered post-logout URI, exactly."""
    tokens = anna(app)
    for uri in ("http://127.0.0.1:8765/evil", "https://evil.example/", APP_POST_LOGOUT + "x"):
        response = app.browser.get(
            "/login/logout/",
            {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": uri},
        )
        assert response.status_code == 400, uri
    assert SESSION_RECENT in app.browser.session  # still logged in


def test_logout_without_hint_asks_first(app):
    """OIDC RP-Initiated Logout 2: without id_token_hint the OP asks the user."""
    anna(app)
    page = app.browser.get("/login/logout/")
    assert page.status_code == 200 and "Vil du logge ud?" in page.content.decode()
    done = app.browser.post("/login/logout/", {"allow": "true"})
    assert done.status_code == 302 and done["Location"] == "/login/logget-ud/"
    assert SESSION_RECENT not in app.browser.session


def test_logout_with_an_unknown_client_or_a_forged_hint_is_a_clear_error(app):
    """R-SEC-3: malformed logout requests get a page, never a 500."""
    assert app.browser.get("/login/logout/", {"client_id": "nobody"}).status_code == 400
    assert app.browser.get("/login/logout/", {"id_token_hint": "a.b.c"}).status_code == 400
    response = app.browser.get("/login/logout/", {"post_logout_redirect_uri": APP_POST_LOGOUT})
    assert response.status_code == 400


def test_the_authorization_response_names_the_issuer(app):
    """RFC 9207: ``iss`` in the authorization response."""
    started = app.start()
    response = app.library_login(started, agency_id="710100", user_id="1000001", pin="1234")
    assert query_of(response["Location"])["iss"] == settings.OIDC_ISSUER

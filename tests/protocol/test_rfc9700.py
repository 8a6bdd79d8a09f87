"""RFC 9700 (OAuth 2.0 Security BCP): every attack it names that applies here is refused.

R-LOGIN-1, R-SEC-1. Each test names the section it covers.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.utils import timezone

from biblogin.oidc.models import AuthorizationCode
from tests.oidc_flow import AUTHORIZE, TOKEN, OIDCFlow, Pkce, query_of

pytestmark = pytest.mark.django_db


def code_for(flow: OIDCFlow, **extra: str):
    started = flow.start(**extra)
    response = flow.library_login(started, agency_id="710100", user_id="1000001", pin="1234")
    return flow.code_from(response, started), started


def redeem(flow: OIDCFlow, code: str, verifier: str | None, **extra: str):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": flow.redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(extra)
    return flow.token_request(data)


def error_redirect(flow: OIDCFlow, response) -> dict[str, str]:
    assert response.status_code == 302, response.status_code
    assert response["Location"].startswith(flow.redirect_uri + "?")
    params = query_of(response["Location"])
    assert params["iss"] == settings.OIDC_ISSUER  # RFC 9207, errors included
    return params


# --- §4.1 redirect URI: exact matching; never redirect to an unregistered URI -----------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        "http://127.0.0.1:8765/callback/",
        "http://127.0.0.1:8765/callback?x=1",
        "http://127.0.0.1:9999/callback",  # another port, even on loopback: exact match
        "http://localhost:8765/callback",
        "http://127.0.0.1:8765/callback#frag",
        "http://user@127.0.0.1:8765/callback",
        "http://127.0.0.1:8765/Callback",
        "http://127.0.0.1:8765/callback/../callback",
    ],
)
def test_a_redirect_uri_not_registered_exactly_is_refused_without_redirecting(app, redirect_uri):
    """RFC 9700 §4.1.3, R-LOGIN-1: exact string matching; the error is shown, not sent."""
    started = app.start(redirect_uri=redirect_uri)
    assert started.response.status_code == 400
    assert "Location" not in started.response
    assert "Login kan ikke gennemføres" in started.response.content.decode()


def test_the_token_request_must_repeat_the_exact_redirect_uri(app):
    """RFC 6749 §4.1.3: the code is bound to its redirect URI."""
    code, started = code_for(app)
    response = redeem(app, code, started.pkce.verifier, redirect_uri=app.redirect_uri + "x")
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_grant", "invalid_request"}


# --- §2.1.1 PKCE: required, S256 only, no downgrade ------------------------------------------


def test_a_public_client_without_pkce_is_refused(app):
    """RFC 9700 §2.1.1: PKCE is required (we require it of every client)."""
    started = app.start(code_challenge=None, code_challenge_method=None)
    params = error_redirect(app, started.response)
    assert params["error"] == "invalid_request" and params["state"] == started.state


def test_a_confidential_client_without_pkce_is_refused_too(portal):
    started = portal.start(code_challenge=None, code_challenge_method=None)
    assert error_redirect(portal, started.response)["error"] == "invalid_request"


def test_the_plain_pkce_method_is_refused(app):
    """RFC 9700 §2.1.1: S256 only."""
    verifier = Pkce().verifier
    started = app.start(code_challenge=verifier, code_challenge_method="plain")
    page = app.follow(started.response)
    if page.status_code == 302 and page["Location"].startswith(app.redirect_uri):
        assert error_redirect(app, page)["error"] == "invalid_request"
        return
    # Refused at the latest when the code would be issued.
    response = app.library_login(started, agency_id="710100", user_id="1000001", pin="1234")
    assert error_redirect(app, response)["error"] == "invalid_request"
    assert not AuthorizationCode.objects.exists()


def test_a_pkce_downgrade_at_the_token_endpoint_is_refused(app):
    """RFC 9700 §4.8: a code issued with a challenge cannot be redeemed without its verifier."""
    code, _started = code_for(app)
    response = redeem(app, code, None)
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_request", "invalid_grant"}


def test_a_wrong_code_verifier_is_refused(app):
    code, _started = code_for(app)
    response = redeem(app, code, Pkce().verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


# --- §4.5 code injection and replay ----------------------------------------------------------


def test_a_reused_code_is_refused_and_revokes_what_it_gave(app):
    """RFC 6749 §4.1.2, R-LOGIN-1: single use; a replay revokes the first tokens."""
    code, started = code_for(app)
    first = redeem(app, code, started.pkce.verifier)
    assert first.status_code == 200
    tokens = first.json()
    replay = redeem(app, code, started.pkce.verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert app.userinfo(tokens["access_token"]).status_code == 401
    assert app.refresh(tokens["refresh_token"]).status_code == 400


def test_a_code_for_another_client_is_refused(app, portal):
    """RFC 6749 §4.1.3: the code is bound to the client it was issued to."""
    code, started = code_for(app)
    stolen = portal.token_request(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": app.redirect_uri,
            "code_verifier": started.pkce.verifier,
        }
    )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    as_public = app.token_request(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": app.redirect_uri,
            "code_verifier": started.pkce.verifier,
            "client_id": "bibliotek-dk",
        },
        authenticate=False,
    )
    assert as_public.status_code in (400, 401)


def test_a_code_older_than_60_seconds_is_refused(app):
    """R-LOGIN-1: codes live at most 60 s."""
    code, started = code_for(app)
    grant = AuthorizationCode.objects.get(code=code)
    assert grant.expires - grant.created <= dt.timedelta(seconds=60)
    AuthorizationCode.objects.filter(pk=grant.pk).update(
        expires=timezone.now() - dt.timedelta(seconds=1)
    )
    response = redeem(app, code, started.pkce.verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_a_confidential_client_must_authenticate_at_the_token_endpoint(portal):
    """RFC 6749 §3.2.1: the portal's code is useless without its secret."""
    code, started = code_for(portal)
    response = portal.token_request(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": started.pkce.verifier,
            "client_id": portal.client_id,
        },
        authenticate=False,
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    wrong = OIDCFlow(
        portal.browser, client_id=portal.client_id, redirect_uri=portal.redirect_uri, secret="guess"
    )
    assert redeem(wrong, code, started.pkce.verifier).status_code == 401


# --- §2.1.2 and §2.4: no implicit, no password grant -----------------------------------------


@pytest.mark.parametrize(
    "response_type", ["token", "id_token", "id_token token", "code id_token", "code token"]
)
def test_implicit_and_hybrid_response_types_are_refused(app, response_type):
    """RFC 9700 §2.1.2: no implicit grant (no tokens in the front channel)."""
    started = app.start(response_type=response_type)
    response = started.response
    if response.status_code == 302:
        location = response["Location"]
        assert "access_token" not in location and "id_token=" not in location
        assert query_of(location)["error"] in {
            "unsupported_response_type",
            "unauthorized_client",
            "invalid_request",
        }
    else:
        assert response.status_code == 400


@pytest.mark.parametrize(
    "grant_type",
    ["password", "client_credentials", "implicit", "urn:ietf:params:oauth:grant-type:device_code"],
)
def test_other_grants_are_refused(portal, grant_type):
    """RFC 9700 §2.4: no resource owner password grant; only code and refresh."""
    response = portal.token_request(
        {"grant_type": grant_type, "username": "1000001", "password": "1234", "scope": "openid"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert "1234" not in response.content.decode()


# --- §4.3.2 access tokens not in the query string --------------------------------------------


def test_an_access_token_in_the_query_string_is_refused(app):
    tokens = app.login_library(agency_id="710100", user_id="1000001", pin="1234")
    response = app.browser.get("/login/userinfo/", {"access_token": tokens["access_token"]})
    assert response.status_code == 401
    assert app.userinfo(tokens["access_token"]).status_code == 200


# --- §4.4 mix-up: the issuer in the response --------------------------------------------------


def test_every_authorization_response_names_the_issuer(app):
    """RFC 9207 / RFC 9700 §4.4.2: success and error responses carry ``iss``."""
    code, _started = code_for(app)
    assert code
    bad = app.start(scope="openid nonsense")
    assert error_redirect(app, bad.response)["error"] == "invalid_scope"


# --- §4.7 / §4.16 CSRF and clickjacking ------------------------------------------------------


def test_state_is_returned_unchanged(app):
    _code, started = code_for(app, state="a b&c=d/é")
    assert started.state == "a b&c=d/é"


def test_the_login_form_needs_its_csrf_token(demo):
    """R-SEC-1: CSRF protection on every form."""
    from django.test import Client as Browser

    browser = Browser(enforce_csrf_checks=True)
    flow = OIDCFlow(browser)
    started = flow.start()
    page = flow.follow(started.response)
    plan = page.wsgi_request.GET["plan"]
    response = browser.post(
        f"/login/bibliotek/710100/?plan={plan}",
        {"plan": plan, "user_id": "1000001", "password": "1234"},
    )
    assert response.status_code == 403


def test_the_authorization_endpoint_cannot_be_framed(app):
    """RFC 9700 §4.16: no framing of the authorization and login pages."""
    started = app.start()
    for response in (started.response, app.follow(started.response)):
        assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in app.follow(started.response)["Content-Security-Policy"]


def test_an_authorization_request_by_post_is_not_accepted(app):
    params = app.authorize_params()[0]
    response = app.browser.post(AUTHORIZE, params)
    assert response.status_code == 405


def test_the_token_endpoint_answers_no_store(app):
    code, started = code_for(app)
    response = redeem(app, code, started.pkce.verifier)
    assert response["Cache-Control"] == "no-store"


def test_unknown_client_is_not_redirected(app):
    params = app.authorize_params()[0] | {"client_id": "nobody"}
    response = app.browser.get(AUTHORIZE + "?" + urlencode(params))
    assert response.status_code in (400, 401) and "Location" not in response


def test_token_endpoint_without_parameters(app):
    response = app.browser.post(TOKEN, {})
    assert response.status_code == 400


def test_resource_indicators_must_be_absolute_uris(app):
    """RFC 8707 §2: an invalid ``resource`` is ``invalid_target``, never a failure."""
    app.login_library(agency_id="710100", user_id="1000001", pin="1234")
    bad = app.start(resource="not a uri")
    assert error_redirect(app, bad.response)["error"] == "invalid_target"
    good = app.start(resource="https://api.example/")
    app.code_from(good.response, good)

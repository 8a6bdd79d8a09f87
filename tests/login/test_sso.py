"""R-LOGIN-11: single sign-on only when the request allows it; R-SEC-1 session handling."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from biblogin.login import selectors
from biblogin.login.journey import SESSION_RECENT
from tests.clock import clock_moved
from tests.oidc_flow import OIDCFlow, query_of

pytestmark = pytest.mark.django_db


def answered_at_once(flow: OIDCFlow, **params: str) -> bool:
    """True when the request went straight back to the client with a code (SSO)."""
    started = flow.start(**params)
    location = started.response["Location"]
    if location.startswith(flow.redirect_uri):
        flow.code_from(started.response, started)
        return True
    return False


def test_a_library_login_is_reused_by_another_client(app, portal):
    """R-LOGIN-11: the portal gets the demo-app's Copenhagen login without a login page."""
    first = app.login_library(agency_id="710100", user_id="1000001", pin="1234")
    started = portal.start()
    assert started.response["Location"].startswith(portal.redirect_uri)
    tokens = portal.exchange(portal.code_from(started.response, started), started)
    claims = portal.id_token_claims(tokens["id_token"], started)
    assert claims["sub"] == app.id_token_claims(first["id_token"])["sub"]
    assert claims["loggedInAgencyId"] == "710100"


def test_the_reused_login_keeps_its_auth_time(app, portal):
    """OIDC Core: ``auth_time`` is the time of the login, not of the SSO answer."""
    first = app.login_library(agency_id="710100", user_id="1000001", pin="1234")
    auth_time = app.id_token_claims(first["id_token"])["auth_time"]
    started = portal.start()
    tokens = portal.exchange(portal.code_from(started.response, started), started)
    assert portal.id_token_claims(tokens["id_token"])["auth_time"] == auth_time


def test_prompt_login_and_force_login_ask_again(app):
    """R-LOGIN-3, R-LOGIN-11: ``prompt=login`` (alias ``force_login=1``) forces a fresh login."""
    app.login_library(agency_id="710100", user_id="1000001", pin="1234")
    assert answered_at_once(app)
    assert not answered_at_once(app, prompt="login")
    assert not answered_at_once(app, force_login="1")


def test_a_requested_agency_must_be_the_one_logged_in_at(portal):
    """R-LOGIN-11: ``agency`` other than the login's: log in again there."""
    portal.login_library(agency_id="710100", user_id="1000001", pin="1234")
    assert answered_at_once(portal, agency="710100")
    started = portal.start(agency="715700")
    assert started.response["Location"].startswith("/login/bibliotek/715700/")


def test_a_library_not_licensed_for_the_client_is_not_reused(portal, app):
    """R-LOGIN-11 with R-VIP-4: a Campus Syd login (bibliotek.dk only) does not log in demo-app."""
    portal.login_library(agency_id="820099", user_id="CS-4711", pin="4711")
    assert not answered_at_once(app)


def test_max_age_limits_the_reuse(app):
    """R-LOGIN-11: a login older than ``max_age`` is not reused."""
    app.login_library(agency_id="710100", user_id="1000001", pin="1234")
    assert answered_at_once(app, max_age="300")
    with clock_moved(selectors, seconds=301):
        assert not answered_at_once(app, max_age="300")
    assert not answered_at_once(app, max_age="0")


def test_idp_narrowing_excludes_a_library_login(app):
    """R-LOGIN-2, R-LOGIN-11: with ``idp=mitid`` a library login is not reused."""
    app.login_library(agency_id="710100", user_id="1000001", pin="1234")
    assert not answered_at_once(app, idp="mitid")


def test_prompt_none_without_a_login_answers_login_required(app):
    """OIDC Core 3.1.2.6: ``prompt=none`` and nobody logged in: ``login_required``."""
    started = app.start(prompt="none")
    location = started.response["Location"]
    assert location.startswith(app.redirect_uri)
    params = query_of(location)
    assert params["error"] == "login_required"
    assert params["state"] == started.state and params["iss"] == settings.OIDC_ISSUER


def test_prompt_none_with_a_login_answers_at_once(app):
    app.login_library(agency_id="710100", user_id="1000001", pin="1234")
    assert answered_at_once(app, prompt="none")


def test_the_session_key_changes_at_login_and_earlier_logins_are_kept(app):
    """R-SEC-1: a new session key at login; the SSO list survives logging in as someone else."""
    started = app.start()
    before = app.browser.cookies[settings.SESSION_COOKIE_NAME].value
    response = app.library_login(started, agency_id="710100", user_id="1000001", pin="1234")
    app.code_from(response, started)
    after_first = app.browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert after_first != before
    app.login_library(agency_id="829000", user_id="clara@ucn.example", pin="5555", prompt="login")
    recent = app.browser.session[SESSION_RECENT]
    assert [entry["agency"] for entry in recent] == ["829000", "710100"]
    # R-BC-5: no PIN in the session (as a value; digits inside timestamps or hashes are chance).
    assert '"1234"' not in json.dumps(dict(app.browser.session), default=str)
    # Both logins still answer requests naming their agency.
    assert answered_at_once(app, agency="710100")
    assert answered_at_once(app, agency="829000")


def test_cookies_are_secure_httponly_and_samesite(app, settings):
    """R-SEC-1: session and CSRF cookies are Secure, HttpOnly and SameSite outside the demo."""
    started = app.start()
    app.library_login(started, agency_id="710100", user_id="1000001", pin="1234")
    cookie = app.browser.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert bool(cookie["secure"]) == settings.SESSION_COOKIE_SECURE


def test_login_pages_forbid_framing_and_carry_a_csp(app):
    """R-SEC-1: no framing of login; a Content Security Policy without inline script."""
    started = app.start()
    page = app.follow(started.response)
    assert page["X-Frame-Options"] == "DENY"
    csp = page["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
    assert "<script" not in page.content.decode() and "style=" not in page.content.decode()

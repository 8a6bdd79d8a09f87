"""A shared library PC: the portal login ends after 30 minutes unused, and with the browser.

The idle clock is sliding (every page of the portal restarts it) and lives in the session, so
it holds across workers and tabs; an idle login ends at the login platform too, else its single
sign-on would let the next person at the PC straight back in.
"""

from __future__ import annotations

import time
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings

from biblogin.portal.session import COOKIE_NAME
from tests.portal.builders import ANNA
from tests.portal.driver import PortalBrowser, text_of

pytestmark = pytest.mark.django_db


def _age_the_session(user: PortalBrowser, seconds: int) -> None:
    """Make the portal session look as if its last page was ``seconds`` ago."""
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore(user.client.cookies[COOKIE_NAME].value)
    assert isinstance(session.get("seen"), int)
    session["seen"] -= seconds
    session.save()


def _header(user: PortalBrowser) -> str:
    return user.get("/").content.decode().split("<main", 1)[0]


def test_a_login_unused_for_30_minutes_is_logged_out_here_and_at_the_login_platform(
    user: PortalBrowser,
) -> None:
    user.library_login("710100", ANNA, "1234")
    assert "Log ud" in _header(user)
    _age_the_session(user, 30 * 60 + 1)
    page = user.get("/profil/")
    # Logged out, told why, and the login platform's session is over too (no single sign-on).
    assert page.wsgi_request.path == "/"
    assert "Du er logget ud, fordi du ikke har brugt Bibliotek.dk i 30 minutter" in text_of(page)
    assert ">Log ind<" in _header(user)
    again = user.get("/log-ind/bibliotek/710100/")
    assert again.wsgi_request.path.startswith("/login/bibliotek/710100/"), "SSO let them in"


def test_every_page_restarts_the_idle_clock(user: PortalBrowser) -> None:
    """Sliding: 20 minutes, a page, 20 minutes more: still logged in."""
    user.library_login("710100", ANNA, "1234")
    _age_the_session(user, 20 * 60)
    assert user.get("/profil/").wsgi_request.path == "/profil/"
    _age_the_session(user, 20 * 60)
    page = user.get("/profil/")
    assert page.wsgi_request.path == "/profil/" and "Min profil" in text_of(page)


def test_the_idle_time_is_configurable(user: PortalBrowser, settings: Any) -> None:
    settings.PORTAL_SESSION_IDLE_SECONDS = 5 * 60
    user.library_login("710100", ANNA, "1234")
    _age_the_session(user, 5 * 60 + 1)
    page = user.get("/profil/")
    assert "i 5 minutter" in text_of(page)


def test_the_session_cookies_end_with_the_browser_by_default(user: PortalBrowser) -> None:
    user.library_login("710100", ANNA, "1234")
    for name in (COOKIE_NAME, settings.SESSION_COOKIE_NAME):
        cookie = user.client.cookies[name]
        assert cookie["max-age"] == "" and cookie["expires"] == "", (name, cookie.output())


def test_the_session_cookie_can_outlive_the_browser(user: PortalBrowser, settings: Any) -> None:
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = False
    user.library_login("710100", ANNA, "1234")
    assert int(user.client.cookies[COOKIE_NAME]["max-age"]) == settings.SESSION_COOKIE_AGE


def test_the_idle_clock_is_written_once_a_minute_not_on_every_page(user: PortalBrowser) -> None:
    user.library_login("710100", ANNA, "1234")
    engine = import_module(settings.SESSION_ENGINE)
    key = user.client.cookies[COOKIE_NAME].value
    before = engine.SessionStore(key)["seen"]
    user.get("/profil/")
    assert engine.SessionStore(key)["seen"] == before
    assert abs(before - time.time()) < 60


def test_the_header_names_the_logged_in_user(user: PortalBrowser) -> None:
    """The name the library gave at the login (the ``name`` claim) is shown in the header."""
    user.library_login("710100", ANNA, "1234")
    header = _header(user)
    assert "Anna Andersen" in header, header[-600:]

"""A repeated /auth/callback/ (double click, reload) against a live server, with real parallel
requests: it lands where the first one led, never 500s, never revokes the login that succeeded.

Runs on SQLite + the database cache by default and on PostgreSQL + Redis with DATABASE_URL and
REDIS_URL set (CI's second run).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from django.conf import settings as django_settings

from biblogin.integrations.mitid_broker.testbroker import TestMitIDBroker
from biblogin.portal.session import COOKIE_NAME

pytestmark = pytest.mark.django_db(transaction=True)

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Site:
    url: str
    issuer: str
    tokens: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def site(
    live_server: Any,
    settings: Any,
    mitid_settings: TestMitIDBroker,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Site]:
    """The portal and its login platform on one live (threaded) server; tokens the portal got."""
    from biblogin.demo.services import demo_load
    from biblogin.oidc.policy import oauth2_provider_settings

    url = str(live_server.url)
    issuer = url + "/login"
    settings.BASE_URL = url
    settings.OIDC_ISSUER = issuer
    settings.PORTAL_OIDC_ISSUER = issuer
    settings.OAUTH2_PROVIDER = oauth2_provider_settings(issuer=issuer)
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    demo_load(base_url=url)
    found = Site(url=url, issuer=issuer)
    original = OAuth2Client.fetch_token

    def recording_fetch_token(self: OAuth2Client, *args: Any, **kwargs: Any) -> Any:
        token = original(self, *args, **kwargs)
        found.tokens.append(dict(token))
        return token

    # The portal keeps no access token; the test needs the ones it was given to try them.
    monkeypatch.setattr(OAuth2Client, "fetch_token", recording_fetch_token)
    yield found


def callback_url_after_library_login(
    browser: httpx.Client, *, agency_id: str, user_id: str, pin: str
) -> str:
    """Log in at the login platform from the portal; return the callback URL, not yet opened."""
    page = browser.get(f"/log-ind/bibliotek/{agency_id}/", follow_redirects=True)
    assert page.url.path.startswith(f"/login/bibliotek/{agency_id}/"), page.url
    match = _CSRF.search(page.text)
    assert match is not None
    response = browser.post(
        str(page.url),
        data={
            "csrfmiddlewaretoken": unescape(match.group(1)),
            "plan": page.url.params["plan"],
            "user_id": user_id,
            "password": pin,
        },
        headers={"Referer": str(page.url)},
    )
    for _hop in range(10):
        assert response.status_code in (302, 303), (response.status_code, response.text[:300])
        location = str(response.headers["Location"])
        if urlsplit(location).path == "/auth/callback/":
            assert "code=" in location and "state=" in location
            return location
        response = browser.get(location)
    raise AssertionError("no callback reached")


def assert_login_still_valid(site: Site, browser: httpx.Client) -> None:
    """Logged in at the portal; the tokens of the one redemption still work (userinfo, refresh)."""
    profile = browser.get("/profil/")
    assert profile.status_code == 200, (profile.status_code, profile.headers.get("Location"))
    assert len(site.tokens) == 1, "the code was redeemed more than once"
    token = site.tokens[0]
    with httpx.Client(base_url=site.url, timeout=20) as backchannel:
        discovery = backchannel.get("/login/.well-known/openid-configuration").json()
        info = backchannel.get(
            discovery["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert info.status_code == 200, info.text
        refreshed = backchannel.post(
            discovery["token_endpoint"],
            data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
            auth=(django_settings.PORTAL_OIDC_CLIENT_ID, django_settings.PORTAL_OIDC_CLIENT_SECRET),
        )
        assert refreshed.status_code == 200, refreshed.text


def test_simultaneous_repeated_callbacks_land_on_one_page_and_keep_the_login(site: Site) -> None:
    """A double-clicked callback (four at once, one browser): no 500, one redemption, same page."""
    with httpx.Client(base_url=site.url, timeout=30) as browser:
        callback = callback_url_after_library_login(
            browser, agency_id="710100", user_id="1503851234", pin="1234"
        )
        start = threading.Barrier(4)
        results: list[httpx.Response | BaseException] = [None] * 4  # type: ignore[list-item]

        def click(i: int) -> None:
            with httpx.Client(base_url=site.url, timeout=30, cookies=browser.cookies) as tab:
                start.wait()
                try:
                    results[i] = tab.get(callback)
                except BaseException as exc:
                    results[i] = exc

        threads = [threading.Thread(target=click, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        responses = [r for r in results if isinstance(r, httpx.Response)]
        assert len(responses) == 4, results
        assert [r.status_code for r in responses] == [302] * 4, [r.text[:200] for r in responses]
        assert {r.headers["Location"] for r in responses} == {"/profil/"}
        # Whichever response the browser keeps, it holds the one session the login made.
        keys = {r.cookies.get(COOKIE_NAME) for r in responses}
        assert len(keys) == 1 and None not in keys, keys
        browser.cookies.set(COOKIE_NAME, keys.pop())
        assert_login_still_valid(site, browser)


def test_a_reloaded_callback_lands_where_the_first_one_led_and_keeps_the_login(
    site: Site,
) -> None:
    """Reloading the callback after it worked: the same page again, not an error, no revocation."""
    with httpx.Client(base_url=site.url, timeout=30) as browser:
        callback = callback_url_after_library_login(
            browser, agency_id="710100", user_id="1503851234", pin="1234"
        )
        first = browser.get(callback)
        assert (first.status_code, first.headers.get("Location")) == (302, "/profil/")
        again = browser.get(callback)
        assert (again.status_code, again.headers.get("Location")) == (302, "/profil/"), again.text[
            :300
        ]
        assert_login_still_valid(site, browser)


def test_a_callback_replayed_from_another_browser_is_refused(site: Site) -> None:
    """The remembered outcome is only for the browser that logged in (the state is not enough)."""
    with httpx.Client(base_url=site.url, timeout=30) as browser:
        callback = callback_url_after_library_login(
            browser, agency_id="710100", user_id="1503851234", pin="1234"
        )
        assert browser.get(callback).status_code == 302
    with httpx.Client(base_url=site.url, timeout=30) as stranger:
        replay = stranger.get(callback)
        assert replay.status_code == 400
        assert COOKIE_NAME not in replay.cookies

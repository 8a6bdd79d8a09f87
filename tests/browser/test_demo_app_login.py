"""A real browser logs in to the third-party app ``demo-app``: library login and MitID.

The app's callback (http://127.0.0.1:8765/callback) is answered by the test itself, which then
redeems the code like the app would.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.oidc_flow import APP_ID, APP_REDIRECT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class DemoApp:
    """What the demo app does: build the request, catch the callback, redeem the code."""

    def __init__(self, site, page) -> None:
        self.site = site
        self.page = page
        self.verifier = secrets.token_urlsafe(48)
        self.state = secrets.token_urlsafe(8)
        self.nonce = secrets.token_urlsafe(8)
        self.callbacks: list[str] = []
        page.route("http://127.0.0.1:8765/**", self._answer)

    def _answer(self, route) -> None:
        self.callbacks.append(route.request.url)
        route.fulfill(
            status=200,
            content_type="text/html",
            body="<!doctype html><title>Demo-app</title><p>OK</p>",
        )

    def authorize_url(self, **extra: str) -> str:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest())
        params = {
            "response_type": "code",
            "client_id": APP_ID,
            "redirect_uri": APP_REDIRECT,
            "scope": "openid profile",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            **extra,
        }
        return f"{self.site.issuer}/authorize/?{urlencode(params)}"

    def redeem(self) -> dict:
        assert self.callbacks, "the browser never came back to the app"
        params = {k: v[0] for k, v in parse_qs(urlsplit(self.callbacks[-1]).query).items()}
        assert params["state"] == self.state and params["iss"] == self.site.issuer
        response = httpx.post(
            f"{self.site.issuer}/token/",
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": APP_REDIRECT,
                "code_verifier": self.verifier,
                "client_id": APP_ID,
            },
            timeout=10,
        )
        assert response.status_code == 200, response.text
        tokens = response.json()
        userinfo = httpx.get(
            f"{self.site.issuer}/userinfo/",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=10,
        )
        assert userinfo.status_code == 200
        return userinfo.json()


def test_library_login_for_demo_app_in_chromium(live_site, page, axe_check):
    """R-LOGIN-3, R-LOGIN-4 in a browser: search, pick, log in; every page accessible."""
    app = DemoApp(live_site, page)
    page.goto(app.authorize_url())
    assert page.title().startswith("Vælg dit bibliotek")
    axe_check(page)
    page.get_by_label("Søg efter dit bibliotek").fill("København")
    page.get_by_role("button", name="Søg").click()
    page.get_by_role("link", name="Københavns Biblioteker").click()
    axe_check(page)
    page.get_by_label("CPR- eller lånernummer").fill("1000001")
    page.get_by_label("Pinkode").fill("9999")
    page.get_by_role("button", name="Log ind", exact=True).click()
    alert = page.get_by_role("alert")
    assert "Tjek CPR- eller lånernummer og pinkode" in alert.inner_text()
    assert "4 forsøg tilbage" in alert.inner_text()
    axe_check(page)
    page.get_by_label("Pinkode").fill("1234")
    page.get_by_role("button", name="Log ind", exact=True).click()
    page.wait_for_url("http://127.0.0.1:8765/callback?*")
    claims = app.redeem()
    assert claims["loggedInAgencyId"] == "710100" and claims["userId"] == "1000001"
    assert page.csp_violations == []


def test_mitid_login_for_demo_app_in_chromium(live_site, page, axe_check):
    """R-LOGIN-6 in a browser: the MitID button, the broker's page, back to the app."""
    app = DemoApp(live_site, page)
    page.goto(app.authorize_url())
    page.get_by_role("link", name="Log ind med MitID").click()
    page.wait_for_url(live_site.broker.issuer + "/**")
    page.locator('input[name="sub"]').fill("anna")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url("http://127.0.0.1:8765/callback?*")
    claims = app.redeem()
    assert claims["idpUsed"] == "mitid"
    assert claims["acr"] == "https://data.gov.dk/concept/core/nsis/loa/Substantial"
    assert claims["loggedInAgencyId"] == "710100"
    assert "cpr" not in claims and claims["userId"] is None


def test_the_login_pages_work_in_english(live_site, page, axe_check):
    """Danish by default; the English switch works without JavaScript."""
    app = DemoApp(live_site, page)
    page.goto(app.authorize_url())
    page.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    axe_check(page)

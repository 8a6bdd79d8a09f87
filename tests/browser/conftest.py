"""Reusable fixtures for tests that drive a real browser or a real HTTP client.

``chromium``: Debian's Chromium through Playwright (session-wide), ``page``: a fresh context and
page per test, ``live_site``: pytest-django's live server with the demo data, the issuer and
base URL pointed at it, and the test MitID broker accepting its callback; ``axe_check``: run
axe-core on a page and fail on violations. The portal's browser tests reuse these.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from biblogin.integrations.mitid_broker.pytest_fixtures import (  # noqa: F401  (fixtures)
    mitid_broker,
    mitid_settings,
)
from biblogin.integrations.mitid_broker.testbroker import TestMitIDBroker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]

# Playwright's sync API runs an event loop in the test thread; Django then refuses ORM calls
# in that thread unless told it is safe (it is: the loop only drives the browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Debian's Chromium, launched once per session."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):  # .ci/run: the browser tests must run, never silently skip
            pytest.fail("Chromium is missing: apt-get install chromium")
        pytest.skip("Chromium is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: object) -> Iterator[object]:
    """A fresh browser context (no cookies) and page, Danish, reporting CSP violations."""
    context = chromium.new_context(locale="da-DK")  # type: ignore[attr-defined]
    page = context.new_page()
    page.csp_violations = []
    page.on(
        "console",
        lambda message: (
            page.csp_violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    try:
        yield page
    finally:
        context.close()


@dataclass(frozen=True)
class LiveSite:
    url: str
    issuer: str
    broker: TestMitIDBroker


@pytest.fixture
def live_site(
    live_server: object,
    transactional_db: None,
    settings: Any,
    mitid_settings: TestMitIDBroker,  # noqa: F811
) -> LiveSite:
    """The whole platform on a live server: demo data, issuer <live URL>/login, MitID broker."""
    from biblogin.oidc.policy import oauth2_provider_settings
    from tests.demo_snapshot import snapshot_for

    url = str(live_server.url)  # type: ignore[attr-defined]
    issuer = url + "/login"
    settings.BASE_URL = url
    settings.OIDC_ISSUER = issuer
    settings.OAUTH2_PROVIDER = oauth2_provider_settings(issuer=issuer)
    # Plain http on loopback: a client library would not send Secure cookies back.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    snapshot_for(url).put_back(base_url=url)  # demo_load(base_url=url), from a snapshot
    mitid_settings.redirect_uri_allow(url + "/login/mitid/callback")
    return LiveSite(url=url, issuer=issuer, broker=mitid_settings)


@pytest.fixture
def axe_check() -> Callable[[object], None]:
    """Run axe-core (WCAG 2.1 A/AA rules) on the page; fail listing every violation."""
    from tests.browser.axe import RUNS

    def check(page: object) -> None:
        violations = RUNS.violations(page)
        assert not violations, "\n".join(
            f"{v['id']}: {v['help']} ({[n['target'] for n in v['nodes']]})" for v in violations
        )

    return check

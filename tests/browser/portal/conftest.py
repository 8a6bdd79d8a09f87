"""The portal's browser fixtures, on top of tests/browser/conftest.py (Chromium, live_site).

``portal_site``: the shared live site, with the portal's issuer pointed at it too.
``new_user``: a person with a browser of their own (fresh context), axe-core on every page of
ours, screenshots into var/screenshots/. ``production_site``: the production server
(``biblogin serve``: granian, threads) as a separate process on the test database, for the tests of
DESIGN.md "One process, two roles".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.browser.axe import RUNS
from tests.browser.conftest import LiveSite
from tests.browser.portal.user import A11yLog, User
from tests.server.process import production_site  # noqa: F401  (fixture)

# BIBLOGIN_TEST_SCREENSHOTS=0 (.ci/run's scaled run): no screenshots. They are pictures for
# people, not checks, each costs Chromium ~0.2 s, and the first run has taken the same ones.
SCREENSHOTS: Path | None = (
    None
    if os.environ.get("BIBLOGIN_TEST_SCREENSHOTS") == "0"
    else Path(settings.BASE_DIR) / "var" / "screenshots"
)


@pytest.fixture
def portal_site(live_site: LiveSite, settings: Any) -> LiveSite:
    """The live site with the portal as a client of its own login platform (in-process)."""
    settings.PORTAL_OIDC_ISSUER = live_site.issuer
    return live_site


@pytest.fixture(scope="session")
def a11y_log() -> Iterator[A11yLog]:
    """Collect the pages axe-core checked; list them next to the screenshots."""
    log = A11yLog()
    yield log
    if log.checked and SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        pages = sorted(set(log.checked))
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        (SCREENSHOTS / f"axe-checked-pages{'-' + worker if worker else ''}.txt").write_text(
            f"axe-core (WCAG 2.1 A/AA): no violations on {len(pages)} pages "
            f"({len(log.checked)} checks; {len(RUNS.verdicts)} distinct page states run)\n"
            + "\n".join(pages)
            + "\n"
        )


@pytest.fixture
def new_user(
    chromium: Any, portal_site: LiveSite, a11y_log: A11yLog
) -> Iterator[Callable[[], User]]:
    """Make a person with a browser of their own (a fresh browser context: no cookies)."""
    users: list[User] = []
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def make() -> User:
        context = chromium.new_context(locale="da-DK", viewport={"width": 1100, "height": 900})
        context.set_default_timeout(15_000)
        user = User(
            context=context,
            base_url=portal_site.url,
            broker_url=portal_site.broker.issuer,
            a11y=a11y_log,
            screenshots=SCREENSHOTS,
        )
        users.append(user)
        return user

    yield make
    for user in users:
        user.context.close()
    for user in users:
        assert user.csp_violations == [], user.csp_violations


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)

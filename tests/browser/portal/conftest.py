"""The portal's browser fixtures, on top of tests/browser/conftest.py (Chromium, live_site).

``portal_site``: the shared live site, with the portal's issuer pointed at it too.
``new_user``: a person with a browser of their own (fresh context), axe-core on every page of
ours, screenshots into var/screenshots/. ``gunicorn_site``: the production server (gunicorn,
threaded workers) as a separate process on the test database, for the tests of
DESIGN.md "One process, two roles".
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings

from biblogin.common.management.commands.serve import gunicorn_argv
from tests.browser.conftest import LiveSite
from tests.browser.portal.user import A11yLog, User

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


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
    if log.checked:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        pages = sorted(set(log.checked))
        (SCREENSHOTS / "axe-checked-pages.txt").write_text(
            f"axe-core (WCAG 2.1 A/AA): no violations on {len(pages)} pages "
            f"({len(log.checked)} checks)\n" + "\n".join(pages) + "\n"
        )


@pytest.fixture
def new_user(
    chromium: Any, portal_site: LiveSite, a11y_log: A11yLog
) -> Iterator[Callable[[], User]]:
    """Make a person with a browser of their own (a fresh browser context: no cookies)."""
    users: list[User] = []
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


# -- the production server as its own process ----------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url() -> str:
    """The test database, as a URL for a server process of its own."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def _wait_until_answering(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the test server stopped while starting")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within 60 s")


@pytest.fixture
def gunicorn_site(transactional_db: None) -> Iterator[Callable[..., str]]:
    """Start gunicorn on loopback against the test database with the demo data; return its URL."""
    from biblogin.demo.services import demo_load

    processes: list[subprocess.Popen[bytes]] = []

    def start(*, workers: int, threads: int) -> str:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        demo_load(base_url=base_url)  # the portal's redirect URI at this server's address
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(),
            # This pytest-xdist worker's Redis database (config.settings_test), not the base one.
            **({"REDIS_URL": settings.REDIS_URL} if settings.REDIS_URL else {}),
            "BIBLOGIN_BASE_URL": base_url,
            "BIBLOGIN_SECURE_COOKIES": "0",
            "BIBLOGIN_LOG_LEVEL": "WARNING",
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        argv = gunicorn_argv(host="127.0.0.1", port=port, workers=workers, threads=threads)
        # No access log: it would drown the test output.
        argv = [a for i, a in enumerate(argv) if "--access-logfile" not in (a, argv[i - 1])]
        process = subprocess.Popen(argv, env=env, cwd=settings.BASE_DIR)
        processes.append(process)
        _wait_until_answering(f"{base_url}/log-ind/", process)
        return base_url

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)

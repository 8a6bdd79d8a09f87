"""Shared fixtures: the database flavour, the demo data set, and test helpers."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from tests.signing_key import keep_one_signing_key

pytest_plugins = ["biblogin.integrations.mitid_broker.pytest_fixtures"]
keep_one_signing_key()  # before the test database is made (tests/signing_key.py)

# Hypothesis: ``ci`` (HYPOTHESIS_PROFILE=ci, .ci/run) gives the same examples on every run;
# ``dev`` (the default) draws new ones. The number of examples is each test's own.
hypothesis_settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True, database=None
)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql"))
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI does)")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Throttling counters and cached state must not leak between tests (Redis in CI)."""
    from django.conf import settings
    from django.core.cache import cache, caches

    # The database cache lives in the test database, which each test rolls back anyway.
    if "DatabaseCache" not in settings.CACHES["default"]["BACKEND"]:
        cache.clear()
    # R-BC-6: bulkheads and breakers (in-process memory without Redis) start afresh too.
    caches["library_guard"].clear()


# --- The demo data set and relying parties (the login, OIDC and protocol tests) -------------
# Imported inside the fixtures: this conftest is read before Django is set up.


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    """The test database, and the demo data set built in it once (tests/demo_snapshot.py)."""
    from tests.demo_snapshot import SNAPSHOT

    with django_db_blocker.unblock():
        SNAPSHOT.capture()


@pytest.fixture
def demo(db: None) -> None:
    """The demo data set: agencies, library systems, CULR, and the two demo clients."""
    from tests.demo_snapshot import SNAPSHOT

    SNAPSHOT.put_back()


@pytest.fixture
def production_hashing(settings: Any) -> None:
    """The production cost of hashing, for the tests about hashing (config.settings_test)."""
    from config import settings as production

    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    settings.PIN_ARGON2 = None


@pytest.fixture
def browser() -> Any:
    from django.test import Client as Browser

    return Browser()


@pytest.fixture
def app(demo: None, browser: Any) -> Any:
    """The third-party public client ``demo-app`` in one browser."""
    from tests.oidc_flow import OIDCFlow

    return OIDCFlow(browser)


@pytest.fixture
def portal(demo: None, browser: Any) -> Any:
    """The portal ``bibliotek-dk`` (confidential) in the same browser."""
    from tests.oidc_flow import OIDCFlow

    return OIDCFlow.portal(browser)


@pytest.fixture
def admin_client(client: Any, admin_user: Any) -> Any:
    """pytest-django's superuser client, with the second factor superusers need (R-SEC-4)."""
    from tests.registry.builders import staff_otp_verified

    client.force_login(admin_user)
    return staff_otp_verified(client, admin_user)


@pytest.fixture(autouse=True)
def _default_language() -> Any:
    """Each test starts in the default language: a test that activates English (a request with
    an English cookie in this thread) must not leave later tests' messages in English."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True, scope="session")
def _through_the_wsgi_entry() -> Any:
    """Issue 14: the test client and the live server pass the lean path of the WSGI entry, as
    production requests do (``BIBLOGIN_TEST_LEAN_PATH=0``: django-oauth-toolkit's views)."""
    from biblogin.oidc.hotpath import testing

    if not testing.enabled():
        yield
        return
    with testing.route_through_entry():
        yield

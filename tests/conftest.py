"""Shared fixtures: the database flavour, the demo data set, and test helpers."""

from __future__ import annotations

import os
from typing import Any

import pytest

pytest_plugins = ["biblogin.integrations.mitid_broker.pytest_fixtures"]


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


@pytest.fixture
def demo(db: None) -> None:
    """The demo data set: agencies, library systems, CULR, and the two demo clients."""
    from biblogin.demo.services import demo_load

    demo_load()


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

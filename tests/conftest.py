"""Shared fixtures: the database flavour, the demo data set, and test helpers."""

from __future__ import annotations

import os

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
    from django.core.cache import cache

    # The database cache lives in the test database, which each test rolls back anyway.
    if "DatabaseCache" not in settings.CACHES["default"]["BACKEND"]:
        cache.clear()

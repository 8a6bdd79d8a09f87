"""Fixtures of the production-server tests."""

from tests.server.process import production_site  # noqa: F401  (fixture)

"""Fixtures of the portal tests: the demo data set, the test MitID broker, a portal browser."""

from __future__ import annotations

import pytest
from django.test import Client

from biblogin.integrations.mitid_broker.pytest_fixtures import (  # noqa: F401  (fixtures)
    mitid_broker,
    mitid_settings,
)
from tests.portal.driver import PortalBrowser


@pytest.fixture
def user(demo: None, mitid_settings) -> PortalBrowser:  # noqa: F811
    """One person's browser on the portal, the login platform behind it."""
    return PortalBrowser(Client(), broker=mitid_settings)

"""Fixtures of the OpenID Connect provider tests: the demo data set and a relying party."""

from __future__ import annotations

import pytest
from django.test import Client as Browser

from biblogin.demo.services import demo_load
from biblogin.integrations.mitid_broker.pytest_fixtures import (  # noqa: F401  (fixtures)
    mitid_broker,
    mitid_settings,
)
from tests.oidc_flow import OIDCFlow


@pytest.fixture
def demo(db: None) -> None:
    """The demo data set: agencies, library systems, CULR, and the two demo clients."""
    demo_load()


@pytest.fixture
def browser() -> Browser:
    return Browser()


@pytest.fixture
def app(demo: None, browser: Browser) -> OIDCFlow:
    """The third-party public client ``demo-app`` in one browser."""
    return OIDCFlow(browser)


@pytest.fixture
def portal(demo: None, browser: Browser) -> OIDCFlow:
    """The portal ``bibliotek-dk`` (confidential) in the same browser."""
    return OIDCFlow.portal(browser)

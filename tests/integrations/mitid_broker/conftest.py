"""Fixtures of the MitID broker client tests: the real test broker, and a scripted one."""

from __future__ import annotations

import pytest

from biblogin.integrations.mitid_broker.pytest_fixtures import (  # noqa: F401  (fixtures)
    mitid_broker,
    mitid_settings,
)

from .fakebroker import FakeBroker


@pytest.fixture
def fake_broker() -> FakeBroker:
    """A scripted broker behind httpx.MockTransport, signing with our own key."""
    return FakeBroker()

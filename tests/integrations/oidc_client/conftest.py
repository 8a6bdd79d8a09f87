"""Fixtures of the shared OIDC client tests: the scripted provider of the MitID tests."""

from __future__ import annotations

import pytest

from tests.integrations.mitid_broker.fakebroker import FakeBroker


@pytest.fixture
def fake_broker() -> FakeBroker:
    """A scripted provider behind httpx.MockTransport, signing with our own key."""
    return FakeBroker()

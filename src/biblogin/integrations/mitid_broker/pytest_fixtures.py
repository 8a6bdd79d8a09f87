"""Pytest fixtures around the test MitID broker; load with ``pytest_plugins`` (root conftest).

``mitid_broker``: one broker per test session on an ephemeral loopback port, our client registered
with settings.MITID_CLIENT_ID/SECRET and ``MITID_TEST_REDIRECT_URI`` (add more with
``mitid_broker.redirect_uri_allow(...)``), the demo persons loaded under settings.MITID_CPR_CLAIM.
``mitid_settings``: points settings.MITID_ISSUER at it for one test and returns the broker.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings

from biblogin.integrations.mitid_broker.client import mitid_metadata_cache_clear
from biblogin.integrations.mitid_broker.testbroker import TestMitIDBroker

MITID_TEST_REDIRECT_URI = "http://testserver/login/mitid/callback"


@pytest.fixture(scope="session")
def mitid_broker() -> Iterator[TestMitIDBroker]:
    """Run the test MitID broker for the whole session."""
    from django.conf import settings

    broker = TestMitIDBroker(
        client_id=settings.MITID_CLIENT_ID,
        client_secret=settings.MITID_CLIENT_SECRET,
        redirect_uris=[MITID_TEST_REDIRECT_URI],
        cpr_claim=settings.MITID_CPR_CLAIM,
        loa_claim=settings.MITID_LOA_CLAIM,
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def mitid_settings(settings: Settings, mitid_broker: TestMitIDBroker) -> TestMitIDBroker:
    """Point the MitID client at the session's test broker for this test."""
    settings.MITID_ISSUER = mitid_broker.issuer
    settings.MITID_CLIENT_ID = mitid_broker.client_id
    settings.MITID_CLIENT_SECRET = mitid_broker.client_secret
    settings.MITID_CPR_CLAIM = mitid_broker.cpr_claim
    settings.MITID_LOA_CLAIM = mitid_broker.loa_claim
    # A port reused by a later broker must not meet the keys of an earlier one.
    mitid_metadata_cache_clear()
    return mitid_broker

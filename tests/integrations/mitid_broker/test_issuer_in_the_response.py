"""RFC 9207 at the MitID callback: a broker that advertises ``iss`` must send it, exactly.

R-SEC-1 (RFC 9700 4.4, mix-up attacks): the shared OIDC client's check, used by the broker client.
"""

from __future__ import annotations

import pytest

from biblogin.integrations.mitid_broker.errors import MitIDCancelled, MitIDStateMismatch

from .fakebroker import ISSUER, REDIRECT_URI, FakeBroker


@pytest.fixture
def advertising_broker() -> FakeBroker:
    broker = FakeBroker()
    broker.discovery["authorization_response_iss_parameter_supported"] = True
    return broker


def test_a_response_without_iss_from_a_broker_that_advertises_it_is_refused(advertising_broker):
    """R-SEC-1: the code is not redeemed; the token endpoint never sees it."""
    client = advertising_broker.client()
    url, kept = client.authorization_start(redirect_uri=REDIRECT_URI)
    params = advertising_broker.authorize(url)
    with pytest.raises(MitIDStateMismatch) as caught:
        client.authorization_finish(params=params, kept=kept)
    assert caught.value.code == "issuer_mismatch"
    assert advertising_broker.count("/token") == 0
    with pytest.raises(MitIDStateMismatch):
        client.authorization_finish(params={**params, "iss": ISSUER + "/"}, kept=kept)
    assert client.authorization_finish(params={**params, "iss": ISSUER}, kept=kept).cpr


def test_an_error_without_iss_from_a_broker_that_advertises_it_is_no_cancellation(
    advertising_broker,
):
    """RFC 9207 2.4 covers error responses too."""
    client = advertising_broker.client()
    _url, kept = client.authorization_start(redirect_uri=REDIRECT_URI)
    error = {"error": "access_denied", "state": kept["state"]}
    with pytest.raises(MitIDStateMismatch):
        client.authorization_finish(params=error, kept=kept)
    with pytest.raises(MitIDCancelled):
        client.authorization_finish(params={**error, "iss": ISSUER}, kept=kept)

"""The portal's OpenID Connect client: ID tokens are verified, and the back channel stays local."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from django.db import connection, transaction
from django.utils import translation
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from biblogin.portal import oidc_client
from biblogin.portal.inprocess import in_process_transport

ISSUER = "https://login.example/login"
CLIENT = "bibliotek-dk"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch, settings) -> None:
    settings.PORTAL_OIDC_ISSUER = ISSUER
    settings.PORTAL_OIDC_CLIENT_ID = CLIENT
    monkeypatch.setattr(
        oidc_client,
        "provider_metadata",
        lambda: {"issuer": ISSUER, "id_token_signing_alg_values_supported": ["RS256"]},
    )
    monkeypatch.setattr(oidc_client, "_key_set", lambda *, force=False: KeySet([KEY]))


def token(key: RSAKey = KEY, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "guid-1",
        "aud": CLIENT,
        "exp": now + 300,
        "iat": now,
        "nonce": "n-1",
        "auth_time": now,
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)


def claims_of(id_token: str, *, nonce: str = "n-1", max_age: int | None = None) -> dict[str, Any]:
    return oidc_client._id_token_claims(
        id_token=id_token, nonce=nonce, access_token="", max_age=max_age
    )


def test_a_valid_id_token_gives_its_claims(provider: None) -> None:
    assert claims_of(token())["sub"] == "guid-1"


@pytest.mark.parametrize(
    "id_token",
    [
        pytest.param(lambda: token(nonce="other"), id="replayed-nonce"),
        pytest.param(lambda: token(nonce=None), id="no-nonce"),
        pytest.param(lambda: token(aud="demo-app"), id="other-audience"),
        pytest.param(lambda: token(iss="https://evil.example/login"), id="other-issuer"),
        pytest.param(lambda: token(exp=int(time.time()) - 3600), id="expired"),
        pytest.param(lambda: token(OTHER_KEY), id="forged-signature"),
        pytest.param(lambda: token()[:-4] + "AAAA", id="tampered"),
        pytest.param(lambda: "not.a.jwt", id="garbage"),
    ],
)
def test_an_id_token_that_cannot_be_trusted_is_refused(provider: None, id_token) -> None:
    """OIDC Core §3.1.3.7: signature, issuer, audience, expiry and nonce are all checked."""
    with pytest.raises(oidc_client.LoginServiceError):
        claims_of(id_token())


def test_max_age_requires_auth_time(provider: None) -> None:
    """R-PORTAL-11 asks max_age=900; the token must then say when the user authenticated."""
    with pytest.raises(oidc_client.LoginServiceError):
        claims_of(token(auth_time=None), max_age=900)


@pytest.mark.django_db
def test_an_in_process_call_leaves_the_callers_connection_transaction_and_language(
    settings,
) -> None:
    """DESIGN.md "One process, two roles": the inner request must not disturb the outer one."""
    translation.activate("en")
    try:
        with transaction.atomic():
            before = connection.connection
            with httpx.Client(transport=in_process_transport(), base_url="http://localhost") as c:
                response = c.get("/log-ind/", headers={"Accept-Language": "da"})
            assert response.status_code == 200
            assert connection.in_atomic_block and connection.connection is before
            assert not connection.needs_rollback
            connection.cursor().execute("SELECT 1")
        assert translation.get_language() == "en"
    finally:
        translation.deactivate()


def test_the_back_channel_is_in_process_only_for_our_own_issuer(settings) -> None:
    settings.BASE_URL = "https://bibliotek.example"
    settings.PORTAL_OIDC_ISSUER = "https://bibliotek.example/login"
    assert oidc_client._transport() is not None
    settings.PORTAL_OIDC_ISSUER = "https://login.bib.example/login"
    assert oidc_client._transport() is None
    settings.PORTAL_OIDC_ISSUER = "https://bibliotek.example.evil/login"
    assert oidc_client._transport() is None

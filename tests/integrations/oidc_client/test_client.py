"""The shared OpenID Connect client: discovery cache, PKCE, RFC 9207, ID-token checks, JWKS refetch.

The provider is the scripted broker of the MitID tests (fakebroker.py, behind httpx.MockTransport):
an honest provider a test bends in one place. R-SEC-1 (RFC 9700), R-PORTAL-0, R-LOGIN-6.
"""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import KeySet

from biblogin.integrations.oidc_client.client import OIDCClient, OIDCConfig, TokenResponse
from biblogin.integrations.oidc_client.errors import (
    OIDCError,
    OIDCTokenInvalid,
    OIDCUnavailable,
)
from biblogin.integrations.oidc_client.metadata import DjangoMetadataCache, MemoryMetadataCache
from biblogin.integrations.oidc_client.tokens import id_token_verified
from tests.integrations.mitid_broker.fakebroker import (
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    KEY_1,
    KEY_2,
    REDIRECT_URI,
    FakeBroker,
)


def oidc(
    broker: FakeBroker, *, cache: Any = None, secret: str = CLIENT_SECRET, **config: Any
) -> OIDCClient:
    return OIDCClient(
        OIDCConfig(issuer=ISSUER, client_id=CLIENT_ID, client_secret=secret, **config),
        transport=httpx.MockTransport(broker.handle),
        cache=cache if cache is not None else MemoryMetadataCache(),
    )


def log_in(broker: FakeBroker, client: OIDCClient) -> dict[str, Any]:
    start = client.authorization_start(redirect_uri=REDIRECT_URI)
    params = broker.authorize(start.url)
    assert params["state"] == start.state
    token = client.code_exchange(
        code=params["code"], redirect_uri=REDIRECT_URI, code_verifier=start.code_verifier
    )
    return client.id_token_claims(token=token, nonce=start.nonce)


def signed(key: Any = KEY_1, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "sub": "s-1", "aud": CLIENT_ID, "exp": now + 300, "iat": now}
    body.update({"nonce": "n-1", **claims})
    return jwt.encode({"alg": "RS256", "kid": key.kid}, body, key)


def verify(token: str, **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "key_set": lambda _refetch: KeySet([KEY_1]),
        "algorithms": frozenset({"RS256"}),
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
        "nonce": "n-1",
        "access_token": "at",
        "leeway": 60,
    }
    arguments.update(overrides)
    return id_token_verified(token, **arguments)


# -- discovery ---------------------------------------------------------------------------------


def test_discovery_is_fetched_once_for_all_clients_sharing_a_cache(fake_broker):
    """One request per TTL, however many logins and client instances (one per request)."""
    cache = MemoryMetadataCache()
    for _ in range(3):
        log_in(fake_broker, oidc(fake_broker, cache=cache))
    assert fake_broker.count("/.well-known/openid-configuration") == 1
    assert fake_broker.count("/jwks") == 1


def test_discovery_is_fetched_again_after_its_ttl(fake_broker):
    cache = MemoryMetadataCache()
    client = oidc(fake_broker, cache=cache, discovery_ttl_seconds=60)
    client.discovery()
    entry = cache.get(f"discovery:{ISSUER}")
    assert entry is not None
    cache.put(f"discovery:{ISSUER}", {**entry, "fetched_at": time.time() - 61}, ttl=60)
    client.discovery()
    assert fake_broker.count("/.well-known/openid-configuration") == 2


@pytest.mark.django_db
def test_discovery_in_the_deployment_cache_is_shared_by_every_worker(fake_broker):
    """The portal keeps discovery and keys in the Django cache (Redis in production)."""
    log_in(fake_broker, oidc(fake_broker, cache=DjangoMetadataCache(prefix="t")))
    log_in(fake_broker, oidc(fake_broker, cache=DjangoMetadataCache(prefix="t")))
    assert fake_broker.count("/.well-known/openid-configuration") == 1
    assert fake_broker.count("/jwks") == 1


@pytest.mark.parametrize(
    ("bend", "code"),
    [
        ({"issuer": "https://evil.example"}, "discovery_issuer"),
        ({"token_endpoint": "http://broker.example/token"}, "discovery_token_endpoint"),
        ({"jwks_uri": None}, "discovery_jwks_uri"),
        (
            {"end_session_endpoint": "http://broker.example/logout"},
            "discovery_end_session_endpoint",
        ),
    ],
    ids=str,
)
def test_discovery_of_another_issuer_or_with_a_downgraded_endpoint_is_unavailable(
    fake_broker, bend, code
):
    """OIDC Discovery 4.3: the document names the issuer we asked; an https issuer stays https."""
    fake_broker.discovery.update(bend)
    with pytest.raises(OIDCUnavailable) as caught:
        oidc(fake_broker).discovery()
    assert caught.value.code == code


def test_a_provider_without_userinfo_is_refused_when_the_caller_needs_userinfo(fake_broker):
    del fake_broker.discovery["userinfo_endpoint"]
    assert oidc(fake_broker).discovery()["issuer"] == ISSUER
    with pytest.raises(OIDCUnavailable):
        oidc(fake_broker, userinfo_required=True).discovery()


# -- the authorization request: PKCE S256, state, nonce ----------------------------------------


def test_authorization_request_carries_an_s256_challenge_of_a_fresh_verifier(fake_broker):
    """RFC 7636 4.1-4.2, RFC 9700 2.1.1: S256 only; the verifier never leaves the caller."""
    client = oidc(fake_broker)
    first = client.authorization_start(redirect_uri=REDIRECT_URI, params={"ui_locales": "da"})
    second = client.authorization_start(redirect_uri=REDIRECT_URI)
    query = dict(httpx.URL(first.url).params)
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == create_s256_code_challenge(first.code_verifier)
    assert 43 <= len(first.code_verifier) <= 128
    assert first.code_verifier not in first.url
    assert (query["state"], query["nonce"]) == (first.state, first.nonce)
    assert (query["response_type"], query["ui_locales"]) == ("code", "da")
    assert {first.state, first.nonce, first.code_verifier}.isdisjoint(
        {second.state, second.nonce, second.code_verifier}
    )


def test_the_broker_refuses_a_code_redeemed_with_another_verifier(fake_broker):
    """RFC 7636 4.6: the token request carries the verifier, which must match the challenge."""
    client = oidc(fake_broker)
    start = client.authorization_start(redirect_uri=REDIRECT_URI)
    params = fake_broker.authorize(start.url)
    with pytest.raises(OIDCError) as caught:
        client.code_exchange(code=params["code"], redirect_uri=REDIRECT_URI, code_verifier="x" * 64)
    assert caught.value.code == "token_invalid_grant"


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    params=st.dictionaries(
        st.sampled_from(["prompt", "acr_values", "ui_locales", "idp", "state", "nonce", "x"]),
        st.text(max_size=40),
        max_size=4,
    )
)
def test_extra_parameters_never_replace_state_nonce_or_the_challenge(params):
    """R-SEC-3: whatever a caller adds, the request is ours or a ValueError, never a mix."""
    broker = FakeBroker()
    try:
        start = oidc(broker).authorization_start(redirect_uri=REDIRECT_URI, params=params)
    except ValueError:
        return
    query = httpx.URL(start.url).params
    assert query.get_list("state") == [start.state]
    assert query.get_list("nonce") == [start.nonce]
    assert query.get_list("code_challenge") == [create_s256_code_challenge(start.code_verifier)]


# -- RFC 9207 ------------------------------------------------------------------------------------


def test_iss_must_be_sent_when_the_provider_advertises_it_and_match_exactly(fake_broker):
    """RFC 9207 2.4: advertised means required; compared as a simple string."""
    client = oidc(fake_broker)
    assert client.authorization_response_issuer_valid(iss=None)
    assert client.authorization_response_issuer_valid(iss=ISSUER)
    assert not client.authorization_response_issuer_valid(iss="https://evil.example")
    fake_broker.discovery["authorization_response_iss_parameter_supported"] = True
    client = oidc(fake_broker)
    assert not client.authorization_response_issuer_valid(iss=None)
    assert not client.authorization_response_issuer_valid(iss=ISSUER + "/")
    assert client.authorization_response_issuer_valid(iss=ISSUER)


# -- the token endpoint ----------------------------------------------------------------------------


def test_client_secret_basic_form_encodes_the_secret(fake_broker, monkeypatch):
    """RFC 6749 2.3.1: id and secret are form-encoded before Base64 (Authlib's default is not)."""
    secret = "a+b:c%d é/"
    monkeypatch.setattr("tests.integrations.mitid_broker.fakebroker.CLIENT_SECRET", secret)
    assert log_in(fake_broker, oidc(fake_broker, secret=secret))["sub"] == fake_broker.subject
    request = next(r for r in fake_broker.requests if r.url.path == "/token")
    user, _, password = (
        base64.b64decode(request.headers["authorization"][6:]).decode().partition(":")
    )
    assert (unquote(user), unquote(password)) == (CLIENT_ID, secret)


def test_a_provider_that_never_answers_is_unavailable_after_the_timeout(fake_broker):
    """DESIGN.md convention 8: explicit timeouts; a hanging provider is "unavailable"."""
    fake_broker.fail_with["/.well-known/openid-configuration"] = httpx.ReadTimeout("slow")
    with pytest.raises(OIDCUnavailable) as caught:
        oidc(fake_broker, timeout_seconds=0.5).discovery()
    assert caught.value.code == "timeout"


# -- the ID token ------------------------------------------------------------------------------


def test_a_valid_id_token_gives_its_claims():
    assert verify(signed())["sub"] == "s-1"


@pytest.mark.parametrize(
    ("claims", "overrides", "code"),
    [
        ({"iss": "https://evil.example"}, {}, "id_token_invalid_claim"),
        ({"aud": "another-client"}, {}, "id_token_invalid_claim"),
        ({"exp": int(time.time()) - 3600}, {}, "id_token_expired_token"),
        ({"nonce": "another-login"}, {}, "id_token_nonce"),
        ({}, {"max_age": 900}, "id_token_auth_time"),
        ({"azp": "another-client"}, {}, "id_token_azp"),
    ],
    ids=["iss", "aud", "exp", "nonce", "max_age-without-auth_time", "azp"],
)
def test_an_id_token_for_another_issuer_audience_time_or_login_is_refused(claims, overrides, code):
    """OIDC Core 3.1.3.7: iss, aud, exp, nonce; auth_time when max_age was asked."""
    with pytest.raises(OIDCTokenInvalid) as caught:
        verify(signed(**claims), **overrides)
    assert caught.value.code == code


def test_auth_time_is_enough_for_max_age():
    assert verify(signed(auth_time=int(time.time())), max_age=900)["sub"] == "s-1"


def test_a_token_response_that_is_no_bearer_token_is_refused(fake_broker):
    fake_broker.token_answer = httpx.Response(
        200, json={"id_token": "x.y.z", "access_token": "a", "token_type": "mac"}
    )
    client = oidc(fake_broker)
    start = client.authorization_start(redirect_uri=REDIRECT_URI)
    with pytest.raises(OIDCTokenInvalid) as caught:
        client.code_exchange(code="c", redirect_uri=REDIRECT_URI, code_verifier=start.code_verifier)
    assert caught.value.code == "token_response_malformed"


# -- JWKS: refetch on key rotation, rate-limited -----------------------------------------------


def test_rotated_keys_are_fetched_again_each_time_the_provider_rotates(fake_broker):
    """A refetch that brings the new key is never rate-limited: rotation after rotation works."""
    client = oidc(fake_broker)
    log_in(fake_broker, client)
    fake_broker.published_keys = [KEY_2]
    fake_broker.signing_key = KEY_2
    log_in(fake_broker, client)
    fake_broker.published_keys = [KEY_1]
    fake_broker.signing_key = KEY_1
    log_in(fake_broker, client)
    assert fake_broker.count("/jwks") == 3


def test_unknown_kids_refetch_the_jwks_at_most_once_per_interval(fake_broker):
    """After a refetch that brought no new key, tokens naming unknown keys cost no request."""
    cache = MemoryMetadataCache()
    client = oidc(fake_broker, cache=cache, jwks_refetch_interval_seconds=30)
    log_in(fake_broker, client)
    junk = TokenResponse(id_token=signed(KEY_2), access_token="at")
    for _ in range(5):
        with pytest.raises(OIDCTokenInvalid) as caught:
            client.id_token_claims(token=junk, nonce="n-1")
        assert caught.value.code == "jwt_unknown_or_bad_key"
    assert fake_broker.count("/jwks") == 2
    # The interval over, the next unknown kid may ask again.
    key = f"jwks:{ISSUER}/jwks"
    entry = cache.get(key)
    assert entry is not None
    cache.put(key, {**entry, "fetched_at": time.time() - 31}, ttl=3600)
    with pytest.raises(OIDCTokenInvalid):
        client.id_token_claims(token=junk, nonce="n-1")
    assert fake_broker.count("/jwks") == 3


def test_a_bad_signature_under_a_known_kid_asks_for_no_new_keys(fake_broker):
    client = oidc(fake_broker)
    log_in(fake_broker, client)
    token = signed(KEY_1)
    forged = TokenResponse(id_token=token[:-4] + "AAAA", access_token="at")
    with pytest.raises(OIDCTokenInvalid):
        client.id_token_claims(token=forged, nonce="n-1")
    assert fake_broker.count("/jwks") == 1

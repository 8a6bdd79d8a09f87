"""What the client accepts from a broker and what it refuses, with crafted answers (own keys).

A scripted broker (fakebroker.py, behind httpx.MockTransport) lets each test bend one thing the
real test broker never bends: audiences, keys, algorithms, clocks, userinfo, auth methods.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from biblogin.common.assurance import (
    NSIS_HIGH,
    NSIS_LOW,
    NSIS_SUBSTANTIAL,
)
from biblogin.integrations.mitid_broker.client import MitIDClient, MitIDIdentity
from biblogin.integrations.mitid_broker.errors import (
    MitIDError,
    MitIDStateMismatch,
    MitIDTokenInvalid,
    MitIDUnavailable,
)

from .fakebroker import (
    CLIENT_ID,
    CLIENT_SECRET,
    DROP,
    ISSUER,
    KEY_2,
    REDIRECT_URI,
    FakeBroker,
    b64url_json,
    unverified_claims,
)


def log_in(broker: FakeBroker, client: MitIDClient | None = None, **finish: Any) -> MitIDIdentity:
    client = client or broker.client()
    url, kept = client.authorization_start(redirect_uri=REDIRECT_URI)
    params = broker.authorize(url)
    return client.authorization_finish(
        params=finish.get("params", params), kept=finish.get("kept", kept)
    )


def refused(broker: FakeBroker, error: type[MitIDError] = MitIDTokenInvalid, **finish: Any) -> str:
    with pytest.raises(error) as caught:
        log_in(broker, **finish)
    return caught.value.code


def test_honest_broker_gives_the_identity(fake_broker):
    identity = log_in(fake_broker)
    assert identity.cpr == "1503851234"
    assert identity.name == "Anna Andersen"
    assert identity.loa == NSIS_SUBSTANTIAL
    assert identity.subject == fake_broker.subject
    assert abs(identity.auth_time - (time.time() - 5)) < 5  # auth_time, not iat


def test_pkce_verifier_of_another_login_is_refused_by_the_broker(fake_broker):
    """RFC 7636: the code is bound to our challenge; the broker checks the verifier we send."""
    client = fake_broker.client()
    url, kept = client.authorization_start(redirect_uri=REDIRECT_URI)
    params = fake_broker.authorize(url)
    with pytest.raises(MitIDError) as caught:
        client.authorization_finish(params=params, kept={**kept, "code_verifier": "x" * 64})
    assert caught.value.code == "token_invalid_grant"


@dataclass(frozen=True)
class FromNow:
    """A time relative to when the test runs, not to when it was collected."""

    seconds: int


@pytest.mark.parametrize(
    ("bent", "code"),
    [
        ({"aud": "another-client"}, "id_token_invalid_claim"),
        ({"aud": ["another-client", "third"]}, "id_token_invalid_claim"),
        ({"iss": "https://evil.example"}, "id_token_invalid_claim"),
        ({"exp": FromNow(-120)}, "id_token_expired_token"),
        ({"iat": FromNow(600)}, "id_token_invalid_claim"),
        ({"nbf": FromNow(600)}, "id_token_invalid_claim"),
        ({"exp": DROP}, "id_token_missing_claim"),
        ({"sub": DROP}, "id_token_missing_claim"),
        ({"sub": ""}, "id_token_invalid_claim"),
        ({"nonce": "another-nonce"}, "id_token_nonce"),
        ({"nonce": DROP}, "id_token_nonce"),
        ({"aud": [CLIENT_ID, "another-client"]}, "id_token_azp"),
        ({"azp": "another-client"}, "id_token_azp"),
        ({"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}, "id_token_at_hash"),
        ({"auth_time": "yesterday"}, "id_token_auth_time"),
    ],
    ids=lambda v: str(v) if isinstance(v, dict) else v,
)
def test_id_token_with_a_bent_claim_is_refused(fake_broker, bent, code):
    """OIDC Core 3.1.3.7: iss, aud, azp, exp, iat, nonce all checked; at_hash when present."""
    fake_broker.id_token_claims = {
        k: int(time.time()) + v.seconds if isinstance(v, FromNow) else v for k, v in bent.items()
    }
    assert refused(fake_broker) == code


def test_small_clock_skew_is_tolerated(fake_broker):
    fake_broker.id_token_claims = {"exp": int(time.time()) - 20, "iat": int(time.time()) + 20}
    assert log_in(fake_broker).cpr == "1503851234"


def test_several_audiences_with_us_as_authorised_party_are_accepted(fake_broker):
    fake_broker.id_token_claims = {"aud": [CLIENT_ID, "another-client"], "azp": CLIENT_ID}
    assert log_in(fake_broker).cpr == "1503851234"


def test_id_token_signed_with_a_key_the_broker_does_not_publish_is_refused(fake_broker):
    """Signed by someone else with the broker's kid: refused without asking for new keys."""
    forger = RSAKey.generate_key(2048, parameters={"kid": "key-1"}, private=True)
    fake_broker.signing_key = forger
    assert refused(fake_broker) == "jwt_unknown_or_bad_key"
    assert fake_broker.count("/jwks") == 1


def test_unknown_kid_makes_the_client_refetch_the_keys_once(fake_broker):
    """JWKS cached, refetched on an unknown kid; still unknown after that: refused."""
    client = fake_broker.client()
    log_in(fake_broker, client)
    fake_broker.signing_key = KEY_2  # not published
    with pytest.raises(MitIDTokenInvalid):
        log_in(fake_broker, client)
    assert fake_broker.count("/jwks") == 2


def test_broker_key_rotation_is_followed(fake_broker):
    client = fake_broker.client()
    log_in(fake_broker, client)
    fake_broker.published_keys = [fake_broker.published_keys[0], KEY_2]
    fake_broker.signing_key = KEY_2
    assert log_in(fake_broker, client).cpr == "1503851234"
    log_in(fake_broker, client)
    assert fake_broker.count("/jwks") == 2  # refetched once, then cached again


def test_discovery_document_is_cached(fake_broker):
    client = fake_broker.client()
    for _ in range(3):
        log_in(fake_broker, client)
    assert fake_broker.count("/.well-known/openid-configuration") == 1
    assert fake_broker.count("/jwks") == 1


def test_discovery_cache_expires(fake_broker):
    client = fake_broker.client(discovery_ttl_seconds=0)
    log_in(fake_broker, client)
    log_in(fake_broker, client)
    assert fake_broker.count("/.well-known/openid-configuration") == 4  # start + finish, twice


def test_discovery_is_never_cached_longer_than_an_hour():
    with pytest.raises(ValueError):
        FakeBroker().client(discovery_ttl_seconds=3601)


def test_unsigned_id_token_is_refused(fake_broker):
    """alg=none is never accepted."""

    def unsigned(token: str) -> str:
        return f"{b64url_json({'alg': 'none'})}.{token.split('.')[1]}."

    fake_broker.id_token_rewrite = unsigned
    assert refused(fake_broker) == "jwt_alg"


def test_id_token_signed_with_the_client_secret_is_refused(fake_broker):
    """No HMAC: a token 'signed' with our own secret proves nothing about the broker."""

    def hmac_signed(token: str) -> str:
        key = OctKey.import_key(CLIENT_SECRET.encode())
        return jwt.encode({"alg": "HS256"}, unverified_claims(token), key, algorithms=["HS256"])

    fake_broker.id_token_rewrite = hmac_signed
    assert refused(fake_broker) == "jwt_alg"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "a.b.c.d.e", "é.é.é", "x" * 20000])
def test_garbage_id_token_is_refused(fake_broker, garbage):
    fake_broker.id_token_rewrite = lambda _token: garbage
    assert refused(fake_broker).startswith("jwt_")


@pytest.mark.parametrize(
    "body",
    [
        {"access_token": "a", "token_type": "Bearer"},
        {"id_token": "x.y.z", "token_type": "Bearer"},
        {"id_token": "x.y.z", "access_token": "a", "token_type": "mac"},
        {"id_token": "x.y.z", "access_token": "a b\r\nX: y", "token_type": "Bearer"},
    ],
)
def test_malformed_token_response_is_refused(fake_broker, body):
    fake_broker.token_answer = httpx.Response(200, json=body)
    assert refused(fake_broker) == "token_response_malformed"


def test_cpr_only_in_userinfo_is_used(fake_broker):
    """Brokers differ: the CPR may come only from userinfo."""
    fake_broker.id_token_claims = {"dk.cpr": DROP, "name": DROP, "loa": DROP}
    identity = log_in(fake_broker)
    assert (identity.cpr, identity.name, identity.loa) == (
        "1503851234",
        "Anna Andersen",
        NSIS_SUBSTANTIAL,
    )
    assert fake_broker.count("/userinfo") == 1


def test_cpr_in_the_id_token_needs_no_userinfo_call(fake_broker):
    log_in(fake_broker)
    assert fake_broker.count("/userinfo") == 0


def test_signed_userinfo_is_verified_and_used(fake_broker):
    fake_broker.id_token_claims = {"dk.cpr": DROP}
    fake_broker.userinfo_as_jwt = True
    assert log_in(fake_broker).cpr == "1503851234"


def test_userinfo_about_someone_else_is_refused(fake_broker):
    """OIDC Core 5.3.2: userinfo's sub must be the ID token's."""
    fake_broker.id_token_claims = {"dk.cpr": DROP}
    fake_broker.userinfo = {"sub": "someone-else", "dk.cpr": "0207921235"}
    assert refused(fake_broker) == "userinfo_sub"


@pytest.mark.parametrize(
    ("claims", "level"),
    [
        ({"loa": NSIS_HIGH}, NSIS_HIGH),
        ({"loa": "Substantial"}, NSIS_SUBSTANTIAL),
        ({"loa": "http://eidas.europa.eu/LoA/high"}, NSIS_HIGH),
        ({"loa": DROP, "acr": NSIS_HIGH}, NSIS_HIGH),
        ({"loa": DROP}, NSIS_LOW),
        ({"loa": "platinum"}, NSIS_LOW),
        ({"loa": ["High"]}, NSIS_LOW),
    ],
    ids=str,
)
def test_assurance_level_maps_to_nsis_uri_and_missing_is_low(fake_broker, claims, level):
    """R-LOGIN-6, R-LOGIN-10: loa claim (else acr) to the NSIS URI; missing or odd: Low."""
    fake_broker.id_token_claims = claims
    fake_broker.userinfo = {"sub": fake_broker.subject}
    assert log_in(fake_broker).loa == level


def test_loa_claim_name_follows_the_setting(fake_broker):
    fake_broker.person = {"dk.cpr": "1503851234", "https://data.gov.dk/model/core/eid/loa": "High"}
    client = fake_broker.client(loa_claim="https://data.gov.dk/model/core/eid/loa")
    assert log_in(fake_broker, client).loa == NSIS_HIGH


def test_name_from_given_and_family_name(fake_broker):
    fake_broker.person = {"dk.cpr": "1503851234", "given_name": "Anna", "family_name": "Andersen"}
    assert log_in(fake_broker).name == "Anna Andersen"


def test_client_secret_post_when_the_broker_offers_only_that(fake_broker):
    fake_broker.discovery["token_endpoint_auth_methods_supported"] = ["client_secret_post"]
    log_in(fake_broker)
    token_request = next(r for r in fake_broker.requests if r.url.path == "/token")
    assert "authorization" not in token_request.headers
    assert b"client_secret=" in token_request.content


def test_client_secret_basic_by_default(fake_broker):
    log_in(fake_broker)
    token_request = next(r for r in fake_broker.requests if r.url.path == "/token")
    assert token_request.headers["authorization"].startswith("Basic ")
    assert b"client_secret" not in token_request.content
    assert b"code_verifier=" in token_request.content


def test_broker_without_a_secret_based_auth_method_is_unavailable(fake_broker):
    fake_broker.discovery["token_endpoint_auth_methods_supported"] = ["private_key_jwt"]
    assert refused(fake_broker, MitIDUnavailable) == "token_auth_method"


def test_discovery_naming_another_issuer_is_unavailable(fake_broker):
    """OIDC Discovery 4.3: the document must be the issuer's own."""
    fake_broker.discovery["issuer"] = "https://evil.example"
    with pytest.raises(MitIDUnavailable):
        fake_broker.client().authorization_start(redirect_uri=REDIRECT_URI)


@pytest.mark.parametrize(
    ("path", "failure"),
    [
        ("/.well-known/openid-configuration", 503),
        ("/.well-known/openid-configuration", httpx.ConnectError("refused")),
        ("/token", 502),
        ("/token", httpx.ReadTimeout("slow")),
        ("/jwks", 500),
        ("/jwks", httpx.RemoteProtocolError("closed")),
    ],
    ids=str,
)
def test_broker_failing_at_any_step_is_unavailable(fake_broker, path, failure):
    """Timeouts, 5xx, connection errors: "MitID cannot be reached", never a 500 of ours."""
    client = fake_broker.client()
    if path == "/.well-known/openid-configuration":
        fake_broker.fail_with[path] = failure
        with pytest.raises(MitIDUnavailable):
            client.authorization_start(redirect_uri=REDIRECT_URI)
        return
    url, kept = client.authorization_start(redirect_uri=REDIRECT_URI)
    params = fake_broker.authorize(url)
    fake_broker.fail_with[path] = failure
    with pytest.raises(MitIDUnavailable):
        client.authorization_finish(params=params, kept=kept)


def test_token_endpoint_answering_html_is_unavailable(fake_broker):
    fake_broker.token_answer = httpx.Response(400, text="<html>gateway</html>")
    assert refused(fake_broker, MitIDUnavailable) == "token_not_json"


def test_response_naming_another_issuer_is_refused(fake_broker):
    """RFC 9207: an ``iss`` in the callback must be our broker (mix-up defence)."""
    client = fake_broker.client()
    url, kept = client.authorization_start(redirect_uri=REDIRECT_URI)
    params = fake_broker.authorize(url)
    with pytest.raises(MitIDStateMismatch):
        client.authorization_finish(params={**params, "iss": "https://evil.example"}, kept=kept)
    assert client.authorization_finish(params={**params, "iss": ISSUER}, kept=kept).cpr


@pytest.mark.parametrize(
    "bend",
    [
        # Named: an ID with the time in it differs between pytest-xdist workers' collections.
        pytest.param({"created_at": str(int(time.time()) - 3600)}, id="created_an_hour_ago"),
        pytest.param({"created_at": str(int(time.time()) + 3600)}, id="created_in_an_hour"),
        {"created_at": "yesterday"},
        {"issuer": "https://another-broker.example"},
        {"code_verifier": ""},
        {"nonce": None},
    ],
    ids=str,
)
def test_stale_or_broken_kept_state_is_a_mismatch(fake_broker, bend):
    client = fake_broker.client()
    url, kept = client.authorization_start(redirect_uri=REDIRECT_URI)
    params = fake_broker.authorize(url)
    kept = {k: v for k, v in {**kept, **bend}.items() if v is not None}
    with pytest.raises(MitIDStateMismatch):
        client.authorization_finish(params=params, kept=kept)
    assert not any(r.url.path == "/token" for r in fake_broker.requests)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"error": "login_required"}, "broker_login_required"),
        ({"error": "server_error"}, "broker_server_error"),
        ({"error": "weird\r\nX-Injected: 1"}, "broker_weirdX-Injected1"),
        ({}, "state_mismatch"),
        ({"code": "x" * 5000}, "bad_callback"),
    ],
)
def test_odd_callbacks_are_domain_errors(fake_broker, params, code):
    client = fake_broker.client()
    _url, kept = client.authorization_start(redirect_uri=REDIRECT_URI)
    with pytest.raises(MitIDError) as caught:
        client.authorization_finish(params=params, kept=kept)
    assert caught.value.code == code


def test_callback_without_code_is_an_error(fake_broker):
    client = fake_broker.client()
    _, kept = client.authorization_start(redirect_uri=REDIRECT_URI)
    with pytest.raises(MitIDError) as caught:
        client.authorization_finish(params={"state": kept["state"]}, kept=kept)
    assert caught.value.code == "no_code"


@pytest.mark.parametrize(
    "bad",
    [
        {"redirect_uri": "/relative"},
        {"redirect_uri": "ftp://x/cb"},
        {"redirect_uri": "https://x/cb#frag"},
        {"prompt": "sudo"},
        {"prompt": ""},
        {"acr_values": "a\nb"},
    ],
    ids=str,
)
def test_start_refuses_programming_errors(fake_broker, bad):
    kwargs = {"redirect_uri": REDIRECT_URI, **bad}
    with pytest.raises(ValueError):
        fake_broker.client().authorization_start(**kwargs)


def test_identity_repr_masks_the_cpr():
    """R-CULR-5: the CPR never appears in full in logs or tracebacks."""
    identity = MitIDIdentity(cpr="1503851234", name="Anna", loa=NSIS_HIGH, subject="s", auth_time=1)
    assert "1503851234" not in repr(identity)
    assert "1503851234" not in str(identity)
    assert "150385-XXXX" in repr(identity)
    with pytest.raises(AttributeError):
        identity.cpr = "0207921235"  # type: ignore[misc]

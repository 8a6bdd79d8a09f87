"""MitID login through the real test broker (oidc-provider-mock) on loopback.

R-LOGIN-6, R-LOGIN-10: the CPR and the NSIS level come back verified.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from biblogin.common.assurance import NSIS_LOW, NSIS_SUBSTANTIAL
from biblogin.integrations.mitid_broker.client import (
    MitIDClient,
    MitIDConfig,
    MitIDIdentity,
    mitid_authorization_finish,
    mitid_authorization_start,
)
from biblogin.integrations.mitid_broker.demo_identities import (
    DEMO_MITID_IDENTITIES,
    DemoMitIDIdentity,
)
from biblogin.integrations.mitid_broker.errors import (
    MitIDCancelled,
    MitIDError,
    MitIDStateMismatch,
    MitIDTokenInvalid,
    MitIDUnavailable,
)
from biblogin.integrations.mitid_broker.pytest_fixtures import MITID_TEST_REDIRECT_URI
from biblogin.integrations.mitid_broker.testbroker import TestMitIDBroker


def callback_params(callback_url: str) -> dict[str, str]:
    assert callback_url.startswith(MITID_TEST_REDIRECT_URI + "?")
    return dict(httpx.URL(callback_url).params)


def login_as(broker: TestMitIDBroker, sub: str) -> tuple[dict[str, str], dict[str, str]]:
    url, kept = mitid_authorization_start(redirect_uri=MITID_TEST_REDIRECT_URI)
    return callback_params(broker.login(url, sub=sub)), kept


def test_anna_logs_in_at_the_broker_and_comes_back_with_her_cpr_at_substantial(mitid_settings):
    """R-LOGIN-6, R-LOGIN-10: the broker's CPR and NSIS level reach us, verified."""
    url, kept = mitid_authorization_start(redirect_uri=MITID_TEST_REDIRECT_URI)
    assert json.loads(json.dumps(kept)) == kept  # the caller keeps it in a JSON session

    # What a browser does: open the broker's page, type the person, press "Authorize".
    with httpx.Client(timeout=5, follow_redirects=False) as browser:
        page = browser.get(url)
        assert page.status_code == 200
        assert '<input type="text" name="sub"' in page.text
        assert "Authorize</button>" in page.text
        answer = browser.post(url, data={"sub": "anna"})
    assert answer.status_code == 302
    params = callback_params(answer.headers["location"])

    identity = mitid_authorization_finish(params=params, kept=kept)

    assert identity == MitIDIdentity(
        cpr="1503851234",
        name="Anna Andersen",
        loa=NSIS_SUBSTANTIAL,
        subject="anna",
        auth_time=identity.auth_time,
    )
    assert abs(identity.auth_time - time.time()) < 60


@pytest.mark.parametrize("person", DEMO_MITID_IDENTITIES, ids=lambda p: p.sub)
def test_every_demo_person_logs_in_with_their_own_cpr(mitid_settings, person: DemoMitIDIdentity):
    """R-LOGIN-6: the demo set the demo and the browser tests rely on is loaded in the broker."""
    params, kept = login_as(mitid_settings, person.sub)
    identity = mitid_authorization_finish(params=params, kept=kept)
    assert (identity.cpr, identity.name, identity.loa) == (
        person.cpr,
        person.name,
        NSIS_SUBSTANTIAL,
    )


def test_authorization_request_uses_pkce_s256_state_nonce_and_passes_acr_and_prompt(
    mitid_settings,
):
    """R-LOGIN-10: a step-up asks the broker for the level; RFC 9700: PKCE S256, state, nonce."""
    url, kept = mitid_authorization_start(
        redirect_uri=MITID_TEST_REDIRECT_URI, acr_values=NSIS_SUBSTANTIAL, prompt="login"
    )
    query = dict(httpx.URL(url).params)
    assert url.startswith(mitid_settings.issuer + "/oauth2/authorize?")
    assert query["response_type"] == "code"
    assert query["client_id"] == mitid_settings.client_id
    assert query["redirect_uri"] == kept["redirect_uri"] == MITID_TEST_REDIRECT_URI
    assert query["state"] == kept["state"]
    assert query["nonce"] == kept["nonce"]
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == create_s256_code_challenge(kept["code_verifier"])
    assert "code_verifier" not in query
    assert query["acr_values"] == NSIS_SUBSTANTIAL
    assert query["prompt"] == "login"
    assert set(kept) == {"state", "nonce", "code_verifier", "redirect_uri", "created_at", "issuer"}
    assert mitid_settings.client_secret not in url + json.dumps(kept)
    _second_url, second_kept = mitid_authorization_start(redirect_uri=MITID_TEST_REDIRECT_URI)
    assert second_kept["state"] != kept["state"] and second_kept["nonce"] != kept["nonce"]


def test_callback_with_another_login_s_state_is_refused(mitid_settings):
    """R-SEC-1 (CSRF on the callback): a code from someone else's login is not accepted."""
    params, kept = login_as(mitid_settings, "anna")
    _, my_kept = mitid_authorization_start(redirect_uri=MITID_TEST_REDIRECT_URI)
    with pytest.raises(MitIDStateMismatch):
        mitid_authorization_finish(params=params, kept=my_kept)
    with pytest.raises(MitIDStateMismatch):
        mitid_authorization_finish(params={"code": params["code"]}, kept=kept)
    with pytest.raises(MitIDStateMismatch):
        mitid_authorization_finish(params=params, kept={})


def test_pressing_deny_at_the_broker_is_a_cancellation(mitid_settings):
    """R-LOGIN-6: the user backing out of MitID gets "you cancelled", not an error page."""
    url, kept = mitid_authorization_start(redirect_uri=MITID_TEST_REDIRECT_URI)
    params = callback_params(mitid_settings.deny(url))
    assert params["error"] == "access_denied"
    with pytest.raises(MitIDCancelled) as caught:
        mitid_authorization_finish(params=params, kept=kept)
    assert caught.value.message == "Du afbrød login med MitID."


def test_access_denied_with_our_state_is_a_cancellation_and_with_another_state_a_mismatch(
    mitid_settings,
):
    _, kept = mitid_authorization_start(redirect_uri=MITID_TEST_REDIRECT_URI)
    with pytest.raises(MitIDCancelled):
        mitid_authorization_finish(
            params={"error": "access_denied", "state": kept["state"]}, kept=kept
        )
    with pytest.raises(MitIDStateMismatch):
        mitid_authorization_finish(params={"error": "access_denied", "state": "x"}, kept=kept)
    with pytest.raises(MitIDUnavailable):
        mitid_authorization_finish(
            params={"error": "temporarily_unavailable", "state": kept["state"]}, kept=kept
        )


def test_a_code_is_redeemed_only_once(mitid_settings):
    """RFC 6749 4.1.2: reloading the callback does not log in a second time."""
    params, kept = login_as(mitid_settings, "anna")
    mitid_authorization_finish(params=params, kept=kept)
    with pytest.raises(MitIDError) as caught:
        mitid_authorization_finish(params=params, kept=kept)
    assert caught.value.code == "token_invalid_grant"


def test_id_token_with_another_login_s_nonce_is_refused(mitid_settings):
    """OIDC Core 3.1.3.7: the broker's nonce must be the one this browser's login sent."""
    params, kept = login_as(mitid_settings, "anna")
    with pytest.raises(MitIDTokenInvalid) as caught:
        mitid_authorization_finish(params=params, kept={**kept, "nonce": "another-login"})
    assert caught.value.code == "id_token_nonce"


class SwapIdToken(httpx.BaseTransport):
    """Sit between us and the real broker and replace the ID token in its token response."""

    def __init__(self, replace: Callable[[str], str]) -> None:
        self._inner = httpx.HTTPTransport()
        self._replace = replace

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if request.url.path == "/oauth2/token" and response.status_code == 200:
            response.read()
            body = response.json()
            body["id_token"] = self._replace(body["id_token"])
            return httpx.Response(200, json=body)
        return response


@pytest.fixture
def client_between(mitid_settings) -> Iterator[Callable[[Callable[[str], str]], MitIDClient]]:
    clients: list[httpx.Client] = []

    def make(replace: Callable[[str], str]) -> MitIDClient:
        clients.append(httpx.Client(transport=SwapIdToken(replace)))
        return MitIDClient(MitIDConfig.from_settings(), http=clients[-1])

    yield make
    for http in clients:
        http.close()


def test_id_token_with_a_changed_cpr_is_refused(mitid_settings, client_between):
    """R-LOGIN-6: a token whose payload was altered (Anna's token, Bo's CPR) fails the signature."""

    def put_bo_in(token: str) -> str:
        header, payload, signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "==="))
        claims["dk.cpr"] = "0207921235"
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"{header}.{forged}.{signature}"

    client = client_between(put_bo_in)
    url, kept = client.authorization_start(redirect_uri=MITID_TEST_REDIRECT_URI)
    params = callback_params(mitid_settings.login(url, sub="anna"))
    with pytest.raises(MitIDTokenInvalid) as caught:
        client.authorization_finish(params=params, kept=kept)
    assert caught.value.code == "jwt_signature"


def test_genuine_id_token_issued_to_another_client_is_refused(mitid_settings, client_between):
    """OIDC Core 3.1.3.7: a broker-signed token for another relying party (aud) is not ours."""
    mitid_settings.client_register(
        client_id="another-rp", client_secret="another-secret", redirect_uris=["http://rp.test/cb"]
    )
    stolen: dict[str, str] = {}

    def token_for_another_rp(nonce: str) -> str:
        other = MitIDClient(
            MitIDConfig(
                issuer=mitid_settings.issuer, client_id="another-rp", client_secret="x-unused"
            )
        )
        other_url, _ = other.authorization_start(redirect_uri="http://rp.test/cb")
        other_url = str(httpx.URL(other_url).copy_set_param("nonce", nonce))
        code = dict(httpx.URL(mitid_settings.login(other_url, sub="anna")).params)["code"]
        answer = httpx.post(
            f"{mitid_settings.issuer}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "http://rp.test/cb",
            },
            auth=("another-rp", "another-secret"),
        )
        return answer.json()["id_token"]

    client = client_between(lambda _ours: stolen["token"])
    url, kept = client.authorization_start(redirect_uri=MITID_TEST_REDIRECT_URI)
    stolen["token"] = token_for_another_rp(kept["nonce"])
    params = callback_params(mitid_settings.login(url, sub="anna"))
    with pytest.raises(MitIDTokenInvalid) as caught:
        client.authorization_finish(params=params, kept=kept)
    assert caught.value.code == "id_token_invalid_claim"


def test_wrong_client_secret_makes_mitid_unavailable(mitid_settings, settings):
    """A misconfigured client is our fault, not the user's: "MitID cannot be reached"."""
    params, kept = login_as(mitid_settings, "anna")
    settings.MITID_CLIENT_SECRET = "not-the-secret"
    with pytest.raises(MitIDUnavailable) as caught:
        mitid_authorization_finish(params=params, kept=kept)
    assert caught.value.code == "client_refused"


def test_person_without_cpr_at_the_broker_is_refused(mitid_settings):
    """R-LOGIN-6: no CPR, no MitID identity (the broker invents users typed at its page)."""
    params, kept = login_as(mitid_settings, "nobody-in-particular")
    with pytest.raises(MitIDTokenInvalid) as caught:
        mitid_authorization_finish(params=params, kept=kept)
    assert caught.value.code == "cpr_missing"
    assert caught.value.message == "MitID oplyste ikke et gyldigt CPR-nummer."


def test_cpr_that_is_no_real_date_is_refused(mitid_settings):
    """R-BC-4 via biblogin.common.cpr: 31 November is no birth date."""
    mitid_settings.person_put(sub="bad-cpr", claims={"dk.cpr": "3111851234", "name": "X"})
    params, kept = login_as(mitid_settings, "bad-cpr")
    with pytest.raises(MitIDTokenInvalid) as caught:
        mitid_authorization_finish(params=params, kept=kept)
    assert caught.value.code == "cpr_invalid"


def test_cpr_with_dash_is_normalised(mitid_settings):
    mitid_settings.person_put(sub="dashed", claims={"dk.cpr": "150385-1234", "loa": "High"})
    params, kept = login_as(mitid_settings, "dashed")
    identity = mitid_authorization_finish(params=params, kept=kept)
    assert identity.cpr == "1503851234"
    assert identity.loa == "https://data.gov.dk/concept/core/nsis/loa/High"


def test_missing_assurance_level_counts_as_low(mitid_settings):
    """R-LOGIN-6: a level the broker does not state is never taken to be Substantial."""
    mitid_settings.person_put(sub="no-level", claims={"dk.cpr": "0207921235", "name": "Bo"})
    params, kept = login_as(mitid_settings, "no-level")
    assert mitid_authorization_finish(params=params, kept=kept).loa == NSIS_LOW


@pytest.fixture(scope="module")
def broker_with_cpr_number_identifier() -> Iterator[TestMitIDBroker]:
    from django.conf import settings

    with TestMitIDBroker(
        client_id=settings.MITID_CLIENT_ID,
        client_secret=settings.MITID_CLIENT_SECRET,
        redirect_uris=[MITID_TEST_REDIRECT_URI],
        cpr_claim="cprNumberIdentifier",
    ) as broker:
        yield broker


def test_cpr_claim_name_follows_the_setting(broker_with_cpr_number_identifier, settings):
    """R-LOGIN-6: brokers name the CPR claim differently; MITID_CPR_CLAIM says which."""
    settings.MITID_ISSUER = broker_with_cpr_number_identifier.issuer
    settings.MITID_CPR_CLAIM = "cprNumberIdentifier"
    params, kept = login_as(broker_with_cpr_number_identifier, "clara")
    identity = mitid_authorization_finish(params=params, kept=kept)
    assert identity.cpr == "2309881236"

    settings.MITID_CPR_CLAIM = "dk.cpr"
    params, kept = login_as(broker_with_cpr_number_identifier, "clara")
    with pytest.raises(MitIDTokenInvalid) as caught:
        mitid_authorization_finish(params=params, kept=kept)
    assert caught.value.code == "cpr_missing"


def test_nothing_logged_carries_the_cpr_or_a_token(mitid_settings, caplog):
    """R-CULR-5, R-SEC-2: neither a successful nor a failed login logs the CPR or tokens."""
    params, kept = login_as(mitid_settings, "anna")  # the browser's part is not ours to log
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    identity = mitid_authorization_finish(params=params, kept=kept)
    with pytest.raises(MitIDError):
        mitid_authorization_finish(params=params, kept=kept)
    assert caplog.records  # the test does see the log
    records = [f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records]
    secrets = ["1503851234", "150385-1234", params["code"], kept["code_verifier"], kept["nonce"]]
    for secret in secrets:
        assert not [record[:300] for record in records if secret in record]
    assert "1503851234" not in repr(identity) and "150385-XXXX" in repr(identity)

"""The authorization request is judged before any login page (RFC 6749, RFC 7636, OIDC Core).

R-LOGIN-1, R-SEC-1, R-SEC-3. A request the code could not be issued for is refused at once, never
after the user typed a PIN: to the client's redirect URI when the client and that URI are valid
(RFC 6749 §4.1.2.1), else on an error page.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.http import QueryDict
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from biblogin.oidc.authorization_request import authorization_params_problem
from biblogin.oidc.models import AuthorizationCode
from tests.oidc_flow import AUTHORIZE, OIDCFlow, Pkce, query_of

pytestmark = pytest.mark.django_db


def error_redirect(flow: OIDCFlow, response) -> dict[str, str]:
    """The error sent straight back to the client: no login page came first."""
    assert response.status_code == 302, (response.status_code, response.content[:300])
    assert response["Location"].startswith(flow.redirect_uri + "?"), response["Location"]
    params = query_of(response["Location"])
    assert params["iss"] == settings.OIDC_ISSUER  # RFC 9207, errors included
    assert "code" not in params
    return params


def error_page(response) -> None:
    assert response.status_code == 400, response.status_code
    assert "Location" not in response
    assert "Login kan ikke gennemføres" in response.content.decode()


def code_for(flow: OIDCFlow, **extra: str):
    started = flow.start(**extra)
    response = flow.library_login(started, agency_id="710100", user_id="1000001", pin="1234")
    return flow.code_from(response, started), started


# --- redirect_uri: required at the authorization endpoint, repeated at the token endpoint -----


def test_an_authorization_request_without_redirect_uri_is_refused_before_the_login(app):
    """OIDC Core §3.1.2.1: redirect_uri is required; without it nothing is redirected."""
    started = app.start(redirect_uri=None)
    error_page(started.response)


def test_the_token_request_must_name_the_redirect_uri_the_authorization_request_had(app):
    """RFC 6749 §4.1.3: redirect_uri is REQUIRED at the token endpoint when it was sent before."""
    code, started = code_for(app)
    response = app.token_request(
        {"grant_type": "authorization_code", "code": code, "code_verifier": started.pkce.verifier}
    )
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_request", "invalid_grant"}
    assert "access_token" not in response.json()


# --- PKCE (RFC 7636 §4.2, §4.4.1; RFC 9700 §2.1.1) --------------------------------------------


def test_the_plain_pkce_method_is_refused_before_the_login(app):
    """RFC 9700 §2.1.1: S256 only, and the refusal comes before any login page."""
    started = app.start(code_challenge=Pkce().verifier, code_challenge_method="plain")
    params = error_redirect(app, started.response)
    assert params["error"] == "invalid_request" and params["state"] == started.state


def test_a_challenge_without_a_method_is_refused_before_the_login(app):
    """RFC 7636 §4.3: no method means plain, which this provider does not accept."""
    started = app.start(code_challenge_method=None)
    assert error_redirect(app, started.response)["error"] == "invalid_request"


@pytest.mark.parametrize(
    "challenge",
    [
        "abc",  # too short
        "A" * 42,
        "A" * 44,
        "A" * 129,  # longer than the code_challenge column
        "A" * 42 + "+",  # base64, not base64url
        "A" * 42 + "=",  # padding
        "A" * 42 + "\x01",
        "A" * 42 + "é",
    ],
)
def test_a_malformed_s256_challenge_is_refused_before_the_login(app, challenge):
    """RFC 7636 §4.2: an S256 challenge is exactly 43 base64url characters."""
    started = app.start(code_challenge=challenge)
    params = error_redirect(app, started.response)
    assert params["error"] == "invalid_request" and params["state"] == started.state
    assert not AuthorizationCode.objects.exists()


# --- response_mode, request, request_uri (OIDC Core §3.1.2.1, §6) ----------------------------


@pytest.mark.parametrize("mode", ["fragment", "form_post", "jwt", "query.jwt", "QUERY"])
def test_a_response_mode_discovery_does_not_offer_is_refused(app, mode):
    """Discovery offers ``query`` only: any other response mode is an error, not ignored."""
    started = app.start(response_mode=mode)
    params = error_redirect(app, started.response)
    assert params["error"] == "invalid_request" and params["state"] == started.state


def test_response_mode_query_is_honoured(app):
    started = app.start(response_mode="query")
    assert started.response.status_code == 302
    assert started.response["Location"].startswith("/login/")


def test_a_request_object_is_answered_request_not_supported(app):
    """OIDC Core §6.1, §3.1.2.6: request_parameter_supported is false."""
    started = app.start(request="eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.")
    params = error_redirect(app, started.response)
    assert params["error"] == "request_not_supported" and params["state"] == started.state


def test_a_request_uri_is_answered_request_uri_not_supported(app):
    """OIDC Core §6.2, §3.1.2.6: request_uri_parameter_supported is false."""
    started = app.start(request_uri="https://evil.example/request.jwt")
    params = error_redirect(app, started.response)
    assert params["error"] == "request_uri_not_supported" and params["state"] == started.state


def test_discovery_advertises_only_what_the_authorization_endpoint_honours(browser, demo):
    data = browser.get("/login/.well-known/openid-configuration").json()
    assert data["response_modes_supported"] == ["query"]
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["request_parameter_supported"] is False
    assert data["request_uri_parameter_supported"] is False
    assert data["authorization_response_iss_parameter_supported"] is True


# --- every parameter: NUL, length, format (R-SEC-3) -------------------------------------------


def test_a_nonce_longer_than_255_characters_is_refused_before_the_login(app):
    """R-SEC-3: the nonce column holds 255 characters; on PostgreSQL a longer one was a 500
    right after the PIN. It is refused before any login page."""
    started = app.start(nonce="n" * 256)
    params = error_redirect(app, started.response)
    assert params["error"] == "invalid_request" and params["state"] == started.state


def test_a_nonce_of_255_characters_completes_the_login(app):
    """The limit is the column's, not lower: 255 characters go all the way to the ID token."""
    code, started = code_for(app, nonce="n" * 255)
    tokens = app.exchange(code, started)
    assert app.id_token_claims(tokens["id_token"])["nonce"] == "n" * 255


OVERLONG = {
    "scope": "openid " + "profile " * 200,
    "state": "s" * 2049,
    "nonce": "n" * 256,
    "prompt": "login " * 20,
    "max_age": "1" * 10,
    "acr_values": "a" * 1025,
    "login_hint": "h" * 256,
    "id_token_hint": "t" * 8193,
    "claims": "{" + " " * 4096 + "}",
    "idp": "mitid " * 20,
    "agency": "7101001",
    "presel": "1" * 7,
    "agencytype": "f" * 65,
    "response_type": "code " * 20,
    "display": "page " * 20,
    "force_login": "1" * 10,
}


@pytest.mark.parametrize(("name", "value"), sorted(OVERLONG.items()))
def test_an_overlong_parameter_is_refused_before_the_login(app, name, value):
    """R-SEC-3: every parameter has a length limit, checked before it reaches a query."""
    started = app.start(**{name: value})
    params = error_redirect(app, started.response)
    assert params["error"] in {"invalid_request", "invalid_scope", "unsupported_response_type"}
    if name != "state":
        assert params["state"] == started.state
    else:
        assert "state" not in params  # a malformed state is not echoed


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("agency", "71O100"),
        ("presel", "abc"),
        ("agencytype", "nope"),
        ("max_age", "-1"),
        ("max_age", "1e3"),
        ("prompt", "none login"),  # OIDC Core §3.1.2.1: none with another value is an error
        ("prompt", "sometimes"),
        ("code_challenge_method", "s256"),
    ],
)
def test_a_malformed_parameter_is_refused_before_the_login(app, name, value):
    """R-SEC-3: every parameter's format is checked before any login page."""
    # ui_locales is the exception: a preference, ignored when unreadable (test_ui_locales.py).
    started = app.start(**{name: value})
    params = error_redirect(app, started.response)
    assert params["error"] in {"invalid_request", "login_required"}
    assert params["state"] == started.state


NUL_CHECKED = [
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_type",
    "response_mode",
    "prompt",
    "max_age",
    "acr_values",
    "login_hint",
    "id_token_hint",
    "claims",
    "idp",
    "agency",
    "presel",
    "agencytype",
    "display",
]


@pytest.mark.parametrize("name", NUL_CHECKED)
def test_a_control_character_in_any_parameter_is_refused_before_the_login(app, name):
    """R-SEC-3: no parameter with a control character gets past the endpoint."""
    params, started = app.authorize_params()
    params[name] = (params.get(name) or "x") + "\x01"
    started.response = app.browser.get(AUTHORIZE + "?" + urlencode(params))
    answer = error_redirect(app, started.response)
    assert answer["error"] in {"invalid_request", "invalid_scope", "unsupported_response_type"}
    if name != "state":
        assert answer["state"] == started.state


@pytest.mark.parametrize("name", ["client_id", "redirect_uri", *NUL_CHECKED])
def test_the_endpoint_itself_refuses_a_nul_in_any_parameter(name):
    """R-SEC-3: PostgreSQL cannot store NUL. The request middleware refuses it first today;
    the endpoint does not rely on that, and names the parameter."""
    params, _started = OIDCFlow(browser=None).authorize_params()
    params[name] = (params.get(name) or "x") + "\x00"
    problem = authorization_params_problem(params=QueryDict(urlencode(params)))
    assert problem is not None and problem.parameter == name
    assert problem.redirectable is (name not in ("client_id", "redirect_uri"))


def test_a_nul_in_a_parameter_never_reaches_a_login_page(app):
    params, _started = app.authorize_params(nonce="n\x00")
    response = app.browser.get(AUTHORIZE + "?" + urlencode(params))
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert error_redirect(app, response)["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("client_id", "demo-app\x01"),
        ("client_id", "c" * 101),
        ("redirect_uri", "http://127.0.0.1:8765/callback\x01"),
        ("redirect_uri", "http://127.0.0.1:8765/callback?" + "x" * 2048),
        ("redirect_uri", ""),
    ],
)
def test_a_malformed_client_id_or_redirect_uri_is_shown_not_redirected(app, name, value):
    """RFC 6749 §4.1.2.1: without a valid client and redirect URI the error is not sent back."""
    started = app.start(**{name: value})
    error_page(started.response)


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(["client_id", "redirect_uri", *NUL_CHECKED]),
    prefix=st.text(max_size=20),
    control=st.sampled_from(["\x01", "\n", "\x1f", "\x7f"]),
)
def test_no_parameter_with_a_control_character_reaches_a_login_page(app, name, prefix, control):
    """R-SEC-3 (property): a control character anywhere in a parameter never leads to a login."""
    params, _started = app.authorize_params()
    params[name] = prefix + control + (params.get(name) or "")
    response = app.browser.get(AUTHORIZE + "?" + urlencode(params))
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 302:
        assert response["Location"].startswith(app.redirect_uri + "?")
        assert "error" in query_of(response["Location"])

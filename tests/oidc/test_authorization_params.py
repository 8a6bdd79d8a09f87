"""The authorization request's parameter check on its own (R-SEC-3; property-based)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.http import QueryDict
from hypothesis import given
from hypothesis import strategies as st

from biblogin.oidc.authorization_request import (
    CLIENT_ID_MAX,
    NONCE_MAX,
    OTHER_MAX,
    REDIRECT_URI_MAX,
    STATE_MAX,
    authorization_params_problem,
)
from tests.oidc_flow import APP_ID, APP_REDIRECT, Pkce

VALID = {
    "response_type": "code",
    "client_id": APP_ID,
    "redirect_uri": APP_REDIRECT,
    "scope": "openid profile",
    "state": "s",
    "nonce": "n",
    "code_challenge": Pkce().challenge,
    "code_challenge_method": "S256",
}
LIMITS = {
    "client_id": CLIENT_ID_MAX,
    "redirect_uri": REDIRECT_URI_MAX,
    "state": STATE_MAX,
    "nonce": NONCE_MAX,
    "code_challenge": 43,
}
NAMES = [*VALID, "prompt", "max_age", "acr_values", "login_hint", "idp", "agency"]
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def problem_of(params: dict[str, str]):
    return authorization_params_problem(params=QueryDict(urlencode(params)))


def test_a_valid_request_has_no_problem() -> None:
    assert problem_of(VALID) is None


@given(
    name=st.sampled_from(NAMES),
    value=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=5000),
)
def test_no_control_character_or_overlong_value_gets_through(name: str, value: str) -> None:
    """R-SEC-3: whatever one parameter holds, what passes fits its column and has no NUL."""
    problem = problem_of({**VALID, name: value})
    if problem is None:
        assert not CONTROL.search(value)
        assert len(value) <= LIMITS.get(name, OTHER_MAX)
    else:
        assert problem.redirectable is (problem.parameter not in ("client_id", "redirect_uri"))


def test_repeated_parameters_are_refused() -> None:
    """RFC 6749 §3.1: a parameter must not be included more than once."""
    query = urlencode(VALID) + "&nonce=other"
    problem = authorization_params_problem(params=QueryDict(query))
    assert problem is not None and problem.parameter == "nonce"


def test_ui_locales_is_a_preference_never_a_problem() -> None:
    """OIDC Core §3.1.2.1: an error SHOULD NOT result from ui_locales; the pages ignore it."""
    for value in ("da_DK!", "da " * 300, "x\x01"):
        assert problem_of({**VALID, "ui_locales": value}) is None


def test_resource_may_be_repeated() -> None:
    """RFC 8707 §2: several resource indicators are allowed."""
    query = urlencode(VALID) + "&resource=https://a.example/&resource=https://b.example/"
    assert authorization_params_problem(params=QueryDict(query)) is None

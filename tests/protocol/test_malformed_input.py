"""R-SEC-3: no malformed request gets a 500 from the login platform (property-based)."""

from __future__ import annotations

import re

import pytest
from django.test import Client as Browser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.oidc_flow import APP_REDIRECT, AUTHORIZE, TOKEN, Pkce

pytestmark = pytest.mark.django_db

# Any text a URL or form can carry: no lone surrogates (they cannot be encoded at all).
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
AUTHORIZE_PARAMS = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "acr_values",
    "idp",
    "agency",
    "presel",
    "agencytype",
    "force_login",
    "login_plan",
    "ui_locales",
    "claims",
    "request",
    "request_uri",
    "id_token_hint",
    "login_hint",
    "response_mode",
    "display",
    "resource",
]
VALID = {
    "response_type": "code",
    "client_id": "demo-app",
    "redirect_uri": APP_REDIRECT,
    "scope": "openid profile",
    "state": "s",
    "code_challenge": Pkce().challenge,
    "code_challenge_method": "S256",
}
TOKEN_PARAMS = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "client_id",
    "client_secret",
    "refresh_token",
    "scope",
    "resource",
    "username",
    "password",
    "device_code",
]
RELAXED = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def params_strategy(names: list[str], base: dict[str, str]):
    """Start from a valid request, then replace, drop or repeat parameters with any text."""
    overrides = st.dictionaries(st.sampled_from(names), text, max_size=6)
    dropped = st.sets(st.sampled_from(sorted(base)), max_size=3)
    extra = st.dictionaries(text.filter(lambda k: k not in names), text, max_size=2)
    return st.tuples(overrides, dropped, extra, st.booleans())


def build(base, overrides, dropped, extra, repeat):
    query = [(k, v) for k, v in base.items() if k not in dropped]
    query = [(k, overrides.get(k, v)) for k, v in query]
    query += [(k, v) for k, v in overrides.items() if k not in base]
    query += list(extra.items())
    if repeat and query:
        query.append(query[0])
    return query


@RELAXED
@given(params_strategy(AUTHORIZE_PARAMS, VALID))
def test_the_authorization_endpoint_never_answers_500(demo, case):
    overrides, dropped, extra, repeat = case
    browser = Browser(raise_request_exception=True)
    from urllib.parse import urlencode

    query = build(VALID, overrides, dropped, extra, repeat)
    response = browser.get(AUTHORIZE + "?" + urlencode(query))
    assert response.status_code < 500
    if response.status_code == 302:
        location = response["Location"]
        # Only ever to the registered URI or our own login pages.
        assert location.startswith((APP_REDIRECT + "?", "/login/")), location


@RELAXED
@given(
    params_strategy(
        TOKEN_PARAMS,
        {
            "grant_type": "authorization_code",
            "code": "x",
            "redirect_uri": APP_REDIRECT,
            "code_verifier": Pkce().verifier,
            "client_id": "demo-app",
        },
    ),
    st.one_of(
        st.none(), text, st.sampled_from(["Basic", "Basic !!!", "Basic ZGVtbzo=", "Bearer x"])
    ),
)
def test_the_token_endpoint_never_answers_500(demo, case, authorization):
    overrides, dropped, extra, repeat = case
    base = {
        "grant_type": "authorization_code",
        "code": "x",
        "redirect_uri": APP_REDIRECT,
        "code_verifier": Pkce().verifier,
        "client_id": "demo-app",
    }
    body = build(base, overrides, dropped, extra, repeat)
    browser = Browser(raise_request_exception=True)
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    from urllib.parse import urlencode

    response = browser.generic(
        "POST",
        TOKEN,
        urlencode(body),
        content_type="application/x-www-form-urlencoded",
        **headers,
    )
    assert response.status_code < 500
    # NUL, in the body or in a header (the Authorization too), is refused before the endpoint.
    if not any("\x00" in k + v for k, v in body) and "\x00" not in (authorization or ""):
        assert response["Content-Type"].startswith("application/json")


@RELAXED
@given(
    st.sampled_from(["/login/revoke/", "/login/introspect/", "/login/userinfo/", "/login/logout/"]),
    st.dictionaries(
        st.sampled_from(
            [
                "token",
                "token_type_hint",
                "client_id",
                "client_secret",
                "id_token_hint",
                "post_logout_redirect_uri",
                "state",
                "access_token",
            ]
        ),
        text,
        max_size=5,
    ),
    st.booleans(),
)
def test_the_other_endpoints_never_answer_500(demo, path, data, as_get):
    browser = Browser(raise_request_exception=True)
    response = browser.get(path, data) if as_get else browser.post(path, data)
    assert response.status_code < 500


@RELAXED
@given(
    text,
    text,
    text,
    st.one_of(st.sampled_from(["710100", "829000", "999999", "x", ""]), text),
)
def test_the_library_login_form_never_answers_500(demo, user_id, pin, plan, agency_id):
    browser = Browser(raise_request_exception=True)
    from urllib.parse import quote, urlencode

    start = browser.get(AUTHORIZE + "?" + urlencode(VALID))
    real_plan = start["Location"].split("plan=")[1]
    for use_plan in (real_plan, plan):
        segment = quote(agency_id, safe="")
        url = f"/login/bibliotek/{segment}/" if segment else "/login/bibliotek/-/"
        response = browser.post(
            url + "?" + urlencode({"plan": use_plan}),
            {"plan": use_plan, "user_id": user_id, "password": pin},
        )
        assert response.status_code < 500
        # R-BC-5: the PIN never comes back in the page (the password field is always empty).
        assert not re.search(r'<input type="password"[^>]*value=', response.content.decode())
    assert browser.get("/login/", {"plan": plan, "q": user_id}).status_code < 500


@RELAXED
@given(
    st.binary(max_size=200),
    st.sampled_from(
        [
            AUTHORIZE,
            "/login/",
            "/login/mitid/callback",
            "/login/logout/",
            "/login/bibliotek/710100/",
        ]
    ),
)
def test_raw_query_strings_never_answer_500(demo, raw, path):
    """Percent-encoded bytes that are not UTF-8, stray '&' and '=': a page, never a 500."""
    from urllib.parse import quote_from_bytes

    browser = Browser(raise_request_exception=True)
    query = quote_from_bytes(raw, safe=b"&=")
    response = browser.generic("GET", f"{path}?{query}")
    assert response.status_code < 500


@pytest.fixture
def logged_in(demo) -> Browser:
    """A browser with a library login, so that requests reach single sign-on and code issue."""
    from tests.oidc_flow import OIDCFlow

    flow = OIDCFlow(Browser(raise_request_exception=True))
    flow.login_library(agency_id="710100", user_id="1000001", pin="1234")
    return flow.browser


@RELAXED
@given(params_strategy(AUTHORIZE_PARAMS, VALID))
def test_the_authorization_endpoint_with_a_login_never_answers_500(logged_in, case):
    from urllib.parse import urlencode

    overrides, dropped, extra, repeat = case
    query = build(VALID, overrides, dropped, extra, repeat)
    response = logged_in.get(AUTHORIZE + "?" + urlencode(query))
    assert response.status_code < 500
    if response.status_code == 302:
        assert response["Location"].startswith((APP_REDIRECT + "?", "/login/"))


@RELAXED
@given(st.dictionaries(st.sampled_from(TOKEN_PARAMS), text, max_size=4), st.booleans())
def test_the_token_endpoint_with_a_real_code_never_answers_500(logged_in, overrides, repeat):
    """A genuine code with any other parameters changed: an OAuth error at most, never a 500."""
    from urllib.parse import urlencode

    from tests.oidc_flow import query_of

    pkce = Pkce()
    params = dict(VALID, code_challenge=pkce.challenge)
    answer = logged_in.get(AUTHORIZE + "?" + urlencode(params))
    code = query_of(answer["Location"])["code"]
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": APP_REDIRECT,
        "code_verifier": pkce.verifier,
        "client_id": "demo-app",
        **overrides,
    }
    items = list(body.items()) + ([next(iter(body.items()))] if repeat else [])
    response = logged_in.generic(
        "POST", TOKEN, urlencode(items), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code < 500

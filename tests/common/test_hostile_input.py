"""R-SEC-3: hostile headers, cookies and parameters never get a 500 from any endpoint.

Every URL of the login platform and the portal is taken from the URL resolver, so an endpoint
added later is fuzzed without anyone remembering to list it. The same tests run in the SQLite
suite and in the PostgreSQL one (CI's second run), where NUL and over-long values fail
differently: PostgreSQL refuses NUL in any text and enforces column lengths.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlencode

import pytest
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.test.client import FakePayload
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.oidc_flow import APP_REDIRECT, OIDCFlow, Pkce

pytestmark = pytest.mark.django_db

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql"))

# CI gets the same examples on every run; a developer's run explores new ones.
FUZZ = settings(
    max_examples=int(os.environ.get("BIBLOGIN_FUZZ_EXAMPLES", "200")),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- Every endpoint, from the URL resolver -------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str  # with "{}" where a path argument goes, e.g. "/login/bibliotek/{}/"
    arguments: int

    def url(self, *segments: str) -> str:
        return self.path.format(*(quote(s, safe="") or "-" for s in segments))


# The staff UI (Django admin) is not part of the login platform or the portal.
NOT_FUZZED = {"admin"}


def _walk(patterns: list[Any], namespace: str) -> list[tuple[str, URLPattern]]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in NOT_FUZZED:
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            found += _walk(pattern.url_patterns, inner)
        else:
            found.append((namespace, pattern))
    return found


def endpoints() -> list[Endpoint]:
    result = []
    for namespace, pattern in _walk(get_resolver().url_patterns, ""):
        assert pattern.name, f"unnamed URL pattern {pattern.pattern}: give it a name to fuzz it"
        names = list(pattern.pattern.regex.groupindex)
        # A marker that survives reverse() and quote(); the path argument goes there.
        marker = "HOSTILEARG"
        path = reverse(f"{namespace}{pattern.name}", kwargs=dict.fromkeys(names, marker))
        result.append(
            Endpoint(f"{namespace}{pattern.name}", path.replace(marker, "{}"), len(names))
        )
    return result


ENDPOINTS = endpoints()


def test_the_fuzzer_covers_the_login_platform_and_the_portal() -> None:
    """R-SEC-3: the enumeration finds the endpoints that matter (and so any new one)."""
    names = {e.name for e in ENDPOINTS}
    assert {
        "oauth2_provider:authorize",
        "oauth2_provider:token",
        "oauth2_provider:revoke-token",
        "oauth2_provider:introspect",
        "oauth2_provider:user-info",
        "login:library",
        "login:mitid-callback",
        "portal:home",
        "portal:login",
        "portal:callback",
        "portal:library-remove",
        "set_language",
    } <= names
    assert not any(n.startswith("admin:") for n in names)


# --- Hostile values ------------------------------------------------------------------------

# No lone surrogates: they cannot be encoded at all, so no client can send them.
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
nul_text = st.builds(lambda a, b: f"{a}\x00{b}", any_text, any_text)
long_text = st.builds(
    lambda c, n: c * n,
    st.sampled_from(["a", "7", "%", "æ", "-_"]),
    st.sampled_from([129, 256, 5000]),
)
# Bytes that are not UTF-8, as a WSGI server hands them over (latin-1 decoded).
raw_bytes = st.binary(min_size=1, max_size=40).map(lambda b: b.decode("latin-1"))
hostile = st.one_of(
    nul_text,
    long_text,
    any_text,
    raw_bytes,
    st.sampled_from(["", "\x00", "%00", "710100", "-1", "[]", "{}", "null", "true", "1e999"]),
)
# Header values are latin-1 in WSGI; text beyond it cannot travel in a header.
header_value = st.one_of(
    nul_text.map(lambda s: s.encode("utf-8").decode("latin-1")),
    long_text.map(lambda s: s.encode("utf-8").decode("latin-1")),
    raw_bytes,
)

PARAMETERS = [
    # OAuth 2.0 / OpenID Connect
    "response_type",
    "client_id",
    "client_secret",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "code_verifier",
    "code",
    "grant_type",
    "refresh_token",
    "token",
    "token_type_hint",
    "prompt",
    "max_age",
    "ui_locales",
    "id_token_hint",
    "post_logout_redirect_uri",
    "response_mode",
    "request",
    "iss",
    "error",
    "idp",
    "agency",
    # the login pages and the portal
    "plan",
    "user_id",
    "password",
    "remember",
    "q",
    "next",
    "bestilling",
    "choice",
    "agency_id",
    "branch_id",
    "language",
    "csrfmiddlewaretoken",
]
params = st.lists(st.tuples(st.one_of(st.sampled_from(PARAMETERS), any_text), hostile), max_size=6)

COOKIES = [
    "sessionid",
    "csrftoken",
    "django_language",
    "bibdk_session",
    "bibdk_last_library",
    "biblogin_library",
    "messages",
]
# As a WSGI server hands a header over: its bytes decoded as latin-1.
cookies = st.dictionaries(
    st.sampled_from(COOKIES),
    st.one_of(hostile, st.sampled_from(["a" * 32, "A" * 64, "x" * 40, "710100"])).map(
        lambda s: s.encode("utf-8", "surrogatepass").decode("latin-1")
    ),
    max_size=4,
)
HEADERS = [
    "HTTP_HOST",
    "HTTP_AUTHORIZATION",
    "HTTP_ACCEPT_LANGUAGE",
    "HTTP_USER_AGENT",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_ORIGIN",
    "HTTP_REFERER",
    "HTTP_X_CSRFTOKEN",
    "HTTP_IF_NONE_MATCH",
    "HTTP_ACCEPT",
]


def basic(user: str, password: str = "x") -> str:
    pair = f"{user}:{password}".encode("utf-8", "surrogatepass")
    return "Basic " + base64.b64encode(pair).decode()


authorization = st.one_of(
    st.builds(basic, hostile, hostile),
    st.builds(lambda s: "Bearer " + s, header_value),
    st.sampled_from(["Basic", "Basic !!!", "Basic " + "A" * 5000, "Bearer", "Digest x"]),
)
headers = st.dictionaries(
    st.sampled_from(HEADERS), st.one_of(header_value, authorization), max_size=3
)
CHARSETS = ["latin-1", "iso-8859-1", "utf-16", "utf-32", "utf8", "UTF-8", "rot13", "base64"]
CHARSETS += ["hex", "zlib", "idna", "unicode_escape", "x-bogus", "cp1252", ""]


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    """Draw a body and its Content-Type: forms in other charsets, multipart garbage, raw bytes."""
    kind = draw(st.sampled_from(["form", "form-charset", "multipart", "garbage", "json"]))
    fields = draw(params)
    if kind == "form":
        return urlencode(fields).encode(), "application/x-www-form-urlencoded"
    charset = draw(st.sampled_from(CHARSETS))
    if kind == "form-charset":
        body = urlencode(fields, encoding="latin-1", errors="replace").encode()
        return body, f"application/x-www-form-urlencoded; charset={charset}"
    if kind == "multipart":
        boundary = draw(st.sampled_from(["BoUnDaRy", "", "x" * 300, "a\x00b"]))
        parts = b"".join(
            b'--BoUnDaRy\r\nContent-Disposition: form-data; name="'
            + k.encode("utf-8", "surrogatepass")
            + b'"\r\n\r\n'
            + v.encode("utf-8", "surrogatepass")
            + b"\r\n"
            for k, v in fields
        )
        tail = draw(st.sampled_from([b"--BoUnDaRy--\r\n", b"", b"--BoUnDaRy\r\n\xff\xfe"]))
        return parts + tail, f"multipart/form-data; boundary={boundary}; charset={charset}"
    if kind == "garbage":
        content_type = draw(
            st.sampled_from(
                [
                    "application/x-www-form-urlencoded",
                    "multipart/form-data",
                    "text/plain",
                    "",
                ]
            )
        )
        return draw(st.binary(max_size=300)), content_type
    return draw(st.binary(max_size=100)), f"application/json; charset={charset}"


@dataclass
class Hostile:
    endpoint: Endpoint
    segments: list[str]
    method: str
    query: list[tuple[str, str]]
    body: tuple[bytes, str]
    cookies: dict[str, str]
    headers: dict[str, str]
    with_csrf_token: bool


hostile_requests = st.builds(
    Hostile,
    endpoint=st.sampled_from(ENDPOINTS),
    segments=st.lists(st.one_of(st.just("710100"), hostile), min_size=2, max_size=2),
    method=st.sampled_from(["GET", "POST", "POST", "HEAD", "PUT", "OPTIONS"]),
    query=params,
    body=bodies(),
    cookies=cookies,
    headers=headers,
    with_csrf_token=st.booleans(),
)


CSRF_SECRET = "k" * 32


class Server:
    """Django's WSGI application as the production server runs it (``config.wsgi``).

    Not the test client: it builds Django's own request class, which is the very thing a
    hostile charset broke before any middleware ran.
    """

    def __init__(self) -> None:
        # The production entry point; imported once: building it scans the static files.
        from config.wsgi import application

        self.handler = application
        self.errors: list[BaseException] = []

    def _record(self, sender: Any, **kwargs: Any) -> None:
        self.errors.append(sys.exc_info()[1] or RuntimeError("request exception"))

    def request(self, environ: dict[str, Any]) -> tuple[int, bytes]:
        status: list[int] = []

        def start_response(line: str, headers: Any, exc_info: Any = None) -> None:
            status.append(int(line.split()[0]))

        # As Django's test client: the test's transaction must survive the request.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        got_request_exception.connect(self._record)
        try:
            result = self.handler(environ, start_response)
            body = b"".join(result)
            result.close()
        except Exception as exc:  # what escapes the handler, the server answers with a 500
            self.errors.append(exc)
            return 500, b""
        finally:
            got_request_exception.disconnect(self._record)
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return status[0], body


def send(case: Hostile, *, browser: Client | None = None) -> tuple[int, bytes, list[BaseException]]:
    """Send ``case`` through the WSGI application; ``browser`` lends its cookies (a login)."""
    browser = browser or Client()
    server = Server()
    # A valid CSRF secret as cookie and header, so that forms reach the view behind the check.
    csrf = [f"csrftoken={CSRF_SECRET}"] if case.with_csrf_token else []
    cookie = "; ".join(
        [f"{m.key}={m.coded_value}" for m in browser.cookies.values()]
        + csrf
        + [f"{k}={v}" for k, v in case.cookies.items()]
    )
    headers = {"HTTP_X_CSRFTOKEN": CSRF_SECRET} if case.with_csrf_token else {}
    headers.update(case.headers)
    body, content_type = case.body
    if case.method not in {"POST", "PUT"}:
        body = b""
    path = case.endpoint.url(*case.segments[: case.endpoint.arguments])
    environ = browser._base_environ(
        PATH_INFO=unquote_to_bytes(path).decode("iso-8859-1"),
        REQUEST_METHOD=case.method,
        QUERY_STRING=urlencode(case.query),
        CONTENT_TYPE=content_type,
        CONTENT_LENGTH=str(len(body)),
        HTTP_COOKIE=cookie,
    )
    environ.update(headers)
    environ["wsgi.input"] = FakePayload(body)
    status, content = server.request(environ)
    return status, content, server.errors


def assert_no_500(sent: tuple[int, bytes, list[BaseException]], case: Hostile) -> None:
    status, _content, errors = sent
    if errors:
        raise AssertionError(f"{status} for {case}") from errors[0]
    assert status < 500, (status, case)


# --- The property tests --------------------------------------------------------------------


@FUZZ
@given(hostile_requests)
def test_no_endpoint_answers_500_to_hostile_input(demo: None, case: Hostile) -> None:
    """R-SEC-3: NUL, non-UTF-8 charsets, over-long values, garbage bodies: never a 500."""
    assert_no_500(send(case), case)


@pytest.fixture
def portal_user(demo: None, mitid_settings: Any) -> Client:
    """A browser logged in at the portal (and so at the login platform: single sign-on)."""
    from tests.portal.driver import PortalBrowser

    browser = PortalBrowser(Client(raise_request_exception=True), broker=mitid_settings)
    page = browser.library_login("710100", "1503851234", "1234")
    assert page.status_code == 200
    return browser.client


@FUZZ
@given(hostile_requests)
def test_no_endpoint_answers_500_to_hostile_input_when_logged_in(
    portal_user: Client, case: Hostile
) -> None:
    """R-SEC-3: the same with a portal session, so the pages behind the login are reached."""
    assert_no_500(send(case, browser=portal_user), case)


# --- Every endpoint against every hostile input found so far --------------------------------


def _case(**overrides: Any) -> Hostile:
    fields: dict[str, Any] = {
        "endpoint": ENDPOINTS[0],
        "segments": ["710100", "710100"],
        "method": "POST",
        "query": [],
        "body": (b"user_id=1&password=2", "application/x-www-form-urlencoded"),
        "cookies": {},
        "headers": {},
        "with_csrf_token": True,
    }
    fields.update(overrides)
    return Hostile(**fields)


# Enough for the token, revocation and introspection endpoints to look the client up.
TOKEN_FORM = (
    urlencode(
        {
            "grant_type": "authorization_code",
            "code": "x",
            "redirect_uri": APP_REDIRECT,
            "code_verifier": Pkce().verifier,
            "token": "x",
        }
    ).encode(),
    "application/x-www-form-urlencoded",
)
LATIN1_FORM = (b"q=%E6bler&user_id=%F8", "application/x-www-form-urlencoded; charset=latin-1")
KNOWN_CASES = {
    "latin-1 form with a CSRF cookie": _case(body=LATIN1_FORM),
    "latin-1 form without a CSRF cookie": _case(body=LATIN1_FORM, with_csrf_token=False),
    "utf8 spelt without the hyphen": _case(
        body=(b"q=a", "application/x-www-form-urlencoded; charset=utf8")
    ),
    "rot13 charset and a query string": _case(
        method="GET", query=[("q", "a")], body=(b"", "text/plain; charset=rot13")
    ),
    "idna charset and a query string": _case(
        method="GET", query=[("q", "%ff")], body=(b"", "text/plain; charset=idna")
    ),
    "RFC 2231 charset that does not exist": _case(body=(b"q=a", "text/plain; charset*=bogus''x")),
    "multipart without a boundary": _case(body=(b"--x\r\n", "multipart/form-data")),
    "multipart with a NUL in the boundary": _case(
        body=(b"--a\x00b\r\n", "multipart/form-data; boundary=a\x00b")
    ),
    "multipart in latin-1": _case(
        body=(
            b'--B\r\nContent-Disposition: form-data; name="q"\r\n\r\n\xe6\r\n--B--\r\n',
            "multipart/form-data; boundary=B; charset=latin-1",
        )
    ),
    "Content-Length that is not a number": _case(headers={"CONTENT_LENGTH": "abc"}),
    "NUL in a header": _case(method="GET", headers={"HTTP_ACCEPT_LANGUAGE": "da\x00"}),
    "NUL in the Basic client_id": _case(
        body=TOKEN_FORM, headers={"HTTP_AUTHORIZATION": basic("demo\x00app")}
    ),
    "percent-encoded NUL in the Basic client_id": _case(
        body=TOKEN_FORM, headers={"HTTP_AUTHORIZATION": basic("demo%00app")}
    ),
    "over-long Basic client_id": _case(
        body=TOKEN_FORM, headers={"HTTP_AUTHORIZATION": basic("a" * 5000)}
    ),
    "Basic credentials that are not UTF-8": _case(
        body=TOKEN_FORM,
        headers={"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()},
    ),
    "NUL in a Bearer token": _case(method="GET", headers={"HTTP_AUTHORIZATION": "Bearer a\x00"}),
    "NUL in the query": _case(method="GET", query=[("q", "a\x00"), ("state", "\x00")]),
    "NUL in the path": _case(method="GET", segments=["7101\x0000", "\x00"]),
    "NUL in the form": _case(body=(b"user_id=%00&plan=%00", "application/x-www-form-urlencoded")),
    "over-long query values": _case(
        method="GET", query=[(name, "a" * 5000) for name in PARAMETERS]
    ),
    "over-long form values": _case(
        body=(urlencode([(n, "a" * 300) for n in PARAMETERS]).encode(), LATIN1_FORM[1][:33])
    ),
    "over-long path argument": _case(method="GET", segments=["7" * 300, "7" * 300]),
}
# A cookie that cannot be used is dropped and the request goes on: all cookies at once.
for _label, _value in [("NUL in", "7101\x0000"), ("over-long", "7" * 5000), ("æøå in", "\xe6\xf8")]:
    KNOWN_CASES[f"{_label} every cookie"] = _case(
        method="GET", cookies=dict.fromkeys(COOKIES, _value)
    )


def test_every_endpoint_survives_every_known_hostile_input(demo: None) -> None:
    """R-SEC-3: each endpoint of the resolver with each case found so far: no 500."""
    failures = []
    for endpoint in ENDPOINTS:
        for label, template in KNOWN_CASES.items():
            case = Hostile(**{**template.__dict__, "endpoint": endpoint})
            status, _content, errors = send(case)
            if status >= 500 or errors:
                failures.append(f"{case.method} {endpoint.name}: {label}: {status} {errors[:1]}")
    assert not failures, "\n".join(failures)


# --- The defects of the hardening issue, one test each ----------------------------------------

OAUTH_CLIENT_ENDPOINTS = ["/login/token/", "/login/revoke/", "/login/introspect/"]


def _at(path: str, **overrides: Any) -> Hostile:
    return _case(endpoint=Endpoint(path, path, 0), **overrides)


def test_a_latin1_form_with_a_csrf_cookie_gets_a_clear_400_on_every_post_endpoint(
    demo: None,
) -> None:
    """R-SEC-3: it was a 500 everywhere: the 400 page's CSRF check parsed the form again."""
    answers = {
        e.name: send(
            Hostile(**{**KNOWN_CASES["latin-1 form with a CSRF cookie"].__dict__, "endpoint": e})
        )
        for e in ENDPOINTS
    }
    assert {name: status for name, (status, _c, _e) in answers.items() if status != 400} == {}
    assert all("UTF-8" in content.decode() for _s, content, _e in answers.values())


def test_nul_in_the_basic_auth_client_id_is_an_invalid_client_not_a_500(demo: None) -> None:
    """R-SEC-3, RFC 6749 §5.2: PostgreSQL cannot compare NUL; the client gets invalid_client."""
    for path in OAUTH_CLIENT_ENDPOINTS:
        for client_id in ["demo\x00app", "demo%00app", "bibliotek-dk\x00"]:
            authorization = {"HTTP_AUTHORIZATION": basic(client_id, "s")}
            status, content, errors = send(_at(path, body=TOKEN_FORM, headers=authorization))
            assert (status, errors) == (401, []), (path, client_id)
            assert json.loads(content) == {"error": "invalid_client"}


def test_an_over_long_basic_auth_client_id_is_an_invalid_client(demo: None) -> None:
    """R-SEC-3: longer than any client ID can be (django-oauth-toolkit's column is 100)."""
    case = _at("/login/token/", body=TOKEN_FORM, headers={"HTTP_AUTHORIZATION": basic("a" * 101)})
    status, content, _errors = send(case)
    assert status == 401 and json.loads(content)["error"] == "invalid_client"


def test_a_nul_in_the_last_library_cookie_is_ignored_like_no_cookie(demo: None) -> None:
    """R-SEC-3, R-PORTAL-1: "Log ind" shows no last library instead of a 500 (PostgreSQL)."""
    shown = "Dit seneste bibliotek"
    good = send(_at("/log-ind/", method="GET", cookies={"bibdk_last_library": "710100"}))
    assert good[0] == 200 and shown in good[1].decode()
    for value in ["7101\x0000", "\x00", "7" * 5000, "\xe6\xf8\xe5"]:
        status, content, errors = send(
            _at("/log-ind/", method="GET", cookies={"bibdk_last_library": value})
        )
        assert (status, errors) == (200, []), value
        assert shown not in content.decode()


@pytest.mark.parametrize("name", ["sessionid", "bibdk_session"])
def test_a_nul_in_a_session_cookie_means_no_session(demo: None, name: str) -> None:
    """R-SEC-3: the session look-up never sees NUL (a 500 on PostgreSQL's session table)."""
    status, _content, errors = send(
        _at("/profil/", method="GET", cookies={name: "a" * 20 + "\x00"})
    )
    assert errors == [] and status in {200, 302}


# On PostgreSQL these used to reach django-oauth-toolkit's Grant columns (nonce 255,
# code_challenge 128) only when the code was issued, right after the user typed the PIN (a 500);
# the authorization endpoint now refuses them first (biblogin.oidc.authorization_request).
@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"nonce": "n" * 256}, id="nonce-256"),
        pytest.param({"code_challenge": "A" * 129}, id="code-challenge-129"),
    ],
)
def test_an_over_long_authorization_parameter_is_refused_before_the_pin_not_after(
    demo: None, extra: dict[str, str]
) -> None:
    """R-SEC-3, RFC 7636 §4.2: an error for the client, never a 500 after the user's PIN."""
    flow = OIDCFlow(Client(raise_request_exception=False))
    started = flow.start(**extra)
    if started.response.status_code == 302 and started.response["Location"].startswith("/login/"):
        answer = flow.library_login(started, agency_id="710100", user_id="1000001", pin="1234")
    else:
        answer = started.response
    assert answer.status_code < 500


@pytest.mark.parametrize("page", ["bad_request", "permission_denied", "page_not_found"])
def test_the_error_pages_never_read_the_body_that_made_the_request_fail(page: str) -> None:
    """R-SEC-3: Django's own 400 and 403 pages run the CSRF check, which parses the form."""
    from django.core.exceptions import BadRequest
    from django.test import RequestFactory
    from django.views import defaults

    from biblogin.common import error_pages

    def failing_request() -> Any:
        factory = RequestFactory()
        factory.cookies["csrftoken"] = CSRF_SECRET
        return factory.generic("POST", "/log-ind/", *LATIN1_FORM)

    with pytest.raises(BadRequest):
        getattr(defaults, page)(failing_request(), BadRequest("latin-1"))
    response = getattr(error_pages, page)(failing_request(), BadRequest("latin-1"))
    assert (
        response.status_code
        == {"bad_request": 400, "permission_denied": 403, "page_not_found": 404}[page]
    )
    assert 'lang="en"' in response.content.decode()

"""Issue 14: the WSGI entry picks off the hot requests, and only those it fully understands.

R-SEC-3 (hostile input never reaches the lean path: Django's rules answer it), R-LOGIN-1
(rotation races), R-SEC-1 (client secrets).
"""

from __future__ import annotations

import io
import threading
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client as Browser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblogin.oidc.hotpath import testing
from biblogin.oidc.hotpath.entry import lean_entry
from biblogin.oidc.hotpath.tokens import client_secret_matches, random_token
from tests.oidc_flow import TOKEN, USERINFO, OIDCFlow

pytestmark = pytest.mark.django_db


def served() -> int:
    return sum(testing.LEAN_SERVED.values())


def anna(flow: OIDCFlow) -> dict[str, Any]:
    return flow.login_library(agency_id="710100", user_id="1000001", pin="1234")


def test_the_wsgi_entry_answers_userinfo_itself_and_passes_the_rest_to_django(demo):
    """config.wsgi's application: the lean path for /login/userinfo/, Django for the rest."""
    calls: list[str] = []

    def django_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        calls.append(environ["PATH_INFO"])
        start_response("204 No Content", [])
        return []

    app = lean_entry(django_app)
    statuses: list[str] = []

    def call(path: str, **extra: str) -> bytes:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "HTTP_HOST": "testserver",
            "SERVER_PORT": "80",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            **extra,
        }
        return b"".join(app(environ, lambda status, headers: statuses.append(status)))

    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        body = call(USERINFO, HTTP_AUTHORIZATION="Bearer not-a-token")
        call("/login/authorize/")
        call(USERINFO, HTTP_AUTHORIZATION="Bearer a\x00b")  # hostile: Django's rules
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    assert statuses[0].startswith("401") and b"invalid_token" in body
    assert calls == ["/login/authorize/", USERINFO]


def test_the_production_entry_is_the_lean_path_in_front_of_django():
    from config import wsgi

    assert wsgi.application.__qualname__ == "lean_entry.<locals>.application"


@pytest.mark.parametrize(
    "data",
    [
        {"grant_type": "refresh_token", "refresh_token": "a\x00b"},
        {"grant_type": "refresh_token", "refresh_token": "x" * 5000},
        {"grant_type": "refresh_token", "refresh_token": "æøå"},
        {"grant_type": "password", "username": "a", "password": "b"},
        {"grant_type": "refresh_token", "refresh_token": "a", "scope": "openid"},
    ],
)
def test_unusual_token_requests_go_to_django_untouched(app, data):
    """R-SEC-3: NUL, over-long or non-ASCII values, other grants: Django's rules answer (400)."""
    before = served()
    response = app.browser.post(TOKEN, {**data, "client_id": app.client_id})
    assert served() == before
    assert 400 <= response.status_code < 500


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.dictionaries(
        st.sampled_from(["grant_type", "code", "refresh_token", "client_id", "code_verifier"]),
        st.text(max_size=80),
        max_size=5,
    )
)
def test_no_token_request_gets_a_500(app, body):
    """R-SEC-3: whatever the form, the token endpoint answers 2xx/4xx, lean path or not."""
    response = app.browser.post(TOKEN, body)
    assert response.status_code < 500


def test_a_remembered_client_secret_is_still_checked_and_forgets_a_new_hash():
    """R-SEC-1: the memo holds a verified secret per stored hash; a wrong one never passes."""
    stored = make_password("right-secret", hasher="pbkdf2_sha256_client_secret")
    assert client_secret_matches(client_pk=1, provided="right-secret", stored=stored)
    assert client_secret_matches(client_pk=1, provided="right-secret", stored=stored)
    assert not client_secret_matches(client_pk=1, provided="wrong-secret", stored=stored)
    rotated = make_password("new-secret", hasher="pbkdf2_sha256_client_secret")
    assert not client_secret_matches(client_pk=1, provided="right-secret", stored=rotated)
    assert client_secret_matches(client_pk=1, provided="new-secret", stored=rotated)


def test_token_letters_are_drawn_without_bias():
    """Each byte below 248 (4 x 62) stands for one letter, as in oauthlib's draw; the rest are
    dropped, so every one of the 62 letters and digits is equally likely."""
    from biblogin.oidc.hotpath import tokens

    assert len(tokens._BIASED) == 256 - 248
    kept = [tokens._LETTER_OF[b] for b in range(248)]
    assert [chr(c) for c in kept] == [tokens._ALPHABET[b % 62] for b in range(248)]
    assert all(kept.count(ord(letter)) == 4 for letter in tokens._ALPHABET)
    assert bytes(range(256)).translate(tokens._LETTER_OF, tokens._BIASED) == bytes(kept)


def test_tokens_are_thirty_letters_and_digits_and_differ():
    tokens = {random_token() for _ in range(500)}
    assert len(tokens) == 500
    assert all(len(t) == 30 and t.isascii() and t.isalnum() for t in tokens)


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_rotations_of_one_refresh_token_give_one_new_token(demo):
    """R-LOGIN-1, RFC 9700 §4.14.2: real parallel requests; the loser is a reuse; family revoked."""
    flow = OIDCFlow(Browser())
    tokens = anna(flow)
    barrier = threading.Barrier(2)
    answers: list[Any] = []

    def rotate() -> None:
        browser = Browser()
        barrier.wait()
        answers.append(
            browser.post(
                TOKEN,
                {
                    "grant_type": "refresh_token",
                    "refresh_token": tokens["refresh_token"],
                    "client_id": flow.client_id,
                },
            )
        )

    before = served()
    threads = [threading.Thread(target=rotate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert served() - before == 2
    # One rotation wins; the other is a reuse of a rotated token, whichever way they interleave.
    assert sorted(a.status_code for a in answers) == [200, 400]
    winner = next(a for a in answers if a.status_code == 200).json()
    # The reuse revoked the whole family, the winner's fresh tokens included.
    assert flow.refresh(winner["refresh_token"]).status_code == 400
    assert flow.userinfo(winner["access_token"]).status_code == 401

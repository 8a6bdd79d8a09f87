"""OpenID Connect Core 1.0: the ID token and userinfo as a relying party checks them."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest

pytestmark = pytest.mark.django_db


def header_of(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))


def test_the_id_token_validates_as_core_3_1_3_7_asks(app):
    tokens = app.login_library(agency_id="710100", user_id="1000001", pin="1234", max_age="600")
    started = tokens["_started"]
    claims = app.id_token_claims(tokens["id_token"], started)  # signature, iss, aud, exp, nonce
    header = header_of(tokens["id_token"])
    assert header["alg"] == "RS256" and header["kid"]
    assert claims["iat"] <= time.time() + 5 < claims["exp"]
    assert abs(claims["auth_time"] - time.time()) < 60  # max_age asks for auth_time
    digest = hashlib.sha256(tokens["access_token"].encode()).digest()
    at_hash = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert claims["at_hash"] == at_hash
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0


def test_userinfo_by_get_and_post_says_the_same(app):
    tokens = app.login_library(agency_id="710100", user_id="1000001", pin="1234")
    by_get = app.userinfo(tokens["access_token"])
    by_post = app.browser.post(
        "/login/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
    )
    assert by_get.status_code == by_post.status_code == 200
    assert by_get["Content-Type"] == "application/json"
    assert by_get.json() == by_post.json()


def test_without_openid_there_is_no_id_token_and_no_userinfo(app):
    """OIDC Core 3.1.2.1: without ``openid`` it is plain OAuth 2.0."""
    tokens = app.login_library(agency_id="710100", user_id="1000001", pin="1234", scope="profile")
    assert "id_token" not in tokens
    assert app.userinfo(tokens["access_token"]).status_code in (401, 403)


def test_userinfo_without_a_token_or_with_a_bad_one(app):
    assert app.browser.get("/login/userinfo/").status_code == 401
    bad = app.userinfo("not-a-token")
    assert bad.status_code == 401 and "invalid_token" in bad["WWW-Authenticate"]

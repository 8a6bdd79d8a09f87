"""Test helpers: drive the login platform's code flow through Django's test client.

Shared by tests/oidc, tests/login and tests/protocol. Only loopback: the test MitID broker.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.http import HttpResponse
from django.test import Client as Browser
from jwcrypto import jwk, jwt

PORTAL_ID = "bibliotek-dk"
APP_ID = "demo-app"
APP_REDIRECT = "http://127.0.0.1:8765/callback"
APP_POST_LOGOUT = "http://127.0.0.1:8765/"
AUTHORIZE = "/login/authorize/"
TOKEN = "/login/token/"
USERINFO = "/login/userinfo/"


def portal_redirect() -> str:
    return f"{settings.BASE_URL}/auth/callback/"


def portal_secret() -> str:
    return settings.PORTAL_OIDC_CLIENT_SECRET


@dataclass
class Pkce:
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


def path_of(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + ("?" + parts.query if parts.query else "")


@dataclass
class Started:
    """An authorization request on its way: the last response and what the client keeps."""

    response: HttpResponse
    state: str
    nonce: str
    pkce: Pkce


class OIDCFlow:
    """One browser and one relying party."""

    def __init__(
        self,
        browser: Browser,
        *,
        client_id: str = APP_ID,
        redirect_uri: str = APP_REDIRECT,
        secret: str | None = None,
    ) -> None:
        self.browser = browser
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.secret = secret

    @classmethod
    def portal(cls, browser: Browser) -> OIDCFlow:
        return cls(
            browser, client_id=PORTAL_ID, redirect_uri=portal_redirect(), secret=portal_secret()
        )

    # -- front channel ------------------------------------------------------------------------

    def authorize_params(
        self, *, scope: str = "openid profile", **extra: str
    ) -> tuple[dict[str, str], Started]:
        pkce = Pkce()
        state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
        }
        params.update(extra)
        params = {k: v for k, v in params.items() if v is not None}
        return params, Started(
            response=HttpResponse(),
            state=params.get("state", ""),
            nonce=params.get("nonce", ""),
            pkce=pkce,
        )

    def start(self, *, scope: str = "openid profile", **extra: str) -> Started:
        params, started = self.authorize_params(scope=scope, **extra)
        started.response = self.browser.get(AUTHORIZE + "?" + urlencode(params))
        return started

    def follow(self, response: HttpResponse, *, max_hops: int = 10) -> HttpResponse:
        """Follow redirects inside the platform; stop at the client's redirect URI or a page."""
        for _ in range(max_hops):
            if response.status_code not in (301, 302, 303):
                return response
            location = response["Location"]
            if not location.startswith("/") and not location.startswith("http://testserver"):
                return response
            response = self.browser.get(path_of(location))
        return response

    def library_login(
        self, started: Started, *, agency_id: str, user_id: str, pin: str, remember: bool = False
    ) -> HttpResponse:
        """From the login page the request led to: open the library's form and post it."""
        page = self.follow(started.response)
        assert page.status_code == 200, page.status_code
        plan = page.wsgi_request.GET.get("plan")
        assert plan, "the authorization request did not lead to a login page"
        form_url = f"/login/bibliotek/{agency_id}/?plan={plan}"
        data = {"plan": plan, "user_id": user_id, "password": pin}
        if remember:
            data["remember"] = "on"
        response = self.browser.post(form_url, data)
        return self.follow(response)

    def mitid_login(self, started: Started, broker: Any, *, sub: str) -> HttpResponse:
        """From wherever the request led: start MitID, log in at the test broker, come back."""
        response = started.response
        for _ in range(10):
            if response.status_code in (301, 302, 303) and not response["Location"].startswith(
                ("/", "http://testserver")
            ):
                break  # at the broker
            if response.status_code == 200:
                plan = response.wsgi_request.GET.get("plan")
                assert plan, "no login page"
                response = self.browser.get(f"/login/mitid/?plan={plan}")
                continue
            response = self.browser.get(path_of(response["Location"]))
        broker_url = response["Location"]
        callback = broker.login(broker_url, sub=sub)
        return self.follow(self.browser.get(path_of(callback)))

    def login_mitid(
        self, broker: Any, *, sub: str, scope: str = "openid profile", **extra: str
    ) -> dict[str, Any]:
        """The whole code flow with MitID; return the token response."""
        started = self.start(scope=scope, **extra)
        response = self.mitid_login(started, broker, sub=sub)
        tokens = self.exchange(self.code_from(response, started), started)
        tokens["_started"] = started
        return tokens

    def code_from(self, response: HttpResponse, started: Started) -> str:
        assert response.status_code == 302, (response.status_code, response.content[:500])
        location = response["Location"]
        assert location.startswith(self.redirect_uri + "?"), location
        params = query_of(location)
        assert params.get("state") == started.state
        assert params.get("iss") == settings.OIDC_ISSUER
        assert "code" in params, params
        return params["code"]

    # -- back channel -------------------------------------------------------------------------

    def _client_auth(self) -> dict[str, str]:
        if self.secret is None:
            return {}
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode()}

    def token_request(self, data: dict[str, str], *, authenticate: bool = True) -> HttpResponse:
        body = dict(data)
        if self.secret is None or not authenticate:
            body.setdefault("client_id", self.client_id)
        return self.browser.post(TOKEN, body, **(self._client_auth() if authenticate else {}))

    def exchange(self, code: str, started: Started) -> dict[str, Any]:
        response = self.token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": started.pkce.verifier,
            }
        )
        assert response.status_code == 200, response.content
        return json.loads(response.content)

    def refresh(self, refresh_token: str) -> HttpResponse:
        return self.token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def userinfo(self, access_token: str) -> HttpResponse:
        return self.browser.get(USERINFO, HTTP_AUTHORIZATION=f"Bearer {access_token}")

    def id_token_claims(self, id_token: str, started: Started | None = None) -> dict[str, Any]:
        """Verify the ID token against the published JWKS and return its claims."""
        keys = jwk.JWKSet.from_json(self.browser.get("/login/.well-known/jwks.json").content)
        token = jwt.JWT(
            jwt=id_token,
            key=keys,
            check_claims={"iss": settings.OIDC_ISSUER, "aud": self.client_id, "exp": None},
        )
        claims: dict[str, Any] = json.loads(token.claims)
        if started is not None:
            assert claims["nonce"] == started.nonce
        return claims

    def sso_tokens(self, *, scope: str = "openid profile", **extra: str) -> dict[str, Any]:
        """A request answered from this browser's earlier login (no login page)."""
        started = self.start(scope=scope, **extra)
        tokens = self.exchange(self.code_from(started.response, started), started)
        tokens["_started"] = started
        return tokens

    def login_library(
        self, *, agency_id: str, user_id: str, pin: str, scope: str = "openid profile", **extra: str
    ) -> dict[str, Any]:
        """The whole code flow with a library login; return the token response."""
        started = self.start(scope=scope, **extra)
        response = self.library_login(started, agency_id=agency_id, user_id=user_id, pin=pin)
        tokens = self.exchange(self.code_from(response, started), started)
        tokens["_started"] = started
        return tokens

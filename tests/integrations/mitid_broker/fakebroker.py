"""A scripted OIDC broker behind httpx.MockTransport, for answers the real test broker never gives.

It is a small but honest provider: it checks client authentication, the redirect URI, single-use
codes and PKCE S256, and signs ID tokens with its own RSA key; a test then bends one thing
(an audience, a nonce, a key) and sees the client refuse it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from biblogin.common.assurance import NSIS_SUBSTANTIAL
from biblogin.integrations.mitid_broker.client import MitIDClient, MitIDConfig
from biblogin.integrations.mitid_broker.metadata import BrokerMetadataCache

ISSUER = "https://broker.example"
CLIENT_ID = "biblogin"
CLIENT_SECRET = "fake-secret"
REDIRECT_URI = "https://login.example/mitid/callback"


class _Drop:
    def __repr__(self) -> str:  # the same in every process: pytest-xdist compares test IDs
        return "DROP"


DROP = _Drop()  # a claim value that removes the claim

# RSA key generation is slow; the tests share two keys.
KEY_1 = RSAKey.generate_key(2048, parameters={"kid": "key-1", "use": "sig"}, private=True)
KEY_2 = RSAKey.generate_key(2048, parameters={"kid": "key-2", "use": "sig"}, private=True)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value).encode())


def unverified_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class FakeBroker:
    def __init__(self) -> None:
        self.signing_key: RSAKey = KEY_1
        self.published_keys: list[RSAKey] = [KEY_1]
        self.discovery: dict[str, Any] = {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token",
            "userinfo_endpoint": f"{ISSUER}/userinfo",
            "jwks_uri": f"{ISSUER}/jwks",
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }
        self.subject = "7c1e2a5e-anna"
        self.person: dict[str, Any] = {
            "dk.cpr": "1503851234",
            "name": "Anna Andersen",
            "loa": NSIS_SUBSTANTIAL,
        }
        # Bend the ID token: claims merged over the honest ones (DROP removes), header extras,
        # or a function over the finished compact token.
        self.id_token_claims: dict[str, Any] = {}
        self.id_token_header: dict[str, Any] = {}
        self.id_token_rewrite: Callable[[str], str] | None = None
        self.userinfo: dict[str, Any] | None = None  # None: sub + person
        self.userinfo_as_jwt = False
        self.token_answer: httpx.Response | None = None
        self.fail_with: dict[str, Exception | int] = {}  # path -> exception or status
        self.requests: list[httpx.Request] = []
        self._codes: dict[str, dict[str, str]] = {}
        self._access_tokens: set[str] = set()

    # -- what the tests use -------------------------------------------------------------------

    def client(self, **config: Any) -> MitIDClient:
        settings = {"issuer": ISSUER, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        settings.update(config)
        return MitIDClient(
            MitIDConfig(**settings),
            http=httpx.Client(transport=httpx.MockTransport(self.handle)),
            cache=BrokerMetadataCache(),
        )

    def authorize(self, authorize_url: str) -> dict[str, str]:
        """Play the user's login at the broker; return the callback's query parameters."""
        query = dict(httpx.URL(authorize_url).params)
        assert query["client_id"] == CLIENT_ID
        assert query["response_type"] == "code"
        code = secrets.token_urlsafe(16)
        self._codes[code] = query
        return {"code": code, "state": query["state"]}

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.url.path == path)

    # -- the provider -------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        failure = self.fail_with.get(request.url.path)
        if isinstance(failure, Exception):
            raise failure
        if isinstance(failure, int):
            return httpx.Response(failure, text="broken")
        routes = {
            "/.well-known/openid-configuration": lambda: httpx.Response(200, json=self.discovery),
            "/jwks": lambda: httpx.Response(
                200, json=KeySet(list(self.published_keys)).as_dict(private=False)
            ),
            "/token": lambda: self._token(request),
            "/userinfo": lambda: self._userinfo(request),
        }
        route = routes.get(request.url.path)
        return route() if route else httpx.Response(404)

    def _token(self, request: httpx.Request) -> httpx.Response:
        if self.token_answer is not None:
            return self.token_answer
        form = dict(httpx.QueryParams(request.content.decode()))
        if not self._client_authenticated(request, form):
            return httpx.Response(401, json={"error": "invalid_client"})
        query = self._codes.pop(form.get("code", ""), None)
        if query is None or form.get("redirect_uri") != query["redirect_uri"]:
            return httpx.Response(400, json={"error": "invalid_grant"})
        # RFC 7636 4.6: S256(code_verifier) must equal the challenge of the authorization request.
        verifier = form.get("code_verifier", "")
        if b64url(hashlib.sha256(verifier.encode()).digest()) != query["code_challenge"]:
            return httpx.Response(400, json={"error": "invalid_grant"})
        access_token = secrets.token_urlsafe(24)
        self._access_tokens.add(access_token)
        id_token = self.id_token(nonce=query["nonce"], access_token=access_token)
        return httpx.Response(
            200,
            json={
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            },
        )

    def _client_authenticated(self, request: httpx.Request, form: dict[str, str]) -> bool:
        methods = self.discovery.get("token_endpoint_auth_methods_supported") or [
            "client_secret_basic"
        ]
        header = request.headers.get("authorization", "")
        if header.startswith("Basic ") and "client_secret_basic" in methods:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return (unquote(user), unquote(password)) == (CLIENT_ID, CLIENT_SECRET)
        if "client_secret" in form and "client_secret_post" in methods:
            return (form.get("client_id"), form["client_secret"]) == (CLIENT_ID, CLIENT_SECRET)
        return False

    def id_token(self, *, nonce: str, access_token: str) -> str:
        now = int(time.time())
        digest = hashlib.sha256(access_token.encode()).digest()
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": self.subject,
            "aud": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "auth_time": now - 5,
            "nonce": nonce,
            "at_hash": b64url(digest[:16]),
            **self.person,
        }
        for name, value in self.id_token_claims.items():
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        header = {"alg": "RS256", "kid": self.signing_key.kid, **self.id_token_header}
        token = jwt.encode(header, claims, self.signing_key)
        return self.id_token_rewrite(token) if self.id_token_rewrite else token

    def _userinfo(self, request: httpx.Request) -> httpx.Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self._access_tokens:
            return httpx.Response(401, json={"error": "invalid_token"})
        body = self.userinfo if self.userinfo is not None else {"sub": self.subject, **self.person}
        if self.userinfo_as_jwt:
            signed = jwt.encode(
                {"alg": "RS256", "kid": self.signing_key.kid},
                {"iss": ISSUER, "aud": CLIENT_ID, **body},
                self.signing_key,
            )
            return httpx.Response(200, text=signed, headers={"content-type": "application/jwt"})
        return httpx.Response(200, json=body)

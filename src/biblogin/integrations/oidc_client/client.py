"""An OpenID Connect relying party on Authlib: one provider, one client registration.

Authorization code flow with PKCE (S256), state and nonce (Authlib builds the request and redeems
the code); the ID token is verified against the provider's JWKS (joserfc, Authlib's JOSE
library). The caller keeps state, nonce and code verifier between the two steps and decides what
the claims mean.

Every call has an explicit timeout; every failure is an ``OIDCError`` with a short code. Never
logged: codes, tokens, state, nonce, the code verifier, claims.
"""

from __future__ import annotations

import base64
import logging
import math
import re
import secrets
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.oauth2.client import OAuth2Client as AuthlibProtocolClient
from joserfc.jwk import KeySet

from biblogin.integrations.oidc_client.authorization import authorization_params_checked
from biblogin.integrations.oidc_client.errors import (
    OIDCError,
    OIDCTokenInvalid,
    OIDCUnavailable,
)
from biblogin.integrations.oidc_client.metadata import (
    METADATA_TTL_MAX_SECONDS,
    MemoryMetadataCache,
    MetadataCache,
    discovery_check,
    key_set_from_jwks,
    token_auth_method,
)
from biblogin.integrations.oidc_client.tokens import (
    MAX_TOKEN_LENGTH,
    constant_time_equal,
    id_token_verified,
    jwt_verified_claims,
    safe_code,
    signing_algs,
)

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 fork; httpx (pinned, with its WSGI transport) is the
    # fallback it still supports.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

logger = logging.getLogger(__name__)

# RFC 6750 section 2.1 b64token: what may go into an Authorization header.
_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")


@dataclass(frozen=True)
class OIDCConfig:
    """One provider and our registration there."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str = "openid"
    timeout_seconds: float = 5.0
    # None: the same as timeout_seconds.
    connect_timeout_seconds: float | None = None
    # Clock skew tolerated on exp/iat/nbf of the ID token.
    leeway_seconds: int = 60
    discovery_ttl_seconds: float = METADATA_TTL_MAX_SECONDS
    # A token naming a key we do not know refetches the JWKS (key rotation); after a refetch
    # that brought no new key, the next waits this many seconds: junk kids must not turn us
    # into a load generator on the provider.
    jwks_refetch_interval_seconds: float = 30.0
    userinfo_required: bool = False
    user_agent: str = "biblogin-oidc-client"

    def __post_init__(self) -> None:
        if not self.issuer.startswith(("https://", "http://")):
            raise ValueError("the issuer must be an http(s) URL")
        if not self.client_id:
            raise ValueError("the client_id must be set")
        for timeout in (self.timeout_seconds, self.connect_timeout_seconds):
            if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
                raise ValueError("timeouts must be positive numbers")
        if not 0 <= self.discovery_ttl_seconds <= METADATA_TTL_MAX_SECONDS:
            raise ValueError("the discovery document is cached for at most one hour")
        if not 0 <= self.jwks_refetch_interval_seconds <= METADATA_TTL_MAX_SECONDS:
            raise ValueError("the JWKS refetch interval is between 0 and 3600 seconds")


@dataclass(frozen=True, repr=False)
class AuthorizationStart:
    """The URL to send the browser to, and what the caller keeps for the response."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True, repr=False)
class TokenResponse:
    """The token endpoint's answer, checked for shape (RFC 6749 5.1, RFC 6750 2.1)."""

    id_token: str
    access_token: str


class OIDCClient:
    """One provider, one configuration.

    ``transport`` carries every call (the portal passes an in-process one; tests a mock);
    ``cache`` keeps discovery documents and keys between instances.
    """

    def __init__(
        self,
        config: OIDCConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        cache: MetadataCache | None = None,
    ) -> None:
        self.config = config
        self._transport = transport if transport is not None else _default_transport()
        self._cache: MetadataCache = cache if cache is not None else _memory_cache
        self._timeout = httpx.Timeout(
            config.timeout_seconds,
            connect=config.connect_timeout_seconds or config.timeout_seconds,
        )

    # -- the authorization request and response ------------------------------------------------

    def authorization_start(
        self,
        *,
        redirect_uri: str,
        params: Mapping[str, str] | None = None,
        discovery: Mapping[str, Any] | None = None,
    ) -> AuthorizationStart:
        """Return the authorization URL with fresh state, nonce and PKCE S256 challenge.

        Raises ValueError for a programming error (a relative redirect URI, an unknown prompt).
        """
        extra = authorization_params_checked(redirect_uri=redirect_uri, params=params or {})
        document = discovery if discovery is not None else self.discovery()
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        code_verifier = secrets.token_urlsafe(64)  # RFC 7636 4.1: 43-128 characters
        # Authlib's protocol-level client builds the URL; no HTTP client is needed for it.
        protocol = AuthlibProtocolClient(
            None,
            client_id=self.config.client_id,
            scope=self.config.scope,
            code_challenge_method="S256",
        )
        url, _state = protocol.create_authorization_url(
            document["authorization_endpoint"],
            state=state,
            nonce=nonce,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            **extra,
        )
        return AuthorizationStart(url=url, state=state, nonce=nonce, code_verifier=code_verifier)

    def authorization_response_issuer_valid(
        self, *, iss: str | None, discovery: Mapping[str, Any] | None = None
    ) -> bool:
        """RFC 9207 2.4: the ``iss`` of an authorization response (errors included) is the issuer's.

        A provider that advertises ``authorization_response_iss_parameter_supported`` must send
        it: a response without it is refused, as one naming another issuer (a mix-up attack).
        """
        document = discovery if discovery is not None else self.discovery()
        if iss is None:
            return document.get("authorization_response_iss_parameter_supported") is not True
        # Simple string comparison with the issuer identifier discovery gave (RFC 9207 2.4).
        return isinstance(iss, str) and iss == str(document["issuer"])

    # -- the token endpoint --------------------------------------------------------------------

    def code_exchange(
        self,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str,
        discovery: Mapping[str, Any] | None = None,
    ) -> TokenResponse:
        """Redeem an authorization code (with the PKCE verifier) at the token endpoint."""
        document = discovery if discovery is not None else self.discovery()
        method = token_auth_method(document)
        oauth = self._oauth(
            token_endpoint_auth_method=(
                _client_secret_basic if method == "client_secret_basic" else method
            )
        )
        oauth.register_compliance_hook("access_token_response", _token_response_check)
        try:
            token = oauth.fetch_token(
                document["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=code_verifier,
            )
        except OAuthError as error:
            error_code = safe_code(error.error)
            if error_code in {"invalid_client", "unauthorized_client"}:
                logger.warning("OIDC provider %s refused our client: %s", self._name, error_code)
                raise OIDCUnavailable(code="client_refused") from error
            # invalid_grant: a code used twice (reload, back button) or expired.
            raise OIDCError(code=f"token_{error_code}" if error_code else "token_error") from error
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._transport_error(exc, what="token") from exc
        except ValueError as exc:  # Authlib: not a JSON object
            raise OIDCUnavailable(code="token_not_json") from exc
        id_token = token.get("id_token")
        access_token = token.get("access_token")
        token_type = token.get("token_type", "Bearer")
        if (
            not isinstance(id_token, str)
            or not isinstance(access_token, str)
            or not isinstance(token_type, str)
            or token_type.lower() != "bearer"
            or len(access_token) > MAX_TOKEN_LENGTH
            or not _B64TOKEN.match(access_token)
        ):
            raise OIDCTokenInvalid(code="token_response_malformed")
        return TokenResponse(id_token=id_token, access_token=access_token)

    # -- ID token and userinfo -----------------------------------------------------------------

    def id_token_claims(
        self,
        *,
        token: TokenResponse,
        nonce: str,
        max_age: int | None = None,
        discovery: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Return the claims of the ID token after OIDC Core 3.1.3.7 validation."""
        document = discovery if discovery is not None else self.discovery()
        return id_token_verified(
            token.id_token,
            key_set=lambda refetch: self.key_set(discovery=document, refetch=refetch),
            algorithms=signing_algs(document.get("id_token_signing_alg_values_supported")),
            issuer=document["issuer"],
            client_id=self.config.client_id,
            nonce=nonce,
            access_token=token.access_token,
            leeway=self.config.leeway_seconds,
            max_age=max_age,
        )

    def userinfo(
        self, *, access_token: str, subject: str, discovery: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Return the userinfo claims (JSON or signed JWT); empty when there is no endpoint."""
        document = discovery if discovery is not None else self.discovery()
        endpoint = document.get("userinfo_endpoint")
        if not isinstance(endpoint, str):
            return {}
        response = self._send(
            "GET",
            endpoint,
            what="userinfo",
            headers={
                "Authorization": f"Bearer {access_token}",
                "Accept": "application/json, application/jwt",
            },
        )
        if response.status_code != 200:
            raise OIDCTokenInvalid(code="userinfo_refused")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/jwt":
            algorithms = signing_algs(
                document.get("userinfo_signing_alg_values_supported")
                or document.get("id_token_signing_alg_values_supported")
            )
            claims = jwt_verified_claims(
                response.text.strip(),
                algorithms=algorithms,
                key_set=lambda refetch: self.key_set(discovery=document, refetch=refetch),
            )
            if claims.get("iss", document["issuer"]) != document["issuer"]:
                raise OIDCTokenInvalid(code="userinfo_iss")
        else:
            claims = _json_object(response, what="userinfo")
        # OIDC Core 5.3.2: userinfo about anyone else must not be used.
        userinfo_sub = claims.get("sub")
        if not isinstance(userinfo_sub, str) or not constant_time_equal(userinfo_sub, subject):
            raise OIDCTokenInvalid(code="userinfo_sub")
        return claims

    # -- metadata ------------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        """Return the provider's checked discovery document (cached up to the TTL)."""
        issuer = self.config.issuer
        key = f"discovery:{issuer}"
        entry = self._fresh(self._cache.get(key))
        if entry is not None:
            document: dict[str, Any] = entry["document"]
            return document
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        response = self._send("GET", url, what="discovery")
        if response.status_code != 200:
            raise OIDCUnavailable(code="discovery_status")
        document = _json_object(response, what="discovery")
        discovery_check(document, issuer=issuer, userinfo_required=self.config.userinfo_required)
        self._put(key, document)
        return document

    def key_set(self, *, discovery: Mapping[str, Any] | None = None, refetch: bool) -> KeySet:
        """Return the provider's signing keys; ``refetch`` asks for fresh ones (rate-limited)."""
        document = discovery if discovery is not None else self.discovery()
        jwks_uri: str = document["jwks_uri"]
        key = f"jwks:{jwks_uri}"
        asked_at = time.time()
        seen = self._fresh(self._cache.get(key))
        if seen is not None and not refetch:
            return key_set_from_jwks(seen["document"])
        # One fetch per JWKS at a time in this process: threads that asked meanwhile take
        # what it brought instead of asking the provider again.
        with _jwks_lock(jwks_uri):
            entry = self._fresh(self._cache.get(key))
            if entry is not None and entry["fetched_at"] >= asked_at:
                return key_set_from_jwks(entry["document"])
            if entry is not None and not refetch:
                return key_set_from_jwks(entry["document"])
            # The last refetch brought no new key (a token named one the provider does not
            # publish): no second one within the interval. A real rotation is never blocked.
            if (
                entry is not None
                and entry.get("futile_refetch") is True
                and time.time() - entry["fetched_at"] < self.config.jwks_refetch_interval_seconds
            ):
                logger.info("OIDC provider %s: JWKS refetch skipped (rate limit)", self._name)
                return key_set_from_jwks(entry["document"])
            response = self._send("GET", jwks_uri, what="jwks")
            if response.status_code != 200:
                raise OIDCUnavailable(code="jwks_status")
            jwks = _json_object(response, what="jwks")
            key_set = key_set_from_jwks(jwks)
            futile = refetch and entry is not None and entry["document"] == jwks
            self._put(key, jwks, futile_refetch=futile)
            return key_set

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def _name(self) -> str:
        return self.config.issuer

    @cached_property
    def _http(self) -> httpx.Client:
        # Made on the first call (most logins find everything cached); never closed: closing
        # would close the shared transport.
        return httpx.Client(
            transport=self._transport,
            timeout=self._timeout,
            follow_redirects=False,
            headers={"User-Agent": self.config.user_agent},
        )

    def _fresh(self, entry: dict[str, Any] | None) -> dict[str, Any] | None:
        if entry is None or not isinstance(entry.get("document"), dict):
            return None
        fetched_at = entry.get("fetched_at")
        if not isinstance(fetched_at, int | float):
            return None
        age = time.time() - fetched_at
        return entry if 0 <= age < self.config.discovery_ttl_seconds else None

    def _put(self, key: str, document: dict[str, Any], *, futile_refetch: bool = False) -> None:
        entry = {"document": document, "fetched_at": time.time(), "futile_refetch": futile_refetch}
        self._cache.put(key, entry, ttl=self.config.discovery_ttl_seconds)

    def _oauth(self, **kwargs: Any) -> OAuth2Client:
        return OAuth2Client(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            scope=self.config.scope,
            code_challenge_method="S256",
            transport=self._transport,
            timeout=self._timeout,
            follow_redirects=False,
            headers={"User-Agent": self.config.user_agent},
            **kwargs,
        )

    def _send(self, method: str, url: str, *, what: str, **kwargs: Any) -> httpx.Response:
        """Call the provider with the configured timeout; no answer or a 5xx is "unavailable"."""
        try:
            response = self._http.request(method, url, **kwargs)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._transport_error(exc, what=what) from exc
        if response.status_code >= 500:
            logger.warning(
                "OIDC provider %s: %s call answered %s", self._name, what, response.status_code
            )
            raise OIDCUnavailable(code="server_error")
        return response

    def _transport_error(self, exc: Exception, *, what: str) -> OIDCUnavailable:
        if isinstance(exc, httpx.TimeoutException):
            logger.warning("OIDC provider %s: %s call timed out", self._name, what)
            return OIDCUnavailable(code="timeout")
        if isinstance(exc, httpx.HTTPStatusError):  # Authlib's raise_for_status
            return OIDCUnavailable(code="server_error")
        logger.warning(
            "OIDC provider %s: %s call failed (%s)", self._name, what, type(exc).__name__
        )
        return OIDCUnavailable(code="unreachable")


# -- helpers ----------------------------------------------------------------------------------


def _client_secret_basic(
    client: Any, method: str, uri: str, headers: Any, body: Any
) -> tuple[str, Any, Any]:
    """RFC 6749 2.3.1: form-encode the id and secret before Base64 (Authlib's does not)."""
    pair = f"{quote(client.client_id, safe='')}:{quote(client.client_secret or '', safe='')}"
    headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return uri, headers, body


def _token_response_check(response: httpx.Response) -> httpx.Response:
    """Authlib compliance hook: classify what is no OAuth answer before Authlib parses it."""
    if response.status_code >= 500:
        logger.warning("OIDC provider: token call answered %s", response.status_code)
        raise OIDCUnavailable(code="server_error")
    body = _json_object(response, what="token")
    if response.status_code != 200 and "error" not in body:
        raise OIDCError(code="token_error")
    return response


def _json_object(response: httpx.Response, *, what: str) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError as exc:
        raise OIDCUnavailable(code=f"{what}_not_json") from exc
    if not isinstance(value, dict):
        raise OIDCUnavailable(code=f"{what}_not_object")
    return value


_memory_cache = MemoryMetadataCache()
_jwks_locks_lock = threading.Lock()
_jwks_locks: dict[str, threading.Lock] = {}


def _jwks_lock(jwks_uri: str) -> threading.Lock:
    with _jwks_locks_lock:
        return _jwks_locks.setdefault(jwks_uri, threading.Lock())


_transport_lock = threading.Lock()
_shared_transport: httpx.BaseTransport | None = None


def _default_transport() -> httpx.BaseTransport:
    """Return the process's pooled transport (connections reused across logins)."""
    global _shared_transport
    with _transport_lock:
        if _shared_transport is None:
            _shared_transport = httpx.HTTPTransport()
        return _shared_transport


def oidc_metadata_cache_clear() -> None:
    """Forget the per-process discovery documents and keys (tests; a provider with new keys)."""
    _memory_cache.clear()

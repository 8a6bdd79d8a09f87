"""The portal as an OpenID Connect relying party of the login platform (R-PORTAL-0).

Authorization code flow with PKCE (S256), state and nonce; the ID token is verified against the
provider's JWKS (signature, issuer, audience, expiry, nonce, at_hash) with Authlib; userinfo adds
the claims. When the issuer is this deployment, back-channel calls run in-process.
"""

from __future__ import annotations

import logging
import secrets
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.oidc.core import CodeIDToken
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from biblogin.common.errors import ApplicationError
from biblogin.portal.inprocess import in_process_transport

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 fork; httpx (pinned, with its WSGI transport) is the
    # fallback it still supports.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

logger = logging.getLogger(__name__)

SCOPE = "openid profile cpr"
_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_METADATA_SECONDS = 300
_LEEWAY_SECONDS = 60


class LoginServiceError(ApplicationError):
    """The login platform could not be reached or gave an answer the portal cannot trust."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            _("Der er problemer med login lige nu. Prøv igen om lidt."), code="login_service"
        )
        self.detail = detail


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class TokenResult:
    id_token: str
    claims: dict[str, Any]


def issuer() -> str:
    return str(settings.PORTAL_OIDC_ISSUER).rstrip("/")


def redirect_uri() -> str:
    """The callback registered for the portal's client, matched exactly by the provider."""
    return f"{settings.BASE_URL}/auth/callback/"


def post_logout_redirect_uri() -> str:
    return f"{settings.BASE_URL}/"


def _is_local() -> bool:
    base = str(settings.BASE_URL).rstrip("/")
    return issuer() == base or issuer().startswith(base + "/")


def _transport() -> httpx.BaseTransport | None:
    return in_process_transport() if _is_local() else None


def _client(**kwargs: Any) -> OAuth2Client:
    transport = _transport()
    extra: dict[str, Any] = {"transport": transport} if transport is not None else {}
    return OAuth2Client(
        client_id=settings.PORTAL_OIDC_CLIENT_ID,
        client_secret=settings.PORTAL_OIDC_CLIENT_SECRET,
        token_endpoint_auth_method="client_secret_basic",
        redirect_uri=redirect_uri(),
        scope=SCOPE,
        code_challenge_method="S256",
        timeout=_TIMEOUT,
        **extra,
        **kwargs,
    )


def _http() -> httpx.Client:
    transport = _transport()
    if transport is not None:
        return httpx.Client(transport=transport, timeout=_TIMEOUT)
    return httpx.Client(timeout=_TIMEOUT)


def _get_json(url: str) -> dict[str, Any]:
    try:
        with _http() as client:
            response = client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            data = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise LoginServiceError(f"GET {url}: {error}") from error
    if not isinstance(data, dict):
        raise LoginServiceError(f"GET {url}: not a JSON object")
    return data


def provider_metadata() -> dict[str, Any]:
    """Return the provider's discovery document, cached for five minutes."""
    key = f"portal:oidc:metadata:{issuer()}"
    data = cache.get(key)
    if isinstance(data, dict):
        return data
    data = _get_json(f"{issuer()}/.well-known/openid-configuration")
    # OpenID Connect Discovery §4.3: the issuer must be exactly the one we asked.
    if str(data.get("issuer", "")).rstrip("/") != issuer():
        raise LoginServiceError("discovery issuer mismatch")
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        if not isinstance(data.get(field), str):
            raise LoginServiceError(f"discovery without {field}")
    cache.set(key, data, _METADATA_SECONDS)
    return data


def authorization_response_issuer_valid(*, iss: str | None) -> bool:
    """RFC 9207 §2.4: the ``iss`` of an authorization response (errors included) is the issuer's.

    A provider that advertises ``authorization_response_iss_parameter_supported`` must send it:
    a response without it is refused, as one naming another issuer (a mix-up attack).
    """
    try:
        metadata = provider_metadata()
    except LoginServiceError:
        return False
    if iss is None:
        return metadata.get("authorization_response_iss_parameter_supported") is not True
    # Simple string comparison with the issuer identifier discovery gave (RFC 9207 §2.4).
    return isinstance(iss, str) and iss == str(metadata.get("issuer", ""))


def _key_set(*, force: bool = False) -> KeySet:
    key = f"portal:oidc:jwks:{issuer()}"
    data = None if force else cache.get(key)
    if not isinstance(data, dict):
        data = _get_json(provider_metadata()["jwks_uri"])
        cache.set(key, data, _METADATA_SECONDS)
    try:
        return KeySet.import_key_set(data)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise LoginServiceError(f"unusable JWKS: {error}") from error


def authorization_request_build(*, params: dict[str, str]) -> AuthorizationRequest:
    """Return the URL that starts a login at the provider, with fresh state, nonce and PKCE."""
    metadata = provider_metadata()
    state = secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(24)
    verifier = generate_token(64)
    with _client() as client:
        url, _state = client.create_authorization_url(
            metadata["authorization_endpoint"],
            state=state,
            nonce=nonce,
            code_verifier=verifier,
            **params,
        )
    return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)


def _id_token_claims(
    *, id_token: str, nonce: str, access_token: str, max_age: int | None
) -> dict[str, Any]:
    metadata = provider_metadata()
    algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
    try:
        try:
            token = jwt.decode(id_token, _key_set(), registry=registry)
        except JoseError:
            # The provider may have rotated its keys since we cached them.
            token = jwt.decode(id_token, _key_set(force=True), registry=registry)
        claims = CodeIDToken(
            token.claims,
            token.header,
            {
                "iss": {"essential": True, "value": issuer()},
                "aud": {"essential": True, "value": settings.PORTAL_OIDC_CLIENT_ID},
            },
            {
                "nonce": nonce,
                "client_id": settings.PORTAL_OIDC_CLIENT_ID,
                "access_token": access_token,
                "max_age": max_age,
            },
        )
        claims.validate(leeway=_LEEWAY_SECONDS)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise LoginServiceError(f"ID token rejected: {error}") from error
    return dict(claims)


def code_exchange(
    *, code: str, code_verifier: str, nonce: str, max_age: int | None = None
) -> TokenResult:
    """Exchange the code for tokens, verify the ID token and merge the userinfo claims."""
    metadata = provider_metadata()
    try:
        with _client() as client:
            token = client.fetch_token(
                metadata["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
            )
            id_token = token.get("id_token")
            access_token = token.get("access_token")
            if not isinstance(id_token, str) or not isinstance(access_token, str):
                raise LoginServiceError("token response without id_token/access_token")
            claims = _id_token_claims(
                id_token=id_token, nonce=nonce, access_token=access_token, max_age=max_age
            )
            response = client.get(metadata["userinfo_endpoint"])
            response.raise_for_status()
            userinfo = response.json()
    except (OAuthError, httpx.HTTPError, ValueError) as error:
        raise LoginServiceError(f"token/userinfo: {error}") from error
    if not isinstance(userinfo, dict) or userinfo.get("sub") != claims.get("sub"):
        # OIDC Core §5.3.2: the userinfo sub must be the ID token's.
        raise LoginServiceError("userinfo sub differs from the ID token's")
    merged = {**userinfo, **claims}
    return TokenResult(id_token=id_token, claims=merged)


def end_session_url(*, id_token_hint: str | None) -> str | None:
    """Return the provider's logout URL that comes back to the portal (RP-initiated logout)."""
    try:
        endpoint = provider_metadata().get("end_session_endpoint")
    except LoginServiceError:
        logger.warning("Logout at the login platform skipped: discovery failed")
        return None
    if not isinstance(endpoint, str):
        return None
    params = {
        "client_id": settings.PORTAL_OIDC_CLIENT_ID,
        "post_logout_redirect_uri": post_logout_redirect_uri(),
    }
    if id_token_hint:
        params["id_token_hint"] = id_token_hint
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"

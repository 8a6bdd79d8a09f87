"""The portal as an OpenID Connect relying party of the login platform (R-PORTAL-0).

The shared client (``integrations.oidc_client``, on Authlib) does the protocol: authorization code
flow with PKCE (S256), state and nonce, the RFC 9207 ``iss`` check, the ID token verified against
the provider's JWKS (signature, issuer, audience, expiry, nonce, at_hash), userinfo. Discovery and
keys are kept in the deployment's cache. When the issuer is this deployment, back-channel calls
run in-process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.utils.translation import gettext as _
from joserfc.jwk import KeySet

from biblogin.common.errors import ApplicationError
from biblogin.integrations.oidc_client.client import OIDCClient, OIDCConfig, TokenResponse
from biblogin.integrations.oidc_client.errors import OIDCError
from biblogin.integrations.oidc_client.metadata import DjangoMetadataCache
from biblogin.integrations.oidc_client.tokens import id_token_verified, signing_algs
from biblogin.portal.inprocess import in_process_transport

logger = logging.getLogger(__name__)

SCOPE = "openid profile cpr"
_TIMEOUT_SECONDS = 10.0
_CONNECT_TIMEOUT_SECONDS = 5.0
_METADATA_SECONDS = 300
_LEEWAY_SECONDS = 60
_CACHE = DjangoMetadataCache(prefix="portal:oidc")


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


def _client() -> OIDCClient:
    config = OIDCConfig(
        issuer=issuer(),
        client_id=settings.PORTAL_OIDC_CLIENT_ID,
        client_secret=settings.PORTAL_OIDC_CLIENT_SECRET,
        scope=SCOPE,
        timeout_seconds=_TIMEOUT_SECONDS,
        connect_timeout_seconds=_CONNECT_TIMEOUT_SECONDS,
        leeway_seconds=_LEEWAY_SECONDS,
        discovery_ttl_seconds=_METADATA_SECONDS,
        userinfo_required=True,
        user_agent="biblogin-portal",
    )
    return OIDCClient(config, transport=_transport(), cache=_CACHE)


def _service_error(error: OIDCError) -> LoginServiceError:
    return LoginServiceError(f"{type(error).__name__}: {error.code}")


def provider_metadata() -> dict[str, Any]:
    """Return the provider's discovery document, cached for five minutes."""
    try:
        return _client().discovery()
    except OIDCError as error:
        raise _service_error(error) from error


def authorization_response_issuer_valid(*, iss: str | None) -> bool:
    """RFC 9207 §2.4: the ``iss`` of an authorization response (errors included) is the issuer's.

    A provider that advertises ``authorization_response_iss_parameter_supported`` must send it:
    a response without it is refused, as one naming another issuer (a mix-up attack).
    """
    try:
        metadata = provider_metadata()
    except LoginServiceError:
        return False
    return _client().authorization_response_issuer_valid(iss=iss, discovery=metadata)


def _key_set(*, force: bool = False) -> KeySet:
    try:
        return _client().key_set(discovery=provider_metadata(), refetch=force)
    except OIDCError as error:
        raise _service_error(error) from error


def authorization_request_build(*, params: dict[str, str]) -> AuthorizationRequest:
    """Return the URL that starts a login at the provider, with fresh state, nonce and PKCE."""
    try:
        start = _client().authorization_start(
            redirect_uri=redirect_uri(), params=params, discovery=provider_metadata()
        )
    except OIDCError as error:
        raise _service_error(error) from error
    return AuthorizationRequest(
        url=start.url, state=start.state, nonce=start.nonce, code_verifier=start.code_verifier
    )


def _id_token_claims(
    *, id_token: str, nonce: str, access_token: str, max_age: int | None
) -> dict[str, Any]:
    metadata = provider_metadata()

    def key_set(refetch: bool) -> KeySet:
        return _key_set(force=refetch)

    try:
        return id_token_verified(
            id_token,
            key_set=key_set,
            algorithms=signing_algs(metadata.get("id_token_signing_alg_values_supported")),
            issuer=str(metadata.get("issuer", "")),
            client_id=settings.PORTAL_OIDC_CLIENT_ID,
            nonce=nonce,
            access_token=access_token,
            leeway=_LEEWAY_SECONDS,
            max_age=max_age,
        )
    except OIDCError as error:
        raise LoginServiceError(f"ID token rejected: {error.code}") from error


def code_exchange(
    *, code: str, code_verifier: str, nonce: str, max_age: int | None = None
) -> TokenResult:
    """Exchange the code for tokens, verify the ID token and merge the userinfo claims."""
    client = _client()
    try:
        metadata = client.discovery()
        token: TokenResponse = client.code_exchange(
            code=code,
            redirect_uri=redirect_uri(),
            code_verifier=code_verifier,
            discovery=metadata,
        )
        claims = _id_token_claims(
            id_token=token.id_token, nonce=nonce, access_token=token.access_token, max_age=max_age
        )
        # OIDC Core §5.3.2: the userinfo sub must be the ID token's (checked by the client).
        userinfo = client.userinfo(
            access_token=token.access_token, subject=claims["sub"], discovery=metadata
        )
    except OIDCError as error:
        raise LoginServiceError(f"token/userinfo: {error.code}") from error
    merged = {**userinfo, **claims}
    return TokenResult(id_token=token.id_token, claims=merged)


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

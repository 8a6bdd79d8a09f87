"""Client of the external MitID broker, an OpenID Connect provider (R-LOGIN-6, R-LOGIN-10).

The login platform is a confidential relying party of the broker through the shared OIDC client
(``integrations.oidc_client``: PKCE S256, state, nonce, RFC 9207 ``iss``, ID token against the
JWKS). What is the broker's own stays here: its configuration, the flow the caller keeps in its
session, its error codes, and the claim mapping (CPR, NSIS level, name). The caller keeps the
small dict ``mitid_authorization_start`` returns in its session and hands it back to
``mitid_authorization_finish`` with the callback's query parameters.

Never logged: the CPR, the code, tokens, state, nonce, the code verifier.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings
from django.utils.translation import gettext

from biblogin.common.cpr import mask_cpr, normalise_cpr
from biblogin.integrations.mitid_broker.assurance import nsis_loa_from_claim
from biblogin.integrations.mitid_broker.errors import (
    CPR_MISSING_MESSAGE,
    MitIDCancelled,
    MitIDError,
    MitIDStateMismatch,
    MitIDTokenInvalid,
    MitIDUnavailable,
)
from biblogin.integrations.mitid_broker.metadata import BrokerMetadataCache
from biblogin.integrations.oidc_client.client import (
    OIDCClient,
    OIDCConfig,
    TokenResponse,
    oidc_metadata_cache_clear,
)
from biblogin.integrations.oidc_client.errors import (
    OIDCError,
    OIDCStateMismatch,
    OIDCTokenInvalid,
    OIDCUnavailable,
)
from biblogin.integrations.oidc_client.metadata import METADATA_TTL_MAX_SECONDS
from biblogin.integrations.oidc_client.tokens import constant_time_equal, is_number, safe_code

logger = logging.getLogger(__name__)

# Error codes a broker sends when the user cancels (NemLog-in and most brokers: access_denied).
_CANCEL_ERRORS = frozenset({"access_denied", "user_cancel", "user_cancelled", "user_canceled"})
_UNAVAILABLE_ERRORS = frozenset({"server_error", "temporarily_unavailable"})
_KEPT_KEYS = ("state", "nonce", "code_verifier", "redirect_uri", "created_at", "issuer")
_MAX_PARAM_LENGTH = 4096


@dataclass(frozen=True)
class MitIDConfig:
    """Deployment configuration of the broker client (settings.MITID_*)."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str = "openid profile"
    cpr_claim: str = "dk.cpr"
    loa_claim: str = "loa"
    timeout_seconds: float = 5.0
    # Clock skew tolerated on exp/iat/nbf of the ID token.
    leeway_seconds: int = 60
    discovery_ttl_seconds: int = METADATA_TTL_MAX_SECONDS
    # A MitID login started longer ago than this is not finished (the broker's own session is
    # shorter); the kept state then counts as stale.
    flow_max_age_seconds: int = 900

    def __post_init__(self) -> None:
        if not self.issuer.startswith(("https://", "http://")):
            raise ValueError("MITID_ISSUER must be an http(s) URL")
        if not self.client_id or not self.cpr_claim:
            raise ValueError("MITID_CLIENT_ID and MITID_CPR_CLAIM must be set")
        if not (self.timeout_seconds > 0 and math.isfinite(self.timeout_seconds)):
            raise ValueError("MITID_TIMEOUT_SECONDS must be a positive number")
        if not 0 <= self.discovery_ttl_seconds <= METADATA_TTL_MAX_SECONDS:
            raise ValueError("the discovery document is cached for at most one hour")

    def oidc(self) -> OIDCConfig:
        """Return the shared OIDC client's configuration for this broker."""
        return OIDCConfig(
            issuer=self.issuer,
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope=self.scope,
            timeout_seconds=self.timeout_seconds,
            leeway_seconds=self.leeway_seconds,
            discovery_ttl_seconds=self.discovery_ttl_seconds,
            user_agent="biblogin-mitid-client",
        )

    @classmethod
    def from_settings(cls) -> MitIDConfig:
        return cls(
            issuer=settings.MITID_ISSUER,
            client_id=settings.MITID_CLIENT_ID,
            client_secret=settings.MITID_CLIENT_SECRET,
            scope=settings.MITID_SCOPE,
            cpr_claim=settings.MITID_CPR_CLAIM,
            loa_claim=settings.MITID_LOA_CLAIM,
            timeout_seconds=float(settings.MITID_TIMEOUT_SECONDS),
        )


@dataclass(frozen=True, repr=False)
class MitIDIdentity:
    """A person as MitID vouched for them: CPR (10 digits), name, NSIS level URI, broker subject."""

    cpr: str
    name: str
    loa: str
    subject: str
    auth_time: int

    def __repr__(self) -> str:
        # R-CULR-5: the CPR never appears in full in logs or tracebacks.
        return (
            f"MitIDIdentity(cpr={mask_cpr(self.cpr)!r}, name={self.name!r}, loa={self.loa!r}, "
            f"subject={self.subject!r}, auth_time={self.auth_time!r})"
        )

    __str__ = __repr__


class MitIDClient:
    """One broker, one configuration; ``http``'s transport and ``cache`` may be shared."""

    def __init__(
        self,
        config: MitIDConfig,
        *,
        http: httpx.Client | None = None,
        cache: BrokerMetadataCache | None = None,
    ) -> None:
        self.config = config
        # httpx has no public accessor for a client's transport; the shared OIDC client builds
        # its own clients (Authlib's among them) over it.
        transport = http._transport if http is not None else None
        self._oidc = OIDCClient(config.oidc(), transport=transport, cache=cache)

    # -- the two steps ------------------------------------------------------------------------

    def authorization_start(
        self, *, redirect_uri: str, acr_values: str | None = None, prompt: str | None = None
    ) -> tuple[str, dict[str, str]]:
        """Return the broker's authorization URL and what the caller keeps in its session."""
        params: dict[str, str] = {}
        if acr_values is not None:
            # R-LOGIN-10: the login platform asks the broker for the level it needs.
            params["acr_values"] = acr_values
        if prompt is not None:
            params["prompt"] = prompt
        with _as_mitid_errors():
            start = self._oidc.authorization_start(redirect_uri=redirect_uri, params=params)
        kept = {
            "state": start.state,
            "nonce": start.nonce,
            "code_verifier": start.code_verifier,
            "redirect_uri": redirect_uri,
            "created_at": str(int(time.time())),
            "issuer": self.config.issuer,
        }
        return start.url, kept

    def authorization_finish(
        self, *, params: Mapping[str, str], kept: Mapping[str, str]
    ) -> MitIDIdentity:
        """Check the callback against what was kept, redeem the code, return the verified person."""
        try:
            with _as_mitid_errors():
                return self._finish(params, kept)
        except MitIDError as error:
            logger.info("MitID login did not finish: %s", error.code)
            raise

    # -- the callback -------------------------------------------------------------------------

    def _finish(self, params: Mapping[str, str], kept: Mapping[str, str]) -> MitIDIdentity:
        flow = self._kept_flow(kept)
        for name in ("state", "code", "error", "iss"):
            value = params.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > _MAX_PARAM_LENGTH):
                raise MitIDError(code="bad_callback")
        state = params.get("state")
        discovery = self._oidc.discovery()
        # RFC 9207: a broker that names itself in the response must be the one we asked.
        if not self._oidc.authorization_response_issuer_valid(
            iss=params.get("iss"), discovery=discovery
        ):
            raise MitIDStateMismatch(code="issuer_mismatch")
        error = params.get("error")
        if error is not None:
            # An error response without state is accepted: it can only end this login attempt,
            # never log anyone in (and some brokers, the test broker among them, omit state).
            if state is not None and not constant_time_equal(state, flow["state"]):
                raise MitIDStateMismatch()
            raise _broker_error(error)
        # R-SEC-1 (RFC 9700 4.7): the callback must carry this browser's state, compared in
        # constant time; the nonce and PKCE verifier then bind the tokens to the same login.
        if state is None or not constant_time_equal(state, flow["state"]):
            raise MitIDStateMismatch()
        code = params.get("code")
        if not code:
            raise MitIDError(code="no_code")
        token = self._oidc.code_exchange(
            code=code,
            redirect_uri=flow["redirect_uri"],
            code_verifier=flow["code_verifier"],
            discovery=discovery,
        )
        return self._identity(discovery, token=token, nonce=flow["nonce"])

    def _kept_flow(self, kept: Mapping[str, str]) -> dict[str, str]:
        if not isinstance(kept, Mapping):
            raise MitIDStateMismatch(code="no_flow")
        flow: dict[str, str] = {}
        for key in _KEPT_KEYS:
            value = kept.get(key)
            if not isinstance(value, str) or not value or len(value) > _MAX_PARAM_LENGTH:
                raise MitIDStateMismatch(code="no_flow")
            flow[key] = value
        if flow["issuer"] != self.config.issuer:
            raise MitIDStateMismatch(code="issuer_changed")
        if not flow["created_at"].isascii() or not flow["created_at"].isdigit():
            raise MitIDStateMismatch(code="no_flow")
        age = time.time() - int(flow["created_at"])
        if not -self.config.leeway_seconds <= age <= self.config.flow_max_age_seconds:
            raise MitIDStateMismatch(code="expired")
        return flow

    # -- claim mapping ------------------------------------------------------------------------

    def _identity(
        self, discovery: Mapping[str, Any], *, token: TokenResponse, nonce: str
    ) -> MitIDIdentity:
        claims = self._oidc.id_token_claims(token=token, nonce=nonce, discovery=discovery)
        subject: str = claims["sub"]
        userinfo: dict[str, Any] = {}
        # R-LOGIN-6: the CPR from the configured claim, normalised and checked like any CPR.
        raw_cpr = claims.get(self.config.cpr_claim)
        if not isinstance(raw_cpr, str):
            # Brokers differ: some put the CPR only in userinfo.
            userinfo = self._oidc.userinfo(
                access_token=token.access_token, subject=subject, discovery=discovery
            )
            raw_cpr = userinfo.get(self.config.cpr_claim)
        cpr = normalise_cpr(raw_cpr) if isinstance(raw_cpr, str) else None
        if cpr is None:
            raise MitIDTokenInvalid(
                gettext(CPR_MISSING_MESSAGE),
                code="cpr_missing" if raw_cpr is None else "cpr_invalid",
            )
        # R-LOGIN-6: the level from the configured claim, else acr; missing counts as Low.
        level = claims.get(self.config.loa_claim)
        if level is None:
            level = claims.get("acr")
        if level is None:
            level = userinfo.get(self.config.loa_claim)
        auth_time = claims.get("auth_time")
        if not is_number(auth_time):
            auth_time = claims["iat"]  # validated as a NumericDate by the OIDC client
        return MitIDIdentity(
            cpr=cpr,
            name=_person_name(claims) or _person_name(userinfo),
            loa=nsis_loa_from_claim(level),
            subject=subject,
            auth_time=int(auth_time),
        )


# -- helpers ----------------------------------------------------------------------------------


@contextmanager
def _as_mitid_errors() -> Iterator[None]:
    """Re-raise the shared client's errors as MitID errors with the same code."""
    try:
        yield
    except OIDCUnavailable as error:
        raise MitIDUnavailable(code=error.code) from error
    except OIDCTokenInvalid as error:
        raise MitIDTokenInvalid(code=error.code) from error
    except OIDCStateMismatch as error:
        raise MitIDStateMismatch(code=error.code) from error
    except OIDCError as error:
        raise MitIDError(code=error.code) from error


def _broker_error(error: str) -> MitIDError:
    code = safe_code(error)
    if code in _CANCEL_ERRORS:
        return MitIDCancelled()
    if code in _UNAVAILABLE_ERRORS:
        return MitIDUnavailable(code=f"broker_{code}")
    return MitIDError(code=f"broker_{code}" if code else "broker_error")


def _person_name(claims: Mapping[str, Any]) -> str:
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()[:200]
    parts = [claims.get("given_name"), claims.get("family_name")]
    return " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())[:200]


# -- module-level API -------------------------------------------------------------------------


def mitid_client() -> MitIDClient:
    """Return a client configured from settings.MITID_* (read now, so overrides take effect)."""
    return MitIDClient(MitIDConfig.from_settings())


def mitid_metadata_cache_clear() -> None:
    """Forget cached discovery documents and keys (tests; a broker restarted with new keys)."""
    oidc_metadata_cache_clear()


def mitid_authorization_start(
    *, redirect_uri: str, acr_values: str | None = None, prompt: str | None = None
) -> tuple[str, dict[str, str]]:
    """Return the broker's authorization URL and the JSON-serialisable dict to keep in session.

    Raises MitIDUnavailable when the broker cannot be reached.
    """
    return mitid_client().authorization_start(
        redirect_uri=redirect_uri, acr_values=acr_values, prompt=prompt
    )


def mitid_authorization_finish(
    *, params: Mapping[str, str], kept: Mapping[str, str]
) -> MitIDIdentity:
    """Turn the broker's callback into a verified identity; raise a MitIDError otherwise."""
    return mitid_client().authorization_finish(params=params, kept=kept)

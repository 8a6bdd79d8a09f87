"""Client of the external MitID broker, an OpenID Connect provider (R-LOGIN-6, R-LOGIN-10).

The login platform is a confidential relying party: authorization code flow with PKCE (S256),
state and nonce, the ID token verified against the broker's JWKS. The caller keeps the small dict
``mitid_authorization_start`` returns in its session and hands it back to
``mitid_authorization_finish`` with the callback's query parameters.

Never logged: the CPR, the code, tokens, state, nonce, the code verifier.
"""

from __future__ import annotations

import base64
import logging
import math
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.conf import settings
from django.utils.translation import gettext
from joserfc.jwk import KeySet

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
from biblogin.integrations.mitid_broker.id_token import (
    MAX_TOKEN_LENGTH,
    constant_time_equal,
    id_token_claims_check,
    is_number,
    jwt_alg,
    jwt_verified_claims,
    safe_code,
    signing_algs,
)
from biblogin.integrations.mitid_broker.metadata import (
    METADATA_TTL_MAX_SECONDS,
    BrokerMetadataCache,
    discovery_check,
    key_set_from_jwks,
    token_auth_method,
)

logger = logging.getLogger(__name__)

_PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})
# Error codes a broker sends when the user cancels (NemLog-in and most brokers: access_denied).
_CANCEL_ERRORS = frozenset({"access_denied", "user_cancel", "user_cancelled", "user_canceled"})
_UNAVAILABLE_ERRORS = frozenset({"server_error", "temporarily_unavailable"})
_KEPT_KEYS = ("state", "nonce", "code_verifier", "redirect_uri", "created_at", "issuer")
_MAX_PARAM_LENGTH = 4096
# RFC 6750 section 2.1 b64token: what may go into an Authorization header.
_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")


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
    """One broker, one configuration; ``http`` and ``cache`` are shared between instances."""

    def __init__(
        self,
        config: MitIDConfig,
        *,
        http: httpx.Client | None = None,
        cache: BrokerMetadataCache | None = None,
    ) -> None:
        self.config = config
        self._http = http if http is not None else _default_http()
        self._cache = cache if cache is not None else _metadata_cache
        self._timeout = httpx.Timeout(config.timeout_seconds)

    # -- the two steps ------------------------------------------------------------------------

    def authorization_start(
        self, *, redirect_uri: str, acr_values: str | None = None, prompt: str | None = None
    ) -> tuple[str, dict[str, str]]:
        """Return the broker's authorization URL and what the caller keeps in its session."""
        _check_redirect_uri(redirect_uri)
        discovery = self._discovery()
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        code_verifier = secrets.token_urlsafe(64)  # RFC 7636: 43-128 characters
        params: dict[str, str] = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.config.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(code_verifier),
            "code_challenge_method": "S256",
        }
        if acr_values is not None:
            # R-LOGIN-10: the login platform asks the broker for the level it needs.
            if not acr_values.strip() or len(acr_values) > 512 or not acr_values.isprintable():
                raise ValueError("acr_values must be a short list of level URIs")
            params["acr_values"] = acr_values.strip()
        if prompt is not None:
            if not prompt.split() or not set(prompt.split()) <= _PROMPT_VALUES:
                raise ValueError(f"unsupported prompt: {prompt!r}")
            params["prompt"] = " ".join(prompt.split())
        try:
            url = httpx.URL(discovery["authorization_endpoint"]).copy_merge_params(params)
        except httpx.InvalidURL as exc:
            raise MitIDUnavailable(code="discovery_authorization_endpoint") from exc
        kept = {
            "state": state,
            "nonce": nonce,
            "code_verifier": code_verifier,
            "redirect_uri": redirect_uri,
            "created_at": str(int(time.time())),
            "issuer": self.config.issuer,
        }
        return str(url), kept

    def authorization_finish(
        self, *, params: Mapping[str, str], kept: Mapping[str, str]
    ) -> MitIDIdentity:
        """Check the callback against what was kept, redeem the code, return the verified person."""
        try:
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
        issuer = params.get("iss")
        # RFC 9207: a broker that names itself in the response must be the one we asked.
        if issuer is not None and issuer.rstrip("/") != self.config.issuer.rstrip("/"):
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

        discovery = self._discovery()
        token = self._redeem_code(discovery, code=code, flow=flow)
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

    # -- token endpoint -----------------------------------------------------------------------

    def _redeem_code(
        self, discovery: Mapping[str, Any], *, code: str, flow: Mapping[str, str]
    ) -> dict[str, str]:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": flow["redirect_uri"],
            "code_verifier": flow["code_verifier"],
        }
        headers = {"Accept": "application/json"}
        if token_auth_method(discovery) == "client_secret_basic":
            # RFC 6749 section 2.3.1: form-encode the id and secret before Base64.
            client_id = quote(self.config.client_id, safe="")
            pair = f"{client_id}:{quote(self.config.client_secret, safe='')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            data["client_id"] = self.config.client_id
            data["client_secret"] = self.config.client_secret
        response = self._send(
            "POST", discovery["token_endpoint"], what="token", data=data, headers=headers
        )
        body = _json_object(response, what="token")
        if response.status_code != 200:
            error = body.get("error")
            error_code = safe_code(error)
            if error_code in {"invalid_client", "unauthorized_client"}:
                logger.warning("MitID broker refused our client: %s", error_code)
                raise MitIDUnavailable(code="client_refused")
            # invalid_grant: a code used twice (reload, back button) or expired.
            raise MitIDError(code=f"token_{error_code}" if error_code else "token_error")
        id_token = body.get("id_token")
        access_token = body.get("access_token")
        token_type = body.get("token_type", "Bearer")
        if (
            not isinstance(id_token, str)
            or not isinstance(access_token, str)
            or not isinstance(token_type, str)
            or token_type.lower() != "bearer"
            or len(access_token) > MAX_TOKEN_LENGTH
            or not _B64TOKEN.match(access_token)
        ):
            raise MitIDTokenInvalid(code="token_response_malformed")
        return {"id_token": id_token, "access_token": access_token}

    # -- ID token and identity ----------------------------------------------------------------

    def _identity(
        self, discovery: Mapping[str, Any], *, token: Mapping[str, str], nonce: str
    ) -> MitIDIdentity:
        claims = self._id_token_claims(discovery, token=token, nonce=nonce)
        subject: str = claims["sub"]
        userinfo: dict[str, Any] = {}
        # R-LOGIN-6: the CPR from the configured claim, normalised and checked like any CPR.
        raw_cpr = claims.get(self.config.cpr_claim)
        if not isinstance(raw_cpr, str):
            # Brokers differ: some put the CPR only in userinfo.
            userinfo = self._userinfo(discovery, token=token, subject=subject)
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
            auth_time = claims["iat"]  # validated as a NumericDate above
        return MitIDIdentity(
            cpr=cpr,
            name=_person_name(claims) or _person_name(userinfo),
            loa=nsis_loa_from_claim(level),
            subject=subject,
            auth_time=int(auth_time),
        )

    def _id_token_claims(
        self, discovery: Mapping[str, Any], *, token: Mapping[str, str], nonce: str
    ) -> dict[str, Any]:
        id_token = token["id_token"]
        algorithms = signing_algs(discovery.get("id_token_signing_alg_values_supported"))
        claims = self._verified_jwt(discovery, id_token, algorithms=algorithms)
        id_token_claims_check(
            claims,
            issuer=discovery["issuer"],
            client_id=self.config.client_id,
            nonce=nonce,
            access_token=token["access_token"],
            alg=jwt_alg(id_token),
            leeway=self.config.leeway_seconds,
        )
        return claims

    def _verified_jwt(
        self, discovery: Mapping[str, Any], value: str, *, algorithms: frozenset[str]
    ) -> dict[str, Any]:
        return jwt_verified_claims(
            value,
            algorithms=algorithms,
            key_set=lambda refetch: self._jwks(discovery, refetch=refetch),
        )

    def _userinfo(
        self, discovery: Mapping[str, Any], *, token: Mapping[str, str], subject: str
    ) -> dict[str, Any]:
        endpoint = discovery.get("userinfo_endpoint")
        if not isinstance(endpoint, str):
            return {}
        response = self._send(
            "GET",
            endpoint,
            what="userinfo",
            headers={
                "Authorization": f"Bearer {token['access_token']}",
                "Accept": "application/json, application/jwt",
            },
        )
        if response.status_code != 200:
            raise MitIDTokenInvalid(code="userinfo_refused")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/jwt":
            algorithms = signing_algs(
                discovery.get("userinfo_signing_alg_values_supported")
                or discovery.get("id_token_signing_alg_values_supported")
            )
            claims = self._verified_jwt(discovery, response.text.strip(), algorithms=algorithms)
            if claims.get("iss", discovery["issuer"]) != discovery["issuer"]:
                raise MitIDTokenInvalid(code="userinfo_iss")
        else:
            claims = _json_object(response, what="userinfo")
        # OIDC Core 5.3.2: userinfo about anyone else must not be used.
        userinfo_sub = claims.get("sub")
        if not isinstance(userinfo_sub, str) or not constant_time_equal(userinfo_sub, subject):
            raise MitIDTokenInvalid(code="userinfo_sub")
        return claims

    # -- metadata -----------------------------------------------------------------------------

    def _discovery(self) -> dict[str, Any]:
        issuer = self.config.issuer
        ttl = self.config.discovery_ttl_seconds
        cached = self._cache.discovery_get(issuer, ttl=ttl)
        if cached is not None:
            return cached
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        response = self._send("GET", url, what="discovery")
        if response.status_code != 200:
            raise MitIDUnavailable(code="discovery_status")
        document = _json_object(response, what="discovery")
        discovery_check(document, issuer=issuer)
        self._cache.discovery_put(issuer, document)
        return document

    def _jwks(self, discovery: Mapping[str, Any], *, refetch: bool) -> KeySet:
        jwks_uri: str = discovery["jwks_uri"]
        ttl = self.config.discovery_ttl_seconds
        if not refetch:
            cached = self._cache.jwks_get(jwks_uri, ttl=ttl)
            if cached is not None:
                return cached
        response = self._send("GET", jwks_uri, what="jwks")
        if response.status_code != 200:
            raise MitIDUnavailable(code="jwks_status")
        key_set = key_set_from_jwks(_json_object(response, what="jwks"))
        self._cache.jwks_put(jwks_uri, key_set)
        return key_set

    def _send(self, method: str, url: str, *, what: str, **kwargs: Any) -> httpx.Response:
        """Call the broker with the configured timeout; no answer or a 5xx is "unavailable"."""
        try:
            response = self._http.request(method, url, timeout=self._timeout, **kwargs)
        except httpx.TimeoutException as exc:
            logger.warning("MitID broker: %s call timed out", what)
            raise MitIDUnavailable(code="timeout") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            logger.warning("MitID broker: %s call failed (%s)", what, type(exc).__name__)
            raise MitIDUnavailable(code="unreachable") from exc
        if response.status_code >= 500:
            logger.warning("MitID broker: %s call answered %s", what, response.status_code)
            raise MitIDUnavailable(code="server_error")
        return response


# -- helpers ----------------------------------------------------------------------------------


def _broker_error(error: str) -> MitIDError:
    code = safe_code(error)
    if code in _CANCEL_ERRORS:
        return MitIDCancelled()
    if code in _UNAVAILABLE_ERRORS:
        return MitIDUnavailable(code=f"broker_{code}")
    return MitIDError(code=f"broker_{code}" if code else "broker_error")


def _check_redirect_uri(redirect_uri: str) -> None:
    parts = urlsplit(redirect_uri)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.fragment:
        raise ValueError("redirect_uri must be an absolute http(s) URL without fragment")


def _json_object(response: httpx.Response, *, what: str) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError as exc:
        raise MitIDUnavailable(code=f"{what}_not_json") from exc
    if not isinstance(value, dict):
        raise MitIDUnavailable(code=f"{what}_not_object")
    return value


def _person_name(claims: Mapping[str, Any]) -> str:
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()[:200]
    parts = [claims.get("given_name"), claims.get("family_name")]
    return " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())[:200]


# -- module-level API -------------------------------------------------------------------------

_metadata_cache = BrokerMetadataCache()
_http_lock = threading.Lock()
_http_client: httpx.Client | None = None


def _default_http() -> httpx.Client:
    """Return the process's pooled HTTP client; redirects are never followed towards the broker."""
    global _http_client
    with _http_lock:
        if _http_client is None:
            _http_client = httpx.Client(
                follow_redirects=False, headers={"User-Agent": "biblogin-mitid-client"}
            )
        return _http_client


def mitid_client() -> MitIDClient:
    """Return a client configured from settings.MITID_* (read now, so overrides take effect)."""
    return MitIDClient(MitIDConfig.from_settings())


def mitid_metadata_cache_clear() -> None:
    """Forget cached discovery documents and keys (tests; a broker restarted with new keys)."""
    _metadata_cache.clear()


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

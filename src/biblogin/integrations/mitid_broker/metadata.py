"""The broker's published metadata: discovery document and JWKS, cached per process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from biblogin.integrations.mitid_broker.errors import MitIDUnavailable

logger = logging.getLogger(__name__)

# The discovery document and keys are re-read at least hourly.
METADATA_TTL_MAX_SECONDS = 3600


@dataclass
class _Cached:
    value: Any
    fetched_at: float


class BrokerMetadataCache:
    """Discovery documents and JWKS per broker, shared by the threads of one process.

    Only public, re-fetchable data: losing it (a restart, another worker) costs one request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._discovery: dict[str, _Cached] = {}
        self._jwks: dict[str, _Cached] = {}

    def discovery_get(self, issuer: str, *, ttl: float) -> dict[str, Any] | None:
        with self._lock:
            entry = self._discovery.get(issuer)
        if entry is None or time.monotonic() - entry.fetched_at >= ttl:
            return None
        value: dict[str, Any] = entry.value
        return value

    def discovery_put(self, issuer: str, document: dict[str, Any]) -> None:
        with self._lock:
            self._discovery[issuer] = _Cached(document, time.monotonic())

    def jwks_get(self, jwks_uri: str, *, ttl: float) -> KeySet | None:
        with self._lock:
            entry = self._jwks.get(jwks_uri)
        if entry is None or time.monotonic() - entry.fetched_at >= ttl:
            return None
        value: KeySet = entry.value
        return value

    def jwks_put(self, jwks_uri: str, keys: KeySet) -> None:
        with self._lock:
            self._jwks[jwks_uri] = _Cached(keys, time.monotonic())

    def clear(self) -> None:
        with self._lock:
            self._discovery.clear()
            self._jwks.clear()


def discovery_check(document: Mapping[str, Any], *, issuer: str) -> None:
    """OIDC Discovery 4.3: the document must name our issuer; endpoints must be plausible."""
    named = document.get("issuer")
    if not isinstance(named, str) or named.rstrip("/") != issuer.rstrip("/"):
        logger.warning("MitID broker: discovery names another issuer")
        raise MitIDUnavailable(code="discovery_issuer")
    scheme = "https://" if issuer.startswith("https://") else "http"
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        value = document.get(name)
        if value is None and name == "userinfo_endpoint":
            continue
        # No downgrade: an https issuer's endpoints are https too.
        if not isinstance(value, str) or not value.startswith(scheme):
            raise MitIDUnavailable(code=f"discovery_{name}")


def token_auth_method(discovery: Mapping[str, Any]) -> str:
    """Return how we authenticate at the token endpoint: client_secret_basic, else _post."""
    # OIDC Discovery: when not listed, client_secret_basic is the default.
    supported = discovery.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    for method in ("client_secret_basic", "client_secret_post"):
        if isinstance(supported, list) and method in supported:
            return method
    logger.warning("MitID broker: no client secret authentication offered")
    raise MitIDUnavailable(code="token_auth_method")


def key_set_from_jwks(document: Mapping[str, Any]) -> KeySet:
    """Import the signing keys of a JWKS; one odd key (encryption, unknown type) is skipped."""
    entries = document.get("keys")
    keys = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("use", "sig") == "sig":
            try:
                keys.extend(KeySet.import_key_set({"keys": [entry]}).keys)
            except (JoseError, ValueError, TypeError, KeyError):
                continue
    if not keys:
        raise MitIDUnavailable(code="jwks_empty")
    return KeySet(keys)

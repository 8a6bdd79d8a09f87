"""A provider's published metadata: discovery document and JWKS, their checks and their caches."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from django.core.cache import cache as django_cache
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from biblogin.integrations.oidc_client.errors import OIDCUnavailable

logger = logging.getLogger(__name__)

# The discovery document and keys are re-read at least hourly.
METADATA_TTL_MAX_SECONDS = 3600


class MetadataCache(Protocol):
    """Where discovery documents and JWKS are kept between logins.

    An entry is a JSON-serialisable dict (``document``, ``fetched_at`` wall-clock seconds,
    ``futile_refetch``: a token named an unknown key and refetching brought no new one). Only
    public, re-fetchable data: losing it costs one request.
    """

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, entry: dict[str, Any], *, ttl: float) -> None: ...


class MemoryMetadataCache:
    """Per-process cache shared by the threads of one worker; the reader applies the TTL."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, entry: dict[str, Any], *, ttl: float) -> None:
        with self._lock:
            self._entries[key] = entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class DjangoMetadataCache:
    """The deployment's cache (Redis when configured): every worker shares one copy."""

    def __init__(self, *, prefix: str) -> None:
        self._prefix = prefix

    def get(self, key: str) -> dict[str, Any] | None:
        entry = django_cache.get(f"{self._prefix}:{key}")
        return entry if isinstance(entry, dict) else None

    def put(self, key: str, entry: dict[str, Any], *, ttl: float) -> None:
        django_cache.set(f"{self._prefix}:{key}", entry, max(1, int(ttl)))


def discovery_check(
    document: Mapping[str, Any], *, issuer: str, userinfo_required: bool = False
) -> None:
    """OIDC Discovery 4.3: the document must name our issuer; endpoints must be plausible."""
    named = document.get("issuer")
    if not isinstance(named, str) or named.rstrip("/") != issuer.rstrip("/"):
        logger.warning("OIDC provider %s: discovery names another issuer", issuer)
        raise OIDCUnavailable(code="discovery_issuer")
    scheme = "https://" if issuer.startswith("https://") else "http"
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        value = document.get(name)
        if value is None and name == "userinfo_endpoint" and not userinfo_required:
            continue
        # No downgrade: an https issuer's endpoints are https too.
        if not isinstance(value, str) or not value.startswith(scheme):
            raise OIDCUnavailable(code=f"discovery_{name}")
    end_session = document.get("end_session_endpoint")
    if end_session is not None and (
        not isinstance(end_session, str) or not end_session.startswith(scheme)
    ):
        raise OIDCUnavailable(code="discovery_end_session_endpoint")


def token_auth_method(discovery: Mapping[str, Any]) -> str:
    """Return how we authenticate at the token endpoint: client_secret_basic, else _post."""
    # OIDC Discovery: when not listed, client_secret_basic is the default.
    supported = discovery.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    for method in ("client_secret_basic", "client_secret_post"):
        if isinstance(supported, list) and method in supported:
            return method
    logger.warning("OIDC provider: no client secret authentication offered")
    raise OIDCUnavailable(code="token_auth_method")


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
        raise OIDCUnavailable(code="jwks_empty")
    return KeySet(keys)

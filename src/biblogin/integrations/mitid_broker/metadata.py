"""Where the broker's discovery document and keys are cached: the shared OIDC client's cache."""

from __future__ import annotations

from biblogin.integrations.oidc_client.metadata import MemoryMetadataCache

# A per-process cache; a test passes its own to keep brokers apart.
BrokerMetadataCache = MemoryMetadataCache

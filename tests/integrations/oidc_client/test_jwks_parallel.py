"""Parallel tokens naming unknown keys against a live provider cost it one JWKS request.

The limit (DESIGN.md convention 8, RFC 9700 / R-SEC-1 hardening) is tested with real threads
against a real HTTP server on loopback, not in sequence.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from biblogin.integrations.oidc_client.client import OIDCClient, OIDCConfig, TokenResponse
from biblogin.integrations.oidc_client.errors import OIDCTokenInvalid
from biblogin.integrations.oidc_client.metadata import MemoryMetadataCache
from tests.integrations.mitid_broker.fakebroker import KEY_1, KEY_2


class Provider(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.issuer = f"http://127.0.0.1:{self.server_address[1]}"
        self.jwks_requests = 0
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: Provider

    def do_GET(self) -> None:
        issuer = self.server.issuer
        if self.path == "/.well-known/openid-configuration":
            body: dict[str, Any] = {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "jwks_uri": f"{issuer}/jwks",
            }
        elif self.path == "/jwks":
            with self.server.lock:
                self.server.jwks_requests += 1
            time.sleep(0.05)  # a provider a little slow to answer: the threads overlap
            body = KeySet([KEY_1]).as_dict(private=False)
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def provider() -> Iterator[Provider]:
    server = Provider()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_twenty_parallel_tokens_with_unknown_keys_reach_the_provider_s_jwks_at_most_twice(
    provider: Provider,
) -> None:
    """One fetch to start, one refetch for the unknown kid; the other nineteen wait for it."""
    cache = MemoryMetadataCache()
    config = OIDCConfig(issuer=provider.issuer, client_id="rp", client_secret="s")
    now = int(time.time())
    claims = {"iss": provider.issuer, "sub": "x", "aud": "rp", "exp": now + 300, "iat": now}
    junk = TokenResponse(
        id_token=jwt.encode({"alg": "RS256", "kid": KEY_2.kid}, claims, KEY_2), access_token="a"
    )
    outcomes: list[str] = []
    start = threading.Barrier(20)

    def attempt() -> None:
        client = OIDCClient(config, cache=cache)  # one client per request, as the callers do
        start.wait()
        try:
            client.id_token_claims(token=junk, nonce="n")
            outcomes.append("accepted")
        except OIDCTokenInvalid as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == ["jwt_unknown_or_bad_key"] * 20
    assert provider.jwks_requests <= 2

"""Obtain token sets from the peer OpenID Connect provider through the real authorization code flow.

Each token set comes from its own browser-less flow with a fresh cookie jar: authorization request
(PKCE S256, prompt=consent so that offline_access yields a refresh token), the peer's minimal login
and consent interactions, and the code exchange at the token endpoint with client_secret_basic.
Fresh cookies mean a fresh session and grant per set, so refresh-token chains are independent
(rotation revokes the whole grant when a rotated token is replayed).

Usage:
    python bench/peers/peer_tokens.py --base-url http://127.0.0.1:8931 \
        [--count N] [--concurrency 16]

Prints one JSON object per line: {access_token, refresh_token, id_token, expires_in, account_id}.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import secrets
import sys
from typing import Any, TypedDict
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

CLIENT_ID = "bench"
REDIRECT_URI = "http://127.0.0.1:1/cb"
SCOPE = "openid profile offline_access"
MAX_HOPS = 8


class TokenSet(TypedDict):
    access_token: str
    refresh_token: str
    id_token: str
    expires_in: int
    account_id: str


class PeerFlowError(RuntimeError):
    """The peer answered a step of the flow with something unexpected."""


def _pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def _expect_redirect(response: httpx.Response, step: str) -> str:
    if response.status_code not in (302, 303) or "location" not in response.headers:
        raise PeerFlowError(
            f"{step}: expected redirect, got {response.status_code} {response.text[:300]}"
        )
    return urljoin(str(response.url), response.headers["location"])


async def peer_token_set(
    *,
    transport: httpx.AsyncBaseTransport,
    base_url: str,
    account_id: str,
    client_secret: str = "bench-secret",
) -> TokenSet:
    """Run one authorization code flow against the peer and return the issued tokens."""
    # A client per flow gives a private cookie jar; the transport (connection pool) is shared.
    client = httpx.AsyncClient(transport=transport, base_url=base_url, timeout=30.0)
    verifier, challenge = _pkce_pair()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    query = urlencode(
        {
            "client_id": CLIENT_ID,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": SCOPE,
            "state": state,
            "nonce": nonce,
            "prompt": "consent",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    location = _expect_redirect(await client.get(f"/auth?{query}"), "authorization request")
    code = None
    for _ in range(MAX_HOPS):
        if location.startswith(REDIRECT_URI):
            params = parse_qs(urlsplit(location).query)
            if "error" in params:
                raise PeerFlowError(f"authorization error: {params}")
            if params.get("state") != [state]:
                raise PeerFlowError("state mismatch in authorization response")
            if params.get("iss") != [base_url.rstrip("/")]:
                raise PeerFlowError(f"iss mismatch in authorization response: {params.get('iss')}")
            code = params["code"][0]
            break
        path = urlsplit(location).path
        if path.startswith("/interaction/"):
            details = await client.get(path)
            if details.status_code != 200:
                raise PeerFlowError(
                    f"interaction details: {details.status_code} {details.text[:300]}"
                )
            prompt = details.json()["prompt"]
            if prompt == "login":
                answer = await client.post(f"{path}/login", data={"login": account_id})
            elif prompt == "consent":
                answer = await client.post(f"{path}/confirm", data={})
            else:
                raise PeerFlowError(f"unexpected prompt {prompt!r}")
            location = _expect_redirect(answer, f"interaction {prompt}")
        else:
            location = _expect_redirect(await client.get(location), f"resume {path}")
    if code is None:
        raise PeerFlowError(f"no authorization code after {MAX_HOPS} redirects")

    response = await client.post(
        "/token",
        auth=(CLIENT_ID, client_secret),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
    )
    if response.status_code != 200:
        raise PeerFlowError(f"code exchange: {response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json()
    for field in ("access_token", "refresh_token", "id_token"):
        if not body.get(field):
            raise PeerFlowError(f"code exchange returned no {field}: {sorted(body)}")
    return TokenSet(
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        id_token=body["id_token"],
        expires_in=int(body.get("expires_in", 0)),
        account_id=account_id,
    )


async def peer_token_sets(
    *,
    base_url: str,
    count: int,
    concurrency: int = 16,
    client_secret: str = "bench-secret",
    account_prefix: str = "bench-",
) -> list[TokenSet]:
    """Obtain `count` independent token sets (own session and grant each), bounded concurrency."""
    # One single-connection transport per concurrent slot: cheaper for httpcore than one big pool.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    transports = [httpx.AsyncHTTPTransport(limits=limits) for _ in range(min(concurrency, count))]
    free: asyncio.Queue[httpx.AsyncHTTPTransport] = asyncio.Queue()
    for transport in transports:
        free.put_nowait(transport)

    async def one(index: int) -> TokenSet:
        transport = await free.get()
        try:
            return await peer_token_set(
                transport=transport,
                base_url=base_url,
                account_id=f"{account_prefix}{index}",
                client_secret=client_secret,
            )
        finally:
            free.put_nowait(transport)

    try:
        return list(await asyncio.gather(*(one(i) for i in range(count))))
    finally:
        for transport in transports:
            await transport.aclose()


def main(argv: list[str] | None = None) -> int:
    """Print `--count` token sets from the peer as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="issuer, e.g. http://127.0.0.1:8931")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--client-secret", default="bench-secret")
    parser.add_argument("--account-prefix", default="bench-")
    parser.add_argument(
        "--timeout", type=float, default=110.0, help="give up after this many seconds"
    )
    args = parser.parse_args(argv)
    if args.count < 1 or args.concurrency < 1:
        parser.error("--count and --concurrency must be positive")
    try:
        sets = asyncio.run(
            asyncio.wait_for(
                peer_token_sets(
                    base_url=args.base_url.rstrip("/"),
                    count=args.count,
                    concurrency=args.concurrency,
                    client_secret=args.client_secret,
                    account_prefix=args.account_prefix,
                ),
                timeout=args.timeout,
            )
        )
    except (PeerFlowError, httpx.HTTPError, TimeoutError) as exc:
        print(f"peer_tokens: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for token_set in sets:
        print(json.dumps(token_set))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The load generator: a bounded asyncio/httpx driver for login flows, refresh grants, userinfo.

Every phase is bounded by a request count and a deadline, and stops by itself. Each concurrent
worker has its own ``httpx.AsyncClient`` with one keep-alive connection (a shared pool costs the
driver 2-3x more CPU, see bench/README-peer.md). Cookies are handled by hand, per flow, as a
fresh browser would: the server's cookies are ``Secure`` (production settings) and httpx's jar
would not send them back over plain loopback HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_TIMEOUT = httpx.Timeout(60.0)


# --- statistics -----------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Return the ``pct``-th percentile (inclusive method), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return cuts[int(pct) - 1]


@dataclass
class Phase:
    """One measured phase: latencies of every operation, errors, wall and CPU time."""

    name: str
    latencies_ms: list[float] = field(default_factory=list)
    ok: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    driver_cpu_s: float = 0.0
    server_cpu_s: float | None = None
    steps_ms: dict[str, list[float]] = field(default_factory=dict)

    def record(self, started: float, ok: bool, detail: str = "") -> None:
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        if ok:
            self.ok += 1
        else:
            self.errors += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(detail[:300])

    @property
    def rate(self) -> float:
        return self.ok / self.wall_s if self.wall_s > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        lat = self.latencies_ms
        result: dict[str, Any] = {
            "phase": self.name,
            "ok": self.ok,
            "errors": self.errors,
            "wall_s": round(self.wall_s, 3),
            "per_s": round(self.rate, 2),
            "median_ms": _round(statistics.median(lat) if lat else None),
            "p95_ms": _round(percentile(lat, 95)),
            # Driver CPU close to wall time means the driver, not the server, was the limit.
            "driver_cpu_s": round(self.driver_cpu_s, 3),
            "server_cpu_s": _round(self.server_cpu_s, 3),
            "server_cpu_ms_per_op": _round(
                1000 * self.server_cpu_s / self.ok if self.server_cpu_s and self.ok else None
            ),
        }
        if self.steps_ms:
            result["steps_median_ms"] = {
                step: _round(statistics.median(v)) for step, v in self.steps_ms.items() if v
            }
        if self.error_samples:
            result["error_samples"] = self.error_samples
        return result


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


# --- clients ---------------------------------------------------------------------------------


def clients_open(base_url: str, count: int) -> list[httpx.AsyncClient]:
    """One client with one keep-alive connection per concurrent worker."""
    # An idle connection is given up before either server closes it (gunicorn after 2 s,
    # Node after 5 s): reusing one the server is closing that moment loses the request
    # ("server disconnected without sending a response"), which httpx's 5 s default allowed.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=1.0)
    return [
        httpx.AsyncClient(base_url=base_url, limits=limits, timeout=_TIMEOUT) for _ in range(count)
    ]


async def clients_close(clients: Sequence[httpx.AsyncClient]) -> None:
    for client in clients:
        await client.aclose()


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


# --- our login flow --------------------------------------------------------------------------


@dataclass(frozen=True)
class OurService:
    """Our login platform as the driver sees it: the bench client at one library."""

    base_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    agency_id: str
    users: Sequence[Sequence[str]]  # (user ID, PIN)
    token_path: str = "/login/token/"
    userinfo_path: str = "/login/userinfo/"
    authorize_path: str = "/login/authorize/"

    @classmethod
    def for_fixture(cls, base_url: str, fixture: dict[str, Any]) -> OurService:
        """The bench client that bench.setup_data made (its ``setup()`` result), at base_url."""
        return cls(
            base_url=base_url,
            client_id=fixture["client_id"],
            client_secret=fixture["client_secret"],
            redirect_uri=fixture["redirect_uri"],
            agency_id=fixture["agency_id"],
            users=fixture["users"],
        )

    @property
    def auth_header(self) -> str:
        return basic_auth(self.client_id, self.client_secret)


@dataclass
class TokenSet:
    access_token: str
    refresh_token: str
    id_token: str
    sub: str


class FlowError(Exception):
    """A step of a flow answered something a browser or client would not accept."""


class _Browser:
    """A fresh browser's cookies for one flow."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def take(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            pair = header.split(";", 1)[0]
            name, _, value = pair.partition("=")
            if "max-age=0" in header.lower():
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value

    def headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}


def _expect(response: httpx.Response, status: int, step: str) -> None:
    if response.status_code != status:
        raise FlowError(f"{step}: {response.status_code} {response.text[:200]!r}")


def pkce_pair() -> tuple[str, str]:
    """A PKCE S256 verifier and its challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


async def login_flow(
    client: httpx.AsyncClient,
    service: OurService,
    *,
    user_id: str,
    pin: str,
    steps: dict[str, list[float]] | None = None,
) -> TokenSet:
    """Authorize -> library login page -> PIN -> code -> token -> userinfo, as a browser does."""
    browser = _Browser()
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": service.client_id,
            "redirect_uri": service.redirect_uri,
            "scope": "openid profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            # R-LOGIN-3: the client names the library, so the login page is its form.
            "agency": service.agency_id,
        }
    )
    timings = steps if steps is not None else {}

    def lap(step: str, since: float) -> float:
        now = time.perf_counter()
        timings.setdefault(step, []).append((now - since) * 1000)
        return now

    t = time.perf_counter()
    response = await client.get(f"{service.authorize_path}?{query}")
    _expect(response, 302, "authorize")
    browser.take(response)
    form_url = response.headers["location"]
    if not form_url.startswith(f"/login/bibliotek/{service.agency_id}/"):
        raise FlowError(f"authorize led to {form_url!r}, not the library's login page")
    t = lap("1 authorize", t)

    response = await client.get(form_url, headers=browser.headers())
    _expect(response, 200, "login page")
    browser.take(response)
    csrf = _CSRF.search(response.text)
    if csrf is None:
        raise FlowError("login page has no CSRF token")
    plan = parse_qs(urlsplit(form_url).query)["plan"][0]
    t = lap("2 login page", t)

    response = await client.post(
        form_url,
        headers=browser.headers(),
        data={
            "csrfmiddlewaretoken": csrf.group(1),
            "plan": plan,
            "user_id": user_id,
            "password": pin,
        },
    )
    _expect(response, 302, "library login")
    browser.take(response)
    t = lap("3 PIN login", t)

    response = await client.get(response.headers["location"], headers=browser.headers())
    _expect(response, 302, "authorize (resume)")
    callback = response.headers["location"]
    if not callback.startswith(service.redirect_uri + "?"):
        raise FlowError(f"resume led to {callback[:120]!r}, not the redirect URI")
    params = parse_qs(urlsplit(callback).query)
    if params.get("state") != [state] or "code" not in params:
        raise FlowError(f"bad authorization response {sorted(params)}")
    t = lap("4 code", t)

    response = await client.post(
        service.token_path,
        headers={"Authorization": service.auth_header},
        data={
            "grant_type": "authorization_code",
            "code": params["code"][0],
            "redirect_uri": service.redirect_uri,
            "code_verifier": verifier,
        },
    )
    _expect(response, 200, "token")
    body = response.json()
    if not (body.get("access_token") and body.get("refresh_token") and body.get("id_token")):
        raise FlowError(f"token response without tokens: {sorted(body)}")
    t = lap("5 token", t)

    response = await client.get(
        service.userinfo_path, headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    _expect(response, 200, "userinfo")
    sub = response.json().get("sub")
    if not sub:
        raise FlowError("userinfo without sub")
    lap("6 userinfo", t)
    return TokenSet(
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        id_token=body["id_token"],
        sub=str(sub),
    )


async def run_logins(
    clients: Sequence[httpx.AsyncClient],
    service: OurService,
    *,
    total: int,
    max_seconds: float,
    name: str = "login",
    keep_tokens: int = 0,
    start_index: int = 0,
) -> tuple[Phase, list[TokenSet]]:
    """Run up to ``total`` full login flows, one worker per client, until the deadline."""
    phase = Phase(name)
    counter = iter(range(start_index, start_index + total))
    deadline = time.perf_counter() + max_seconds
    kept: list[TokenSet] = []

    async def worker(client: httpx.AsyncClient) -> None:
        for index in counter:
            if time.perf_counter() >= deadline:
                return
            user_id, pin = service.users[index % len(service.users)]
            started = time.perf_counter()
            try:
                tokens = await login_flow(
                    client, service, user_id=user_id, pin=pin, steps=phase.steps_ms
                )
            except (FlowError, httpx.HTTPError, KeyError, ValueError) as exc:
                phase.record(started, False, f"{type(exc).__name__}: {exc}")
                continue
            phase.record(started, True)
            if len(kept) < keep_tokens:
                kept.append(tokens)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(c) for c in clients))
    phase.wall_s = time.perf_counter() - started
    phase.driver_cpu_s = time.process_time() - cpu
    return phase, kept


# --- token endpoint and userinfo (ours and the peer's) ---------------------------------------


@dataclass(frozen=True)
class Endpoints:
    """Where a provider's token endpoint and userinfo are, and how the client authenticates."""

    name: str
    base_url: str
    token_path: str
    userinfo_path: str
    auth_header: str


async def run_refresh(
    clients: Sequence[httpx.AsyncClient],
    endpoints: Endpoints,
    chains: Sequence[TokenSet],
    *,
    total: int,
    max_seconds: float,
    name: str = "refresh",
) -> Phase:
    """Chained refresh grants: one worker per chain, each step uses the token the last returned.

    An answer counts as ok with 200, a new (rotated) refresh token, an access token and an ID
    token. A broken chain stops its worker (its grant may be revoked); the others go on.
    """
    phase = Phase(name)
    counter = iter(range(total))
    deadline = time.perf_counter() + max_seconds

    async def worker(client: httpx.AsyncClient, chain: TokenSet) -> None:
        for _ in counter:
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            try:
                response = await client.post(
                    endpoints.token_path,
                    headers={"Authorization": endpoints.auth_header},
                    data={"grant_type": "refresh_token", "refresh_token": chain.refresh_token},
                )
                body = response.json() if response.status_code == 200 else {}
            except (httpx.HTTPError, ValueError) as exc:
                phase.record(started, False, f"{type(exc).__name__}: {exc}")
                return
            new_refresh = str(body.get("refresh_token") or "")
            ok = bool(
                new_refresh
                and new_refresh != chain.refresh_token
                and body.get("access_token")
                and body.get("id_token")
            )
            phase.record(started, ok, f"{response.status_code} {response.text[:200]}")
            if not ok:
                return
            chain.refresh_token = new_refresh
            chain.access_token = body["access_token"]
            chain.id_token = body["id_token"]

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(c, chain) for c, chain in zip(clients, chains, strict=False)))
    phase.wall_s = time.perf_counter() - started
    phase.driver_cpu_s = time.process_time() - cpu
    return phase


async def run_userinfo(
    clients: Sequence[httpx.AsyncClient],
    endpoints: Endpoints,
    tokens: Sequence[TokenSet],
    *,
    total: int,
    max_seconds: float,
    name: str = "userinfo",
) -> Phase:
    """GET userinfo ``total`` times over the access tokens; ok is 200 with the expected sub."""
    phase = Phase(name)
    counter = iter(range(total))
    deadline = time.perf_counter() + max_seconds

    async def worker(client: httpx.AsyncClient) -> None:
        for index in counter:
            if time.perf_counter() >= deadline:
                return
            token = tokens[index % len(tokens)]
            started = time.perf_counter()
            try:
                response = await client.get(
                    endpoints.userinfo_path,
                    headers={"Authorization": f"Bearer {token.access_token}"},
                )
                ok = response.status_code == 200 and response.json().get("sub") == token.sub
            except (httpx.HTTPError, ValueError) as exc:
                phase.record(started, False, f"{type(exc).__name__}: {exc}")
                continue
            phase.record(started, ok, f"{response.status_code} {response.text[:200]}")

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(c) for c in clients))
    phase.wall_s = time.perf_counter() - started
    phase.driver_cpu_s = time.process_time() - cpu
    return phase

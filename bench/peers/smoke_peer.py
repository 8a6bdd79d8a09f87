"""Smoke-measure the peer OpenID Connect provider: userinfo GETs and chained refresh-token grants.

Bounded asyncio/httpx driver (default concurrency 16). Either points at a running peer
(--base-url) or starts one itself (--spawn), in which case it always stops it again.

    python bench/peers/smoke_peer.py --spawn --port 8931 --workers 2
    python bench/peers/smoke_peer.py --base-url http://127.0.0.1:8931

Figures: requests/s = successful requests / wall time of the phase; latency percentiles over all
requests of the phase (successful or not). A warm-up (not counted) precedes the measured phases.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from peer_tokens import CLIENT_ID, PeerFlowError, TokenSet, peer_token_sets

PEER_DIR = Path(__file__).resolve().parent


@dataclass
class Phase:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    ok: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    driver_cpu_s: float = 0.0

    def record(self, started: float, ok: bool, detail: str = "") -> None:
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        if ok:
            self.ok += 1
        else:
            self.errors += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(detail[:200])

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else lat * 99
        return {
            "phase": self.name,
            "requests": len(lat),
            "ok": self.ok,
            "errors": self.errors,
            "wall_s": round(self.wall_s, 3),
            # Driver CPU close to wall_s means the driver, not the peer, is the limit.
            "driver_cpu_s": round(self.driver_cpu_s, 3),
            "req_per_s": round(self.ok / self.wall_s, 1) if self.wall_s else 0.0,
            "median_ms": round(statistics.median(lat), 2) if lat else None,
            "p95_ms": round(q[94], 2) if lat else None,
            "p99_ms": round(q[98], 2) if lat else None,
            "max_ms": round(lat[-1], 2) if lat else None,
            "error_samples": self.error_samples,
        }


def basic_auth(secret: str) -> str:
    return "Basic " + base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode()


async def run_userinfo(
    clients: list[httpx.AsyncClient], tokens: list[TokenSet], total: int, name: str
) -> Phase:
    """GET userinfo `total` times, one worker per client, cycling through the access tokens."""
    phase = Phase(name)
    counter = iter(range(total))

    async def worker(client: httpx.AsyncClient) -> None:
        for i in counter:
            token = tokens[i % len(tokens)]
            started = time.perf_counter()
            try:
                response = await client.get(
                    "/me", headers={"Authorization": f"Bearer {token['access_token']}"}
                )
                ok = (
                    response.status_code == 200
                    and response.json().get("sub") == token["account_id"]
                )
                phase.record(started, ok, f"{response.status_code} {response.text}")
            except httpx.HTTPError as exc:
                phase.record(started, False, repr(exc))

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(client) for client in clients))
    phase.wall_s = time.perf_counter() - started
    phase.driver_cpu_s = time.process_time() - cpu
    return phase


async def run_refresh(
    clients: list[httpx.AsyncClient], chains: list[TokenSet], total: int, auth: str, name: str
) -> Phase:
    """Refresh `total` times over independent chains, one worker (and client) per chain."""
    phase = Phase(name)
    counter = iter(range(total))

    async def worker(client: httpx.AsyncClient, chain: TokenSet) -> None:
        for _ in counter:
            started = time.perf_counter()
            try:
                response = await client.post(
                    "/token",
                    headers={"Authorization": auth},
                    data={"grant_type": "refresh_token", "refresh_token": chain["refresh_token"]},
                )
            except httpx.HTTPError as exc:
                phase.record(started, False, repr(exc))
                return
            body = response.json() if response.status_code == 200 else {}
            new_rt = str(body.get("refresh_token") or "")
            ok = bool(
                new_rt
                and new_rt != chain["refresh_token"]
                and body.get("access_token")
                and body.get("id_token")
            )
            phase.record(started, ok, f"{response.status_code} {response.text}")
            if not ok:
                return  # the chain is broken; the other chains take over the remaining count
            chain["refresh_token"] = new_rt
            chain["access_token"] = body["access_token"]
            chain["id_token"] = body["id_token"]

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(
        *(worker(client, chain) for client, chain in zip(clients, chains, strict=True))
    )
    phase.wall_s = time.perf_counter() - started
    phase.driver_cpu_s = time.process_time() - cpu
    return phase


async def check_rotation(
    client: httpx.AsyncClient, token_set: TokenSet, auth: str
) -> dict[str, Any]:
    """Show that a refresh token is single-use and a replay is refused."""
    old = token_set["refresh_token"]
    data = {"grant_type": "refresh_token", "refresh_token": old}
    first = await client.post("/token", headers={"Authorization": auth}, data=data)
    replay = await client.post("/token", headers={"Authorization": auth}, data=data)
    return {
        "first_use_status": first.status_code,
        "rotated": first.status_code == 200 and first.json().get("refresh_token") != old,
        "replay_status": replay.status_code,
        "replay_error": replay.json().get("error"),
    }


async def measure(args: argparse.Namespace, base_url: str) -> dict[str, Any]:
    c = args.concurrency
    started = time.perf_counter()
    sets = await peer_token_sets(base_url=base_url, count=2 * c + 1, concurrency=c)
    flows_s = time.perf_counter() - started
    userinfo_tokens, chains, spare = sets[:c], sets[c : 2 * c], sets[-1]
    auth = basic_auth("bench-secret")
    # One client with one keep-alive connection per worker: a shared httpcore pool scans all its
    # connections for every request and made the driver, not the peer, the bottleneck (3x slower).
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0) for _ in range(c)]
    try:
        await run_userinfo(clients, userinfo_tokens, args.warmup, "warmup-userinfo")
        await run_refresh(clients, chains, 4 * c, auth, "warmup-refresh")
        userinfo = await run_userinfo(clients, userinfo_tokens, args.userinfo, "userinfo")
        refresh = await run_refresh(clients, chains, args.refresh, auth, "refresh")
        # The chains' latest access tokens must still work after hundreds of rotations.
        after = await run_userinfo(clients, chains, len(chains), "userinfo-after-refresh")
        rotation = await check_rotation(clients[0], spare, auth)
    finally:
        for client in clients:
            await client.aclose()
    return {
        "token_flows": {"count": len(sets), "wall_s": round(flows_s, 2)},
        "userinfo": userinfo.summary(),
        "refresh": refresh.summary(),
        "chained_access_tokens_valid": f"{after.ok}/{len(chains)}",
        "rotation_check": rotation,
    }


def spawn_peer(port: int, workers: int, redis_url: str | None, log: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "NODE_ENV": "production", "PORT": str(port), "WORKERS": str(workers)}
    if redis_url:
        env["REDIS_URL"] = redis_url
    # Output goes to a file, not a pipe nobody drains during the measurement.
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["node", "oidc-peer.mjs"],
            cwd=PEER_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        if '"event":"ready"' in log.read_text():
            return proc
        time.sleep(0.1)
    stop_peer(proc, log)
    raise RuntimeError("peer did not become ready within 20 s")


def stop_peer(proc: subprocess.Popen[str], log: Path) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    for line in log.read_text().splitlines():
        print(f"[peer] {line}", file=sys.stderr)


def versions() -> dict[str, str]:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    pkg = PEER_DIR / "node_modules" / "oidc-provider" / "package.json"
    return {
        "node": node.stdout.strip(),
        "oidc-provider": json.loads(pkg.read_text())["version"] if pkg.exists() else "?",
        "python": platform.python_version(),
        "httpx": httpx.__version__,
        "cpus": str(os.cpu_count()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--base-url", help="a running peer, e.g. http://127.0.0.1:8931")
    target.add_argument("--spawn", action="store_true", help="start the peer for this run")
    parser.add_argument("--port", type=int, default=8931)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--userinfo", type=int, default=2000)
    parser.add_argument("--refresh", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=500, help="userinfo GETs before measuring")
    parser.add_argument("--max-seconds", type=float, default=110.0)
    args = parser.parse_args()

    load_at_start = round(os.getloadavg()[0], 2)
    log = Path(tempfile.gettempdir()) / f"oidc-peer-{args.port}.log"
    proc = spawn_peer(args.port, args.workers, args.redis_url, log) if args.spawn else None
    base_url = f"http://127.0.0.1:{args.port}" if proc else args.base_url.rstrip("/")
    try:
        result = asyncio.run(asyncio.wait_for(measure(args, base_url), timeout=args.max_seconds))
    except (PeerFlowError, httpx.HTTPError, TimeoutError) as exc:
        print(f"smoke_peer: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        if proc:
            stop_peer(proc, log)
    result = {
        "versions": versions(),
        # Other processes on the machine skew absolute figures; record how busy it was.
        "loadavg_1m_at_start": load_at_start,
        "concurrency": args.concurrency,
        "workers": args.workers if proc else "external",
        **result,
    }
    print(json.dumps(result, indent=2))
    failed = result["userinfo"]["errors"] or result["refresh"]["errors"]
    return 1 if failed or result["rotation_check"]["replay_status"] == 200 else 0


if __name__ == "__main__":
    sys.exit(main())

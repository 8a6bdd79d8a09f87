"""A short bench of the two hot requests only: refresh grants and userinfo, ours against the peer.

    .venv/bin/python -m bench.hot                       # SQLite, 3 rounds, ~2 min
    .venv/bin/python -m bench.hot --postgres            # PostgreSQL + Redis
    .venv/bin/python -m bench.hot --variant lean1=BIBLOGIN_LEAN_THREADS=1

The same set-up, servers, driver and phases as ``bench.run`` (ratio 2), without the login,
Argon2 and scale phases and with small registers, so that a change to the hot path can be tried
in a couple of minutes. ``--variant NAME=VAR=VALUE[,VAR=VALUE]`` starts one more server of ours
on the same database with that environment: every server and the peer run each phase in turn,
in an order that rotates between rounds (an interleaved A/B); ``workers=N`` in a variant's
list sets its worker processes. Prints, per round and as medians,
requests/s and server CPU ms per request; the ratio is ours ÷ peer of requests/s, as in
``bench.run``. Nothing is recorded: copy the figures (with the load) into RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

from peer_tokens import peer_token_sets

from bench.driver import (
    Endpoints,
    OurService,
    basic_auth,
    clients_close,
    clients_open,
    run_logins,
    run_refresh,
    run_userinfo,
)
from bench.lifecycle import (
    Peer,
    Server,
    free_port,
    loadavg,
    postgres_databases,
    prerequisites,
    redis_purge,
    thread_cpu_seconds,
)
from bench.run import FULL, PG_ADMIN_URL, _peer_sets, _timed, log, pg_names_for, prepare
from biblogin.common.management.commands.serve import default_workers


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument("--patrons", type=int, default=200)
    parser.add_argument("--peer-redis-db", type=int, default=15)
    parser.add_argument("--pg-prefix", default=None)
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--peer-workers", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase")
    parser.add_argument("--settings", default="config.settings")
    parser.add_argument(
        "--variant", action="append", default=[], help="NAME=VAR=VALUE[,VAR=VALUE]: one more server"
    )
    parser.add_argument("--kinds", default="refresh,userinfo", help="which phases")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="clients (default: bench.run's, 16)"
    )
    parser.add_argument("--no-base", action="store_true", help="only the variants")
    args = parser.parse_args(argv)
    args.secret = secrets.token_urlsafe(24)
    return args


def _variants(args: argparse.Namespace) -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, dict[str, str]]] = [] if args.no_base else [("ours", {})]
    for spec in args.variant:
        name, _, assignments = spec.partition("=")
        env = dict(a.split("=", 1) for a in assignments.split(",") if a)
        out.append((name, env))
    return out


async def measure(
    args: argparse.Namespace,
    fixture: dict[str, Any],
    servers: list[tuple[str, Server]],
    peer: Peer,
) -> list[dict[str, Any]]:
    c = args.concurrency or FULL.concurrency
    targets: list[dict[str, Any]] = []
    opened: list[Any] = []
    try:
        for name, server in servers:
            service = OurService.for_fixture(server.base_url, fixture)
            clients = clients_open(server.base_url, c)
            opened.append(clients)
            start = len(targets) * 2 * c
            phase, tokens = await run_logins(
                clients, service, total=2 * c, max_seconds=120, name=f"warmup-{name}",
                keep_tokens=2 * c, start_index=start,
            )  # fmt: skip
            if len(tokens) < 2 * c:
                raise RuntimeError(f"warm-up logins failed on {name}: {phase.summary()}")
            endpoints = Endpoints(
                name=name, base_url=server.base_url, token_path=service.token_path,
                userinfo_path=service.userinfo_path, auth_header=service.auth_header,
            )  # fmt: skip
            targets.append(
                {"name": name, "process": server, "clients": clients, "endpoints": endpoints,
                 "userinfo": tokens[:c], "chains": tokens[c:]}
            )  # fmt: skip
        raw = await peer_token_sets(
            base_url=peer.base_url, count=2 * c, concurrency=c, client_secret=peer.client_secret
        )
        sets = _peer_sets(list(raw))
        peer_clients = clients_open(peer.base_url, c)
        opened.append(peer_clients)
        targets.append(
            {"name": "peer", "process": peer, "clients": peer_clients,
             "endpoints": Endpoints(name="peer", base_url=peer.base_url, token_path="/token",
                                    userinfo_path="/me",
                                    auth_header=basic_auth(peer.client_id, peer.client_secret)),
             "userinfo": sets[:c], "chains": sets[c:]}
        )  # fmt: skip
        for t in targets:  # warm every worker's token endpoint and userinfo
            await run_refresh(
                t["clients"], t["endpoints"], t["chains"], total=4 * c, max_seconds=30
            )
            await run_userinfo(
                t["clients"], t["endpoints"], t["userinfo"], total=8 * c, max_seconds=30
            )
        rounds = []
        for number in range(args.rounds):
            result: dict[str, Any] = {"round": number + 1, "load_1m": round(loadavg()[0], 2)}
            order = targets[number % len(targets) :] + targets[: number % len(targets)]
            for kind, runner, key in (
                ("refresh", run_refresh, "chains"),
                ("userinfo", run_userinfo, "userinfo"),
            ):
                if kind not in args.kinds.split(","):
                    continue
                for t in order:
                    threads_before = _threads(t["process"])
                    phase = await _timed(
                        t["process"],
                        runner(
                            t["clients"], t["endpoints"], t[key], total=100_000,
                            max_seconds=args.seconds, name=f"{kind}-{t['name']}",
                        ),
                        extra_seconds=60, budget=args.seconds,
                    )  # fmt: skip
                    result[f"{kind}_{t['name']}"] = summary = phase.summary()
                    if threads_before is not None and phase.ok:
                        after = _threads(t["process"]) or {}
                        summary["threads_ms_per_op"] = {
                            role: round((after.get(role, 0) - threads_before.get(role, 0))
                                        * 1000 / phase.ok, 3)
                            for role in sorted(after)
                        }  # fmt: skip
            rounds.append(result)
            log(f"round {number + 1}: " + _line(result, [t["name"] for t in targets]))
        return rounds
    finally:
        for group in opened:
            await clients_close(group)


def _threads(process: Server | Peer) -> dict[str, float] | None:
    """Our server's CPU by thread role so far (``bench.lifecycle.thread_cpu_seconds``)."""
    if not isinstance(process, Server):
        return None
    # The granian parent's threads apart from its workers': it only supervises.
    roles = thread_cpu_seconds(process.pids[1:])
    roles["supervisor"] = sum(thread_cpu_seconds(process.pids[:1]).values())
    return roles


def _line(result: dict[str, Any], names: list[str]) -> str:
    parts = []
    for kind in [k for k in ("refresh", "userinfo") if f"{k}_peer" in result]:
        for name in names:
            s = result[f"{kind}_{name}"]
            parts.append(
                f"{kind} {name} {s['per_s']}/s {s['server_cpu_ms_per_op']} ms"
                + (f" ERR {s['errors']}" if s["errors"] else "")
            )
    return "; ".join(parts)


def report(rounds: list[dict[str, Any]], names: list[str]) -> str:
    lines = [
        "| server | refresh /s | refresh CPU ms | ratio | userinfo /s | userinfo CPU ms | ratio "
        "| errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        row = [name]
        errors = 0
        for kind in ("refresh", "userinfo"):
            rates = [r[f"{kind}_{name}"]["per_s"] for r in rounds]
            cpus = [r[f"{kind}_{name}"]["server_cpu_ms_per_op"] or 0 for r in rounds]
            ratios = [r[f"{kind}_{name}"]["per_s"] / r[f"{kind}_peer"]["per_s"] for r in rounds]
            errors += sum(r[f"{kind}_{name}"]["errors"] for r in rounds)
            row += [
                f"{statistics.median(rates):.1f}",
                f"{statistics.median(cpus):.2f}",
                f"{statistics.median(ratios):.2f}" if name != "peer" else "",
            ]
        row.append(str(errors))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("Server CPU ms per request by thread (median of rounds; live threads only):")
    for name in names:
        for kind in ("refresh", "userinfo"):
            per = [r[f"{kind}_{name}"].get("threads_ms_per_op") for r in rounds]
            if not all(per):
                continue
            roles = sorted({k for p in per for k in p})
            cells = [f"{k} {statistics.median(p.get(k, 0) for p in per):.2f}" for k in roles]
            lines.append(f"- {name} {kind}: " + ", ".join(cells))
    lines.append("")
    lines.append("Per round (load 1m; ratio ours ÷ peer, refresh / userinfo):")
    for r in rounds:
        cells = [
            f"{name} {r[f'refresh_{name}']['per_s'] / r['refresh_peer']['per_s']:.2f} / "
            f"{r[f'userinfo_{name}']['per_s'] / r['userinfo_peer']['per_s']:.2f}"
            for name in names
            if name != "peer"
        ]
        lines.append(f"- round {r['round']} (load {r['load_1m']}): " + ", ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    prerequisites(postgres=args.postgres)
    cores = os.cpu_count() or 1
    workers = args.workers or default_workers()
    work = Path(tempfile.mkdtemp(prefix="biblogin-hot-"))
    sizes = dataclasses.replace(FULL, patrons_small=args.patrons, patrons_large=args.patrons)
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": args.settings,
        "PYTHONPATH": os.pathsep.join(
            p
            for p in (str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH"))
            if p
        ),
        "BIBLOGIN_VAR_DIR": str(work / "var"),
        "BIBLOGIN_DEBUG": "0",
        "BIBLOGIN_BORCHK_BULKHEAD": "64",
    }
    for key in ("DATABASE_URL", "REDIS_URL", "BIBLOGIN_CACHE_PREFIX", "BIBLOGIN_TEST_DB_NAME"):
        base_env.pop(key, None)
    variants = _variants(args)
    ports = [free_port() for _ in variants]
    base_env["BIBLOGIN_BASE_URL"] = f"http://127.0.0.1:{ports[0]}"
    load_start = loadavg()
    peer = Peer(
        port=free_port(),
        workers=args.peer_workers or cores,
        redis_url=f"redis://127.0.0.1:6379/{args.peer_redis_db}",
        log=work / "peer.log",
    )
    servers: list[tuple[str, Server]] = []
    with contextlib.ExitStack() as stack:
        if args.postgres:
            stack.enter_context(postgres_databases(args.pg_admin_url, list(pg_names_for(args))))
        try:
            setup = prepare(args, sizes, work, base_env)
            for (name, extra), port in zip(variants, ports, strict=True):
                extra = dict(extra)
                count = int(extra.pop("workers", workers))
                env = {**setup.env_small, **extra}
                servers.append((name, Server(name, env, port, count, work / f"{name}.log")))
            for _, server in servers:
                server.start()
            peer.start()
            log(f"servers up ({workers} workers each; variants {variants}); work {work}")
            rounds = asyncio.run(measure(args, setup.fixture, servers, peer))
        finally:
            for _, server in servers:
                server.stop()
            peer.stop()
            if args.postgres:
                for tag in ("small", "large"):
                    with contextlib.suppress(Exception):
                        redis_purge(
                            f"redis://127.0.0.1:6379/{args.redis_db}", f"bench{os.getpid()}{tag}"
                        )
    names = [n for n, _ in variants] + ["peer"]
    logged = {n: s.errors_logged() for n, s in servers}
    print(
        f"bench.hot {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{'PostgreSQL + Redis' if args.postgres else 'SQLite'}, {workers} workers, "
        f"{args.rounds} rounds x {args.seconds:.0f} s; load {load_start[0]:.2f} -> "
        f"{loadavg()[0]:.2f}; 5xx/tracebacks in logs {logged}"
    )
    if args.kinds == "refresh,userinfo":
        print(report(rounds, names))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run every benchmark of biblogin side by side, in one run, and print the table.

    .venv/bin/python -m bench.run              # the full run (1,000,000 patrons): 5-7 min
    .venv/bin/python -m bench.run --record     # ... and append the figures to bench/RESULTS.md
    .venv/bin/python -m bench.run --quick      # tiny sizes: checks the pieces in ~1 min

1. Library login vs its limit: full OIDC code flows per second (authorize -> login page ->
   PIN -> code -> token -> userinfo) against Argon2id verifies per second of the same PIN hash,
   interleaved, on the same machine and cores.
2. Token and userinfo vs a peer: chained refresh grants/s and userinfo requests/s against
   node-oidc-provider (bench/peers), interleaved, same client set-up.
3. Scale: login latency with the small vs the large user register (two servers on two copies
   of the database, measured alternately), and the bulk-load rate.

Every phase is bounded by a count and a deadline; the run stops every process it started and
removes every database and Redis key it made. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

# Runs as a script (python bench/run.py) or a module (python -m bench.run).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

from peer_tokens import peer_token_sets

from bench.argon2_baseline import Argon2Pool
from bench.driver import (
    Endpoints,
    OurService,
    TokenSet,
    basic_auth,
    clients_close,
    clients_open,
    run_logins,
    run_refresh,
    run_userinfo,
)
from bench.lifecycle import (
    BIN,
    REPO,
    BenchError,
    Peer,
    Server,
    free_port,
    loadavg,
    postgres_create,
    postgres_databases,
    prerequisites,
    redis_purge,
    run_checked,
    sqlite_copy,
)
from bench.report import record_results, render_table, summarise_run
from biblogin.common.management.commands.serve import default_workers

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Sizes:
    """How much each phase does; every phase also has a deadline."""

    rounds: int
    borrowers: int
    patrons_small: int
    patrons_large: int
    concurrency: int  # refresh chains and userinfo workers (as the peer's smoke test)
    login_concurrency: int
    login_flows: int
    login_seconds: float
    argon2_verifies: int
    argon2_seconds: float
    refresh: int
    refresh_seconds: float
    userinfo: int
    userinfo_seconds: float
    scale_concurrency: int
    scale_flows: int
    scale_seconds: float
    profile_seconds: int


FULL = Sizes(
    rounds=3, borrowers=64, patrons_small=10_000, patrons_large=1_000_000,
    concurrency=16, login_concurrency=8, login_flows=400, login_seconds=20,
    argon2_verifies=240, argon2_seconds=6, refresh=800, refresh_seconds=12,
    userinfo=2000, userinfo_seconds=10, scale_concurrency=2, scale_flows=60, scale_seconds=10,
    profile_seconds=12,
)  # fmt: skip
QUICK = Sizes(
    rounds=1, borrowers=8, patrons_small=200, patrons_large=2_000,
    concurrency=4, login_concurrency=2, login_flows=3, login_seconds=20,
    argon2_verifies=4, argon2_seconds=5, refresh=8, refresh_seconds=10,
    userinfo=8, userinfo_seconds=10, scale_concurrency=1, scale_flows=3, scale_seconds=20,
    profile_seconds=0,
)  # fmt: skip


def log(message: str) -> None:
    load = loadavg()[0]
    print(f"[bench {time.strftime('%H:%M:%S')} load {load:.2f}] {message}", file=sys.stderr)


# --- set-up ----------------------------------------------------------------------------------


@dataclass
class Setup:
    env_small: dict[str, str]
    env_large: dict[str, str]
    fixture: dict[str, Any]
    queries: dict[str, Any]
    bulkload: dict[str, Any]
    database: str
    timings: dict[str, float]


def _bulkload(env: dict[str, str], count: int, what: str) -> dict[str, Any]:
    out = run_checked(
        [str(BIN / "biblogin"), "patrons_bulkload", "--count", str(count)], env=env, what=what
    )
    last_line = out.strip().splitlines()[-1]
    # "... in 12.3 s: 81234 patrons/s."
    rate = float(last_line.rsplit(":", 1)[1].split()[0])
    seconds = float(last_line.rsplit(" in ", 1)[1].split()[0])
    return {"count": count, "seconds": seconds, "patrons_per_s": rate, "output": last_line}


def prepare(args: argparse.Namespace, sizes: Sizes, work: Path, base_env: dict[str, str]) -> Setup:
    """Migrate, load demo + bench data and the small register; copy it and grow the copy."""
    timings: dict[str, float] = {}
    env_small = dict(base_env)
    env_large = dict(base_env)
    if args.postgres:
        small_db, large_db = pg_names_for(args)
        postgres_create(args.pg_admin_url, small_db)
        env_small["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{small_db}"
        env_large["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{large_db}"
        redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
        for env, tag in ((env_small, "small"), (env_large, "large")):
            env["REDIS_URL"] = redis_url
            env["BIBLOGIN_CACHE_PREFIX"] = f"bench{os.getpid()}{tag}"
        database = "PostgreSQL 127.0.0.1 + Redis (cache, sessions, throttling)"
    else:
        env_small["DATABASE_URL"] = f"sqlite:///{work / 'small.sqlite3'}"
        env_large["DATABASE_URL"] = f"sqlite:///{work / 'large.sqlite3'}"
        database = "SQLite (WAL) + database cache (sessions, throttling)"

    started = time.perf_counter()
    biblogin = str(BIN / "biblogin")
    run_checked([biblogin, "migrate", "-v0"], env=env_small, what="migrate")
    run_checked([biblogin, "createcachetable"], env=env_small, what="createcachetable")
    timings["migrate_s"] = time.perf_counter() - started

    started = time.perf_counter()
    out = run_checked(
        [sys.executable, str(REPO / "bench" / "setup_data.py"), "--borrowers",
         str(sizes.borrowers), f"--secret={args.secret}"],  # a secret may start with "-"
        env=env_small, what="bench data",
    )  # fmt: skip
    fixture = json.loads(out.strip().splitlines()[-1])
    timings["bench_data_s"] = time.perf_counter() - started
    fixture_file = work / "fixture.json"
    fixture_file.write_text(json.dumps(fixture))
    out = run_checked(
        [sys.executable, str(REPO / "bench" / "query_counts.py"), "--fixture", str(fixture_file)],
        env=env_small,
        what="query counts",
    )
    queries = json.loads(out.strip().splitlines()[-1])

    log(f"bulk-loading {sizes.patrons_small:,} synthetic patrons (small register)")
    small = _bulkload(env_small, sizes.patrons_small, "bulk load (small)")
    started = time.perf_counter()
    if args.postgres:
        postgres_create(args.pg_admin_url, large_db, template=small_db)
    else:
        sqlite_copy(work / "small.sqlite3", work / "large.sqlite3")
    timings["copy_s"] = time.perf_counter() - started
    log(f"bulk-loading up to {sizes.patrons_large:,} synthetic patrons (large register)")
    large = _bulkload(env_large, sizes.patrons_large, "bulk load (large)")
    return Setup(
        env_small=env_small,
        env_large=env_large,
        fixture=fixture,
        queries=queries,
        bulkload={"small": small, "large": large},
        database=database,
        timings={k: round(v, 1) for k, v in timings.items()},
    )


# --- measurement -----------------------------------------------------------------------------


def _peer_sets(raw: list[dict[str, Any]]) -> list[TokenSet]:
    return [
        TokenSet(
            access_token=t["access_token"],
            refresh_token=t["refresh_token"],
            id_token=t["id_token"],
            sub=t["account_id"],
        )
        for t in raw
    ]


async def _timed(
    process: Server | Peer, coroutine: Any, *, extra_seconds: float, budget: float
) -> Any:
    """Run one phase with the server's CPU attributed to it; never longer than its deadline."""
    before = process.cpu()
    result = await asyncio.wait_for(coroutine, timeout=budget + extra_seconds)
    phase = result[0] if isinstance(result, tuple) else result
    phase.server_cpu_s = process.cpu() - before
    return result


async def measure(
    args: argparse.Namespace,
    sizes: Sizes,
    setup: Setup,
    small: Server,
    large: Server,
    peer: Peer,
    pool: Argon2Pool,
    deadline: float,
) -> dict[str, Any]:
    fixture = setup.fixture
    ours_service = OurService.for_fixture(small.base_url, fixture)
    large_service = OurService(**{**ours_service.__dict__, "base_url": large.base_url})
    ours = Endpoints(
        name="ours",
        base_url=small.base_url,
        token_path=ours_service.token_path,
        userinfo_path=ours_service.userinfo_path,
        auth_header=ours_service.auth_header,
    )
    theirs = Endpoints(
        name="peer",
        base_url=peer.base_url,
        token_path="/token",
        userinfo_path="/me",
        auth_header=basic_auth(peer.client_id, peer.client_secret),
    )
    c = sizes.concurrency
    login_clients = clients_open(small.base_url, sizes.login_concurrency)
    our_clients = clients_open(small.base_url, c)
    peer_clients = clients_open(peer.base_url, c)
    small_scale = clients_open(small.base_url, sizes.scale_concurrency)
    large_scale = clients_open(large.base_url, sizes.scale_concurrency)
    rounds: list[dict[str, Any]] = []
    warmup: dict[str, Any] = {}
    profile: dict[str, Any] | None = None
    flow_index = 0
    try:
        # Warm-up (not counted): every worker of both servers has served flows; the token sets
        # for userinfo (c) and the refresh chains (c) come from real login flows, each its own
        # grant, as the peer's do.
        log("warm-up: login flows on both servers, token sets from the peer")
        phase, tokens = await run_logins(
            our_clients, ours_service, total=2 * c, max_seconds=120, name="warmup-login",
            keep_tokens=2 * c,
        )  # fmt: skip
        flow_index += 2 * c
        warmup["ours"] = phase.summary()
        if len(tokens) < 2 * c:
            raise BenchError(f"warm-up logins failed: {phase.summary()}")
        phase, _ = await run_logins(
            large_scale, large_service, total=4 * sizes.scale_concurrency,
            max_seconds=60, name="warmup-large", start_index=flow_index,
        )  # fmt: skip
        warmup["large"] = phase.summary()
        our_userinfo_tokens, our_chains = tokens[:c], tokens[c:]
        raw = await asyncio.wait_for(
            peer_token_sets(
                base_url=peer.base_url, count=2 * c, concurrency=c,
                client_secret=peer.client_secret,
            ),
            timeout=120,
        )  # fmt: skip
        peer_sets = _peer_sets(list(raw))
        peer_userinfo_tokens, peer_chains = peer_sets[:c], peer_sets[c:]
        # Warm both token endpoints and userinfos a little, too.
        warm = {"max_seconds": 30.0}
        warmup["refresh_ours"] = (
            await run_refresh(our_clients, ours, our_chains, total=2 * c, **warm)
        ).summary()
        warmup["refresh_peer"] = (
            await run_refresh(peer_clients, theirs, peer_chains, total=2 * c, **warm)
        ).summary()
        warmup["userinfo_ours"] = (
            await run_userinfo(our_clients, ours, our_userinfo_tokens, total=4 * c, **warm)
        ).summary()
        warmup["userinfo_peer"] = (
            await run_userinfo(peer_clients, theirs, peer_userinfo_tokens, total=4 * c, **warm)
        ).summary()

        for number in range(sizes.rounds):
            remaining = deadline - time.monotonic()
            # Room for one more round, the profile and stopping everything.
            if number > 0 and remaining < args.round_seconds_estimate + 30:
                log(f"stopping after {number} rounds: {remaining:.0f} s of the budget left")
                break
            log(f"round {number + 1}/{sizes.rounds}")
            result: dict[str, Any] = {"round": number + 1, "load_1m": round(loadavg()[0], 2)}
            argon2 = pool.measure(
                stored_hash=fixture["pin_hash"], pin=fixture["pin"],
                verifies=sizes.argon2_verifies, max_seconds=sizes.argon2_seconds,
            )  # fmt: skip
            result["argon2"] = argon2.summary()
            login, _ = await _timed(
                small,
                run_logins(
                    login_clients, ours_service, total=sizes.login_flows,
                    max_seconds=sizes.login_seconds, start_index=flow_index,
                ),
                extra_seconds=60, budget=sizes.login_seconds,
            )  # fmt: skip
            flow_index += login.ok + login.errors
            result["login"] = login.summary()
            # Alternate who goes first, so that a drift in the machine's load hits both.
            order = [(ours, small), (theirs, peer)]
            if number % 2:
                order.reverse()
            # Refresh, then userinfo: each on ours and the peer, in this round's order.
            phases = (
                ("refresh", run_refresh, sizes.refresh, sizes.refresh_seconds,
                 our_chains, peer_chains),
                ("userinfo", run_userinfo, sizes.userinfo, sizes.userinfo_seconds,
                 our_userinfo_tokens, peer_userinfo_tokens),
            )  # fmt: skip
            for kind, runner, total, seconds, our_tokens, peer_tokens in phases:
                for endpoints, process in order:
                    is_ours = endpoints is ours
                    phase = await _timed(
                        process,
                        runner(
                            our_clients if is_ours else peer_clients, endpoints,
                            our_tokens if is_ours else peer_tokens, total=total,
                            max_seconds=seconds, name=f"{kind}-{endpoints.name}",
                        ),
                        extra_seconds=60, budget=seconds,
                    )  # fmt: skip
                    result[f"{kind}_{endpoints.name}"] = phase.summary()
            scale_order = [("small", small, ours_service, small_scale)]
            scale_order.append(("large", large, large_service, large_scale))
            if number % 2:
                scale_order.reverse()
            for tag, server, service, clients in scale_order:
                phase, _ = await _timed(
                    server,
                    run_logins(
                        clients, service, total=sizes.scale_flows,
                        max_seconds=sizes.scale_seconds, name=f"scale-{tag}",
                        start_index=flow_index,
                    ),
                    extra_seconds=60, budget=sizes.scale_seconds,
                )  # fmt: skip
                flow_index += phase.ok + phase.errors
                result[f"scale_{tag}"] = phase.summary()
                result[f"scale_{tag}_latencies"] = [round(x, 2) for x in phase.latencies_ms]
            result["login_latencies"] = [round(x, 2) for x in login.latencies_ms]
            rounds.append(result)

        from bench.profiling import py_spy

        if sizes.profile_seconds > 0 and args.profile and py_spy() is None:
            log("py-spy is not installed: no profile this time (pip install py-spy)")
        elif sizes.profile_seconds > 0 and args.profile:
            profile = await profile_login(
                args, sizes, small, login_clients, ours_service, flow_index
            )
    finally:
        for group in (login_clients, our_clients, peer_clients, small_scale, large_scale):
            await clients_close(group)
    return {"warmup": warmup, "rounds": rounds, "profile": profile}


async def profile_login(
    args: argparse.Namespace,
    sizes: Sizes,
    server: Server,
    clients: list[httpx.AsyncClient],
    service: OurService,
    flow_index: int,
) -> dict[str, Any]:
    """Sample the server's workers with py-spy during a login phase; sum up the top costs."""
    from bench.profiling import record_start, summarise

    assert server.proc is not None
    raw = REPO / "var" / "bench" / f"login-profile-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    raw.parent.mkdir(parents=True, exist_ok=True)
    log(f"profiling the login path with py-spy for {sizes.profile_seconds} s")
    spy = record_start(server.proc.pid, raw, sizes.profile_seconds)
    await asyncio.sleep(0.5)
    phase, _ = await run_logins(
        clients, service, total=10_000, max_seconds=sizes.profile_seconds - 1,
        name="login-profiled", start_index=flow_index,
    )  # fmt: skip
    try:
        _out, err = await asyncio.to_thread(spy.communicate, timeout=60)
    except Exception:
        spy.kill()
        raise
    if not raw.exists():
        return {"error": (err or b"").decode(errors="replace")[-500:], "phase": phase.summary()}
    summary = summarise(raw)
    return {"phase": phase.summary(), "raw": str(raw.relative_to(REPO)), **summary.as_dict()}


# --- the run ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_gib = 0.0
    with contextlib.suppress(OSError, ValueError):
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        mem_gib = int(first.split()[1]) / 1024 / 1024
    import django

    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True,
        check=False,
    ).stdout.strip()  # fmt: skip
    return {
        "host": platform.node(),
        "commit": commit or "?",
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_gib, 1),
        "python": platform.python_version(),
        "django": django.get_version(),
        "httpx": httpx.__version__,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (checks the pieces)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis (scaled)")
    parser.add_argument("--redis-db", type=int, default=9, help="Redis DB for --postgres (9)")
    parser.add_argument(
        "--peer-redis-db", type=int, help="the peer's Redis DB (15, or 14 when --redis-db is 15)"
    )
    parser.add_argument(
        "--port-base", type=int, default=0, help="ports N, N+1, N+2 (default: any free ones)"
    )
    parser.add_argument(
        "--pg-prefix", help="names of the --postgres databases: P and P_large (bench_<pid>)"
    )
    parser.add_argument(
        "--pg-admin-url", default=PG_ADMIN_URL, help="where CREATE/DROP DATABASE run"
    )
    parser.add_argument("--rounds", type=int, help="measurement rounds (default 3)")
    parser.add_argument("--patrons-small", type=int, help="small register (default 10,000)")
    parser.add_argument("--patrons-large", type=int, help="large register (default 1,000,000)")
    parser.add_argument(
        "--workers", type=int, help="our server's workers (default: biblogin serve's, one per core)"
    )
    parser.add_argument("--peer-workers", type=int, help="the peer's workers (default: cores)")
    parser.add_argument("--login-concurrency", type=int, help="concurrent login flows (8)")
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument(
        "--settings",
        default="config.settings",
        help="our servers' settings module, to try a change (a module in bench/experiments/)",
    )
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--json", type=Path, help="also write the whole result as JSON here")
    parser.add_argument(
        "--budget", type=float, help="seconds for the whole run (570; 840 with --postgres)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    args.secret = secrets.token_urlsafe(24)
    if args.peer_redis_db is None:
        args.peer_redis_db = 15 if args.redis_db != 15 else 14
    if args.peer_redis_db == args.redis_db:
        parser.error("the peer and our server need different Redis DBs")
    return args


def pg_names_for(args: argparse.Namespace) -> tuple[str, str]:
    prefix = args.pg_prefix or f"bench_{os.getpid()}"
    return prefix, f"{prefix}_large"


def sizes_for(args: argparse.Namespace) -> Sizes:
    base = QUICK if args.quick else FULL
    changes = {
        name: getattr(args, name)
        for name in ("rounds", "patrons_small", "patrons_large", "login_concurrency")
        if getattr(args, name) is not None
    }
    sizes = Sizes(**{**base.__dict__, **changes})
    if sizes.rounds < 1 or sizes.patrons_small < 1 or sizes.patrons_large < sizes.patrons_small:
        raise SystemExit("need rounds >= 1 and 1 <= --patrons-small <= --patrons-large")
    return sizes


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sizes_for(args)
    run_started = time.monotonic()
    # PostgreSQL's bulk load of the large register alone takes ~3 minutes on 2 cores.
    budget = args.budget or (840.0 if args.postgres else 570.0)
    deadline = run_started + budget
    try:
        prerequisites(postgres=args.postgres)
    except BenchError as exc:
        log(f"cannot run: {exc}")
        return 2
    # Stopped from outside (SIGTERM): still stop every process and drop every database.
    signal.signal(signal.SIGTERM, _interrupt)
    cores = os.cpu_count() or 1
    workers = args.workers or default_workers()
    peer_workers = args.peer_workers or cores
    # A round's duration, for the budget check before starting another one.
    args.round_seconds_estimate = (
        sizes.argon2_seconds + sizes.login_seconds + 2 * sizes.refresh_seconds
        + 2 * sizes.userinfo_seconds + 2 * sizes.scale_seconds
    ) * 0.85  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="biblogin-bench-"))
    args.work = str(work)
    started_at = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_start = loadavg()
    log(f"work directory {work}; our workers {workers}, peer workers {peer_workers}")
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": args.settings,
        # The bench package (experiment settings) is importable from the checkout.
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
        "BIBLOGIN_VAR_DIR": str(work / "var"),
        "BIBLOGIN_DEBUG": "0",
        # R-BC-6: all the bench's logins go to one library, whose simulated PIN check burns our
        # own CPU; its bulkhead (4 calls at once by default) would refuse part of the load the
        # bench is there to measure.
        "BIBLOGIN_BORCHK_BULKHEAD": os.environ.get("BIBLOGIN_BORCHK_BULKHEAD", "64"),
    }
    for key in ("DATABASE_URL", "REDIS_URL", "BIBLOGIN_CACHE_PREFIX", "BIBLOGIN_TEST_DB_NAME"):
        base_env.pop(key, None)
    if args.port_base:
        small_port, large_port, peer_port = args.port_base, args.port_base + 1, args.port_base + 2
    else:
        small_port, large_port, peer_port = free_port(), free_port(), free_port()
    base_env["BIBLOGIN_BASE_URL"] = f"http://127.0.0.1:{small_port}"

    pg_names = list(pg_names_for(args)) if args.postgres else []
    pool: Argon2Pool | None = None
    small = large = None
    peer = Peer(
        port=peer_port,
        workers=peer_workers,
        redis_url=f"redis://127.0.0.1:6379/{args.peer_redis_db}",
        log=work / "peer.log",
    )
    result: dict[str, Any] = {}
    exit_code = 0
    with contextlib.ExitStack() as stack:
        if pg_names:
            stack.enter_context(postgres_databases(args.pg_admin_url, pg_names))
        try:
            setup = prepare(args, sizes, work, base_env)
            log(f"set-up done: {setup.bulkload['large']['output']}")
            pool = Argon2Pool(cores)
            small = Server("small", setup.env_small, small_port, workers, work / "small.log")
            large = Server("large", {**setup.env_large}, large_port, workers, work / "large.log")
            large.env["BIBLOGIN_BASE_URL"] = f"http://127.0.0.1:{large_port}"
            log("starting our two servers and the peer")
            small.start()
            large.start()
            peer.start()
            measured = asyncio.run(measure(args, sizes, setup, small, large, peer, pool, deadline))
            result = {
                "started_at": started_at,
                "machine": machine(),
                "load_at_start": [round(x, 2) for x in load_start],
                "load_at_end": [round(x, 2) for x in loadavg()],
                "quick": args.quick,
                "database": setup.database,
                "our_server": f"biblogin serve: granian, {workers} workers x 8 threads"
                + (f", settings {args.settings}" if args.settings != "config.settings" else ""),
                "peer": f"oidc-provider {peer.version()} (Node {node_version()}), "
                f"cluster of {peer_workers} workers, Redis storage",
                "sizes": sizes.__dict__,
                "setup": {
                    "timings": setup.timings,
                    "bench_data": setup.fixture["timings"],
                    "bulkload": setup.bulkload,
                },
                "queries": setup.queries,
                **measured,
            }
        except (BenchError, TimeoutError, httpx.HTTPError) as exc:
            log(f"FAILED: {type(exc).__name__}: {exc}")
            exit_code = 2
        except KeyboardInterrupt:
            log("interrupted: stopping everything")
            exit_code = 130
        finally:
            if pool is not None:
                pool.close()
            for server in (small, large):
                if server is not None:
                    server.stop()
            peer_stopped = peer.stop()
            if args.postgres:
                for tag in ("small", "large"):
                    with contextlib.suppress(Exception):
                        redis_purge(
                            f"redis://127.0.0.1:6379/{args.redis_db}",
                            f"bench{os.getpid()}{tag}",
                        )
    if exit_code == 130 and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    if exit_code:
        if work.exists():
            print(f"work directory kept for inspection: {work}", file=sys.stderr)
        return exit_code
    result["server_log_errors"] = {s.name: s.errors_logged() for s in (small, large) if s}
    result["peer_stopped"] = peer_stopped
    result["runtime_s"] = round(time.monotonic() - run_started, 1)
    summary = summarise_run(result)
    result["summary"] = summary
    print(render_table(result))
    json_path = args.json or (
        REPO / "var" / "bench" / f"result-{time.strftime('%Y%m%d-%H%M%S')}.json"
    )
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=1))
    print(f"\nfull result: {json_path}")
    if args.record:
        record_results(REPO / "bench" / "RESULTS.md", result)
        print("appended to bench/RESULTS.md")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    errors = summary["errors"]
    return 1 if errors else 0


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def node_version() -> str:
    done = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())

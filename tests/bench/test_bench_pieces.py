"""The benchmark's pieces at tiny sizes: set-up, the load generator on a live server, Argon2,
the report and the profile summary (bench/, run by ``make bench``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.argon2_baseline import Argon2Pool
from bench.driver import (
    Endpoints,
    OurService,
    clients_close,
    clients_open,
    percentile,
    run_logins,
    run_refresh,
    run_userinfo,
)
from bench.profiling import summarise
from bench.query_counts import count_queries
from bench.report import record_results, render_table, summarise_run
from bench.setup_data import bench_cpr, setup
from biblogin.common.cpr import normalise_cpr
from biblogin.integrations.library_systems.pins import ARGON2_MEMORY_COST_KIB
from biblogin.patrons.selectors import patron_get_by_cpr


def test_bench_borrowers_have_valid_cprs_outside_the_synthetic_range():
    """Bench borrowers are born 2001 or later; synthetic patrons 1920-1999: no collision."""
    cprs = [bench_cpr(i) for i in range(9000)]
    assert len(set(cprs)) == len(cprs)
    assert all(normalise_cpr(c) == c and c[6] == "4" for c in cprs)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("production_hashing")  # the bench's borrowers: production's Argon2 cost
def test_three_login_flows_refresh_and_userinfo_against_a_live_server(live_server):
    """R-LOGIN-1, R-LOGIN-4: the driver's full code flow works as a browser's, with 0 errors."""
    fixture = setup(borrowers=2, secret="bench-test-secret", base_url=live_server.url)
    # The same Argon2id cost as production (OWASP: m=19456 KiB, t=2, p=1).
    assert fixture["pin_hash"].startswith(f"$argon2id$v=19$m={ARGON2_MEMORY_COST_KIB},t=2,p=1$")
    # R-CULR-2: the bench borrowers were delivered to CULR, so every login consults it.
    assert patron_get_by_cpr(cpr=fixture["users"][0][0]) is not None
    service = OurService.for_fixture(live_server.url, fixture)
    ours = Endpoints(
        "ours", service.base_url, service.token_path, service.userinfo_path, service.auth_header
    )

    user_id, pin = fixture["users"][0]
    wrong_pin = OurService(
        **{**service.__dict__, "users": [[user_id, "0000" if pin != "0000" else "1"]]}
    )

    async def drive():
        clients = clients_open(service.base_url, 1)
        try:
            login, tokens = await run_logins(
                clients, service, total=3, max_seconds=60, keep_tokens=3
            )
            refresh = await run_refresh(clients, ours, tokens[2:], total=2, max_seconds=30)
            userinfo = await run_userinfo(clients, ours, tokens[:2], total=2, max_seconds=30)
            refused, _none = await run_logins(clients, wrong_pin, total=1, max_seconds=30)
        finally:
            await clients_close(clients)
        return login, tokens, refresh, userinfo, refused

    login, tokens, refresh, userinfo, refused = asyncio.run(drive())

    assert (login.ok, login.errors) == (3, 0), login.summary()
    assert list(login.steps_ms) == [
        "1 authorize",
        "2 login page",
        "3 PIN login",
        "4 code",
        "5 token",
        "6 userinfo",
    ]
    assert (refresh.ok, refresh.errors) == (2, 0), refresh.summary()
    assert (userinfo.ok, userinfo.errors) == (2, 0), userinfo.summary()
    assert len({t.refresh_token for t in tokens}) == 3
    # Only real logins count: a refused PIN is an error (and the bench never sends one).
    assert (refused.ok, refused.errors) == (0, 1)
    assert "library login: 200" in refused.error_samples[0]

    # The per-step SQL counts of the run come from the same kind of flow, in-process.
    counts = count_queries(fixture)
    assert list(counts["steps"]) == [*login.steps_ms, "refresh"]
    assert all(step["queries"] > 0 for step in counts["steps"].values())
    assert counts["login_flow_queries"] == sum(
        step["queries"] for name, step in counts["steps"].items() if name != "refresh"
    )


def test_argon2_pool_verifies_the_stored_hash():
    """The baseline verifies the project's own Argon2id hash with the project's hasher."""
    from biblogin.integrations.library_systems.pins import pin_hash

    pool = Argon2Pool(2)
    try:
        result = pool.measure(stored_hash=pin_hash("2468"), pin="2468", verifies=2, max_seconds=30)
    finally:
        pool.close()
    assert result.verifies == 2 and result.matched and result.per_s > 0


def _phase(per_s, median=10.0, errors=0, ok=10, cpu=0.1):
    return {
        "per_s": per_s,
        "median_ms": median,
        "p95_ms": 2 * median,
        "errors": errors,
        "ok": ok,
        "driver_cpu_s": 0.01,
        "server_cpu_ms_per_op": cpu,
    }


def test_report_computes_the_three_ratios_and_counts_every_error(tmp_path: Path):
    rounds = [
        {
            "round": n,
            "load_1m": 1.0,
            "argon2": {"per_s": 40.0, "cpu_ms_per_verify": 40.0, "errors": 0},
            "login": _phase(20.0 + n, errors=1 if n == 1 else 0, cpu=80.0),
            "refresh_ours": _phase(100.0),
            "refresh_peer": _phase(200.0),
            "userinfo_ours": _phase(300.0),
            "userinfo_peer": _phase(150.0),
            "scale_small": _phase(5.0),
            "scale_large": _phase(5.0),
            "scale_small_latencies": [100.0, 100.0, 120.0],
            "scale_large_latencies": [110.0, 110.0, 130.0],
        }
        for n in (1, 2, 3)
    ]
    result = {
        "started_at": "2026-11-28 17:00:00 UTC",
        "machine": {"host": "test", "cpus": 2, "cpu_model": "x"},
        "load_at_start": [1.0, 1.0, 1.0],
        "load_at_end": [1.0, 1.0, 1.0],
        "runtime_s": 100.0,
        "quick": False,
        "database": "SQLite",
        "our_server": "gunicorn",
        "peer": "oidc-provider",
        "sizes": {"patrons_small": 10_000, "patrons_large": 1_000_000},
        "setup": {
            "bulkload": {
                "small": {"count": 10_000, "seconds": 1.0, "patrons_per_s": 10_000.0},
                "large": {"count": 1_000_000, "seconds": 100.0, "patrons_per_s": 9_900.0},
            }
        },
        "warmup": {"ours": {"errors": 0}},
        "server_log_errors": {"small": 0, "large": 0},
        "rounds": rounds,
    }
    summary = summarise_run(result)
    assert summary["login_vs_argon2"] == pytest.approx(22.0 / 40.0)
    assert summary["login_vs_argon2_cpu"] == pytest.approx(0.5)
    assert summary["refresh_vs_peer"] == pytest.approx(0.5)
    assert summary["userinfo_vs_peer"] == pytest.approx(2.0)
    assert summary["scale_ratio"] == pytest.approx(1.1)
    assert summary["errors"] == 1
    result["summary"] = summary
    table = render_table(result)
    assert "**0.55** (misses ≥ 0.7)" in table and "Errors: **1**" in table
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    results = tmp_path / "RESULTS.md"
    record_results(results, result)
    record_results(results, result)
    text = results.read_text()
    assert text.startswith("# Benchmark results")
    assert text.count("### 2026-11-28 17:00:00 UTC: test, 2 CPUs, SQLite\n") == 2


def test_profile_summary_sums_self_and_inclusive_time(tmp_path: Path):
    raw = tmp_path / "raw.txt"
    raw.write_text(
        "process 1:x;handle (gunicorn/workers/gthread.py:1);library (biblogin/login/views.py:9);"
        "verify_secret (argon2/low_level.py:163) 3\n"
        "process 1:x;handle (gunicorn/workers/gthread.py:1);"
        "claims_for (biblogin/oidc/claims.py:86);"
        "SQLiteCursorWrapper.execute (django/db/backends/sqlite3/base.py:354) 1\n"
    )
    summary = summarise(raw)
    assert summary.samples == 4
    assert summary.self_top[0] == ("verify_secret (argon2/low_level.py:163)", 75.0)
    categories = dict(summary.categories)
    assert categories["Argon2id PIN verify"] == 75.0
    assert categories["claims (R-LOGIN-8)"] == 25.0
    assert all("gunicorn/" not in name for name, _pct in summary.inclusive_top)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="Linux /proc")
def test_thread_cpu_is_split_by_the_roles_the_server_names_its_threads_by():
    """bench.hot's split of a worker's CPU: its main thread is the loop, the pools by name."""
    import os
    import threading

    from bench.lifecycle import thread_cpu_seconds
    from biblogin.common.server import Pool

    lean, plain = Pool(1, "biblogin_lean"), Pool(1, "biblogin")
    try:

        async def spin() -> None:
            loop = asyncio.get_running_loop()
            burn = lambda: sum(range(6_000_000))  # noqa: E731 - CPU for the thread to count
            await asyncio.gather(lean.call(loop, burn), plain.call(loop, burn))

        asyncio.run(spin())
        roles = thread_cpu_seconds([os.getpid()])
    finally:
        lean.shutdown()
        plain.shutdown()
    assert threading.current_thread() is threading.main_thread()
    assert {"loop", "lean", "pool"} <= set(roles)
    assert roles["lean"] > 0 and roles["pool"] > 0

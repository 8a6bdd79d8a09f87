"""Turn a run's measurements into the three ratios, a table, and a section of RESULTS.md."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from bench.driver import percentile

GOALS = {"login_vs_argon2": 0.7, "refresh_vs_peer": 1.0, "userinfo_vs_peer": 1.0, "scale": 1.2}


def _median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _phase_stats(rounds: list[dict[str, Any]], key: str) -> dict[str, Any]:
    phases = [r[key] for r in rounds if key in r]
    rates = [p["per_s"] for p in phases]
    return {
        "per_s": _median(rates),
        "per_s_min": min(rates) if rates else None,
        "per_s_max": max(rates) if rates else None,
        "median_ms": _median([p.get("median_ms") for p in phases]),
        "p95_ms": _median([p.get("p95_ms") for p in phases]),
        "server_cpu_ms_per_op": _median([p.get("server_cpu_ms_per_op") for p in phases]),
        "driver_cpu_ms_per_op": _median(
            [1000 * p["driver_cpu_s"] / p["ok"] for p in phases if p.get("ok")]
        ),
        "errors": sum(p["errors"] for p in phases),
        "ok": sum(p["ok"] for p in phases),
    }


def summarise_run(result: dict[str, Any]) -> dict[str, Any]:
    """Compute the three ratios (medians of the per-round ratios), medians, p95s and errors."""
    rounds: list[dict[str, Any]] = result["rounds"]
    cores = result["machine"]["cpus"] or 1
    login = _phase_stats(rounds, "login")
    argon2 = {
        "per_s": _median([r["argon2"]["per_s"] for r in rounds]),
        "cpu_ms_per_verify": _median([r["argon2"]["cpu_ms_per_verify"] for r in rounds]),
        "errors": sum(r["argon2"]["errors"] for r in rounds),
    }
    summary: dict[str, Any] = {"rounds": len(rounds), "cores": cores}
    summary["login"] = login
    summary["argon2"] = argon2
    summary["login_vs_argon2"] = _median(
        [_ratio(r["login"]["per_s"], r["argon2"]["per_s"]) for r in rounds]
    )
    # The same ratio in CPU time: what the server spends per flow against what one verify
    # costs. Not skewed by the driver sharing the machine's cores.
    summary["login_vs_argon2_cpu"] = _ratio(
        argon2["cpu_ms_per_verify"], login["server_cpu_ms_per_op"]
    )
    for what in ("refresh", "userinfo"):
        ours, peer = _phase_stats(rounds, f"{what}_ours"), _phase_stats(rounds, f"{what}_peer")
        summary[what] = {"ours": ours, "peer": peer}
        summary[f"{what}_vs_peer"] = _median(
            [_ratio(r[f"{what}_ours"]["per_s"], r[f"{what}_peer"]["per_s"]) for r in rounds]
        )
        summary[f"{what}_vs_peer_cpu"] = _ratio(
            peer["server_cpu_ms_per_op"], ours["server_cpu_ms_per_op"]
        )
    small = [x for r in rounds for x in r.get("scale_small_latencies", [])]
    large = [x for r in rounds for x in r.get("scale_large_latencies", [])]
    summary["scale"] = {
        "small_patrons": result["sizes"]["patrons_small"],
        "large_patrons": result["sizes"]["patrons_large"],
        "small_median_ms": _median(small),
        "small_p95_ms": percentile(small, 95),
        "large_median_ms": _median(large),
        "large_p95_ms": percentile(large, 95),
        "flows": len(small) + len(large),
        "errors": sum(r[f"scale_{t}"]["errors"] for r in rounds for t in ("small", "large")),
    }
    summary["scale_ratio"] = _ratio(_median(large), _median(small))
    summary["scale_ratio_p95"] = _ratio(percentile(large, 95), percentile(small, 95))
    summary["bulkload_per_s"] = result["setup"]["bulkload"]["large"]["patrons_per_s"]
    phase_errors = sum(
        p["errors"] for r in rounds for key, p in r.items() if isinstance(p, dict) and "errors" in p
    )
    warmup_errors = sum(p["errors"] for p in result.get("warmup", {}).values())
    log_errors = sum(result.get("server_log_errors", {}).values())
    # The profiled login phase is measured too.
    phase_errors += int((result.get("profile") or {}).get("phase", {}).get("errors", 0))
    summary["errors"] = phase_errors + warmup_errors + log_errors
    summary["errors_detail"] = {
        "measured": phase_errors,
        "warmup": warmup_errors,
        "server_log": log_errors,
    }
    return summary


def _f(value: float | None, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def _goal(value: float | None, goal: float, at_most: bool = False) -> str:
    if value is None:
        return "n/a"
    met = value <= goal if at_most else value >= goal
    return f"**{value:.2f}** ({'meets' if met else 'misses'} {'≤' if at_most else '≥'} {goal})"


def render_table(result: dict[str, Any]) -> str:
    """A Markdown table of the run: the three ratios with their inputs, errors, conditions."""
    s = result["summary"]
    cores = s["cores"]
    login, argon2 = s["login"], s["argon2"]
    lines = [
        f"Run {result['started_at']} on {result['machine']['host']}: "
        f"{cores} CPUs ({result['machine']['cpu_model']}), "
        f"{result['machine'].get('memory_gib', '?')} GiB, "
        f"load average {result['load_at_start'][0]} at start, {result['load_at_end'][0]} at end; "
        f"{s['rounds']} rounds; runtime {result['runtime_s']:.0f} s; "
        f"code {result['machine'].get('commit', '?')}.",
        f"Ours: {result['our_server']}; {result['database']}. Peer: {result['peer']}.",
        "",
        "| # | measure | ours | against | ratio (goal) |",
        "|---|---|---|---|---|",
        f"| 1 | full login flows/s vs Argon2id verifies/s, same cores | "
        f"{_f(login['per_s'])}/s ({_f(login['per_s'] and login['per_s'] / cores)}/s per core); "
        f"flow median {_f(login['median_ms'], 0)} ms, p95 {_f(login['p95_ms'], 0)} ms | "
        f"{_f(argon2['per_s'])}/s ({_f(argon2['per_s'] and argon2['per_s'] / cores)}/s per core) "
        f"| {_goal(s['login_vs_argon2'], GOALS['login_vs_argon2'])} |",
        f"| 1b | the same in CPU time: server CPU per flow vs per verify | "
        f"{_f(login['server_cpu_ms_per_op'])} ms (+ driver {_f(login['driver_cpu_ms_per_op'])} ms)"
        f" | {_f(argon2['cpu_ms_per_verify'])} ms | {_f(s['login_vs_argon2_cpu'], 2)} |",
    ]
    for number, what, label in (
        ("2a", "refresh", "refresh-token grants/s (rotation, ID token)"),
        ("2b", "userinfo", "userinfo requests/s"),
    ):
        ours, peer = s[what]["ours"], s[what]["peer"]
        lines.append(
            f"| {number} | {label} | {_f(ours['per_s'])}/s; median {_f(ours['median_ms'])} ms, "
            f"p95 {_f(ours['p95_ms'])} ms; {_f(ours['server_cpu_ms_per_op'], 2)} ms CPU/req | "
            f"peer {_f(peer['per_s'])}/s; median {_f(peer['median_ms'])} ms, "
            f"p95 {_f(peer['p95_ms'])} ms; {_f(peer['server_cpu_ms_per_op'], 2)} ms CPU/req | "
            f"{_goal(s[f'{what}_vs_peer'], GOALS[f'{what}_vs_peer'])}; "
            f"CPU/req {_f(s[f'{what}_vs_peer_cpu'], 2)} |"
        )
    sc = s["scale"]
    lines += [
        f"| 3 | login latency, {sc['large_patrons']:,} vs {sc['small_patrons']:,} patrons | "
        f"median {_f(sc['large_median_ms'], 0)} ms, p95 {_f(sc['large_p95_ms'], 0)} ms | "
        f"median {_f(sc['small_median_ms'], 0)} ms, p95 {_f(sc['small_p95_ms'], 0)} ms | "
        f"{_goal(s['scale_ratio'], GOALS['scale'], at_most=True)}; "
        f"p95 {_f(s['scale_ratio_p95'], 2)} |",
        f"| 3b | bulk load of synthetic patrons | {_f(s['bulkload_per_s'], 0)} patrons/s | | |",
        "",
        f"Errors: **{s['errors']}** (measured {s['errors_detail']['measured']}, warm-up "
        f"{s['errors_detail']['warmup']}, 5xx/tracebacks in server logs "
        f"{s['errors_detail']['server_log']}).",
        "",
        "| round | load 1m | Argon2 /s | logins /s | refresh ours / peer | userinfo ours / peer "
        "| scale median small / large ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["rounds"]:
        lines.append(
            f"| {r['round']} | {r['load_1m']} | {_f(r['argon2']['per_s'])} | "
            f"{_f(r['login']['per_s'])} | {_f(r['refresh_ours']['per_s'])} / "
            f"{_f(r['refresh_peer']['per_s'])} | {_f(r['userinfo_ours']['per_s'])} / "
            f"{_f(r['userinfo_peer']['per_s'])} | {_f(r['scale_small']['median_ms'], 0)} / "
            f"{_f(r['scale_large']['median_ms'], 0)} |"
        )
    steps = result["rounds"][0]["login"].get("steps_median_ms") if result["rounds"] else None
    if steps:
        lines += ["", "Login flow, median per step (round 1): " + ", ".join(
            f"{k} {v:.0f} ms" for k, v in steps.items()
        ) + "."]  # fmt: skip
    queries = result.get("queries")
    if queries:
        steps = queries["steps"]
        lines += [
            "",
            f"SQL queries per login flow (a borrower's repeat login; their first: "
            f"{queries.get('first_login_flow_queries')}): {queries['login_flow_queries']} ("
            + ", ".join(f"{k[2:]} {v['queries']}" for k, v in steps.items() if k[0].isdigit())
            + f"); per refresh grant: {steps['refresh']['queries']}.",
        ]
    bl = result["setup"]["bulkload"]
    lines += [
        "",
        f"Bulk load: small register {bl['small']['count']:,} in {bl['small']['seconds']} s; "
        f"large register grown to {bl['large']['count']:,} in {bl['large']['seconds']} s "
        f"({_f(bl['large']['patrons_per_s'], 0)} patrons/s).",
    ]
    profile = result.get("profile")
    if profile and profile.get("samples"):
        phase = profile.get("phase", {})
        lines += [
            "",
            f"Profile of the login path: py-spy on every worker of the small server for "
            f"{phase.get('wall_s', 0):.0f} s of login flows ({phase.get('ok', 0)} flows, "
            f"{profile['samples']} samples). Share of samples with that code on the stack:",
            "",
            "| % of samples | where |",
            "|---|---|",
        ]
        lines += [f"| {pct} | {name} |" for name, pct in profile["categories"]]
        lines += ["", "| self % | function (leaf frame) |", "|---|---|"]
        lines += [f"| {pct} | `{name}` |" for name, pct in profile["self_top"][:12]]
    return "\n".join(lines)


def record_results(path: Path, result: dict[str, Any]) -> None:
    """Append the run's table to RESULTS.md under a dated heading."""
    database = "PostgreSQL + Redis" if result["database"].startswith("PostgreSQL") else "SQLite"
    settings = result["our_server"].partition(", settings ")[2]
    title = (
        f"\n### {result['started_at']}: {result['machine']['host']}, "
        f"{result['machine']['cpus']} CPUs, {database}"
        f"{f', settings {settings}' if settings else ''}{' (quick)' if result['quick'] else ''}\n\n"
    )
    if not path.exists():
        path.write_text("# Benchmark results\n\n## Runs\n")
    with path.open("a") as out:
        out.write(title + render_table(result) + "\n")

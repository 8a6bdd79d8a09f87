"""Catalogue search latency at 10,000 and at 1,000,000 manifestations, SQLite FTS5 and PostgreSQL.

    .venv/bin/python -m bench.search --backend sqlite [--record]
    .venv/bin/python -m bench.search --backend postgres [--record]
    .venv/bin/python -m bench.search --backend sqlite --small 2000 --large 20000   # a quick check

Each run makes its own database (a temporary SQLite file, or ``bench_search_<pid>`` on the
PostgreSQL at 127.0.0.1, dropped at the end), migrates, loads the demo data, grows the catalogue
with ``catalogue_bulkload`` to the small size, measures, grows it to the large size, measures
again. The query set (>= 50 queries) is fixed before the first measurement: single words of the
synthetic vocabulary (common and rare), two-word titles, creators, demo titles and creators, and a
few with filters. Each query runs once to warm up and then ``--rounds`` times; median and p95 are
over all timed runs. The goal (issue 11): the large median within 2x of the small median and under
100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "RESULTS.md"


def _queries() -> list[dict[str, Any]]:
    """The query set, read from the small catalogue (so the same at both sizes)."""
    from biblogin.catalogue.bulkload import PID_BASE
    from biblogin.catalogue.models import Manifestation

    synthetic = Manifestation.objects.filter(pid__gte=f"870970-basis:{PID_BASE}")
    words: dict[str, int] = {}
    for t in synthetic.values_list("search_title", flat=True)[:5000]:
        for w in t.split():
            words[w] = words.get(w, 0) + 1
    ranked = sorted(words, key=lambda w: (-words[w], w))
    common, rare = ranked[:12], ranked[-12:]
    two_word = [
        t for t in synthetic.values_list("title", flat=True).order_by("pid")[:3000]
        if len(t.split()) == 2
    ][:10]  # fmt: skip
    creators = [
        c[0]["name"] for c in synthetic.values_list("creators", flat=True).order_by("pid")[:200:20]
    ]
    demo = [
        "Tove Ditlevsen", "Karen Blixen", "hunde", "aeble", "Barndom", "Kongens Fald",
        "Harry Potter", "Frøken Smillas fornemmelse for sne", "Bille August", "krimi",
    ]  # fmt: skip
    cases: list[dict[str, Any]] = [
        {"query": q} for q in [*common, *rare, *two_word, *creators, *demo]
    ]
    cases += [
        {"query": common[0], "material_types": ["e-bog"]},
        {"query": common[1], "lendable_at_agency": "710100"},
        {"query": common[2], "year_from": 1990, "year_to": 2010},
        {"query": common[3], "sort": "newest"},
        {"query": common[4], "sort": "title"},
        {"query": "Tove Ditlevsen", "material_types": ["e-bog"]},
    ]
    return cases


def _measure(cases: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    from biblogin.catalogue.selectors import catalogue_search

    for case in cases:  # warm-up: caches, statistics, the page cache
        catalogue_search(**case)
    times: list[float] = []
    per_query: dict[str, list[float]] = {}
    totals: dict[str, int] = {}
    estimated: set[str] = set()
    for _ in range(rounds):
        for case in cases:
            started = time.perf_counter()
            page = catalogue_search(**case)
            elapsed = (time.perf_counter() - started) * 1000
            times.append(elapsed)
            key = json.dumps(case, ensure_ascii=False, sort_keys=True)
            per_query.setdefault(key, []).append(elapsed)
            totals[key] = page.total
            if page.estimated:
                estimated.add(key)
    times.sort()
    slowest = sorted(per_query, key=lambda k: -statistics.median(per_query[k]))[:5]
    return {
        "queries": len(cases),
        "runs": len(times),
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "estimated": len(estimated),
        "slowest": [
            {
                "case": k,
                "median_ms": round(statistics.median(per_query[k]), 1),
                "total": totals[k],
                "estimated": k in estimated,
            }
            for k in slowest
        ],
    }


def child(small: int, large: int, rounds: int) -> None:
    """Runs inside the benchmark's own database (DATABASE_URL set by the parent)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from biblogin.catalogue.bulkload import catalogue_bulkload
    from biblogin.catalogue.models import Manifestation
    from biblogin.demo.services import demo_load

    call_command("migrate", verbosity=0)
    demo_load()
    result: dict[str, Any] = {"vendor": connection.vendor}
    demo_count = Manifestation.objects.count()
    started = time.monotonic()
    catalogue_bulkload(count=small - demo_count)
    result["small_load_s"] = round(time.monotonic() - started, 1)
    cases = _queries()
    result["small"] = _measure(cases, rounds)
    result["small"]["manifestations"] = Manifestation.objects.count()
    started = time.monotonic()
    catalogue_bulkload(count=large - small)
    result["large_load_s"] = round(time.monotonic() - started, 1)
    result["large"] = _measure(cases, rounds)
    result["large"]["manifestations"] = Manifestation.objects.count()
    print("RESULT " + json.dumps(result, ensure_ascii=False), flush=True)


def _run(backend: str, small: int, large: int, rounds: int) -> dict[str, Any]:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        env["BIBLOGIN_VAR_DIR"] = tmp
        env["PYTHONPATH"] = f"{REPO / 'src'}:{REPO}:{env.get('PYTHONPATH', '')}"
        db = f"bench_search_{os.getpid()}"
        if backend == "postgres":
            base = "postgres://postgres@127.0.0.1:5432"
            subprocess.run(["psql", f"{base}/postgres", "-qc", f"CREATE DATABASE {db}"], check=True)
            env["DATABASE_URL"] = f"{base}/{db}"
        else:
            env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
        try:
            out = subprocess.run(
                [sys.executable, "-m", "bench.search", "--child", str(small), str(large),
                 str(rounds)],
                env=env, cwd=REPO, check=True, capture_output=True, text=True,
            )  # fmt: skip
        finally:
            if backend == "postgres":
                subprocess.run(
                    ["psql", f"{base}/postgres", "-qc", f"DROP DATABASE IF EXISTS {db}"],
                    check=False,
                )
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    return result


def _table(r: dict[str, Any]) -> str:
    s, g = r["small"], r["large"]
    ratio = g["median_ms"] / s["median_ms"] if s["median_ms"] else float("nan")
    ok = ratio <= 2 and g["median_ms"] < 100
    lines = [
        "| back-end | manifestations | median ms | p95 ms | load s |",
        "|---|---|---|---|---|",
        f"| {r['vendor']} | {s['manifestations']:,} | {s['median_ms']} | {s['p95_ms']} | "
        f"{r['small_load_s']} |",
        f"| {r['vendor']} | {g['manifestations']:,} | {g['median_ms']} | {g['p95_ms']} | "
        f"{r['large_load_s']} |",
        "",
        f"Ratio of medians large/small: **{ratio:.2f}** ({s['queries']} queries x "
        f"{s['runs'] // s['queries']} rounds); goal (within 2x and under 100 ms): "
        f"{'met' if ok else 'NOT met'}.",
        "",
        f"Load average (1, 5, 15 min; {os.cpu_count()} cores) at the start "
        f"{' / '.join(map(str, r.get('load', [])[:3]))}, at the end "
        f"{' / '.join(map(str, r.get('load', [])[3:]))}; "
        f"estimated results at the large size: {g.get('estimated', '?')} of "
        f"{g['queries']} queries.",
        "",
        "Slowest queries at the large size (median ms, total works found):",
        "",
        *[
            f"- `{q['case']}`: {q['median_ms']} ms, {'ca. ' if q.get('estimated') else ''}"
            f"{q['total']:,} works"
            for q in g["slowest"]
        ],
    ]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    started = time.monotonic()
    load_before = os.getloadavg()
    result = _run(args.backend, args.small, args.large, args.rounds)
    result["load"] = [round(x, 1) for x in (*load_before, *os.getloadavg())]
    text = _table(result)
    print(text)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.record:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(
                f"\n## Catalogue search, {result['vendor']} ({stamp}, `python -m bench.search "
                f"--backend {args.backend}`, {time.monotonic() - started:.0f} s)\n\n{text}\n"
            )


if __name__ == "__main__":
    main()

"""Catalogue search latency at 10,000 and at 1,000,000 manifestations, SQLite FTS5 and PostgreSQL.

    .venv/bin/python -m bench.search --backend sqlite [--record]
    .venv/bin/python -m bench.search --backend postgres [--record]
    .venv/bin/python -m bench.search --backend sqlite --small 2000 --large 20000   # a quick check

Each run makes its own database (a temporary SQLite file, or ``bench_search_<pid>`` on the
PostgreSQL at 127.0.0.1, dropped at the end), migrates, loads the demo data, grows the catalogue
with ``catalogue_bulkload`` to the small size, keeps a copy of that database (SQLite's backup,
PostgreSQL's ``CREATE DATABASE ... TEMPLATE``), and grows the original to the large size. The
query set (>= 50 queries) is fixed before the large load: single words of the synthetic
vocabulary (common and rare), two-word titles, creators, demo titles and creators, and a few
with filters. Then one process measures both sizes, each through its own connection: each query
once per size to warm up, then ``--rounds`` rounds that alternate the sizes (small first in odd
rounds, large first in even ones), so a change of the machine's load hits both alike. Median and
p95 are over all timed runs of a size; the CPU median is this process's CPU time per search (on
PostgreSQL only the client's share). The goal (issue 11): the large median within 2x of the
small median and under 100 ms.

``--keep`` keeps the two built databases (SQLite: ``var/bench-search/<small>-<large>/``;
PostgreSQL: ``bench_search_<small>_<large>`` and its ``_small`` copy) and a later ``--keep`` run
of the same sizes reuses them, migrated to the current code, instead of loading again (the load
is most of a run's time). A reused pair is not a fresh load: tables a migration fills are laid
out apart from the rest, so record figures from a run without ``--keep`` (``--rebuild`` drops a
kept pair first). ``--agreement`` also compares each estimated query's first page at the large
size with an exact run (every match ranked): the first hit, the works in common, the total.
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


def _queries(using: str = "default") -> list[dict[str, Any]]:
    """The query set, read from the small catalogue (so the same at both sizes)."""
    from biblogin.catalogue.bulkload import PID_BASE
    from biblogin.catalogue.models import Manifestation

    synthetic = Manifestation.objects.using(using).filter(pid__gte=f"870970-basis:{PID_BASE}")
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


def _search(case: dict[str, Any], conn: Any) -> Any:
    """The selector's search (catalogue.selectors.catalogue_search) on the given connection."""
    from biblogin.catalogue.search.engine import SearchFilters, search

    args = dict(case)
    query, sort = args.pop("query"), args.pop("sort", "relevance")
    return search(query=query, sort=sort, filters=SearchFilters(**args), conn=conn)


def _measure(cases: list[dict[str, Any]], rounds: int, sizes: dict[str, Any]) -> dict[str, Any]:
    """Per size (name -> connection): every case ``rounds`` times, the sizes alternating."""
    names = list(sizes)
    for name in names:  # warm-up: caches, statistics, the page cache
        for case in cases:
            _search(case, sizes[name])
    times: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}  # this process's CPU time per search
    per_query: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    totals: dict[str, dict[str, int]] = {n: {} for n in names}
    estimated: dict[str, set[str]] = {n: set() for n in names}
    round_medians: dict[str, list[float]] = {n: [] for n in names}
    loads: list[float] = []
    for r in range(rounds):
        loads.append(round(os.getloadavg()[0], 2))
        for name in names if r % 2 == 0 else names[::-1]:
            this_round = []
            for case in cases:
                started, cpu_started = time.perf_counter(), time.process_time()
                page = _search(case, sizes[name])
                elapsed = (time.perf_counter() - started) * 1000
                cpu[name].append((time.process_time() - cpu_started) * 1000)
                this_round.append(elapsed)
                key = json.dumps(case, ensure_ascii=False, sort_keys=True)
                per_query[name].setdefault(key, []).append(elapsed)
                totals[name][key] = page.total
                if page.estimated:
                    estimated[name].add(key)
            times[name] += this_round
            round_medians[name].append(round(statistics.median(this_round), 2))
    result: dict[str, Any] = {"round_load": loads}
    for name in names:
        ts = sorted(times[name])
        slowest = sorted(per_query[name], key=lambda k: -statistics.median(per_query[name][k]))
        result[name] = {
            "queries": len(cases),
            "runs": len(ts),
            "median_ms": round(statistics.median(ts), 2),
            "p95_ms": round(ts[int(0.95 * (len(ts) - 1))], 2),
            "cpu_median_ms": round(statistics.median(cpu[name]), 2),
            "round_medians_ms": round_medians[name],
            "estimated": len(estimated[name]),
            "slowest": [
                {
                    "case": k,
                    "median_ms": round(statistics.median(per_query[name][k]), 1),
                    "total": totals[name][k],
                    "estimated": k in estimated[name],
                }
                for k in slowest[:5]
            ],
        }
    return result


def _copy_small(small_name: str) -> None:
    """Keep the database as it is now under ``small_name`` (closes the connection)."""
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        connection.close()
        with sqlite3.connect(connection.settings_dict["NAME"]) as src:
            dst = sqlite3.connect(small_name)
            src.backup(dst)
            dst.close()
        src.close()
        return
    name = connection.settings_dict["NAME"]
    connection.close()  # a template database must have no other session
    with connections_admin() as cursor:
        cursor.execute(f'CREATE DATABASE "{small_name}" TEMPLATE "{name}"')


def connections_admin() -> Any:
    """A cursor on the PostgreSQL server's ``postgres`` database, in autocommit."""
    import contextlib

    import psycopg
    from django.db import connection

    @contextlib.contextmanager
    def cursor() -> Any:
        s = connection.settings_dict
        with psycopg.connect(
            host=s["HOST"], port=s["PORT"] or 5432, user=s["USER"], password=s["PASSWORD"],
            dbname="postgres", autocommit=True,
        ) as conn, conn.cursor() as cur:  # fmt: skip
            yield cur

    return cursor()


def _agreement(cases: list[dict[str, Any]], conn: Any) -> dict[str, Any]:
    """Each estimated query's first page against an exact run (every match a candidate)."""
    from biblogin.catalogue.search import engine

    compared = []
    for case in cases:
        page = _search(case, conn)
        if not page.estimated:
            continue
        candidates = engine.CANDIDATES
        engine.CANDIDATES = 10**9
        try:
            exact = _search(case, conn)
        finally:
            engine.CANDIDATES = candidates
        ours, theirs = [h.work_id for h in page.hits], [h.work_id for h in exact.hits]
        compared.append({
            "case": json.dumps(case, ensure_ascii=False, sort_keys=True),
            "first_hit": ours[:1] == theirs[:1],
            "in_common": len(set(ours) & set(theirs)),
            "total_error": abs(page.total - exact.total) / max(exact.total, 1),
        })  # fmt: skip
    errors = sorted(c["total_error"] for c in compared)
    return {
        "estimated": len(compared),
        "first_hit_equal": sum(c["first_hit"] for c in compared),
        "first_page_in_common": round(statistics.mean(c["in_common"] for c in compared), 1)
        if compared
        else None,
        "total_error_median": round(statistics.median(errors), 3) if errors else None,
        "misses": [c["case"] for c in compared if not c["first_hit"]],
    }


def child(
    small: int, large: int, rounds: int, small_name: str, reuse: bool, agreement: bool
) -> None:
    """Runs inside the benchmark's own database (DATABASE_URL set by the parent)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    from biblogin.catalogue.bulkload import catalogue_bulkload
    from biblogin.catalogue.models import Manifestation
    from biblogin.demo.services import demo_load

    result: dict[str, Any] = {"vendor": connection.vendor, "reused": reuse}
    connections.settings["small"] = {**connections.settings["default"], "NAME": small_name}
    if reuse:  # a kept pair (--keep): brought up to the current migrations, not loaded again
        started = time.monotonic()
        call_command("migrate", verbosity=0)
        call_command("migrate", verbosity=0, database="small")
        result["small_load_s"] = result["large_load_s"] = 0.0
        result["migrate_s"] = round(time.monotonic() - started, 1)
        cases = _queries(using="small")
        small_count = Manifestation.objects.using("small").count()
    else:
        call_command("migrate", verbosity=0)
        demo_load()
        demo_count = Manifestation.objects.count()
        started = time.monotonic()
        catalogue_bulkload(count=small - demo_count)
        result["small_load_s"] = round(time.monotonic() - started, 1)
        cases = _queries()
        small_count = Manifestation.objects.count()
        _copy_small(small_name)
        started = time.monotonic()
        catalogue_bulkload(count=large - small)
        result["large_load_s"] = round(time.monotonic() - started, 1)
    large_count = Manifestation.objects.count()
    # Measure a catalogue at rest: the load's writes on disk first, so the kernel is not still
    # writing back the pages the searches read through SQLite's memory map.
    connection.close()
    connections["small"].close()
    os.sync()
    measured = _measure(cases, rounds, {"small": connections["small"], "large": connection})
    result.update(measured)
    result["small"]["manifestations"] = small_count
    result["large"]["manifestations"] = large_count
    if agreement:
        result["agreement"] = _agreement(cases, connection)
    connections["small"].close()
    print("RESULT " + json.dumps(result, ensure_ascii=False), flush=True)


_PG = "postgres://postgres@127.0.0.1:5432"


def _psql(sql: str, *, check: bool = True) -> str:
    done = subprocess.run(
        ["psql", f"{_PG}/postgres", "-qAtc", sql], check=check, capture_output=True, text=True
    )
    return done.stdout.strip()


def _run(
    backend: str, small: int, large: int, rounds: int, *, keep: bool, rebuild: bool,
    agreement: bool,
) -> dict[str, Any]:  # fmt: skip
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        env["BIBLOGIN_VAR_DIR"] = tmp
        env["PYTHONPATH"] = f"{REPO / 'src'}:{REPO}:{env.get('PYTHONPATH', '')}"
        db = f"bench_search_{small}_{large}" if keep else f"bench_search_{os.getpid()}"
        kept = REPO / "var" / "bench-search" / f"{small}-{large}"  # SQLite's, with --keep
        if backend == "postgres":
            small_name = f"{db}_small"
            if rebuild:
                for name in (db, small_name):
                    _psql(f"DROP DATABASE IF EXISTS {name}")
            # A complete pair: the large database's comment, set once the run has succeeded.
            complete = "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
            reuse = keep and _psql(f"{complete} WHERE datname = '{db}'") == "complete"
            if not reuse:
                for name in (db, small_name):
                    _psql(f"DROP DATABASE IF EXISTS {name}")
                _psql(f"CREATE DATABASE {db}")
            env["DATABASE_URL"] = f"{_PG}/{db}"
        else:
            where = kept if keep else Path(tmp)
            if rebuild and kept.exists():
                for f in kept.iterdir():
                    f.unlink()
            reuse = keep and (kept / "complete").exists()
            if keep and not reuse:
                kept.mkdir(parents=True, exist_ok=True)
                for f in kept.iterdir():
                    f.unlink()
            env["DATABASE_URL"] = f"sqlite:///{where}/bench.sqlite3"
            small_name = f"{where}/small.sqlite3"
        ok = False
        try:
            out = subprocess.run(
                [sys.executable, "-m", "bench.search", "--child", str(small), str(large),
                 str(rounds), small_name, "reuse" if reuse else "build",
                 "agreement" if agreement else "-"],
                env=env, cwd=REPO, check=True, capture_output=True, text=True,
            )  # fmt: skip
            ok = True
        except subprocess.CalledProcessError as e:
            sys.stderr.write(e.stderr)
            raise
        finally:
            if backend == "postgres" and not (keep and ok):
                for name in (db, small_name):
                    _psql(f"DROP DATABASE IF EXISTS {name}", check=False)
            if keep and ok:
                if backend == "postgres":
                    _psql(f"COMMENT ON DATABASE {db} IS 'complete'")
                else:
                    (kept / "complete").touch()
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    return result


def _table(r: dict[str, Any]) -> str:
    s, g = r["small"], r["large"]
    ratio = g["median_ms"] / s["median_ms"] if s["median_ms"] else float("nan")
    ok = ratio <= 2 and g["median_ms"] < 100
    lines = [
        "| back-end | manifestations | median ms | p95 ms | CPU median ms | load s |",
        "|---|---|---|---|---|---|",
        f"| {r['vendor']} | {s['manifestations']:,} | {s['median_ms']} | {s['p95_ms']} | "
        f"{s.get('cpu_median_ms', '?')} | {r['small_load_s']} |",
        f"| {r['vendor']} | {g['manifestations']:,} | {g['median_ms']} | {g['p95_ms']} | "
        f"{g.get('cpu_median_ms', '?')} | {r['large_load_s']} |",
        "",
        f"Ratio of medians large/small: **{ratio:.2f}** ({s['queries']} queries x "
        f"{s['runs'] // s['queries']} rounds); goal (within 2x and under 100 ms): "
        f"{'met' if ok else 'NOT met'}.",
        "",
        "Interleaved in one process, the sizes alternating per round; medians per round, small "
        "/ large (ms): "
        + ", ".join(
            f"{a} / {b}" for a, b in zip(s["round_medians_ms"], g["round_medians_ms"], strict=True)
        )
        + f"; load average (1 min) at each round's start: {', '.join(map(str, r['round_load']))}."
        + (
            f" Ratio of the CPU-time medians (this process's CPU per search, less moved by the "
            f"machine's load): {g['cpu_median_ms'] / s['cpu_median_ms']:.2f}."
            if s.get("cpu_median_ms")
            else ""
        ),
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
    if r.get("reused"):
        lines += ["", "Measured on a kept pair of databases (`--keep`), not a fresh load."]
    a = r.get("agreement")
    if a:
        lines += [
            "",
            f"Against an exact run at the large size (every match ranked), over the "
            f"{a['estimated']} estimated queries: first hit equal for **{a['first_hit_equal']} "
            f"of {a['estimated']}**; works in common on the first page (of 20) "
            f"{a['first_page_in_common']} on average; median error of the total "
            f"{a['total_error_median']:.1%}. First hit differs: "
            + (", ".join(f"`{m}`" for m in a["misses"]) or "none")
            + ".",
        ]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        a = sys.argv
        child(int(a[2]), int(a[3]), int(a[4]), a[5], a[6] == "reuse", a[7] == "agreement")
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument(
        "--keep", action="store_true", help="keep the built databases; reuse kept ones"
    )
    parser.add_argument("--rebuild", action="store_true", help="with --keep: load them afresh")
    parser.add_argument(
        "--agreement", action="store_true", help="estimated first pages against exact runs"
    )
    args = parser.parse_args()
    started = time.monotonic()
    load_before = os.getloadavg()
    result = _run(
        args.backend, args.small, args.large, args.rounds, keep=args.keep,
        rebuild=args.rebuild, agreement=args.agreement,
    )  # fmt: skip
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

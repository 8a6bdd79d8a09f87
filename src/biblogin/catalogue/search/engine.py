# ruff: noqa: S608 -- the SQL text is built from this module's constants and placeholder
# counts only; every value (terms, filters, IDs) is passed as a parameter.
"""The search itself: match (back-end), filter, take the candidates, rank, group by work,
facets, page.

**Candidates.** The catalogue's ID range is cut into ``STRATA`` equal parts, and one query
fetches, in each part, the first ``CANDIDATES // STRATA`` + 1 matching manifestations by ID
(filters applied): the same rule on both back-ends (search.backends says how each reads them).
If no part has more, the candidates are all the matches and everything below is exact. If a
part has more but the sample estimates at most ``EXACT`` matches, the parts are read again with
``EXACT`` + 1 each, so a result of up to about ``EXACT`` matches is exact (the demo catalogue
always is). Otherwise the page is ranked among the candidates (paging reaches their works
only), and the total and the facet counts are *estimated* with them as a stratified sample: a
full part's candidates cover its IDs up to the last one, so its matches are estimated as
candidates x (IDs in the part) / (IDs covered); works and facet values are counted among the
candidates and scaled by (estimated matches) / (candidates); the page says "ca.". Taking the
sample from every part of the ID range matters: a catalogue is loaded in batches, and the first
IDs alone misjudged a common term by half.

**The best hits.** The same query also fetches the first ``BEST`` title hits (every term in
the title) and the first ``BEST`` creator hits (every term among the creators) in the
ranking's own order within a tier, the shorter title first, then the ID: SQLite reads them
from two FTS5 indexes whose rowid is that key and stops; PostgreSQL finds each field's
matches with a GIN index per field and sorts them (migration 0004). They are ranked with the
sample but not counted in the estimates, so the first page of a large result holds the best
hits of the whole result, not of the sample (first hit equal to the exact ranking's: 48 of 49
estimated bench queries at 1M, against 34 of 47 with a sample of 200 alone; bench/RESULTS.md).
On SQLite the cost of a search is so bounded by ``CANDIDATES + 2 x BEST`` rows, not by how
many manifestations match. PostgreSQL sorts a field's GIN matches only when the planner expects
few (backends.BEST_SORTED); for a common title word the title hits are the titles that are just
the query, from a B-tree in ID order, and a common creator name gives none. And a term in some
share of the catalogue is read in a window of IDs at the start of each stratum (``WINDOWED``),
not all its matches: the same candidates, read from fewer rows.

**Ranking** is done here in Python over the candidates' stored token columns, so both back-ends
rank with the same code: 4 if every term is in the title, +4 if every term is among the
creators, +1 if every term is in the title or the creators, +2 if the title is just the query;
then the shorter title, then the PID (code-point order, which is UTF-8 byte order) as the
tie-break. A work ranks by its best candidate manifestation, which the hit shows (for "newest":
its newest). Three queries: the catalogue's ID range, the candidates (SQLite: with the
terms' counts), the page's works (PostgreSQL: and the planner's estimates of the match and of
each field's, and a wider window now and then).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from operator import itemgetter
from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from biblogin.catalogue.search.backends import BEST_FIELDS, SearchBackend, backend_for
from biblogin.catalogue.search.text import query_terms

SORTS = ("relevance", "newest", "title")
MAX_PAGE_SIZE = 100
MAX_PAGE = 500
MAX_FILTER_VALUES = 20
FACET_KEYS = ("material_type", "language", "year")
# The sample: above EXACT matching manifestations the result is ranked among the first this
# many by ID (from STRATA parts) and the best hits, and its counts are estimated. 64 rather
# than 100: at 1M manifestations on SQLite the median search costs 0.90 ms instead of 1.03
# (the 10k median stays 0.50; ratio 1.80 instead of 2.06), the first hit still equals an exact
# run's for all but one estimated query, and the first page shares 12.1 of its 20 works with
# the exact run instead of 12.7 (bench.search --agreement, bench/RESULTS.md, issue 11).
CANDIDATES = 64
# A result whose sample estimates at most this many matches is read again, whole: up to about
# this many it is exact. Far above the demo catalogue's largest result (128).
EXACT = 200
STRATA = 4  # the candidates are taken from this many equal parts of the ID range
# PostgreSQL, a term expected in at least this share of the catalogue (but not so many that the
# primary key is read in order): each stratum's first matches are looked for in a window at
# its start that should hold WINDOW times as many as needed, widened if it does not. Reading
# all of a stratum's matches from the table costs more than the primary key's ranges in the
# GIN index's bitmap (a term in 0.45 % of 1M: 12 ms against 3; bench/RESULTS.md, issue 11).
WINDOWED = 0.0025
WINDOW = 2
# And ranked with them (not part of the estimates): the first this many title hits (every term
# in the title) and as many creator hits, each shortest title first: the ranking's order.
BEST = 25


@dataclass(frozen=True)
class SearchHit:
    work_id: str
    pid: str
    title: str
    creators: list[str]
    year: int | None
    material_types: list[str]
    available_somewhere: bool


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    total: int  # works found; an estimate (rounded) when ``estimated``
    page: int
    page_size: int
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    # True: more manifestations matched than CANDIDATES, so ``total`` and the facet counts are
    # estimates and paging reaches only the ``reachable`` works ranked among the candidates.
    estimated: bool = False
    reachable: int | None = None  # works one can page through; None: all of ``total``

    @property
    def pages(self) -> int:
        reachable = self.total if self.reachable is None else self.reachable
        return max(1, -(-reachable // self.page_size))


@dataclass(frozen=True)
class SearchFilters:
    material_types: Sequence[str] = ()
    year_from: int | None = None
    year_to: int | None = None
    languages: Sequence[str] = ()
    lendable_at_agency: str | None = None


def _strings(values: Sequence[str]) -> list[str]:
    if isinstance(values, str):
        values = [values]
    # No NUL (PostgreSQL refuses it in text); values are compared, never put in the SQL.
    return sorted({str(v).replace("\x00", "")[:32] for v in values})[:MAX_FILTER_VALUES]


def _year(value: int) -> int:
    return min(max(int(value), -9999), 9999)


def _filters_sql(f: SearchFilters) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for column, values in (("material_type", f.material_types), ("language", f.languages)):
        chosen = _strings(values)
        if chosen:
            where.append(f"m.{column} IN ({', '.join(['%s'] * len(chosen))})")
            params += chosen
    if f.year_from is not None:
        where.append("m.year >= %s")
        params.append(_year(f.year_from))
    if f.year_to is not None:
        where.append("m.year <= %s")
        params.append(_year(f.year_to))
    if f.lendable_at_agency:
        where.append(
            "EXISTS (SELECT 1 FROM catalogue_holding h WHERE h.manifestation_id = m.id "
            "AND h.agency_id = %s AND h.lendable = %s)"
        )
        params += [str(f.lendable_at_agency).replace("\x00", "")[:6], True]
    return where, params


def _rows(conn: BaseDatabaseWrapper, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


# The candidates' columns, in this order.
_COLUMNS = (
    "m.id, m.work_id, m.pid, m.material_type, m.language, m.year, m.search_title, "
    "m.search_creators, m.sort_title"
)
_FIELDS = _COLUMNS.split(", ")
# The SELECT lists of _fetch's parts: a title or creator hit (stratum -1), a term's count
# (stratum -2: count, term, and NULLs for the other columns).
_BEST_COLUMNS = f"-1 AS stratum, {_COLUMNS}"
_COUNT_COLUMNS = "-2 AS stratum, t.docs, t.term, " + ", ".join(["NULL"] * (len(_FIELDS) - 2))
_Candidate = tuple[int, int, str, str, str, int | None, str, str, str]
_WORK, _VALUE = itemgetter(1), itemgetter(1)  # a candidate's work; a (work, value) pair's value
_FACET_COLUMNS = (itemgetter(3), itemgetter(4), itemgetter(5))  # as FACET_KEYS
# Per work: [best tier, shortest title, first PID, newest year, first sort title, and the
# manifestation the hit shows: its key (smaller is better), PID, year].
_Work = list[Any]


def _works(candidates: list[_Candidate], terms: Sequence[str], sort: str) -> dict[int, _Work]:
    """The candidates' works with what they rank by. The tier of a manifestation: 4 if every
    term is a token of the title, +4 if of the creators, +1 if each of one or the other, +2 if
    the title is just the query (the columns are space-separated tokens)."""
    padded = [f" {t} " for t in terms]
    query_title = " ".join(terms)
    newest_sort = sort == "newest"
    works: dict[int, _Work] = {}
    for (
        _id,
        work_pk,
        pid,
        _type,
        _lang,
        year,
        search_title,
        search_creators,
        sort_title,
    ) in candidates:
        title = f" {search_title} "
        creators = f" {search_creators} "
        in_title = in_creators = either = True
        for p in padded:
            a = p in title
            b = p in creators
            in_title = in_title and a
            in_creators = in_creators and b
            either = either and (a or b)
        rank = 4 * in_title + 4 * in_creators + either + 2 * (search_title == query_title)
        length = len(search_title)
        # The hit shows the best manifestation, or for "newest" the newest (its year is sorted).
        key = (-(year or 0) if newest_sort else 0, -rank, length, pid)
        w = works.get(work_pk)
        if w is None:
            works[work_pk] = [rank, length, pid, year, sort_title, key, pid, year]
            continue
        if rank > w[0]:
            w[0] = rank
        if length < w[1]:
            w[1] = length
        if pid < w[2]:
            w[2] = pid
        if year is not None and (w[3] is None or year > w[3]):
            w[3] = year
        if sort_title < w[4]:
            w[4] = sort_title
        if key < w[5]:
            w[5], w[6], w[7] = key, pid, year
    return works


def _order(works: dict[int, _Work], sort: str) -> list[int]:
    if sort == "newest":
        return sorted(
            works, key=lambda pk: (works[pk][3] is None, -(works[pk][3] or 0), works[pk][2])
        )
    if sort == "title":
        return sorted(works, key=lambda pk: (works[pk][4], works[pk][2]))
    return sorted(works, key=lambda pk: (-works[pk][0], works[pk][1], works[pk][2]))


def _facets(candidates: list[_Candidate], scale: float) -> dict[str, list[tuple[str, int]]]:
    """Works per material type, language and year among the candidates, times ``scale``."""
    works = list(map(_WORK, candidates))
    estimates: dict[int, int] = {}  # the counts repeat (most years: a work or two)
    facets: dict[str, list[tuple[str, int]]] = {}
    for key, column in zip(FACET_KEYS, _FACET_COLUMNS, strict=True):
        # (work, value) pairs once each, then the works per value: C loops, no Python ones.
        counted = Counter(map(_VALUE, set(zip(works, map(column, candidates), strict=True))))
        counted.pop(None, None)
        for n in counted.values():
            if n not in estimates:
                estimates[n] = _estimate(n, scale)
        facets[key] = [(str(value), estimates[n]) for value, n in counted.items()]
    facets["year"].sort(key=lambda vn: vn[0], reverse=True)
    for key in ("material_type", "language"):
        facets[key].sort(key=lambda vn: (-vn[1], vn[0]))
    return facets


def _estimate(counted: int, scale: float) -> int:
    """``counted`` x ``scale``, to two significant digits (an exact count when scale is 1)."""
    if scale == 1:
        return counted
    value = counted * scale
    if value < 100:
        return max(counted, round(value))
    digits = len(str(int(value))) - 2
    return max(counted, int(round(value, -digits)))


def _id_range(conn: BaseDatabaseWrapper) -> tuple[int, int] | None:
    # Two subqueries: SQLite reads MIN or MAX alone from the key, both together by a scan.
    low, high = _rows(
        conn,
        "SELECT (SELECT MIN(id) FROM catalogue_manifestation), "
        "(SELECT MAX(id) FROM catalogue_manifestation)",
        [],
    )[0]
    return None if low is None else (int(low), int(high))


def _strata(low: int, high: int) -> list[tuple[int, int]]:
    """The catalogue's ID range in STRATA equal parts (empty ones left out)."""
    bounds = [low + (high - low + 1) * j // STRATA for j in range(STRATA + 1)]
    return [(a, b - 1) for a, b in pairwise(bounds) if b > a]


def _fetch(
    conn: BaseDatabaseWrapper,
    terms: Sequence[str],
    filters: SearchFilters,
    strata: list[tuple[int, int]],
    limit: int,
    best: int,
    *,
    few: bool,
    only: Collection[int] | None = None,
    backend: SearchBackend | None = None,
    windows: dict[int, tuple[int, int]] | None = None,
    counts: bool = False,
) -> list[tuple[Any, ...]]:
    """(stratum, candidate columns…): the first ``limit`` matches by ID in each stratum (or in
    those numbered in ``only``), and (stratum -1) the first ``best`` title hits and the first
    ``best`` creator hits in the ranking's order (title length, ID), all in one statement.

    Two SQL shapes for the same rows: one LIMITed query per stratum, which reads the matches
    in ID order and stops (FTS5 always; PostgreSQL for a frequent term, along the primary
    key); or one pass over all the matches numbered per stratum, for a term the back-end
    expects in few rows (``few``; PostgreSQL: the GIN index, then the rows it points to). That
    one reads every stratum, whatever ``only`` says, unless ``windows`` (stratum -> first and
    last ID) name the ID ranges to read: then only the matches in those. With ``counts``,
    and a back-end that keeps them in a table (SQLite), the same statement also reads each
    term's count (stratum -2: count, term), which the estimates need."""
    backend = backend or backend_for(conn)
    source, match, order, match_params = backend.matches_sql(terms)
    where, where_params = _filters_sql(filters)
    # (SELECT list, FROM, WHERE, ORDER BY) per BEST_FIELDS, and the term counts' part.
    best_sql: list[tuple[str, str, str, str]] = []
    best_params: list[Any] = []
    for best_field in BEST_FIELDS if best else ():
        found = backend.best_sql(terms, best_field)
        if found is None:  # none from this field (PostgreSQL: a common term there)
            continue
        b_source, b_match, b_order, b_params = found
        best_sql.append((_BEST_COLUMNS, b_source, " AND ".join([b_match, *where]), b_order))
        best_params += [*b_params, *where_params, best]
    counted = backend.term_counts_sql(terms) if counts else None
    if counted is not None:
        best_sql.append((_COUNT_COLUMNS, f"({counted[0]}) t", "1 = 1", "t.term"))
        best_params += [*counted[1], len(terms)]
    if few:
        window_params: list[int] = []
        if windows is not None:
            # PostgreSQL: the GIN index's matches ANDed with the primary key's ranges, so only
            # the rows in the windows are read from the table.
            ranges = " OR ".join(["m.id BETWEEN %s AND %s"] * len(windows))
            where = [*where, f"({ranges})"]
            window_params = [i for j in sorted(windows) for i in windows[j]]
        condition = " AND ".join([match, *where])
        stratum = "CASE " + " ".join(f"WHEN m.id <= %s THEN {j}" for j in range(len(strata)))
        stratum += f" ELSE {len(strata) - 1} END"
        bounds = [last for _, last in strata]
        # The title and creator hits in the order best_sql gives (PostgreSQL's sorted ones
        # say "+ 0" there, so that no index is read in that order).
        sql = " UNION ALL ".join([
            f"SELECT * FROM (SELECT {stratum} AS stratum, {_COLUMNS}, ROW_NUMBER() OVER "
            f"(PARTITION BY {stratum} ORDER BY m.id) AS n FROM {source} WHERE {condition}) c "
            "WHERE n <= %s",
            *(
                f"SELECT * FROM (SELECT {b_columns}, 0 AS n FROM {b_source} "
                f"WHERE {b_condition} ORDER BY {b_order} LIMIT %s) b{i}"
                for i, (b_columns, b_source, b_condition, b_order) in enumerate(best_sql)
            ),
        ])  # fmt: skip
        params = [*bounds, *bounds, *match_params, *where_params, *window_params, limit]
        return _rows(conn, sql, [*params, *best_params])
    condition = " AND ".join([match, *where, f"{order} BETWEEN %s AND %s"])
    read = [j for j in range(len(strata)) if only is None or j in only]
    parts = [
        f"SELECT * FROM (SELECT {j} AS stratum, {_COLUMNS} FROM {source} WHERE {condition} "
        f"ORDER BY {order} LIMIT %s) s{j}"
        for j in read
    ]
    parts += [
        f"SELECT * FROM (SELECT {b_columns} FROM {b_source} "
        f"WHERE {b_condition} ORDER BY {b_order} LIMIT %s) b{i}"
        for i, (b_columns, b_source, b_condition, b_order) in enumerate(best_sql)
    ]
    params = [p for j in read for p in (*match_params, *where_params, *strata[j], limit)]
    return _rows(conn, " UNION ALL ".join(parts), [*params, *best_params])


def _windows(
    strata: list[tuple[int, int]], expected: float | None, limit: int
) -> dict[int, tuple[int, int]] | None:
    """The ID range at the start of each stratum that should hold WINDOW x ``limit`` of its
    matches, by the back-end's estimate of all matches (None: read the whole strata)."""
    ids = strata[-1][1] - strata[0][0] + 1
    if expected is None or expected < WINDOWED * ids:
        return None
    width = max(int(WINDOW * limit * ids / expected), limit)
    return {j: (first, min(last, first + width - 1)) for j, (first, last) in enumerate(strata)}


def _widen(
    fetched: list[tuple[Any, ...]],
    windows: dict[int, tuple[int, int]],
    strata: list[tuple[int, int]],
    limit: int,
) -> dict[int, tuple[int, int]]:
    """The windows that hold fewer than ``limit`` matches and end before their stratum does,
    each four times as wide (the estimate was too high for that part of the catalogue)."""
    found = Counter(int(row[0]) for row in fetched)
    wider = {}
    for j, (first, end) in windows.items():
        last = strata[j][1]
        if found[j] < limit and end < last:
            wider[j] = (first, min(last, first + 4 * max(end - first + 1, limit) - 1))
    return wider


def _bounded(
    conn: BaseDatabaseWrapper,
    terms: Sequence[str],
    filters: SearchFilters,
    sampled: float,
    candidates: int,
    known: dict[str, float],
    backend: SearchBackend,
) -> float:
    """The estimated number of matching manifestations, with the back-end's count of each
    term (SQLite: the bulk load's snapshot; PostgreSQL: ANALYZE's statistics): no more match
    than the rarest term's count, and for one term and no filter that count is the answer.
    (The sample alone misjudges a term crowded into one batch of IDs.) ``known``: the counts
    _fetch read already (a term not among them: the back-end counts it)."""
    if all(t in known for t in terms):
        counts = [known[t] for t in terms]
    else:
        counts = backend.term_counts(conn, terms)
    bound = float(min(counts)) if counts else sampled
    unfiltered = not _filters_sql(filters)[0]
    estimate = bound if len(terms) == 1 and unfiltered else min(sampled, bound)
    return max(estimate, float(candidates))


def _sample(
    fetched: list[tuple[Any, ...]], strata: list[tuple[int, int]], per_stratum: int
) -> tuple[list[_Candidate], list[_Candidate], float, set[int]]:
    """(the sample's candidates, the title and creator hits, the estimated number of matches,
    the full strata: none if exact) from ``_fetch``'s rows: per stratum all its matches, or its
    first ``per_stratum`` and how far they reach."""
    by_stratum: dict[int, list[_Candidate]] = {}
    end = 1 + len(_FIELDS)
    for row in fetched:
        by_stratum.setdefault(int(row[0]), []).append(row[1:end])
    best = by_stratum.pop(-1, [])
    candidates: list[_Candidate] = []
    matches = 0.0
    full: set[int] = set()
    for j, rows in sorted(by_stratum.items()):
        first, last = strata[j]
        rows.sort(key=lambda row: row[0])  # the one-pass shape numbers them, not orders them
        if len(rows) > per_stratum:
            full.add(j)
            del rows[per_stratum:]
            matches += per_stratum * (last - first + 1) / (int(rows[-1][0]) - first + 1)
        else:
            matches += len(rows)
        candidates.extend(rows)
    return candidates, best, matches, full


def search(
    *,
    query: str,
    filters: SearchFilters = SearchFilters(),
    sort: str = "relevance",
    page: int = 1,
    page_size: int = 20,
    conn: BaseDatabaseWrapper | None = None,
    with_facets: bool = True,
) -> SearchPage:
    """Search on ``conn`` (default: the default database) with its vendor's back-end."""
    page_size = min(max(int(page_size), 1), MAX_PAGE_SIZE)
    page = min(max(int(page), 1), MAX_PAGE)
    if sort not in SORTS:
        sort = "relevance"
    terms = query_terms(query)
    if not terms:
        return SearchPage([], 0, page, page_size, {k: [] for k in FACET_KEYS})
    conn = conn or connection
    id_range = _id_range(conn)
    if id_range is None:
        return SearchPage([], 0, page, page_size, {k: [] for k in FACET_KEYS})
    strata = _strata(*id_range)
    per_stratum = CANDIDATES // STRATA
    backend = backend_for(conn)
    backend.prepare(conn, terms)
    source, match, _, match_params = backend.matches_sql(terms)
    few = backend.few_matches(conn, source, match, match_params, id_range[1] - id_range[0] + 1)
    windows = _windows(strata, backend.match_rows(), per_stratum + 1) if few else None
    fetched = _fetch(
        conn, terms, filters, strata, per_stratum + 1, BEST, few=few, backend=backend,
        windows=windows, counts=True,
    )  # fmt: skip
    known = {str(row[2]): float(row[1]) for row in fetched if row[0] == -2}
    fetched = [row for row in fetched if row[0] != -2]
    while windows:
        # A window with too few matches is read again, wider, until it has enough or is its
        # whole stratum: the candidates are the same as those of whole strata.
        windows = _widen(fetched, windows, strata, per_stratum + 1)
        if windows:
            again = _fetch(
                conn, terms, filters, strata, per_stratum + 1, 0, few=True, backend=backend,
                windows=windows,
            )  # fmt: skip
            fetched = [r for r in fetched if r[0] not in windows] + again
    candidates, best, matches, full = _sample(fetched, strata, per_stratum)
    if full and matches <= EXACT:
        # A mid-sized result: its full strata read again, up to EXACT each, so it is exact.
        again = _fetch(
            conn, terms, filters, strata, EXACT + 1, 0, few=few, only=full, backend=backend
        )
        fetched = [r for r in fetched if r[0] not in full] + [r for r in again if r[0] in full]
        candidates, best, matches, full = _sample(fetched, strata, EXACT)
    estimated = bool(full)
    ranked = candidates
    if estimated:
        matches = _bounded(conn, terms, filters, matches, len(candidates), known, backend)
        # The title and creator hits are ranked too; the estimates are the sample's alone
        # (without estimates the sample holds every match, these among them).
        sampled = {c[0] for c in candidates}
        ranked = candidates + [c for c in best if c[0] not in sampled]
    scale = matches / len(candidates) if estimated else 1.0
    works = _works(ranked, terms, sort)
    ordered = _order(works, sort)
    offset = (page - 1) * page_size
    work_pks = ordered[offset : offset + page_size]
    hits = _hits(conn, works, work_pks)
    if estimated:
        total = max(_estimate(len({c[1] for c in candidates}), scale), len(works))
    else:
        total = len(works)
    facets = _facets(candidates, scale) if with_facets and candidates else {}
    return SearchPage(
        hits,
        total,
        page,
        page_size,
        {k: facets.get(k, []) for k in FACET_KEYS},
        estimated=estimated,
        reachable=len(works) if estimated else None,
    )


def _hits(
    conn: BaseDatabaseWrapper, works: dict[int, _Work], work_pks: list[int]
) -> list[SearchHit]:
    if not work_pks:
        return []
    marks = ", ".join(["%s"] * len(work_pks))
    works_sql = (
        "SELECT w.id, w.work_id, w.title, w.creators, m.material_type, "
        "CASE WHEN EXISTS (SELECT 1 FROM catalogue_holding h WHERE h.manifestation_id = m.id "
        "AND h.lendable = %s AND h.on_shelf > 0) OR EXISTS (SELECT 1 FROM "
        "catalogue_onlineaccess o WHERE o.manifestation_id = m.id) THEN 1 ELSE 0 END "
        "FROM catalogue_work w JOIN catalogue_manifestation m ON m.work_id = w.id "
        f"WHERE w.id IN ({marks})"
    )
    found: dict[int, dict[str, Any]] = {}
    for pk, work_id, title, creators, material_type, available in _rows(
        conn, works_sql, [True, *work_pks]
    ):
        w = found.setdefault(
            pk, {"work_id": work_id, "title": title, "creators": creators, "types": set()}
        )
        w["types"].add(material_type)
        w["available"] = bool(w.get("available")) or bool(available)
    hits = []
    for pk in work_pks:
        w = found[pk]
        creators = json.loads(w["creators"]) if isinstance(w["creators"], str) else w["creators"]
        pid, year = works[pk][6], works[pk][7]
        hits.append(
            SearchHit(
                work_id=w["work_id"],
                pid=pid,
                title=w["title"],
                creators=[c["name"] for c in creators],
                year=year,
                material_types=sorted(w["types"]),
                available_somewhere=bool(w["available"]),
            )
        )
    return hits

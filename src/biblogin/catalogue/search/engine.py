# ruff: noqa: S608 -- the SQL text is built from this module's constants and placeholder
# counts only; every value (terms, filters, IDs) is passed as a parameter.
"""The search itself: match (back-end), filter, take the candidates, rank, group by work,
facets, page.

**Candidates.** One query fetches the first ``CANDIDATES`` + 1 matching manifestations in ID
order (filters applied), the same rule on both back-ends: FTS5 reads its matches in rowid order
and stops; PostgreSQL reads the primary key in order or sorts the GIN index's matches, whichever
its planner finds cheaper. If no more than ``CANDIDATES`` match, they are all the matches and
everything below is exact (the demo catalogue is always in this case). If more match, the page
is ranked among those first ``CANDIDATES`` (paging reaches their works only), and the total and
the facet counts are *estimated* from them as a sample: the candidates cover the IDs up to the
last one, so the matches are estimated as ``CANDIDATES`` x (ID range of the catalogue) / (ID
range covered), and works and facet values in proportion; the page says "ca.". The cost of a
search is so bounded by ``CANDIDATES``, not by how many manifestations match.

**Ranking** is done here in Python over the candidates' stored token columns, so both back-ends
rank with the same code: 4 if every term is in the title, +4 if every term is among the
creators, +1 if every term is in the title or the creators, +2 if the title is just the query;
then the shorter title, then the PID (code-point order, which is UTF-8 byte order) as the
tie-break. A work ranks by its best candidate manifestation, which the hit shows (for "newest":
its newest). Two queries for an exact result (candidates, the page's works), three for an
estimated one (and the catalogue's ID range).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from biblogin.catalogue.search.backends import backend_for
from biblogin.catalogue.search.text import query_terms

SORTS = ("relevance", "newest", "title")
MAX_PAGE_SIZE = 100
MAX_PAGE = 500
MAX_FILTER_VALUES = 20
FACET_KEYS = ("material_type", "language", "year")
# Above this many matching manifestations the result is ranked among the first this many (by
# ID) and its counts are estimated. Far above the demo catalogue's largest result.
CANDIDATES = 1000


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


# The candidates' columns, in this order (see _Candidate).
_COLUMNS = (
    "m.id, m.work_id, m.pid, m.material_type, m.language, m.year, m.search_title, "
    "m.search_creators, m.sort_title"
)
_Candidate = tuple[int, int, str, str, str, int | None, str, str, str]


def _tier(terms: Sequence[str], search_title: str, search_creators: str) -> int:
    """The relevance tier of one manifestation (every term a whole token of the column)."""
    title = set(search_title.split(" "))
    creators = set(search_creators.split(" "))
    in_title = all(t in title for t in terms)
    in_creators = all(t in creators for t in terms)
    either = all(t in title or t in creators for t in terms)
    exact = search_title == " ".join(terms)
    return 4 * in_title + 4 * in_creators + either + 2 * exact


@dataclass
class _Work:
    best: int = -1
    title_length: int = 1 << 30
    first_pid: str = ""
    newest: int | None = None
    first_title: str | None = None
    # The manifestation the hit shows: its key (smaller is better), PID and year.
    shown: tuple[tuple[int, int, int, str], str, int | None] | None = None


def _works(candidates: list[_Candidate], terms: Sequence[str], sort: str) -> dict[int, _Work]:
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
        rank = _tier(terms, search_title, search_creators)
        w = works.get(work_pk)
        if w is None:
            w = works[work_pk] = _Work(first_pid=pid)
        w.best = max(w.best, rank)
        w.title_length = min(w.title_length, len(search_title))
        w.first_pid = min(w.first_pid, pid)
        if year is not None and (w.newest is None or year > w.newest):
            w.newest = year
        if w.first_title is None or sort_title < w.first_title:
            w.first_title = sort_title
        # The hit shows the best manifestation, or for "newest" the newest (its year is sorted).
        key = (-(year or 0) if sort == "newest" else 0, -rank, len(search_title), pid)
        if w.shown is None or key < w.shown[0]:
            w.shown = (key, pid, year)
    return works


def _order(works: dict[int, _Work], sort: str) -> list[int]:
    if sort == "newest":
        return sorted(
            works,
            key=lambda pk: (
                works[pk].newest is None,
                -(works[pk].newest or 0),
                works[pk].first_pid,
            ),
        )
    if sort == "title":
        return sorted(works, key=lambda pk: (works[pk].first_title or "", works[pk].first_pid))
    return sorted(
        works, key=lambda pk: (-works[pk].best, works[pk].title_length, works[pk].first_pid)
    )


def _facets(candidates: list[_Candidate], scale: float) -> dict[str, list[tuple[str, int]]]:
    """Works per material type, language and year among the candidates, times ``scale``."""
    seen: dict[str, dict[str, set[int]]] = {k: {} for k in FACET_KEYS}
    for _id, work_pk, _pid, material_type, language, year, *_ in candidates:
        for key, value in (
            ("material_type", material_type),
            ("language", language),
            ("year", None if year is None else str(year)),
        ):
            if value is not None:
                seen[key].setdefault(value, set()).add(work_pk)
    facets = {
        key: [(value, _estimate(len(pks), scale)) for value, pks in values.items()]
        for key, values in seen.items()
    }
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


def _scale(conn: BaseDatabaseWrapper, candidates: list[_Candidate]) -> float:
    """How many matches there are per candidate: the candidates are the matches among the
    IDs up to the last one; the catalogue's IDs run from its lowest to its highest."""
    low, high = _rows(conn, "SELECT MIN(id), MAX(id) FROM catalogue_manifestation", [])[0]
    covered = int(candidates[-1][0]) - int(low) + 1
    return max(1.0, (int(high) - int(low) + 1) / max(1, covered))


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
    source, match, order, match_params = backend_for(conn).matches_sql(terms)
    where, where_params = _filters_sql(filters)
    condition = " AND ".join([match, *where])
    candidates_sql = f"SELECT {_COLUMNS} FROM {source} WHERE {condition} ORDER BY {order} LIMIT %s"
    candidates: list[_Candidate] = [
        (int(r[0]), int(r[1]), *r[2:])
        for r in _rows(conn, candidates_sql, [*match_params, *where_params, CANDIDATES + 1])
    ]
    estimated = len(candidates) > CANDIDATES
    if estimated:
        del candidates[CANDIDATES:]
    scale = _scale(conn, candidates) if estimated else 1.0
    works = _works(candidates, terms, sort)
    ordered = _order(works, sort)
    offset = (page - 1) * page_size
    work_pks = ordered[offset : offset + page_size]
    hits = _hits(conn, works, work_pks)
    total = _estimate(len(works), scale)
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
        shown = works[pk].shown
        assert shown is not None  # every work has a candidate
        _, pid, year = shown
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

# ruff: noqa: S608 -- the SQL text is built from this module's constants and placeholder
# counts only; every value (terms, filters, IDs) is passed as a parameter.
"""The search itself: match (back-end), filter, rank, group by work, facets, page.

Hand-written SQL that reads the same on SQLite and PostgreSQL apart from the back-end's match
condition and the collation name, so a query gives the same page on either. Ranking is portable
over the stored token columns: 4 if every term is in the title, +4 if every term is among the
creators, +1 if every term is in the title or the creators, +2 if the title is just the query;
then the shorter title, then the PID (byte order) as the tie-break. A work ranks by its best
manifestation, which the hit shows (for "newest": its newest). Four queries: the page (with the
total), the facets, the page's best manifestations, the page's works.
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
    total: int
    page: int
    page_size: int
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


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


def _all_like(column: str, terms: Sequence[str]) -> tuple[str, list[Any]]:
    """Every term is a whole token of the (space-separated) column."""
    sql = " AND ".join(f"(' ' || {column} || ' ') LIKE %s" for _ in terms)
    return f"({sql})", [f"% {t} %" for t in terms]


def _tier_sql(terms: Sequence[str]) -> tuple[str, list[Any]]:
    title, tp = _all_like("m.search_title", terms)
    creators, cp = _all_like("m.search_creators", terms)
    either = " AND ".join(
        "((' ' || m.search_title || ' ') LIKE %s OR (' ' || m.search_creators || ' ') LIKE %s)"
        for _ in terms
    )
    ep = [p for t in terms for p in (f"% {t} %", f"% {t} %")]
    sql = (
        f"(CASE WHEN {title} THEN 4 ELSE 0 END + CASE WHEN {creators} THEN 4 ELSE 0 END"
        f" + CASE WHEN ({either}) THEN 1 ELSE 0 END"
        " + CASE WHEN m.search_title = %s THEN 2 ELSE 0 END)"
    )
    return sql, [*tp, *cp, *ep, " ".join(terms)]


def _rows(conn: BaseDatabaseWrapper, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


_ORDER = {
    "relevance": "best DESC, title_length, first_pid",
    "newest": "newest DESC NULLS LAST, first_pid",
    "title": "first_title, first_pid",
}


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
    backend = backend_for(conn)
    match, match_params = backend.match_sql(terms)
    where, where_params = _filters_sql(filters)
    condition = " AND ".join([match, *where])
    base_params = [*match_params, *where_params]
    tier, tier_params = _tier_sql(terms)
    c = backend.collation
    page_sql = (
        f"SELECT m.work_id, MAX({tier}) AS best, MIN(LENGTH(m.search_title)) AS title_length, "
        f'MIN(m.pid COLLATE "{c}") AS first_pid, MAX(m.year) AS newest, '
        f'MIN(m.sort_title COLLATE "{c}") AS first_title, COUNT(*) OVER () AS total '
        f"FROM catalogue_manifestation m WHERE {condition} GROUP BY m.work_id "
        f"ORDER BY {_ORDER[sort]} LIMIT %s OFFSET %s"
    )
    offset = (page - 1) * page_size
    rows = _rows(conn, page_sql, [*tier_params, *base_params, page_size, offset])
    if rows:
        total = int(rows[0][6])
    else:
        count_sql = (
            f"SELECT COUNT(DISTINCT m.work_id) FROM catalogue_manifestation m WHERE {condition}"
        )
        total = int(_rows(conn, count_sql, base_params)[0][0])
    work_pks = [int(r[0]) for r in rows]
    hits = _hits(conn, sort, terms, tier, tier_params, where, where_params, work_pks)
    facets = _facets(conn, condition, base_params) if with_facets and total else {}
    return SearchPage(hits, total, page, page_size, {k: facets.get(k, []) for k in FACET_KEYS})


def _facets(
    conn: BaseDatabaseWrapper, condition: str, params: list[Any]
) -> dict[str, list[tuple[str, int]]]:
    parts = [
        f"SELECT '{key}', {expr}, COUNT(DISTINCT work_id) FROM matched "
        f"WHERE {column} IS NOT NULL GROUP BY {column}"
        for key, column, expr in (
            ("material_type", "material_type", "material_type"),
            ("language", "language", "language"),
            ("year", "year", "CAST(year AS TEXT)"),
        )
    ]
    sql = (
        "WITH matched AS MATERIALIZED (SELECT m.work_id, m.material_type, m.language, m.year "
        f"FROM catalogue_manifestation m WHERE {condition}) " + " UNION ALL ".join(parts)
    )
    facets: dict[str, list[tuple[str, int]]] = {k: [] for k in FACET_KEYS}
    for key, value, n in _rows(conn, sql, params):
        facets[key].append((str(value), int(n)))
    facets["year"].sort(key=lambda vn: vn[0], reverse=True)
    for key in ("material_type", "language"):
        facets[key].sort(key=lambda vn: (-vn[1], vn[0]))
    return facets


def _hits(
    conn: BaseDatabaseWrapper,
    sort: str,
    terms: Sequence[str],
    tier: str,
    tier_params: list[Any],
    where: list[str],
    where_params: list[Any],
    work_pks: list[int],
) -> list[SearchHit]:
    if not work_pks:
        return []
    marks = ", ".join(["%s"] * len(work_pks))
    # The match again, on the page's works only: every term a token of the search columns,
    # which is what both back-ends' indexes hold.
    every, every_params = _all_like(
        "m.search_title || ' ' || m.search_creators || ' ' || m.search_body", terms
    )
    condition = " AND ".join([f"m.work_id IN ({marks})", every, *where])
    best_sql = (
        f"SELECT m.work_id, m.pid, {tier}, LENGTH(m.search_title), m.year "
        f"FROM catalogue_manifestation m WHERE {condition}"
    )
    best: dict[int, tuple[tuple[int, int, int, str], str, int | None]] = {}
    for work_pk, pid, rank, length, year in _rows(
        conn, best_sql, [*tier_params, *work_pks, *every_params, *where_params]
    ):
        # The hit shows the best manifestation, or for "newest" the newest (its year is sorted).
        key = (-(year or 0) if sort == "newest" else 0, -int(rank), int(length), pid)
        if work_pk not in best or key < best[work_pk][0]:
            best[work_pk] = (key, pid, year)
    works_sql = (
        "SELECT w.id, w.work_id, w.title, w.creators, m.material_type, "
        "CASE WHEN EXISTS (SELECT 1 FROM catalogue_holding h WHERE h.manifestation_id = m.id "
        "AND h.lendable = %s AND h.on_shelf > 0) OR EXISTS (SELECT 1 FROM "
        "catalogue_onlineaccess o WHERE o.manifestation_id = m.id) THEN 1 ELSE 0 END "
        "FROM catalogue_work w JOIN catalogue_manifestation m ON m.work_id = w.id "
        f"WHERE w.id IN ({marks})"
    )
    works: dict[int, dict[str, Any]] = {}
    for pk, work_id, title, creators, material_type, available in _rows(
        conn, works_sql, [True, *work_pks]
    ):
        w = works.setdefault(
            pk, {"work_id": work_id, "title": title, "creators": creators, "types": set()}
        )
        w["types"].add(material_type)
        w["available"] = bool(w.get("available")) or bool(available)
    hits = []
    for pk in work_pks:
        w = works[pk]
        creators = json.loads(w["creators"]) if isinstance(w["creators"], str) else w["creators"]
        _, pid, year = best[pk]
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

"""The two full-text back-ends, chosen by the database vendor: SQLite FTS5 and PostgreSQL.

Both see the same pre-analysed tokens (search.text) and only answer "which manifestations
contain every term, in ID order"; the candidate rule, ranking, grouping, facets and paging are
the same code on both (search.engine), so a query gives the same page on either.

- SQLite: an FTS5 table over the manifestation table's search columns (external content), kept
  in sync by triggers in the database, so bulk inserts and the test snapshot cannot miss a row.
  FTS5 yields its matches in rowid order, so "the first K by ID" stops after K rows. Each
  term's number of rows, for the estimates, comes from a snapshot the bulk load takes.
- PostgreSQL: a generated ``tsvector`` column (``simple`` configuration: the text is stemmed
  already) with a GIN index; "the first K by ID" is the planner's choice between the GIN index
  (then a top-K sort) and the primary key read in order with the match as a filter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

FTS_TABLE = "catalogue_manifestation_fts"
VOCAB_TABLE = "catalogue_manifestation_fts_vocab"  # per connection, in the temp schema
TERM_COUNTS = "catalogue_search_term_count"  # the snapshot (migration 0003)
# The title and creator hits in ranking order (migration 0004): field -> SQLite FTS5 table
# (rowid: title length << 40 | ID); PostgreSQL matches the field's own tsvector.
BEST_FIELDS = {
    "search_title": "catalogue_manifestation_fts_title",
    "search_creators": "catalogue_manifestation_fts_creators",
}
_ID_BITS = (1 << 40) - 1


class SearchBackend(Protocol):
    vendor: str

    def matches_sql(self, terms: Sequence[str]) -> tuple[str, str, str, list[Any]]:
        """(FROM clause, WHERE condition, ORDER BY expression, parameters): the manifestations
        ``m`` that contain every term, ordered by ``m.id`` in the way the index reads it."""
        ...

    def prepare(self, conn: BaseDatabaseWrapper, terms: Sequence[str]) -> None:
        """Look at the query once before its SQL is made (PostgreSQL: the planner's estimates
        of the match and of each best-hits field's match, in one EXPLAIN)."""
        ...

    def best_sql(self, terms: Sequence[str], field: str) -> tuple[str, str, str, list[Any]] | None:
        """The same for the manifestations with every term in ``field`` (BEST_FIELDS), ordered
        by (title length, ID): the ranking's order within a tier; None: none from this field."""
        ...

    def match_rows(self) -> float | None:
        """The estimate of how many manifestations match that prepare read, if any."""
        ...

    def few_matches(
        self, conn: BaseDatabaseWrapper, source: str, match: str, params: list[Any], rows: int
    ) -> bool:
        """Whether the match is expected in so few of ``rows`` manifestations that reading all
        of them beats reading the manifestations in ID order until enough have matched."""
        ...

    def term_counts(self, conn: BaseDatabaseWrapper, terms: Sequence[str]) -> list[float]:
        """How many manifestations contain each term, by the index's statistics."""
        ...

    def term_counts_sql(self, terms: Sequence[str]) -> tuple[str, list[Any]] | None:
        """A query of (term, docs) for the terms' counts kept in a table, to be read in the
        search's own statement (None: term_counts asks the back-end)."""
        ...


class SqliteFts5Backend:
    vendor = "sqlite"

    def matches_sql(self, terms: Sequence[str]) -> tuple[str, str, str, list[Any]]:
        # Each term a quoted FTS5 string (the tokens are letters and digits only). CROSS JOIN
        # keeps the FTS5 table outermost: its rowid order is the manifestations' ID order, and
        # FTS5 consumes "ORDER BY fts.rowid" (ORDER BY m.id would sort all matches first).
        expression = " ".join('"' + t.replace('"', '""') + '"' for t in terms)
        return (
            f"{FTS_TABLE} fts CROSS JOIN catalogue_manifestation m",
            f"fts.{FTS_TABLE} MATCH %s AND m.id = fts.rowid",
            "fts.rowid",
            [expression],
        )

    def prepare(self, conn: BaseDatabaseWrapper, terms: Sequence[str]) -> None:
        return None  # the FTS5 indexes read every field's hits in ranking order, at any size

    def match_rows(self) -> float | None:
        return None  # FTS5 stops after each stratum's first matches: no estimate needed

    def best_sql(self, terms: Sequence[str], field: str) -> tuple[str, str, str, list[Any]]:
        table = BEST_FIELDS[field]
        return (
            f"{table} b CROSS JOIN catalogue_manifestation m",
            f"b.{table} MATCH %s AND m.id = (b.rowid & {_ID_BITS})",
            "b.rowid",
            [" ".join('"' + t.replace('"', '""') + '"' for t in terms)],
        )

    def few_matches(
        self, conn: BaseDatabaseWrapper, source: str, match: str, params: list[Any], rows: int
    ) -> bool:
        return False  # FTS5 reads its matches in ID order: stopping early is always cheapest

    def term_counts_sql(self, terms: Sequence[str]) -> tuple[str, list[Any]] | None:
        # The snapshot's rows, read with the candidates (a statement of its own costs more).
        marks = ", ".join(["%s"] * len(terms))
        return (f"SELECT term, docs FROM {TERM_COUNTS} WHERE term IN ({marks})", list(terms))  # noqa: S608

    def term_counts(self, conn: BaseDatabaseWrapper, terms: Sequence[str]) -> list[float]:
        # From the snapshot (refresh_term_counts): FTS5 stores no count per term, and fts5vocab
        # counts by reading the term's whole list of rows (2 ms for a common term at 1M). A
        # term the snapshot lacks (added since) is counted in the index.
        with conn.cursor() as cursor:
            marks = ", ".join(["%s"] * len(terms))
            cursor.execute(
                f"SELECT term, docs FROM {TERM_COUNTS} WHERE term IN ({marks})",  # noqa: S608
                list(terms),
            )
            known = {term: float(docs) for term, docs in cursor.fetchall()}
            missing = [t for t in terms if t not in known]
            if missing:
                _vocab(cursor)
                for term in missing:
                    sql = f"SELECT doc FROM temp.{VOCAB_TABLE} WHERE term = %s"  # noqa: S608
                    cursor.execute(sql, [term])
                    row = cursor.fetchone()
                    known[term] = float(row[0]) if row else 0.0
        return [known[t] for t in terms]


def _vocab(cursor: Any) -> None:
    cursor.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{VOCAB_TABLE} "
        f"USING fts5vocab(main, {FTS_TABLE}, row)"
    )


def refresh_term_counts(conn: BaseDatabaseWrapper) -> None:
    """SQLite: merge the FTS5 index into one segment and take the snapshot of each term's
    number of manifestations, the way ANALYZE keeps PostgreSQL's (the catalogue's bulk load
    calls it). Until the next refresh a term's count is the snapshot's: the estimates of large
    results are marked "ca." anyway. One pass over the whole index (1M: about 2 s)."""
    with conn.cursor() as cursor:
        # One segment: every term's rows in one list, which a search reads with fewer seeks.
        for table in (FTS_TABLE, *BEST_FIELDS.values()):
            cursor.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")  # noqa: S608
        _vocab(cursor)
        cursor.execute(f"DELETE FROM {TERM_COUNTS}")  # noqa: S608
        cursor.execute(
            f"INSERT INTO {TERM_COUNTS} (term, docs) SELECT term, doc FROM temp.{VOCAB_TABLE}"  # noqa: S608
        )


# Below this share of the catalogue, reading the matches through the GIN index is cheaper
# than reading the primary key in order with the match as a filter (the planner prices the
# filter too low and picks the key where the index would be 3-10x faster). From 0.25 % on
# (engine.WINDOWED) the GIN index's matches are read in a window of IDs per stratum only;
# above 3 % the first matches along the key come soon enough, and the GIN index's list of
# the term's rows costs more than they (bench/RESULTS.md, issue 11).
FEW_MATCHES = 0.03
# A field's hits are found with its GIN index and sorted only when the planner expects at most
# this many: the sort reads every one of them from the table (a common title word at 1M: 87,000
# rows on 31,000 pages, 180-500 ms; bench/RESULTS.md, issue 11). Above it the title hits are
# the titles that are just the query, read in ID order from a B-tree (migration 0007) and
# stopped after BEST: the best tier of the title hits, and for one word all of the first
# length. A common field gives no creator hits; its page comes from the sample.
BEST_SORTED = 2000


class PostgresFtsBackend:
    vendor = "postgresql"

    def __init__(self) -> None:
        # prepare's estimates: the match, and per BEST_FIELDS the field's match.
        self._rows: float | None = None
        self._field_rows: dict[str, float] = {}

    def prepare(self, conn: BaseDatabaseWrapper, terms: Sequence[str]) -> None:
        # This module's SQL fragments; the terms are parameters.
        source, match, _, params = self.matches_sql(terms)
        parts = [f"SELECT 1 FROM {source} WHERE {match}"]  # noqa: S608
        for field in BEST_FIELDS:
            parts.append(f"SELECT 1 FROM catalogue_manifestation m WHERE {_field_match(field)}")  # noqa: S608
            params = [*params, " & ".join(terms)]
        rows = _plan_rows(conn, parts, params)
        self._rows = rows[0]
        self._field_rows = dict(zip(BEST_FIELDS, rows[1:], strict=True))

    def match_rows(self) -> float | None:
        return self._rows

    def few_matches(
        self, conn: BaseDatabaseWrapper, source: str, match: str, params: list[Any], rows: int
    ) -> bool:
        # The planner's estimate (its statistics of the tsvector's lexemes), not a count.
        if self._rows is None:
            # This module's SQL fragments; the terms are parameters.
            self._rows = _plan_rows(conn, [f"SELECT 1 FROM {source} WHERE {match}"], params)[0]  # noqa: S608
        return self._rows < FEW_MATCHES * rows

    def term_counts_sql(self, terms: Sequence[str]) -> tuple[str, list[Any]] | None:
        return None  # the planner's estimates, by EXPLAIN (term_counts)

    def term_counts(self, conn: BaseDatabaseWrapper, terms: Sequence[str]) -> list[float]:
        # The planner's estimate per term: ANALYZE keeps the frequent lexemes' frequencies.
        one = (
            "SELECT 1 FROM catalogue_manifestation m "
            "WHERE m.search_vector @@ plainto_tsquery('simple', %s)"
        )
        return _plan_rows(conn, [one] * len(terms), list(terms))

    def best_sql(self, terms: Sequence[str], field: str) -> tuple[str, str, str, list[Any]] | None:
        # The field's own tsvector (migration 0004: a GIN index per field), not the weight in
        # search_vector, which the GIN index cannot tell (every match would be rechecked).
        # The tokens are letters and digits only: no quoting needed in the tsquery text.
        if field not in BEST_FIELDS:  # a column name of this module's, never input
            raise ValueError(field)
        if self._field_rows.get(field, 0.0) > BEST_SORTED:
            if field != "search_title":
                return None
            title = " ".join(terms)
            # The B-tree's own expression and order (migration 0007): read in ID order, stopped.
            return (
                "catalogue_manifestation m",
                f"left(m.search_title, {TITLE_PREFIX}) = left(%s, {TITLE_PREFIX}) "
                "AND m.search_title = %s",
                f"left(m.search_title, {TITLE_PREFIX}), m.id",
                [title, title],
            )
        return (
            "catalogue_manifestation m",
            _field_match(field),
            # Sorted after the GIN index has found them all, never read along an index in this
            # order: the planner cannot tell a field's term frequency, and a term frequent in
            # the text but absent from the field read all 1M rows in order (4-8 s).
            "length(m.search_title) + 0, m.id + 0",
            [" & ".join(terms)],
        )

    def matches_sql(self, terms: Sequence[str]) -> tuple[str, str, str, list[Any]]:
        return (
            "catalogue_manifestation m",
            "m.search_vector @@ plainto_tsquery('simple', %s)",
            "m.id",
            [" ".join(terms)],
        )


# The exact-title B-tree's key (migration 0007): a prefix, so that no title is too long for it.
TITLE_PREFIX = 200


def _field_match(field: str) -> str:
    return f"to_tsvector('simple'::regconfig, m.{field}) @@ to_tsquery('simple', %s)"


def _plan_rows(conn: BaseDatabaseWrapper, parts: Sequence[str], params: list[Any]) -> list[float]:
    """The planner's estimated rows of each query in ``parts``, in one EXPLAIN. Each part is a
    CTE of its own: an Append of the parts could be a Parallel Append, which orders its parts
    by cost and reports rows per worker; a CTE's plan is named and counts all its rows."""
    ctes = ", ".join(f"p{i} AS MATERIALIZED ({part})" for i, part in enumerate(parts))
    union = " UNION ALL ".join(f"SELECT 1 FROM p{i}" for i in range(len(parts)))  # noqa: S608
    with conn.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) WITH {ctes} {union}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    rows: dict[str, float] = {}
    nodes = [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        if str(node.get("Subplan Name", "")).startswith("CTE p"):
            rows[node["Subplan Name"][4:]] = float(node["Plan Rows"])
        nodes += node.get("Plans", [])
    return [rows[f"p{i}"] for i in range(len(parts))]


def backend_for(conn: BaseDatabaseWrapper | None = None) -> SearchBackend:
    vendor = (conn or connection).vendor
    if vendor == "postgresql":
        return PostgresFtsBackend()
    if vendor == "sqlite":
        return SqliteFts5Backend()
    raise NotImplementedError(f"no catalogue search for {vendor}")

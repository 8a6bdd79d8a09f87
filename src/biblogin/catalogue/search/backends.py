"""The two full-text back-ends, chosen by the database vendor: SQLite FTS5 and PostgreSQL.

Both see the same pre-analysed tokens (search.text) and only answer "which manifestations
contain every term, in ID order"; the candidate rule, ranking, grouping, facets and paging are
the same code on both (search.engine), so a query gives the same page on either.

- SQLite: an FTS5 table over the manifestation table's search columns (external content), kept
  in sync by triggers in the database, so bulk inserts and the test snapshot cannot miss a row.
  FTS5 yields its matches in rowid order, so "the first K by ID" stops after K rows.
- PostgreSQL: a generated ``tsvector`` column (``simple`` configuration: the text is stemmed
  already) with a GIN index; "the first K by ID" is the planner's choice between the GIN index
  (then a top-K sort) and the primary key read in order with the match as a filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

FTS_TABLE = "catalogue_manifestation_fts"


class SearchBackend(Protocol):
    vendor: str

    def matches_sql(self, terms: Sequence[str]) -> tuple[str, str, str, list[Any]]:
        """(FROM clause, WHERE condition, ORDER BY expression, parameters): the manifestations
        ``m`` that contain every term, ordered by ``m.id`` in the way the index reads it."""
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


class PostgresFtsBackend:
    vendor = "postgresql"

    def matches_sql(self, terms: Sequence[str]) -> tuple[str, str, str, list[Any]]:
        return (
            "catalogue_manifestation m",
            "m.search_vector @@ plainto_tsquery('simple', %s)",
            "m.id",
            [" ".join(terms)],
        )


def backend_for(conn: BaseDatabaseWrapper | None = None) -> SearchBackend:
    vendor = (conn or connection).vendor
    if vendor == "postgresql":
        return PostgresFtsBackend()
    if vendor == "sqlite":
        return SqliteFts5Backend()
    raise NotImplementedError(f"no catalogue search for {vendor}")

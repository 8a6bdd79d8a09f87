"""The two full-text back-ends, chosen by the database vendor: SQLite FTS5 and PostgreSQL.

Both see the same pre-analysed tokens (search.text) and only answer "which manifestations
contain every term"; ranking, filters, facets and paging are the same SQL on both (search.engine),
so a query gives the same page on either.

- SQLite: an FTS5 table over the manifestation table's search columns (external content), kept
  in sync by triggers in the database, so bulk inserts and the test snapshot cannot miss a row.
- PostgreSQL: a generated ``tsvector`` column (``simple`` configuration: the text is stemmed
  already) with a GIN index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

FTS_TABLE = "catalogue_manifestation_fts"


class SearchBackend(Protocol):
    vendor: str
    collation: str  # byte order, the same on both: the tie-breaks compare PIDs and titles

    def match_sql(self, terms: Sequence[str]) -> tuple[str, list[Any]]:
        """A condition on the manifestation ``m``: it contains every term."""
        ...


class SqliteFts5Backend:
    vendor = "sqlite"
    collation = "BINARY"

    def match_sql(self, terms: Sequence[str]) -> tuple[str, list[Any]]:
        # Each term a quoted FTS5 string (the tokens are letters and digits only).
        expression = " ".join('"' + t.replace('"', '""') + '"' for t in terms)
        sql = (
            "m.id IN (SELECT rowid FROM catalogue_manifestation_fts "
            "WHERE catalogue_manifestation_fts MATCH %s)"
        )
        return sql, [expression]


class PostgresFtsBackend:
    vendor = "postgresql"
    collation = "C"

    def match_sql(self, terms: Sequence[str]) -> tuple[str, list[Any]]:
        return "m.search_vector @@ plainto_tsquery('simple', %s)", [" ".join(terms)]


def backend_for(conn: BaseDatabaseWrapper | None = None) -> SearchBackend:
    vendor = (conn or connection).vendor
    if vendor == "postgresql":
        return PostgresFtsBackend()
    if vendor == "sqlite":
        return SqliteFts5Backend()
    raise NotImplementedError(f"no catalogue search for {vendor}")

"""PostgreSQL for the test suite: Django's backend with a flush that deletes instead of truncating.

A transactional test (live server, browser, concurrency) ends with a flush of every table.
Django's is one TRUNCATE of all 62 tables, which makes new files for each table and index:
0.7-0.9 s per test here (with the content types and permissions Django then re-makes), against
0.15-0.25 s with DELETEs of the few rows a test leaves (load 8). The
foreign keys are DEFERRABLE INITIALLY DEFERRED, and the flush runs in one transaction, so the
order of the DELETEs does not matter. Sequences are reset the way Django does (TRUNCATE ...
RESTART IDENTITY) when a test asks for it.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(
        self, style: Any, tables: Any, *, reset_sequences: bool = False, allow_cascade: bool = False
    ) -> list[str]:
        if reset_sequences or not tables:
            return super().sql_flush(
                style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [f"{style.SQL_KEYWORD('DELETE FROM')} {self.quote_name(t)};" for t in tables]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

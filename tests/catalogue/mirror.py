"""A second catalogue in an in-memory SQLite database, to run the FTS5 back-end beside the
test database's own (PostgreSQL in CI's second run) within one test run."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import ConnectionHandler

from biblogin.catalogue.models import Holding, Manifestation, OnlineAccess, Work

MODELS: tuple[type[models.Model], ...] = (Work, Manifestation, Holding, OnlineAccess)
_initial = importlib.import_module("biblogin.catalogue.migrations.0001_initial")
_term_counts = importlib.import_module("biblogin.catalogue.migrations.0003_search_term_counts")
_best_hits = importlib.import_module("biblogin.catalogue.migrations.0004_search_best_hits")
_page_size = importlib.import_module("biblogin.catalogue.migrations.0006_search_fts_page_size")


@contextmanager
def sqlite_mirror() -> Iterator[BaseDatabaseWrapper]:
    """An in-memory SQLite copy of the catalogue tables (with the FTS5 indexes) of the test DB."""
    # A handler of its own (not django.db.connections): its "default" is this in-memory DB.
    handler = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    )
    mirror = handler["default"]
    try:
        mirror.ensure_connection()
        with mirror.schema_editor() as editor:
            for model in MODELS:
                editor.create_model(model)
            for sql in [
                *_initial.SQLITE_CREATE,
                *_term_counts.SQLITE_CREATE,
                *_best_hits.SQLITE_CREATE,
                *_page_size._statements(_page_size.PAGE_SIZE),
            ]:
                editor.execute(sql)
        with mirror.cursor() as cursor:  # after the schema editor, which turns them on again
            cursor.execute("PRAGMA foreign_keys = OFF")  # the registry is not copied
        for model in MODELS:
            fields = list(model._meta.concrete_fields)
            names = [f.attname for f in fields]
            json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
            rows = []
            for row in model._base_manager.order_by("pk").values_list(*names):
                values = list(row)
                for i in json_at:
                    values[i] = json.dumps(values[i])
                rows.append(values)
            table = model._meta.db_table
            marks = ", ".join(["%s"] * len(names))
            with mirror.cursor() as cursor:
                cursor.executemany(
                    f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({marks})',
                    rows,
                )
        assert connection.alias == "default"
        yield mirror
    finally:
        mirror.close()

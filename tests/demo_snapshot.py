"""The demo data set built once per test session and put back per test in a few bulk inserts.

``demo_load()`` costs ~0.5-1 s (its ORM upserts, CULR sync, hashes); the ~1,300 rows it adds are
the same every time. ``DemoSnapshot.capture()`` runs it once in a fresh test database (inside a
transaction it rolls back) and keeps the rows it added; ``DemoSnapshot.put_back()`` inserts them
again in one prepared INSERT per table, within the test's own transaction, so a test that changes
the demo data changes only its copy. The live-server tests (a flush after each) use one snapshot
per base URL (``snapshot_for``); the content types and permissions a flush re-makes under other
IDs are matched by their natural keys. Where the result might differ from a real ``demo_load()``
(the tables are not empty, other content types or permissions, another BASE_URL, another day,
an insert conflict), it runs the real ``demo_load()`` instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.color import no_style
from django.db import IntegrityError, connection, models, transaction
from django.db.models.signals import post_migrate
from django.utils import timezone

from biblogin.common.plain_rows import insert_statement

Rows = dict[Any, tuple[Any, ...]]  # pk -> every concrete field's value
Keys = dict[Any, Any]  # natural key -> pk


def _models() -> list[type[models.Model]]:
    found = apps.get_models(include_auto_created=True)
    return [m for m in found if m._meta.managed and not m._meta.proxy]


def _rows(model: type[models.Model]) -> Rows:
    names = [f.attname for f in model._meta.concrete_fields]
    return {row[0]: row for row in model._base_manager.order_by().values_list("pk", *names)}


def _keys(model: type[models.Model]) -> Keys | None:
    """Natural key -> pk of every row (content types, permissions), or None if there is none."""
    if not hasattr(model, "natural_key"):
        return None
    # select_related(): a permission's natural key names its content type, one query per row
    # without it (some 300 queries, 0.1-0.4 s per test on PostgreSQL).
    return {obj.natural_key(): obj.pk for obj in model._base_manager.select_related()}


@dataclass
class DemoSnapshot:
    base_url: str = ""
    day: dt.date | None = None
    # Rows present before demo_load() (content types, permissions): must be the same at put-back.
    before: dict[type[models.Model], Rows] = field(default_factory=dict)
    before_keys: dict[type[models.Model], Keys | None] = field(default_factory=dict)
    # The rows demo_load() added, per model, as field values.
    added: dict[type[models.Model], list[dict[str, Any]]] = field(default_factory=dict)
    _prepared: list[_Inserts] | None = None
    # (flushes seen, the renumbering then): see _flushed.
    _renumbered: tuple[int, dict[Any, dict[Any, Any]] | None] | None = None

    def capture(self, *, base_url: str | None = None) -> None:
        """Run demo_load() once in this (fresh) database, remember what it added, roll back."""
        from biblogin.demo.services import demo_load

        with transaction.atomic():
            self.before = {m: r for m in _models() if (r := _rows(m))}
            self.before_keys = {m: _keys(m) for m in self.before}
            self.base_url, self.day = base_url or settings.BASE_URL, timezone.localdate()
            self._prepared = self._renumbered = None
            demo_load(base_url=self.base_url)
            for model in _models():
                existed = self.before.get(model, {})
                rows = _rows(model)
                if any(rows.get(pk) != row for pk, row in existed.items()):
                    self.added = {}  # demo_load() changed rows it did not add: never put back
                    break
                names = [f.attname for f in model._meta.concrete_fields]
                new = [dict(zip(names, row[1:], strict=True)) for pk, row in rows.items()]
                new = [v for v in new if v[model._meta.pk.attname] not in existed]
                if new and model._meta.parents:  # two tables: always the real load
                    self.added = {}
                    break
                if new:
                    self.added[model] = new
            transaction.set_rollback(True)

    def _applies(self, base_url: str | None = None) -> bool:
        return self._pk_maps(base_url) is not None

    def _pk_maps(self, base_url: str | None = None) -> dict[Any, dict[Any, Any]] | None:
        """How the rows present before demo_load() are numbered now (old pk -> new pk), or None
        where a put-back might differ from a real demo_load()."""
        if not self.added or self.base_url != (base_url or settings.BASE_URL):
            return None
        if timezone.localdate() != self.day:  # loans and reservations are dated from today
            return None
        if self._renumbered is None or self._renumbered[0] != _flushes:
            self._renumbered = (_flushes, self._renumbering())
        maps = self._renumbered[1]
        if maps is None:
            return None
        tables = [connection.ops.quote_name(m._meta.db_table) for m in self.added]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 WHERE " + " OR ".join(f"EXISTS (SELECT 1 FROM {t})" for t in tables)
            )
            empty = cursor.fetchone() is None  # what demo_load() fills is empty
        return maps if empty else None

    def _renumbering(self) -> dict[Any, dict[Any, Any]] | None:
        maps: dict[Any, dict[Any, Any]] = {}
        for model, rows in self.before.items():
            keys = self.before_keys.get(model)
            if keys is None:
                if _rows(model) != rows:
                    return None
                continue
            now = _keys(model)  # a flush re-made content types and permissions: other IDs
            if now is None or set(now) != set(keys):
                return None
            maps[model] = {pk: now[key] for key, pk in keys.items()}
        return maps

    def _inserts(self) -> list[_Inserts]:
        if self._prepared is None:
            self._prepared = [_Inserts(model, values) for model, values in self.added.items()]
        return self._prepared

    def put_back(self, *, base_url: str | None = None) -> None:
        """Give this test the demo data set, as demo_load() would."""
        from biblogin.demo.services import demo_load

        maps = self._pk_maps(base_url)
        if maps is not None:
            try:
                with transaction.atomic():
                    for inserts in self._inserts():
                        inserts.insert(maps)
                    # PostgreSQL: the sequences past the IDs just inserted.
                    sql = connection.ops.sequence_reset_sql(no_style(), list(self.added))
                    if sql:
                        with connection.cursor() as cursor:
                            for statement in sql:
                                cursor.execute(statement)
                return
            except IntegrityError:
                pass
        demo_load(base_url=base_url)


# Date fields' pre_save only stamps auto_now/auto_now_add, which _Inserts does itself.
_PLAIN = (models.Field.pre_save, models.DateField.pre_save, models.DateTimeField.pre_save)


class _Inserts:
    """One model's snapshot rows, prepared for the database once: the INSERT and each row's
    parameters. A put-back changes only the time stamps (``auto_now``/``auto_now_add`` get the
    time of the put-back, as ``bulk_create``'s ``pre_save`` would give them), the keys of rows a
    flush renumbered, and the fields with a ``pre_save`` of their own. ``bulk_create`` itself
    cost 4x as much on SQLite (0.2 s per test for the 1,300 rows; this: 0.05 s). On PostgreSQL,
    executemany (a pipeline) costs this process 0.04 s of CPU against bulk_create's 0.09 s; one
    INSERT of many rows would cost 0.11 s (psycopg quotes every value into the statement:
    Django binds on the client side). But the server's share was larger: executemany cost 87 ms
    a put-back and ~110 ms of the server's CPU (2026-12-04), so PostgreSQL gets ``COPY``."""

    def __init__(self, model: type[models.Model], values: list[dict[str, Any]]) -> None:
        fields = model._meta.concrete_fields
        self.sql = insert_statement(model, fields)
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        self.copy_sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        self.rows = [[f.get_db_prep_save(v[f.attname], connection) for f in fields] for v in values]
        self.values = values
        self.stamped = [
            (i, f)
            for i, f in enumerate(fields)
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        ]
        self.keys = [(i, f) for i, f in enumerate(fields) if f.is_relation]
        # Fields with a pre_save of their own (a client secret hashed unless it is already):
        # run on an instance of each row, as bulk_create does.
        self.model = model
        self.own = [(i, f) for i, f in enumerate(fields) if type(f).pre_save not in _PLAIN]

    def insert(self, maps: dict[Any, dict[Any, Any]]) -> None:
        now = timezone.now()
        changes = [
            (
                i,
                f.get_db_prep_save(
                    now if isinstance(f, models.DateTimeField) else now.date(), connection
                ),
            )
            for i, f in self.stamped
        ]
        renumbered = [
            (i, f, maps[f.related_model]) for i, f in self.keys if f.related_model in maps
        ]
        rows = self.rows
        if changes or renumbered or self.own:
            rows = [list(row) for row in rows]
            for row, value in zip(rows, self.values, strict=True):
                for i, prepared in changes:
                    row[i] = prepared
                for i, f, renumber in renumbered:
                    key = value[f.attname]
                    row[i] = f.get_db_prep_save(renumber.get(key, key), connection)
                instance = self.model(**value) if self.own else None
                for i, f in self.own:
                    row[i] = f.get_db_prep_save(f.pre_save(instance, True), connection)
        with connection.cursor() as cursor:
            if connection.vendor != "postgresql":
                cursor.executemany(self.sql, rows)
                return
            with cursor.copy(self.copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)


# The rows present before demo_load() (content types, permissions, the signing key) change only
# when a flush or a migrate re-makes them (both send post_migrate): every test's own changes are
# rolled back. So they are compared (~300 rows, 6-10 ms) once after each, not before every test.
_flushes = 0


def _flushed(**_kwargs: Any) -> None:
    global _flushes
    _flushes += 1


post_migrate.connect(_flushed, dispatch_uid="tests.demo_snapshot.flushed")

SNAPSHOT = DemoSnapshot()
_BY_BASE_URL: dict[str, DemoSnapshot] = {}


def snapshot_for(base_url: str) -> DemoSnapshot:
    """The snapshot of demo_load(base_url=…) (a live server's address), captured on first use."""
    if base_url not in _BY_BASE_URL:
        snapshot = DemoSnapshot()
        snapshot.capture(base_url=base_url)
        _BY_BASE_URL[base_url] = snapshot
    return _BY_BASE_URL[base_url]

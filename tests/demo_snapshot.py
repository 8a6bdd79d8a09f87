"""The demo data set built once per test session and put back per test in a few bulk inserts.

``demo_load()`` costs ~0.5-1 s (its ORM upserts, CULR sync, hashes); the ~130 rows it adds are
the same every time. ``DemoSnapshot.capture()`` runs it once in a fresh test database (inside a
transaction it rolls back) and keeps the rows it added; ``DemoSnapshot.put_back()`` inserts them
again in one ``bulk_create`` per table, within the test's own transaction, so a test that changes
the demo data changes only its copy. The live-server tests (a flush after each) use one snapshot
per base URL (``snapshot_for``); the content types and permissions a flush re-makes under other
IDs are matched by their natural keys. Where the result might differ from a real ``demo_load()``
(the tables are not empty, other content types or permissions, another BASE_URL, another day,
an insert conflict), it runs the real ``demo_load()`` instead.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.color import no_style
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

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
    return {obj.natural_key(): obj.pk for obj in model._base_manager.all()}


@dataclass
class DemoSnapshot:
    base_url: str = ""
    day: dt.date | None = None
    # Rows present before demo_load() (content types, permissions): must be the same at put-back.
    before: dict[type[models.Model], Rows] = field(default_factory=dict)
    before_keys: dict[type[models.Model], Keys | None] = field(default_factory=dict)
    # The rows demo_load() added, per model, as field values.
    added: dict[type[models.Model], list[dict[str, Any]]] = field(default_factory=dict)

    def capture(self, *, base_url: str | None = None) -> None:
        """Run demo_load() once in this (fresh) database, remember what it added, roll back."""
        from biblogin.demo.services import demo_load

        with transaction.atomic():
            self.before = {m: r for m in _models() if (r := _rows(m))}
            self.before_keys = {m: _keys(m) for m in self.before}
            self.base_url, self.day = base_url or settings.BASE_URL, timezone.localdate()
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
                if new and model._meta.parents:  # bulk_create cannot: always the real load
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
        tables = [connection.ops.quote_name(m._meta.db_table) for m in self.added]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 WHERE " + " OR ".join(f"EXISTS (SELECT 1 FROM {t})" for t in tables)
            )
            empty = cursor.fetchone() is None  # what demo_load() fills is empty
        return maps if empty else None

    def put_back(self, *, base_url: str | None = None) -> None:
        """Give this test the demo data set, as demo_load() would."""
        from biblogin.demo.services import demo_load

        maps = self._pk_maps(base_url)
        if maps is not None:
            try:
                with transaction.atomic():
                    for model, values in self.added.items():
                        rows = copy.deepcopy(values)
                        for f in model._meta.concrete_fields:
                            renumbered = f.is_relation and maps.get(f.related_model)
                            for row in rows if renumbered else ():
                                row[f.attname] = renumbered.get(row[f.attname], row[f.attname])
                        model._base_manager.bulk_create([model(**v) for v in rows])
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


SNAPSHOT = DemoSnapshot()
_BY_BASE_URL: dict[str, DemoSnapshot] = {}


def snapshot_for(base_url: str) -> DemoSnapshot:
    """The snapshot of demo_load(base_url=…) (a live server's address), captured on first use."""
    if base_url not in _BY_BASE_URL:
        snapshot = DemoSnapshot()
        snapshot.capture(base_url=base_url)
        _BY_BASE_URL[base_url] = snapshot
    return _BY_BASE_URL[base_url]

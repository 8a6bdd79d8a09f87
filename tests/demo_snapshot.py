"""The demo data set built once per test session and put back per test in a few bulk inserts.

``demo_load()`` costs ~0.5-1 s (its ORM upserts, CULR sync, hashes); the ~130 rows it adds are
the same every time. ``DemoSnapshot.capture()`` runs it once in a fresh test database (inside a
transaction it rolls back) and keeps the rows it added; ``DemoSnapshot.put_back()`` inserts them
again in one ``bulk_create`` per table, within the test's own transaction, so a test that changes
the demo data changes only its copy. Where the result might differ from a real ``demo_load()``
(the tables are not empty, the content types or permissions were re-made by a flush, another
BASE_URL, another day, an insert conflict), it runs the real ``demo_load()`` instead.
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


def _models() -> list[type[models.Model]]:
    found = apps.get_models(include_auto_created=True)
    return [m for m in found if m._meta.managed and not m._meta.proxy]


def _rows(model: type[models.Model]) -> Rows:
    names = [f.attname for f in model._meta.concrete_fields]
    return {row[0]: row for row in model._base_manager.order_by().values_list("pk", *names)}


@dataclass
class DemoSnapshot:
    base_url: str = ""
    day: dt.date | None = None
    # Rows present before demo_load() (content types, permissions): must be the same at put-back.
    before: dict[type[models.Model], Rows] = field(default_factory=dict)
    # The rows demo_load() added, per model, as field values.
    added: dict[type[models.Model], list[dict[str, Any]]] = field(default_factory=dict)

    def capture(self) -> None:
        """Run demo_load() once in this (fresh) database, remember what it added, roll back."""
        from biblogin.demo.services import demo_load

        with transaction.atomic():
            self.before = {m: r for m in _models() if (r := _rows(m))}
            self.base_url, self.day = settings.BASE_URL, timezone.localdate()
            demo_load()
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

    def _applies(self) -> bool:
        if not self.added or self.base_url != settings.BASE_URL:
            return False
        if timezone.localdate() != self.day:  # loans and reservations are dated from today
            return False
        if any(_rows(model) != rows for model, rows in self.before.items()):
            return False  # a flush re-made content types or permissions (other IDs maybe)
        tables = [connection.ops.quote_name(m._meta.db_table) for m in self.added]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 WHERE " + " OR ".join(f"EXISTS (SELECT 1 FROM {t})" for t in tables)
            )
            return cursor.fetchone() is None  # what demo_load() fills is empty

    def put_back(self) -> None:
        """Give this test the demo data set, as demo_load() would."""
        from biblogin.demo.services import demo_load

        if self._applies():
            try:
                with transaction.atomic():
                    for model, values in self.added.items():
                        model._base_manager.bulk_create([model(**v) for v in copy.deepcopy(values)])
                    # PostgreSQL: the sequences past the IDs just inserted.
                    sql = connection.ops.sequence_reset_sql(no_style(), list(self.added))
                    if sql:
                        with connection.cursor() as cursor:
                            for statement in sql:
                                cursor.execute(statement)
                return
            except IntegrityError:
                pass
        demo_load()


SNAPSHOT = DemoSnapshot()

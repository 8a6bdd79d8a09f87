# ruff: noqa: S608 - table and column names come from the models' meta, every value is a parameter
"""Model instances from one plain SQL statement, converted exactly as the ORM converts them.

The ORM spends 0.4-0.6 ms of CPU building and compiling each query of the login flow; the
statement itself runs in tens of microseconds. ``Rows`` writes the column list of a model once,
applies the same converters the ORM's compiler applies (the backend's, then the field's: JSON,
booleans and datetimes on SQLite), and builds the instance with ``from_db``, so what comes back
is the object a ``QuerySet`` would have given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, Any], Any]


def insert_statement(model: type[Model], fields: Sequence[Any], db: str = "default") -> str:
    """``INSERT INTO table (columns) VALUES (%s, …)`` for these fields of ``model``."""
    quote = connections[db].ops.quote_name
    return (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )


class Rows(Generic[M]):
    """The concrete columns of ``model`` under the SQL alias ``alias``, and their conversion."""

    def __init__(self, model: type[M], alias: str) -> None:
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.width = len(self.fields)
        self._converters: dict[str, list[tuple[Any, list[Converter]]]] = {}

    def table(self, db: str = "default") -> str:
        """``table alias``, for a FROM or JOIN clause."""
        return f"{connections[db].ops.quote_name(self.model._meta.db_table)} {self.alias}"

    def columns(self, db: str = "default") -> str:
        quote = connections[db].ops.quote_name
        return ", ".join(f"{self.alias}.{quote(f.column)}" for f in self.fields)

    def build(self, values: Sequence[Any], db: str = "default") -> M:
        """The instance from this model's slice of a row (``values``, in column order)."""
        converters = self._converters.get(db)
        if converters is None:
            converters = self._converters[db] = self._converters_for(db)
        connection = connections[db]
        converted = []
        for value, (column, functions) in zip(values, converters, strict=True):
            for function in functions:
                value = function(value, column, connection)
            converted.append(value)
        return self.model.from_db(db, self.attnames, converted)

    def _converters_for(self, db: str) -> list[tuple[Any, list[Converter]]]:
        connection = connections[db]
        table = self.model._meta.db_table
        out = []
        for field in self.fields:
            column = field.get_col(table)
            # The compiler's order: the backend's converters, then the expression's own.
            functions = connection.ops.get_db_converters(column) + column.get_db_converters(
                connection
            )
            out.append((column, functions))
        return out

    def insert(self, instance: M, db: str = "default") -> M:
        """``instance.save()`` of a new row as one INSERT: the fields' own ``pre_save`` (auto_now)
        and database conversion, the new key read back. No signals: callers insert rows of
        models nothing listens to."""
        connection = connections[db]
        pk = self.model._meta.pk
        assert pk is not None
        fields = [f for f in self.fields if not (f is pk and getattr(instance, f.attname) is None)]
        values = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
        sql = insert_statement(self.model, fields, db)
        returning = connection.features.can_return_columns_from_insert
        if returning:
            sql += f" RETURNING {connection.ops.quote_name(pk.column)}"
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            key = cursor.fetchone()[0] if returning else cursor.lastrowid
        if getattr(instance, pk.attname) is None:
            setattr(instance, pk.attname, key)
        instance._state.adding = False
        instance._state.db = db
        return instance

    def update(self, key: Any, values: dict[str, Any], db: str = "default") -> None:
        """``save(update_fields=…)`` of the row with this key as one UPDATE: each named field's
        value prepared for the database as a save prepares it. No signals, no ``pre_save``."""
        connection = connections[db]
        quote = connection.ops.quote_name
        meta = self.model._meta
        assert meta.pk is not None
        by_name = {f.name: f for f in self.fields}
        fields = [by_name[name] for name in values]
        sql = (
            f"UPDATE {quote(meta.db_table)} "
            f"SET {', '.join(f'{quote(f.column)} = %s' for f in fields)} "
            f"WHERE {quote(meta.pk.column)} = %s"
        )
        params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, meta.pk.get_db_prep_value(key, connection)])

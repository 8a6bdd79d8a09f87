# ruff: noqa: S608 - the table name comes from the model's meta, every value is a parameter
"""Sessions in the database (the embedded set-up) without look-ups that cannot change anything.

Django's store asks whether a new random key is taken before inserting it, and reads a session
before deleting it; a login (a new key, the old session deleted) paid three queries for that.
A login also wrote its session twice: ``cycle_key`` inserted the new key at once and the
response saved the same session again a moment later. ``NewKeyWrittenOnce`` gives the new key
at once (R-SEC-1: the old session is deleted at once too) and writes it once, with the response.

The store's four statements (read, insert, update, delete) are plain SQL on Django's table and
connection: the ORM spent 0.5-1 ms of CPU building each, the statement itself runs in tens of
microseconds, and the login flow pays six of them (issue 14, item 4).
"""

from __future__ import annotations

import secrets
from contextlib import nullcontext
from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone


def session_key_new() -> str:
    """40 hex characters (160 bits, the column's width; all in Django's ``VALID_KEY_CHARS``).

    One call to the OS's random source: Django's ``get_random_string`` drew 32 characters one by
    one, 64 us per key, and a login flow draws two (issue 14, item 4).
    """
    return secrets.token_hex(20)


class NewKeyWrittenOnce:
    """``cycle_key`` without its own write: the next ``save`` creates the new key's row."""

    _unsaved_new_key = False

    def cycle_key(self) -> None:
        store: Any = self
        data = store._session
        old_key = store.session_key
        store._session_key = store._get_new_session_key()
        store._session_cache = data
        store.modified = True
        self._unsaved_new_key = True
        if old_key:
            store.delete(old_key)

    def save(self, must_create: bool = False) -> None:
        store: Any = super()
        if not self._unsaved_new_key:
            store.save(must_create=must_create)
            return
        self._unsaved_new_key = False
        try:
            store.save(must_create=True)
        except CreateError:
            # The drawn key was taken after all (165 random bits): create() draws another.
            this: Any = self
            this._session_key = None
            this.create()


class PlainSQLStore(db.SessionStore):
    """Django's database store, each of its statements written out (no ORM compile)."""

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        # One DELETE; a session that is already gone is no error (as Django's own).
        alias = router.db_for_write(self.model)
        with connections[alias].cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {self._table(alias)} WHERE session_key = %s", [session_key]
            )

    def load(self) -> dict[str, Any]:
        session_key = self.session_key
        if session_key is not None:
            alias = router.db_for_read(self.model)
            connection = connections[alias]
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT session_data FROM {self._table(alias)} "
                    "WHERE session_key = %s AND expire_date > %s",
                    [session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
                )
                row = cursor.fetchone()
            if row is not None:
                return dict(self.decode(row[0]))
        self._session_key = None  # gone or expired: the response gets a new key (as Django's)
        return {}

    def save(self, must_create: bool = False) -> None:
        """Django's ``save`` as one INSERT (``must_create``) or one UPDATE of the row."""
        if self.session_key is None:
            return self.create()
        store: Any = self  # SessionBase's private helpers, untyped in django-stubs
        data = store._get_session(no_load=must_create)
        session_key = store._get_or_create_session_key()
        alias = router.db_for_write(self.model)
        connection = connections[alias]
        values = [
            self.encode(data),
            connection.ops.adapt_datetimefield_value(self.get_expiry_date()),
            session_key,
        ]
        table = self._table(alias)
        # Inside a caller's transaction a savepoint keeps a refused INSERT from breaking it;
        # alone, the one statement commits by itself.
        guard = transaction.atomic(using=alias) if connection.in_atomic_block else nullcontext()
        try:
            with guard, connection.cursor() as cursor:
                if must_create:
                    cursor.execute(
                        f"INSERT INTO {table} (session_data, expire_date, session_key) "
                        "VALUES (%s, %s, %s)",
                        values,
                    )
                    return None
                cursor.execute(
                    f"UPDATE {table} SET session_data = %s, expire_date = %s "
                    "WHERE session_key = %s",
                    values,
                )
                updated = cursor.rowcount
        except IntegrityError:
            if must_create:
                raise CreateError from None
            raise
        if updated != 1:
            raise UpdateError  # the session was deleted meanwhile (as Django's forced update)
        return None

    def _table(self, alias: str) -> str:
        return str(connections[alias].ops.quote_name(self.model._meta.db_table))


class SessionStore(NewKeyWrittenOnce, PlainSQLStore):
    def _get_new_session_key(self) -> str:
        # A taken key is refused by the INSERT of save(must_create=True), and create() then
        # draws again.
        return session_key_new()

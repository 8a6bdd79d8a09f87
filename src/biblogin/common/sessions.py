"""Sessions in the database (the embedded set-up) without look-ups that cannot change anything.

Django's store asks whether a new random key is taken before inserting it, and reads a session
before deleting it; a login (a new key, the old session deleted) paid three queries for that.
A login also wrote its session twice: ``cycle_key`` inserted the new key at once and the
response saved the same session again a moment later. ``NewKeyWrittenOnce`` gives the new key
at once (R-SEC-1: the old session is deleted at once too) and writes it once, with the response.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.utils.crypto import get_random_string


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


class SessionStore(NewKeyWrittenOnce, db.SessionStore):
    def _get_new_session_key(self) -> str:
        # 32 of 36 characters (165 bits): a taken key is refused by the INSERT of
        # save(must_create=True) anyway, and create() then draws again.
        return get_random_string(32, VALID_KEY_CHARS)

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        # One DELETE; a session that is already gone is no error (as Django's own).
        self.model.objects.filter(session_key=session_key).delete()

"""Sessions in the database (the embedded set-up) without look-ups that cannot change anything.

Django's store asks whether a new random key is taken before inserting it, and reads a session
before deleting it; a login (a new key, the old session deleted) paid three queries for that.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.utils.crypto import get_random_string


class SessionStore(db.SessionStore):
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

"""Sessions in the cache (Redis, the scaled set-up), a login's new key written once.

As ``biblogin.common.sessions`` for the database: ``cycle_key`` no longer writes the new key
itself; the response's save adds it (``cache.add``: a taken key is refused, another is drawn).
"""

from __future__ import annotations

from django.contrib.sessions.backends import cache

from biblogin.common.sessions import NewKeyWrittenOnce, session_key_new


class SessionStore(NewKeyWrittenOnce, cache.SessionStore):
    def _get_new_session_key(self) -> str:
        # Django's asks the cache whether a random key is taken first; cache.add refuses it.
        return session_key_new()

"""The database session store: a login's new key and deleted old session in the fewest queries."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from biblogin.common import sessions
from biblogin.common.sessions import SessionStore

pytestmark = pytest.mark.django_db


def _stored(store: SessionStore) -> dict[str, object]:
    return SessionStore(session_key=store.session_key).load()


def test_a_login_cycles_the_key_with_one_insert_and_one_delete() -> None:
    store = SessionStore()
    store["plan"] = "p"
    store.save()
    old_key = store.session_key
    store.load()
    with CaptureQueriesContext(connection) as queries:
        store.cycle_key()
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    # Django's own store also asked whether the new key was taken and read the old row first.
    assert statements.count("SELECT") == 0, statements
    assert statements.count("INSERT") == 1 and statements.count("DELETE") == 1
    assert not Session.objects.filter(session_key=old_key).exists()
    assert store.session_key != old_key
    store.save()
    assert _stored(store) == {"plan": "p"}


def test_a_new_key_that_is_taken_is_drawn_again() -> None:
    taken = SessionStore()
    taken["who"] = "first"
    taken.save()
    fresh = "z" * 32
    draws = iter([taken.session_key, fresh])
    with mock.patch.object(sessions, "get_random_string", lambda *a: next(draws)):
        store = SessionStore()
        store.create()
    assert store.session_key == fresh
    # The session that had the key is untouched.
    assert _stored(taken) == {"who": "first"}


def test_deleting_a_session_that_is_gone_is_no_error() -> None:
    store = SessionStore()
    store.save()
    store.delete()
    store.delete(store.session_key)
    SessionStore().delete()
    assert not Session.objects.exists()

"""The session stores: a login's new key and deleted old session in the fewest queries."""

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


def test_a_login_writes_its_new_key_once_and_deletes_the_old_session_at_once() -> None:
    """R-SEC-1: a new key at login, the old session gone at once; issue 14: one write, not two."""
    store = SessionStore()
    store["plan"] = "p"
    store.save()
    old_key = store.session_key
    store.load()
    with CaptureQueriesContext(connection) as queries:
        store.cycle_key()
        new_key = store.session_key
        store["_auth_user_id"] = "7"  # what login() adds before the response saves
        store.save()
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    # Django's own store asked whether the new key was taken, read the old row first, inserted
    # the new key in cycle_key and updated the same row again when the response saved it.
    assert statements.count("SELECT") == 0, statements
    assert statements.count("UPDATE") == 0, statements
    assert statements.count("INSERT") == 1 and statements.count("DELETE") == 1, statements
    assert not Session.objects.filter(session_key=old_key).exists()
    assert new_key and new_key != old_key and store.session_key == new_key
    assert _stored(store) == {"plan": "p", "_auth_user_id": "7"}


def test_the_old_session_is_gone_before_the_new_key_is_written() -> None:
    """R-SEC-1: between cycle_key and the response's save, the old key already opens nothing."""
    store = SessionStore()
    store["plan"] = "p"
    store.save()
    old_key = store.session_key
    store.cycle_key()
    assert not Session.objects.filter(session_key=old_key).exists()
    assert SessionStore(session_key=old_key).load() == {}


def test_a_cycled_key_that_turns_out_taken_is_drawn_again_at_save() -> None:
    taken = SessionStore()
    taken["who"] = "first"
    taken.save()
    store = SessionStore()
    store["plan"] = "p"
    store.save()
    fresh = "y" * 32
    draws = iter([taken.session_key, fresh])
    with mock.patch.object(sessions, "session_key_new", lambda: next(draws)):
        store.cycle_key()
        store.save()
    assert store.session_key == fresh
    assert _stored(store) == {"plan": "p"}
    assert _stored(taken) == {"who": "first"}


def test_the_cache_store_also_writes_a_logins_new_key_once(settings) -> None:
    """The scaled set-up (Redis): the same one write, through cache.add."""
    from django.core.cache import cache

    from biblogin.common.session_cache import SessionStore as CacheStore

    store = CacheStore()
    store["plan"] = "p"
    store.save()
    old_key = store.session_key
    with (
        mock.patch.object(cache, "add", wraps=cache.add) as add,
        mock.patch.object(cache, "set", wraps=cache.set) as set_,
    ):
        store.cycle_key()
        store["_auth_user_id"] = "7"
        store.save()
    assert add.call_count == 1 and set_.call_count == 0
    assert CacheStore(session_key=old_key).load() == {}
    assert CacheStore(session_key=store.session_key).load() == {"plan": "p", "_auth_user_id": "7"}


def test_a_new_key_that_is_taken_is_drawn_again() -> None:
    taken = SessionStore()
    taken["who"] = "first"
    taken.save()
    fresh = "z" * 32
    draws = iter([taken.session_key, fresh])
    with mock.patch.object(sessions, "session_key_new", lambda: next(draws)):
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


@pytest.mark.parametrize("engine", ["biblogin.common.sessions", "biblogin.common.session_cache"])
def test_new_session_keys_are_160_random_bits_in_djangos_key_characters(engine: str) -> None:
    """R-SEC-1: a session key is not guessable: 40 characters from the OS's random source,
    each a valid session-key character, within the column's width; no two alike."""
    from importlib import import_module

    from django.contrib.sessions.backends.base import VALID_KEY_CHARS

    store_class = import_module(engine).SessionStore
    keys = {store_class()._get_new_session_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert len(key) == 40 == Session._meta.get_field("session_key").max_length
        assert set(key) <= set(VALID_KEY_CHARS)
    assert all(int(key, 16) >= 0 for key in keys)  # hex digits: 4 bits each

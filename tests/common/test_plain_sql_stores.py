"""Plain SQL in place of the ORM on the login path (issue 14): the same rows, the same rules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from biblogin.audit.models import AuditEvent
from biblogin.common.plain_rows import Rows
from biblogin.common.sessions import SessionStore

pytestmark = pytest.mark.django_db


def _fields(instance: object) -> dict[str, object]:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_a_row_read_by_plain_sql_is_the_object_the_orm_reads() -> None:
    """R-LOGIN-13: an audit event (JSON, IP, datetime) inserted and read back without the ORM."""
    rows = Rows(AuditEvent, "e")
    event = rows.insert(
        AuditEvent(action="login", outcome="ok", ip="127.0.0.1", details={"idp": "borchk"})
    )
    assert event.pk is not None and event.at is not None  # the key and auto_now_add, as save()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {rows.columns()} FROM {rows.table()} WHERE e.id = %s", [event.pk])
        plain = rows.build(cursor.fetchone())
    orm = AuditEvent.objects.get(pk=event.pk)
    assert _fields(plain) == _fields(orm) == _fields(event)
    assert plain.details == {"idp": "borchk"} and isinstance(plain.at, dt.datetime)


def test_a_plain_update_writes_the_named_fields_of_one_row_as_save_would() -> None:
    """R-LOGIN-13: JSON and a datetime written by one UPDATE read back as the ORM wrote them."""
    rows = Rows(AuditEvent, "e")
    first, second = (rows.insert(AuditEvent(action="login", outcome="ok")) for _ in range(2))
    at = timezone.now() - dt.timedelta(days=3)
    rows.update(first.pk, {"at": at, "details": {"idp": "nemlogin", "n": 2}})
    first.at, first.details = at, {"idp": "nemlogin", "n": 2}
    assert _fields(AuditEvent.objects.get(pk=first.pk)) == _fields(first)
    assert _fields(AuditEvent.objects.get(pk=second.pk)) == _fields(second)  # only that row


def test_an_expired_session_is_not_loaded_and_gets_a_new_key() -> None:
    store = SessionStore()
    store["who"] = "someone"
    store.save()
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    again = SessionStore(session_key=store.session_key)
    assert again.load() == {}
    assert again.session_key is None  # as Django's store: the response draws a new key


def test_saving_a_session_deleted_meanwhile_is_an_update_error() -> None:
    """As Django's forced update: the middleware answers it, a deleted session is not revived."""
    store = SessionStore()
    store["who"] = "someone"
    store.save()
    Session.objects.filter(session_key=store.session_key).delete()
    store["who"] = "else"
    with pytest.raises(UpdateError):
        store.save()
    assert not Session.objects.exists()

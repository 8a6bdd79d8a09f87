"""One RS256 signing key per test process, present in the test database from its creation on.

A test database starts without a key, and every test runs on its own copy of it, so the first ID
token of nearly every test generated a 2048-bit RSA key and parsed it twice: ~0.15 s of CPU, a
tenth of the suite's (py-spy, 2026-12-04). The first key the platform makes (``signing_key_active``,
as in production) is kept here and written back after the test database's migration and after
every flush (both send ``post_migrate``), with the same primary key and ``created_at``: the demo
snapshot sees the same rows, and the process's parsed key (``keys._load``) serves every test. A
test that rotates or expires keys does so on this key, inside its own transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.color import no_style
from django.db import connection
from django.db.models.signals import post_migrate

_CREATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_values: dict[str, Any] | None = None


def _put_back(sender: Any, **_kwargs: Any) -> None:
    global _values
    if sender.label != "oidc":
        return
    from biblogin.oidc.keys import signing_key_active
    from biblogin.oidc.models import SigningKey

    if SigningKey.objects.exists():
        return
    if _values is None:
        row = SigningKey.objects.get(kid=signing_key_active().kid)
        SigningKey.objects.filter(pk=row.pk).update(created_at=_CREATED)
        _values = {f.attname: getattr(row, f.attname) for f in SigningKey._meta.concrete_fields} | {
            "created_at": _CREATED
        }
        return
    SigningKey.objects.bulk_create([SigningKey(**_values)])
    SigningKey.objects.filter(pk=_values["id"]).update(created_at=_CREATED)  # auto_now_add
    with connection.cursor() as cursor:  # PostgreSQL: the next key after this explicit id
        for statement in connection.ops.sequence_reset_sql(no_style(), [SigningKey]):
            cursor.execute(statement)


def keep_one_signing_key() -> None:
    post_migrate.connect(_put_back, dispatch_uid="tests.signing_key")

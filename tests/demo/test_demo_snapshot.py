"""The session's demo snapshot (tests/demo_snapshot.py) gives what demo_load() gives."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.db import models, transaction

from biblogin.demo.services import demo_load
from tests.demo_snapshot import SNAPSHOT

pytestmark = pytest.mark.django_db

# Made afresh by every load: timestamps, and values with a random salt or nonce.
FRESH_EACH_TIME = {
    *("pin_hash", "password", "client_secret", "cpr_encrypted", "borrower_ref", "guid"),
}


def _models() -> list[type[models.Model]]:
    found = apps.get_models(include_auto_created=True)
    # The audit log records the load itself (CULR events name patrons by their fresh guids).
    return [
        m
        for m in found
        if m._meta.managed and not m._meta.proxy and m._meta.label != "audit.AuditEvent"
    ]


def _everything() -> dict[str, list[tuple[Any, ...]]]:
    """Every row, with IDs as ranks (PostgreSQL's sequences are not rolled back) and no
    fresh-each-time values, so that two loads of the same data compare equal."""
    ranks = {
        m: {pk: i for i, pk in enumerate(sorted(m._base_manager.values_list("pk", flat=True)))}
        for m in _models()
    }
    dump = {}
    for model in _models():
        rows = []
        for obj in model._base_manager.all():
            row = []
            for f in model._meta.concrete_fields:
                if isinstance(f, models.DateTimeField) or f.attname in FRESH_EACH_TIME:
                    continue
                value = getattr(obj, f.attname)
                if f.primary_key:
                    value = ranks[model].get(value, value)
                elif f.is_relation and f.related_model in ranks:
                    value = ranks[f.related_model].get(value, value)
                row.append((f.attname, value))
            rows.append(tuple(row))
        dump[model._meta.label] = sorted(rows, key=repr)
    return dump


def test_the_demo_snapshot_put_back_is_what_demo_load_makes() -> None:
    """The fast path of the ``demo`` fixture leaves the same rows as a fresh demo_load()."""
    assert SNAPSHOT._applies(), "the fast path must be the one tested"
    with transaction.atomic():
        demo_load()
        loaded = _everything()
        transaction.set_rollback(True)
    assert SNAPSHOT._applies()
    SNAPSHOT.put_back()
    put_back = _everything()
    assert put_back["registry.Agency"] and put_back["library_systems.SimBorrower"]
    # The links' own IDs follow the order in which demo_load() adds them, which is the order
    # of a set of keys: another order once the sequences have moved on (a flush in an
    # earlier test on this worker). The links themselves are compared.
    loaded, put_back = _links_without_ids(loaded), _links_without_ids(put_back)
    differing = [
        (label, a, b)
        for label in loaded
        for row_a, row_b in zip(loaded[label], put_back[label], strict=False)
        for a, b in zip(row_a, row_b, strict=True)
        if a != b
    ]
    assert not differing
    assert {k: len(v) for k, v in loaded.items()} == {k: len(v) for k, v in put_back.items()}


@pytest.mark.django_db(transaction=True)
def test_a_live_servers_snapshot_after_a_flush_is_what_demo_load_makes() -> None:
    """The live-server tests' put-back (a flush re-made the content types and permissions
    under other IDs) leaves the same rows as demo_load(base_url=…), permissions included."""
    from django.core.management import call_command

    from tests.demo_snapshot import snapshot_for

    url = "http://127.0.0.1:1"
    snapshot = snapshot_for(url)
    call_command("flush", interactive=False, verbosity=0)  # as after a live-server test
    with transaction.atomic():
        demo_load(base_url=url)
        loaded = _everything()
        transaction.set_rollback(True)
    assert snapshot._applies(url), "the fast path must be the one tested"
    snapshot.put_back(base_url=url)
    put_back = _everything()
    assert put_back["common.User_user_permissions"]
    assert _links_without_ids(loaded) == _links_without_ids(put_back)


def _links_without_ids(dump: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[Any]]:
    """The many-to-many link rows without their own IDs: demo_load() adds a set of keys, in
    the set's order, and after a flush the permissions come back in another order too."""
    links = {m._meta.label for m in _models() if m._meta.auto_created}
    return {
        label: sorted(([c for c in row if c[0] != "id"] for row in rows), key=repr)
        if label in links
        else rows
        for label, rows in dump.items()
    }

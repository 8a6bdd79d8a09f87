"""The search index follows every write: the service, bulk inserts, updates and deletes."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from biblogin.catalogue.bulkload import PID_BASE, catalogue_bulkload
from biblogin.catalogue.models import Holding, Manifestation, Work
from biblogin.catalogue.selectors import catalogue_search
from biblogin.catalogue.services import manifestation_save

pytestmark = pytest.mark.django_db


def _work() -> Work:
    return Work.objects.create(work_id="work-of:test:1", title="Snemandens sommer")


def test_a_saved_manifestation_is_found_and_its_changes_too() -> None:
    m = manifestation_save(
        manifestation=Manifestation(
            pid="870970-basis:70000001", work=_work(), title="Snemandens sommer",
            creators=[{"name": "Test Forfatter", "role": "forfatter"}], material_type="bog",
        )
    )  # fmt: skip
    assert [h.pid for h in catalogue_search(query="snemanden").hits] == [m.pid]
    m.title = "Vinterens gæst"
    manifestation_save(manifestation=m)
    assert catalogue_search(query="snemandens").total == 0
    assert catalogue_search(query="gæsten").total == 1
    m.delete()
    assert catalogue_search(query="gæst").total == 0


def test_deleting_a_work_removes_its_manifestations_from_the_search() -> None:
    work = _work()
    manifestation_save(
        manifestation=Manifestation(
            pid="870970-basis:70000002", work=work, title="Fyrtaarnet", material_type="bog"
        )
    )
    assert catalogue_search(query="fyrtårnet").total == 1
    work.delete()
    assert catalogue_search(query="fyrtårnet").total == 0


def test_bulkload_adds_searchable_manifestations_with_holdings(demo: None) -> None:
    before = Manifestation.objects.count()
    result = catalogue_bulkload(count=500, seed=7)
    assert result.manifestations == 500 and 0 < result.works <= 500 and result.holdings > 0
    assert Manifestation.objects.count() == before + 500
    last = Manifestation.objects.order_by("-pk").first()
    assert last is not None and last.pid == f"870970-basis:{PID_BASE + last.pk}"
    assert catalogue_bulkload(count=10, seed=7).manifestations == 10  # again: other PIDs
    assert Holding.objects.filter(manifestation__pid__startswith="870970-basis:5").exists()
    synthetic = Manifestation.objects.get(pid=f"870970-basis:{PID_BASE + last.pk - 10}")
    word = synthetic.search_title.split()[0]
    pids = [h.pid for h in catalogue_search(query=word, page_size=100).hits]
    assert catalogue_search(query=word).total >= 1
    assert (
        synthetic.work.work_id
        in {h.work_id for p in range(1, 30) for h in catalogue_search(query=word, page=p).hits}
        or synthetic.pid in pids
    )
    # Objects made afterwards get fresh IDs (PostgreSQL: the sequences were moved on).
    again = manifestation_save(
        manifestation=Manifestation(
            pid="870970-basis:70000003", work=synthetic.work, title="Efter", material_type="bog"
        )
    )
    assert again.pk > synthetic.pk
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_indexes WHERE indexname = 'catalogue_manifestation_search'"
            )
            assert cursor.fetchone() is not None  # the GIN index is back


def test_the_bulkload_command_refuses_a_count_out_of_range() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("catalogue_bulkload", "--count", "0")

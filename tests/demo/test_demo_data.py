"""The demo data set: what later issues and acceptance checks rely on."""

from __future__ import annotations

import pytest
from django.test import Client

from biblogin.demo.services import demo_data, demo_load
from biblogin.patrons.models import Account, Patron
from biblogin.patrons.selectors import patron_get_by_cpr
from biblogin.registry.models import Agency, Branch

pytestmark = pytest.mark.django_db

ANNA, BO, ERIK, FREDERIK = "1503851234", "0207921235", "3012651239", "0505054240"
FFU_ONLY = {"2309881236", "1111701237", "0808801238", "1212901242", "0303951243"}


def _snapshot() -> tuple[int, ...]:
    return (
        Agency.objects.count(),
        Branch.objects.count(),
        Patron.objects.count(),
        Account.objects.count(),
    )


def test_loading_twice_changes_nothing() -> None:
    demo_load()
    first = _snapshot()
    demo_load()
    assert _snapshot() == first


def test_every_demo_agency_has_the_settings_of_the_table() -> None:
    demo_load()
    kbh = Agency.objects.get(agency_id="710100")
    assert kbh.municipality_no == 101 and kbh.culr_sync and kbh.borrower_check
    assert {s.name for s in kbh.borrower_check_services.all()} == {"bibliotek.dk", "demo-app"}
    assert kbh.infomedia and kbh.digital_article_service
    assert [r.name for r in kbh.licensed_resources.all()] == ["Central Ebook Plus"]
    assert list(kbh.branches.values_list("branch_id", flat=True)) == [
        "710100", "710104", "710111", "710117",
    ]  # fmt: skip
    valby = Branch.objects.get(branch_id="710111")
    assert valby.temporarily_closed and valby.temporarily_closed_reason == "Lukket for renovering"
    assert Branch.objects.get(branch_id="710117").mobile_stops.count() == 3
    ih = Agency.objects.get(agency_id="840099")
    assert [s.name for s in ih.borrower_check_services.all()] == ["demo-app"]
    hh = Agency.objects.get(agency_id="830099")
    assert not hh.borrower_check and hh.accepts_orders_without_login
    assert [p.parameter_type for p in hh.order_user_parameters.all()] == [
        "userId", "userName", "userMail", "userTelephone",
    ]  # fmt: skip
    ark = Agency.objects.get(agency_id="850099")
    assert not ark.borrower_check and not ark.accepts_orders_without_login
    assert Agency.objects.get(agency_id="829000").user_id_kinds == ["email"]


def test_culr_holds_only_the_patrons_delivered_by_culr_sync_agencies() -> None:
    demo_load()
    anna = patron_get_by_cpr(cpr=ANNA)
    assert anna is not None
    assert {(a.agency_id, a.id_type, a.local_id) for a in anna.accounts.all()} == {
        ("710100", "CPR", ""),
        ("710100", "LOCAL", "1000001"),
        ("715700", "CPR", ""),
        ("715700", "LOCAL", "2000001"),
    }
    assert anna.municipality_no == 101
    for cpr in (BO, ERIK, FREDERIK):
        assert patron_get_by_cpr(cpr=cpr) is not None
    for cpr in FFU_ONLY:
        assert patron_get_by_cpr(cpr=cpr) is None
    bo = patron_get_by_cpr(cpr=BO)
    assert bo is not None and {a.agency_id for a in bo.accounts.all()} == {"710100"}
    assert Patron.objects.count() == 4


def test_the_fixture_names_every_person_of_the_issue() -> None:
    names = [p["name"] for p in demo_data()["persons"]]
    assert names == [
        "Anna Andersen", "Bo Bertelsen", "Clara Christensen", "Dorte Dahl", "Erik Eriksen",
        "Frederik Friis", "Gitte Gade", "Henrik Holm", "Ida Iversen",
    ]  # fmt: skip


def test_campus_syd_staff_sees_only_campus_syd_in_the_admin() -> None:
    demo_load()
    client = Client()
    assert client.login(username="campussyd", password="campussyd-staff")
    page = client.get("/admin/registry/agency/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Campus Syd Bibliotek" in text
    assert "Københavns Biblioteker" not in text and "UCN Biblioteket" not in text
    other = Agency.objects.get(agency_id="710100")
    assert client.get(f"/admin/registry/agency/{other.pk}/change/").status_code in {302, 403, 404}


def test_superuser_sees_every_demo_agency_in_the_admin(settings) -> None:
    settings.STAFF_OTP_REQUIRED = False  # as `biblogin demo` runs (plain HTTP, R-SEC-4)
    demo_load()
    client = Client()
    assert client.login(username="admin", password="biblogin-admin")
    text = client.get("/admin/registry/agency/").content.decode()
    for row in demo_data()["agencies"]:
        assert row["name"] in text

"""The demo catalogue makes the journeys of issues 11 and 13 possible."""

from __future__ import annotations

import pytest
from django.db.models import Count

from biblogin.catalogue.models import Holding, Manifestation, Work
from biblogin.catalogue.selectors import (
    catalogue_search,
    holdings_for,
    manifestation_get,
    manifestations_get,
    online_access_for,
    work_get,
)
from biblogin.demo.catalogue.load import EXAMPLES, demo_catalogue_load

pytestmark = pytest.mark.django_db


def _policy(pid: str, pickup_agency: str) -> str:
    """R-ORDER-2 read off the holdings the way the ordering issue will read them."""
    m = manifestation_get(pid=pid)
    assert m is not None
    holdings = holdings_for(pid=pid)
    own = [h for h in holdings if h.agency_id == pickup_agency]
    if any(h.own_catalogue_url for h in own):
        return "OWNED_OWN_CATALOGUE"
    if any(h.lendable for h in own):
        return "OWNED_ACCEPTED"
    if m.interlibrary_loan and any(h.lendable and not h.own_users_only for h in holdings):
        return "NOT_OWNED_ILL_LOC"
    return "NOT_OWNED_NO_ILL_LOC"


def test_every_order_policy_outcome_occurs_in_the_demo_catalogue_r_order_2(demo: None) -> None:
    assert _policy(EXAMPLES["owned_accepted"], "710100") == "OWNED_ACCEPTED"
    assert any(h.branch_id == "710104" for h in holdings_for(pid=EXAMPLES["owned_accepted"]))
    assert _policy(EXAMPLES["not_owned_ill"], "710100") == "NOT_OWNED_ILL_LOC"
    assert _policy(EXAMPLES["nowhere_lendable"], "710100") == "NOT_OWNED_NO_ILL_LOC"
    assert _policy(EXAMPLES["nowhere_lendable"], "830099") == "NOT_OWNED_NO_ILL_LOC"
    assert _policy(EXAMPLES["own_catalogue"], "830099") == "OWNED_OWN_CATALOGUE"
    url = next(
        h.own_catalogue_url
        for h in holdings_for(pid=EXAMPLES["own_catalogue"])
        if h.agency_id == "830099"
    )
    assert url.startswith("https://")


def test_the_demo_catalogue_has_200_manifestations_in_works_of_several_forms(demo: None) -> None:
    assert Manifestation.objects.count() >= 200
    several = Work.objects.annotate(n=Count("manifestations")).filter(n__gte=3).count()
    assert several >= 30
    barndom = work_get(work_id="work-of:870970-basis:00001000")
    assert barndom is not None
    assert {m.material_type for m in barndom.manifestations.all()} >= {
        "bog",
        "e-bog",
        "lydbog (net)",
    }


def test_tove_ditlevsen_as_e_bog_is_held_by_libraries(demo: None) -> None:
    page = catalogue_search(query="Tove Ditlevsen", material_types=["e-bog"])
    assert page.total >= 5
    for hit in page.hits:
        assert holdings_for(pid=hit.pid), hit.title
        assert [a.provider for a in online_access_for(pid=hit.pid)] == ["Central Ebook Plus"]


def test_karen_blixen_works_are_found(demo: None) -> None:
    titles = {h.title for h in catalogue_search(query="Karen Blixen").hits}
    assert {"Den afrikanske Farm", "Babettes Gæstebud", "Syv fantastiske Fortællinger"} <= titles


def test_the_libraries_of_the_ordering_journeys_hold_books(demo: None) -> None:
    for branch in ("830099", "820099", "710104", "715700"):
        lendable = Holding.objects.filter(
            branch_id=branch, lendable=True, manifestation__material_type="bog"
        )
        assert lendable.count() >= 5, branch
    assert Holding.objects.filter(agency_id="820099", own_users_only=True).exists()
    out = Holding.objects.filter(on_shelf__lt=1).first()
    assert out is not None and out.expected_return is not None


def test_periodicals_articles_and_online_access(demo: None) -> None:
    periodicals = Manifestation.objects.filter(material_type="tidsskrift")
    assert periodicals.count() >= 3 and all(p.issn for p in periodicals)
    article = manifestation_get(pid="870971-tsart:00000001")
    assert article is not None and article.periodical is not None
    assert article.periodical.title == "Kritik"
    kinds = [a.kind for a in online_access_for(pid=article.pid)]
    assert kinds == ["digital_article_service"]  # through its periodical
    no_das = manifestation_get(pid="870971-tsart:00000004")  # Ingeniøren: not eligible
    assert no_das is not None and online_access_for(pid=no_das.pid) == []
    infomedia = catalogue_search(query="Ditlevsen", material_types=["avisartikel"]).hits
    assert infomedia
    assert [a.kind for a in online_access_for(pid=infomedia[0].pid)] == ["infomedia"]
    assert online_access_for(pid="870970-basis:nothing") == []


def test_manifestations_get_returns_the_known_pids_only(demo: None) -> None:
    found = manifestations_get(pids=[EXAMPLES["owned_accepted"], "870970-basis:99999999"])
    assert list(found) == [EXAMPLES["owned_accepted"]]
    assert found[EXAMPLES["owned_accepted"]].work.title == "Barndom"
    assert manifestation_get(pid="nope") is None and work_get(work_id="nope") is None


def test_holdings_view_names_agency_and_branch(demo: None) -> None:
    views = holdings_for(pid=EXAMPLES["owned_accepted"])
    vesterbro = next(v for v in views if v.branch_id == "710104")
    assert vesterbro.agency_name == "Københavns Biblioteker"
    assert vesterbro.branch_name == "Vesterbro Bibliotek"
    assert 0 <= vesterbro.on_shelf <= vesterbro.copies
    assert [(v.agency_id, v.branch_id) for v in views] == sorted(
        (v.agency_id, v.branch_id) for v in views
    )


def test_loading_the_demo_catalogue_again_changes_nothing_but_keeps_the_rows(demo: None) -> None:
    before = dict(Manifestation.objects.values_list("pid", "pk"))
    page = catalogue_search(query="Tove Ditlevsen")
    assert demo_catalogue_load() == len(before)
    assert dict(Manifestation.objects.values_list("pid", "pk")) == before
    assert catalogue_search(query="Tove Ditlevsen") == page

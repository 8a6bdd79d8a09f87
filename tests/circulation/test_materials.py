"""Judging an order's materials from the catalogue (R-ORDER-2, R-ORDER-6)."""

from __future__ import annotations

import pytest

from biblogin.circulation.materials import order_materials_judge
from biblogin.circulation.models import LineKind
from tests.circulation import catalogue as c

pytestmark = pytest.mark.usefixtures("demo")


@pytest.fixture(autouse=True)
def _catalogue(demo) -> None:
    c.order_catalogue()


def judged(*pids: str, at: str = "710100", das: bool = False) -> dict:
    return {
        m.pid: m
        for m in order_materials_judge(
            pids=list(pids), pickup_agency_id=at, digital_article_right=das
        )
    }


def test_each_material_gets_the_policy_of_its_holdings_R_ORDER_2() -> None:
    found = judged(c.AT_VESTERBRO, c.AT_GENTOFTE, c.NOBODY_LENDS, "870970-basis:nope")
    assert found[c.AT_VESTERBRO].orderable and found[c.AT_VESTERBRO].reason == ""
    assert found[c.AT_VESTERBRO].request.policy == "OWNED_ACCEPTED"
    assert found[c.AT_GENTOFTE].orderable
    assert found[c.AT_GENTOFTE].request.policy == "NOT_OWNED_ILL_LOC"
    assert not found[c.NOBODY_LENDS].orderable
    assert found[c.NOBODY_LENDS].reason == "NOT_OWNED_NO_ILL_LOC"
    assert not found["870970-basis:nope"].known and not found["870970-basis:nope"].orderable
    own = judged(c.OWN_SITE, at="820099")[c.OWN_SITE]
    assert own.reason == "OWNED_OWN_CATALOGUE" and own.own_catalogue_url.startswith("https://")


def test_a_periodical_article_goes_digital_with_the_right_R_ORDER_6() -> None:
    article = judged(c.ARTICLE, das=True)[c.ARTICLE]
    assert article.kind == LineKind.DIGITAL_ARTICLE and article.orderable


def test_without_the_right_the_physical_issue_is_ordered_with_the_periodical_form_R_ORDER_6():
    article = judged(c.ARTICLE, das=False)[c.ARTICLE]
    assert article.kind == LineKind.PERIODICAL_ISSUE and article.orderable
    assert article.needs_periodical_form
    assert article.request.material_id == c.PERIODICAL
    assert article.periodical["issue"] == "2023, nr. 4" and article.periodical["pages"] == "12-19"
    # Ordering the periodical itself needs the year and the issue typed.
    periodical = judged(c.PERIODICAL)[c.PERIODICAL]
    assert not periodical.orderable and periodical.reason == "PERIODICAL_DETAILS_MISSING"
    typed = order_materials_judge(
        pids=[c.PERIODICAL],
        pickup_agency_id="710100",
        digital_article_right=False,
        periodical_details={c.PERIODICAL: {"year": "2022", "issue": "3"}},
    )[0]
    assert typed.orderable and typed.request.periodical == {"year": "2022", "issue": "3"}

"""The one library search (R-LOGIN-3, R-PORTAL-1): branches, spellings, abbreviations, ranking."""

from __future__ import annotations

import pytest

from biblogin.registry import selectors, services
from biblogin.registry.models import AgencyStatus
from tests.registry.builders import branch, public_library, research_library

pytestmark = pytest.mark.django_db


@pytest.fixture
def libraries():
    kbh = public_library(101, name="Københavns Biblioteker", aliases="KB")
    branch(kbh, "710111", name="Valby Bibliotek")
    branch(kbh, "710104", name="Vesterbro Bibliotek")
    gentofte = public_library(157, name="Gentofte Bibliotekerne")
    branch(gentofte, "715703", name="Hellerup Bibliotek")
    aarhus = public_library(751, name="Aarhus Kommunes Biblioteker")
    naestved = public_library(370, name="Næstved Bibliotek")
    ffu = research_library("829000", name="Roskilde Universitetsbibliotek")
    branch(ffu, "829001", name="Valby Campusbibliotek")
    return {"kbh": kbh, "gentofte": gentofte, "aarhus": aarhus, "naestved": naestved, "ffu": ffu}


def ids(query: str, **filters) -> list[str]:
    return [a.agency_id for a in selectors.agencies_search(query=query, **filters)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Vesterbro", ["710100"]),
        ("hellerup", ["715700"]),
        ("HELLERUP BIBLIOTEK", ["715700"]),  # every word, across the branch's name
        ("gentofte hellerup", ["715700"]),  # one word by the agency, one by its branch
        ("715703", ["715700"]),  # a branch's ID
    ],
)
def test_a_library_is_found_by_its_branches_R_LOGIN_3(libraries, query, expected):
    assert ids(query) == expected


def test_a_library_found_by_its_own_name_comes_before_one_found_by_a_branch_R_LOGIN_3(
    libraries,
):
    # "Valby Campusbibliotek" is a branch of the FFU library; Valby Bibliotek of København.
    research_library("830000", name="Valby Gymnasiums Bibliotek")
    assert ids("valby") == ["830000", "710100", "829000"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Århus", ["775100"]),  # å = aa
        ("arhus", ["775100"]),  # å without its ring
        ("kobenhavn", ["710100"]),  # ø without its stroke
        ("koebenhavns", ["710100"]),  # ø = oe
        ("KØBENHAVNS", ["710100"]),
        ("naestved", ["737000"]),  # æ = ae
        ("næstved", ["737000"]),
        ("Nästved", ["737000"]),  # a Swedish or German keyboard
        ("kbh", ["710100"]),  # abbreviation of København
        ("Kbh.", ["710100"]),
    ],
)
def test_common_spellings_and_abbreviations_find_the_library_R_LOGIN_3(libraries, query, expected):
    assert ids(query) == expected


def test_an_abbreviation_is_a_word_of_its_own_R_LOGIN_3(libraries):
    """``kbh`` stands for København; "kbhx" is just a word nobody has."""
    assert ids("kbhx") == []


def test_the_municipality_finds_its_public_library_by_name_and_number_R_LOGIN_3(libraries):
    assert ids("157") == ["715700"]
    assert ids("gentofte") == ["715700"]


def test_invisible_and_deleted_libraries_are_listed_nowhere_R_VIP_1(libraries):
    services.agency_update(agency=libraries["gentofte"], status=AgencyStatus.INVISIBLE)
    services.agency_update(agency=libraries["aarhus"], status=AgencyStatus.DELETED)
    assert ids("hellerup") == []
    assert ids("aarhus") == []
    # Named by its ID, the invisible one is still there; the deleted one is not.
    assert selectors.agency_get(agency_id="715700") is not None
    assert selectors.agency_get(agency_id="775100") is None


def test_a_branch_renamed_is_found_by_its_new_name_at_once_R_VIP_11(libraries):
    hellerup = selectors.branch_get(branch_id="715703")
    services.branch_update(branch=hellerup, name="Ordrup Bibliotek")
    assert ids("hellerup") == []
    assert ids("ordrup") == ["715700"]


def test_the_search_is_cut_to_the_limit_best_first(libraries):
    assert ids("bibliotek", limit=2) == ids("bibliotek")[:2]
    assert ids("bibliotek", limit=0) == []

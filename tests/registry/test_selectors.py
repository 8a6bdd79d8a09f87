"""Registry reads: look-up, the library picker's search, order parameters, pickup branches."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblogin.registry import selectors, services
from biblogin.registry.models import AgencyStatus, AgencyType, MobileStop, OrderUserParameterType
from biblogin.registry.selectors import OrderUserField
from tests.registry.builders import branch, public_library, requester, research_library

pytestmark = pytest.mark.django_db


# --- agency_get (R-VIP-1) ----------------------------------------------------------------------


def test_agency_get_finds_active_and_invisible_but_never_deleted_R_VIP_1():
    research_library("820010")
    research_library("820020", status=AgencyStatus.INVISIBLE)
    research_library("820030", status=AgencyStatus.DELETED)
    assert selectors.agency_get(agency_id="820010").agency_id == "820010"
    assert selectors.agency_get(agency_id="820020").agency_id == "820020"
    assert selectors.agency_get(agency_id="820030") is None
    assert selectors.agency_get(agency_id="999999") is None


@given(text=st.text(max_size=40))
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_agency_get_never_raises_on_any_text_R_VIP_1(text):
    assert selectors.agency_get(agency_id=text) is None  # there are no agencies


def test_agencies_get_many_keeps_the_given_order_and_drops_deleted():
    research_library("820010")
    research_library("820020")
    research_library("820030", status=AgencyStatus.DELETED)
    found = selectors.agencies_get_many(agency_ids=["820020", "820030", "820010", "820020"])
    assert [a.agency_id for a in found] == ["820020", "820010"]


# --- agencies_search (R-VIP-1, 3, 4; the picker of R-LOGIN-3) --------------------------------


@pytest.fixture
def libraries():
    requester("bibliotek.dk")
    requester("demo-app")
    kbh = public_library(
        101,
        name="Københavns Biblioteker",
        aliases="KB, Copenhagen",
        borrower_check=True,
        borrower_check_services=["bibliotek.dk"],
    )
    aarhus = public_library(
        751,
        name="Aarhus Kommunes Biblioteker",
        aliases="Århus",
        borrower_check=True,
        borrower_check_services=["bibliotek.dk", "demo-app"],
    )
    ucn = research_library(
        "829000",
        name="UCN Biblioteket",
        aliases="University College Nordjylland",
        borrower_check=True,
        borrower_check_services=["demo-app"],
        user_id_kinds=["email"],
    )
    hh = research_library("830099", name="Handelshøjskolens Bibliotek", aliases="HH")
    gone = research_library("850099", name="Arkitektskolens Bibliotek", status="deleted")
    hidden = research_library("840099", name="Ingeniørhøjskolens Bibliotek", status="invisible")
    return {"kbh": kbh, "aarhus": aarhus, "ucn": ucn, "hh": hh, "gone": gone, "hidden": hidden}


def ids(agencies):
    return [a.agency_id for a in agencies]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("københavn", ["710100"]),  # name, lower case
        ("KØBENHAVNS", ["710100"]),  # upper-case Danish letters, also on SQLite
        ("copenhagen", ["710100"]),  # alias
        ("århus", ["775100"]),  # alias, and Aarhus spelled the old way
        ("ÅRHUS", ["775100"]),
        ("aarhus kommunes", ["775100"]),  # every word must match
        ("751", ["775100"]),  # municipality number
        ("101", ["710100"]),
        ("8290", ["829000"]),  # ID prefix
        ("829000", ["829000"]),
        ("nordjylland", ["829000"]),
        ("handelshøjskolens", ["830099"]),
        ("handelshoejskolens", ["830099"]),
        ("arkitektskolens", []),  # deleted
        ("ingeniørhøjskolens", []),  # invisible: not offered in the picker
        ("ukendt bibliotek", []),
    ],
)
def test_search_by_name_alias_municipality_or_id_case_insensitive_R_VIP_1(
    libraries, query, expected
):
    assert ids(selectors.agencies_search(query=query)) == expected


def test_search_by_municipality_name_finds_the_public_library_R_VIP_1(libraries):
    services.agency_update(agency=libraries["kbh"], name="Bibliotekerne i hovedstaden", aliases="")
    assert ids(selectors.agencies_search(query="københavn")) == ["710100"]


def test_search_puts_exact_id_and_name_prefix_first(libraries):
    research_library("829001", name="Biblioteket ved UCN")
    assert ids(selectors.agencies_search(query="829000"))[0] == "829000"
    assert ids(selectors.agencies_search(query="ucn")) == ["829000", "829001"]


def test_empty_search_lists_every_active_agency(libraries):
    assert set(ids(selectors.agencies_search(query="  "))) == {
        "710100",
        "775100",
        "829000",
        "830099",
    }


def test_search_by_type_accepts_type_and_short_form_R_VIP_1(libraries):
    folk = {"710100", "775100"}
    assert set(ids(selectors.agencies_search(query="", agency_type="FOLKEBIBLIOTEK"))) == folk
    assert set(ids(selectors.agencies_search(query="", agency_type="folk"))) == folk
    assert set(ids(selectors.agencies_search(query="", agency_type="forsk"))) == {
        "829000",
        "830099",
    }
    assert selectors.agencies_search(query="", agency_type="nonsense") == []


def test_search_with_borrower_check_only_leaves_out_libraries_without_login_R_VIP_3(libraries):
    found = ids(selectors.agencies_search(query="", borrower_check_only=True))
    assert "830099" not in found
    assert set(found) == {"710100", "775100", "829000"}


def test_search_for_a_service_requester_offers_only_licensed_libraries_R_VIP_4(libraries):
    assert set(ids(selectors.agencies_search(query="", service_requester="bibliotek.dk"))) == {
        "710100",
        "775100",
    }
    assert set(ids(selectors.agencies_search(query="", service_requester="demo-app"))) == {
        "775100",
        "829000",
    }
    assert selectors.agencies_search(query="", service_requester="unknown") == []


def test_search_for_a_service_requester_requires_borrower_check_too_R_VIP_3_R_VIP_4(libraries):
    services.agency_update(agency=libraries["aarhus"], borrower_check=False)
    assert ids(selectors.agencies_search(query="", service_requester="demo-app")) == ["829000"]


@given(query=st.text(max_size=300), agency_type=st.none() | st.text(max_size=20))
@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_search_never_raises_on_any_text(libraries, query, agency_type):
    found = selectors.agencies_search(query=query, agency_type=agency_type)
    assert all(a.status == AgencyStatus.ACTIVE for a in found)


# --- agency_is_licensed_for / agency_user_id_kinds (R-VIP-4, R-VIP-5) --------------------------


def test_agency_is_licensed_only_for_opted_in_service_requesters_R_VIP_4(libraries):
    kbh = libraries["kbh"]
    assert selectors.agency_is_licensed_for(agency=kbh, service_requester="bibliotek.dk")
    assert not selectors.agency_is_licensed_for(agency=kbh, service_requester="demo-app")
    assert not selectors.agency_is_licensed_for(agency=kbh, service_requester="")


def test_agency_user_id_kinds_tells_what_users_type_R_VIP_5(libraries):
    assert selectors.agency_user_id_kinds(agency=libraries["kbh"]) == ["cpr", "borrower_number"]
    assert selectors.agency_user_id_kinds(agency=libraries["ucn"]) == ["email"]
    assert selectors.agency_user_id_kinds(agency=libraries["hh"]) == []


# --- agency_home_for_municipality (R-LOGIN-6 needs it) --------------------------------------


def test_home_library_of_a_municipality_is_its_public_library_R_VIP_1(libraries):
    assert selectors.agency_home_for_municipality(municipality_no=751).agency_id == "775100"
    assert selectors.agency_home_for_municipality(municipality_no=101).agency_id == "710100"
    assert selectors.agency_home_for_municipality(municipality_no=157) is None
    services.agency_update(agency=libraries["kbh"], status=AgencyStatus.DELETED)
    assert selectors.agency_home_for_municipality(municipality_no=101) is None


def test_research_library_is_never_a_home_library_R_VIP_1():
    research_library("820010", municipality_no=751)
    assert selectors.agency_home_for_municipality(municipality_no=751) is None


# --- agency_order_user_parameters (R-VIP-7) --------------------------------------------------


def _params(agency, *items):
    services.order_user_parameters_set(
        agency=agency,
        parameters=[
            {"type": t, "required": r, "help_text_da": f"{t} da", "help_text_en": f"{t} en"}
            for t, r in items
        ],
    )
    return selectors.agency_order_user_parameters(agency=agency)


def test_id_field_is_the_first_required_of_cpr_barcode_cardno_customid_R_VIP_7():
    agency = research_library()
    fields = _params(
        agency,
        ("userName", True),
        ("cpr", False),
        ("cardno", True),
        ("barcode", True),
        ("userMail", False),
    )
    assert fields == [
        OrderUserField("cardno", True, "cardno da", "cardno en", True),
        OrderUserField("userName", True, "userName da", "userName en", False),
        OrderUserField("userMail", False, "userMail da", "userMail en", False),
    ]


def test_id_field_falls_back_to_user_id_and_is_always_required_R_VIP_7():
    agency = research_library()
    fields = _params(agency, ("cpr", False), ("userId", False), ("userTelephone", False))
    assert fields[0] == OrderUserField("userId", True, "userId da", "userId en", True)
    assert [f.type for f in fields] == ["userId", "userTelephone"]
    assert sum(f.is_id_field for f in fields) == 1


def test_id_field_is_user_id_even_when_not_configured_R_VIP_7():
    agency = research_library()
    assert _params(agency, ("userName", True)) == [
        OrderUserField("userId", True, "", "", True),
        OrderUserField("userName", True, "userName da", "userName en", False),
    ]
    assert selectors.agency_order_user_parameters(agency=research_library()) == [
        OrderUserField("userId", True, "", "", True)
    ]


def test_other_fields_are_shown_exactly_as_configured_in_their_order_R_VIP_7():
    agency = research_library()
    fields = _params(
        agency,
        ("userTelephone", False),
        ("cpr", True),
        ("userDateOfBirth", True),
        ("userAddress", False),
        ("customId", True),
        ("userMail", True),
    )
    assert [(f.type, f.required, f.is_id_field) for f in fields] == [
        ("cpr", True, True),
        ("userTelephone", False, False),
        ("userDateOfBirth", True, False),
        ("userAddress", False, False),
        ("userMail", True, False),
    ]


@given(
    items=st.lists(
        st.tuples(st.sampled_from(OrderUserParameterType.values), st.booleans()),
        unique_by=lambda t: t[0],
        max_size=10,
    )
)
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_order_form_always_has_exactly_one_required_id_field_first_R_VIP_7(items):
    agency = selectors.agency_get(agency_id="820999") or research_library("820999")
    fields = _params(agency, *items)
    assert fields[0].is_id_field and fields[0].required
    assert sum(f.is_id_field for f in fields) == 1
    id_types = {"cpr", "barcode", "cardno", "customId"}
    required_ids = [t for t, r in items if t in id_types and r]
    assert fields[0].type == (required_ids[0] if required_ids else "userId")
    others = [(t, r) for t, r in items if t not in id_types | {"userId"}]
    assert [(f.type, f.required) for f in fields[1:]] == others


# --- branches (R-VIP-10) ---------------------------------------------------------------------


def test_pickup_branches_in_the_agencies_order_with_closed_ones_marked_R_VIP_10():
    kbh, aarhus = public_library(101), public_library(751)
    branch(aarhus, "775100", name="Dokk1")
    branch(kbh, "710100", name="Hovedbiblioteket")
    branch(
        kbh, "710111", name="Valby", temporarily_closed=True, temporarily_closed_reason="Ombygning"
    )
    branch(kbh, "710120", name="Magasinet", pickup_allowed=False)
    found = selectors.branches_for_pickup(agency_ids=["775100", "710100"])
    assert [b.branch_id for b in found] == ["775100", "710100", "710111"]
    closed = found[-1]
    assert closed.temporarily_closed and closed.temporarily_closed_reason == "Ombygning"
    open_only = selectors.branches_for_pickup(agency_ids=["775100", "710100"], open_only=True)
    assert [b.branch_id for b in open_only] == ["775100", "710100"]


def test_pickup_branches_leave_out_deleted_agencies_R_VIP_10():
    gone = research_library("850099", status=AgencyStatus.DELETED)
    branch(gone, "850099")
    assert selectors.branches_for_pickup(agency_ids=["850099"]) == []
    assert selectors.branch_get(branch_id="850099") is None
    assert selectors.branches_for_pickup(agency_ids=[]) == []


def test_branch_get_returns_the_branch_with_its_agency_R_VIP_10():
    kbh = public_library(101, name="Københavns Biblioteker")
    branch(kbh, "710104", name="Vesterbro Bibliotek")
    found = selectors.branch_get(branch_id=" 710104 ")
    assert found.name == "Vesterbro Bibliotek"
    assert found.agency.agency_type == AgencyType.FOLKEBIBLIOTEK
    assert selectors.branch_get(branch_id="") is None


# --- reads the portal and userdata use instead of querying registry models themselves -------


def test_agencies_get_many_prefetches_the_order_user_parameters_on_request_R_VIP_7(
    django_assert_num_queries,
):
    agency = research_library("820010")
    _params(agency, ("userMail", True), ("userTelephone", False))
    with django_assert_num_queries(2):
        found = selectors.agencies_get_many(agency_ids=["820010"], with_order_user_parameters=True)
        assert [p.parameter_type for p in found[0].order_user_parameters.all()] == [
            "userMail",
            "userTelephone",
        ]


def test_branch_names_names_the_branches_asked_for_R_PORTAL_18():
    agency = research_library("820010")
    branch(agency, "820011", name="Læsesalen")
    branch(agency, "820012", name="Magasinet")
    assert selectors.branch_names(branch_ids={"820011", "999999", ""}) == {"820011": "Læsesalen"}
    assert selectors.branch_names(branch_ids=[]) == {}


def test_pickup_branches_all_is_every_visible_agencys_pickup_branch_by_name_R_VIP_10():
    kbh, aarhus = public_library(101), public_library(751)
    hidden = research_library("840099", status=AgencyStatus.INVISIBLE)
    gone = research_library("850099", status=AgencyStatus.DELETED)
    branch(aarhus, "775100", name="Dokk1")
    branch(kbh, "710111", name="Valby", temporarily_closed=True, temporarily_closed_reason="Lukket")
    branch(kbh, "710120", name="Magasinet", pickup_allowed=False)
    branch(hidden, "840099", name="Ingeniørhøjskolen")
    branch(gone, "850099", name="Arkitektskolen")
    found = selectors.pickup_branches_all()
    # The rule of branches_for_pickup: closed ones listed, no pickup_allowed and deleted not.
    assert [b.name for b in found] == ["Dokk1", "Ingeniørhøjskolen", "Valby"]
    assert found[0].agency.agency_id == "775100"


def test_pickup_branch_get_takes_only_an_exact_id_of_a_pickup_branch_R_VIP_10_R_ORDER_1():
    kbh = public_library(101)
    gone = research_library("850099", status=AgencyStatus.DELETED)
    branch(kbh, "710111", name="Valby", temporarily_closed=True, temporarily_closed_reason="Lukket")
    branch(kbh, "710120", name="Magasinet", pickup_allowed=False)
    branch(gone, "850099")
    closed = selectors.pickup_branch_get(branch_id="710111")
    assert closed is not None and closed.temporarily_closed  # R-ORDER-1 decides about closed
    assert closed.agency.agency_id == "710100"
    assert selectors.pickup_branch_get(branch_id="710120") is None  # no pickup allowed
    assert selectors.pickup_branch_get(branch_id="850099") is None  # deleted agency
    assert selectors.pickup_branch_get(branch_id=" 710111 ") is None  # not trimmed
    assert selectors.pickup_branch_get(branch_id=None) is None  # type: ignore[arg-type]


def test_pickup_branch_get_gives_a_mobile_librarys_stops_in_order_R_VIP_10():
    kbh = public_library(101)
    bus = branch(kbh, "710150", name="Bogbussen", is_mobile=True)
    services.mobile_stops_save(
        branch=bus,
        saved=[
            MobileStop(branch=bus, name="Torvet", position=2),
            MobileStop(branch=bus, name="Skolen", position=1),
        ],
        deleted=[],
    )
    found = selectors.pickup_branch_get(branch_id="710150")
    assert [s.name for s in found.mobile_stops.all()] == ["Skolen", "Torvet"]


def test_branch_names_name_branches_of_any_agency_status_for_what_already_happened():
    gone = research_library("850099", status=AgencyStatus.DELETED)
    branch(gone, "850099", name="Arkitektskolen")
    kbh = public_library(101)
    branch(kbh, "710111", name="Valby", pickup_allowed=False)
    assert selectors.branch_names(branch_ids={"850099", "710111", "999999", ""}) == {
        "850099": "Arkitektskolen",
        "710111": "Valby",
    }
    assert selectors.branch_names(branch_ids=[]) == {}


def test_agencies_with_subscriptions_by_name_with_licences_and_no_deleted_R_VIP_9_R_PORTAL_14():
    services.licensed_resource_get_or_create(name="Ebook Central")
    research_library("820010", name="Zeta", infomedia=True, licensed_resources=["Ebook Central"])
    research_library("820020", name="Alfa", status=AgencyStatus.INVISIBLE)
    research_library("820030", name="Beta", status=AgencyStatus.DELETED, infomedia=True)
    found = selectors.agencies_with_subscriptions(agency_ids=["820010", "820020", "820030"])
    assert [a.name for a in found] == ["Alfa", "Zeta"]
    assert found[1].infomedia
    assert [r.name for r in found[1].licensed_resources.all()] == ["Ebook Central"]
    assert selectors.agencies_with_subscriptions(agency_ids=[]) == []


def test_agencies_providing_user_status_are_the_visible_ones_that_deliver_it_R_VIP_8():
    research_library("820010", name="Zeta", provides_user_status=True)
    research_library("820020", name="Alfa", provides_user_status=True, status="invisible")
    research_library("820030", name="Beta", provides_user_status=False)
    research_library("820040", name="Gamma", provides_user_status=True, status="deleted")
    found = selectors.agencies_providing_user_status(
        agency_ids=["820010", "820020", "820030", "820040", "999999"]
    )
    assert [(a.agency_id, a.name) for a in found] == [("820020", "Alfa"), ("820010", "Zeta")]

"""Choosing the pickup branch (R-ORDER-1, R-VIP-10; issue 13 item 2)."""

from __future__ import annotations

import pytest

from biblogin.circulation.orders import InvalidCode, OrderInvalid, pickup_branch_for_order
from biblogin.circulation.pickup import (
    Registration,
    pickup_branch_default,
    pickup_branches_search,
)
from biblogin.registry.models import Branch

pytestmark = pytest.mark.usefixtures("demo")


def names(options) -> list[str]:
    return [o.name for o in options]


def test_search_finds_branches_by_name_address_and_postal_code() -> None:
    assert "Vesterbro Bibliotek" in names(
        pickup_branches_search(query="vesterbro", own_agency_ids=[], logged_in=True)
    )
    assert names(
        pickup_branches_search(query="Lyrskovgade", own_agency_ids=[], logged_in=True)
    ) == ["Vesterbro Bibliotek"]
    assert names(pickup_branches_search(query="2500", own_agency_ids=[], logged_in=True)) == [
        "Valby Bibliotek"
    ]


def test_search_matches_the_danish_letters_as_users_type_them() -> None:
    """The registry's folding (biblogin.common.folding): ø = oe = o, æ = ae, å = aa = a."""
    for query in ("Koebenhavn V", "kobenhavn v", "KØBENHAVN V"):
        found = pickup_branches_search(query=query, own_agency_ids=[], logged_in=True)
        assert "Vesterbro Bibliotek" in names(found), query
    for query in ("Handelshojskolens", "handelshoejskolens"):
        found = pickup_branches_search(query=query, own_agency_ids=[], logged_in=True)
        assert names(found) == ["Handelshøjskolens Bibliotek"], query


def test_own_libraries_come_first_and_an_empty_search_lists_them() -> None:
    found = pickup_branches_search(query="bibliotek", own_agency_ids=["820099"], logged_in=True)
    assert found[0].name == "Campus Syd Bibliotek" and found[0].own
    own = pickup_branches_search(query="", own_agency_ids=["820099"], logged_in=True)
    assert names(own) == ["Campus Syd Bibliotek"]


def test_only_pickup_branches_are_offered_R_VIP_10() -> None:
    Branch.objects.filter(branch_id="710104").update(pickup_allowed=False)
    assert "Vesterbro Bibliotek" not in names(
        pickup_branches_search(query="København", own_agency_ids=[], logged_in=True)
    )
    with pytest.raises(OrderInvalid) as refused:
        pickup_branch_for_order(branch_id="710104")
    assert refused.value.code == InvalidCode.PICKUP_NOT_ALLOWED


def test_a_temporarily_closed_branch_is_shown_with_its_reason_but_cannot_be_chosen_R_ORDER_1():
    valby = pickup_branches_search(query="Valby", own_agency_ids=["710100"], logged_in=True)[0]
    assert valby.temporarily_closed and valby.closed_reason == "Lukket for renovering"
    assert not valby.choosable
    with pytest.raises(OrderInvalid) as refused:
        pickup_branch_for_order(branch_id="710111")
    assert refused.value.code == InvalidCode.PICKUP_CLOSED
    # Never the default either.
    default = pickup_branch_default(
        candidates=["710111"], own_agency_ids=["710100"], logged_in=True
    )
    assert default is not None and default.branch_id != "710111"


def test_a_mobile_library_needs_one_of_its_stops_R_ORDER_1() -> None:
    with pytest.raises(OrderInvalid) as refused:
        pickup_branch_for_order(branch_id="710117")
    assert refused.value.code == InvalidCode.MOBILE_STOP_REQUIRED
    with pytest.raises(OrderInvalid):
        pickup_branch_for_order(branch_id="710117", mobile_stop="Et andet sted")
    assert pickup_branch_for_order(branch_id="710117", mobile_stop="Husum Torv").is_mobile


def test_a_library_the_user_is_not_registered_at_says_what_to_do() -> None:
    by_id = {
        o.branch_id: o
        for o in pickup_branches_search(query="", own_agency_ids=[], logged_in=True)
        + pickup_branches_search(query="Campus", own_agency_ids=["710100"], logged_in=True)
        + pickup_branches_search(query="Dokk1", own_agency_ids=["710100"], logged_in=True)
    }
    assert by_id["820099"].registration == Registration.ADD_UNDER_MY_LIBRARIES
    assert by_id["775100"].registration == Registration.REGISTER_AT_LIBRARY
    guest = {
        o.branch_id: o
        for o in pickup_branches_search(query="Aarhus", own_agency_ids=[], logged_in=False)
    }
    assert guest["830099"].registration == Registration.GUEST_ALLOWED
    assert guest["850099"].registration == Registration.LOGIN_NEEDED


def test_the_default_is_the_first_open_candidate_in_order() -> None:
    chosen = pickup_branch_default(
        candidates=["999999", "710104", "710100"], own_agency_ids=["710100"], logged_in=True
    )
    assert chosen is not None and chosen.branch_id == "710104"
    fallback = pickup_branch_default(candidates=[], own_agency_ids=["710100"], logged_in=True)
    assert fallback is not None and fallback.agency_id == "710100" and fallback.choosable

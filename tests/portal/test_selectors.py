"""The portal's decisions: login entry, the step after login, Mine biblioteker."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from biblogin.common.errors import NotFound
from biblogin.portal.identity import identity_from_claims
from biblogin.portal.selectors import (
    LoginEntry,
    NextStep,
    NotPossibleReason,
    addable_libraries,
    agencies_search,
    login_entry_decide,
    login_next_step,
    mitid_is_fresh,
    my_libraries,
    pickup_branch_selectable,
    profile_is_cpr_verified,
)
from biblogin.userdata.services import link_offer_opt_out
from tests.portal.builders import ANNA, BO, DORTE, claims, demo_registry, mitid_claims, patron_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry() -> None:
    demo_registry()


@pytest.mark.parametrize("agency_id", ["710100", "820099", "829000", "872600"])
def test_a_library_with_borrower_check_and_bibliotek_dk_gets_library_login(
    registry: None, agency_id: str
) -> None:
    """R-PORTAL-1: borrower_check and bibliotek.dk licensed → library login, agency locked."""
    decision = login_entry_decide(agency_id=agency_id)
    assert decision.entry == LoginEntry.LIBRARY_LOGIN and decision.reason is None


def test_a_library_without_borrower_check_cannot_be_used_but_may_take_orders(
    registry: None,
) -> None:
    """R-PORTAL-1: Handelshøjskolen: no login; order form without login when ordering."""
    decision = login_entry_decide(agency_id="830099")
    assert decision.entry == LoginEntry.NOT_POSSIBLE
    assert decision.reason == NotPossibleReason.NO_BORROWER_CHECK
    assert decision.can_order_without_login
    ordering = login_entry_decide(agency_id="830099", ordering=True)
    assert ordering.entry == LoginEntry.ORDER_WITHOUT_LOGIN


def test_a_library_without_login_or_orders_offers_neither(registry: None) -> None:
    """R-PORTAL-1: Arkitektskolen: neither login nor orders without login."""
    for ordering in (False, True):
        decision = login_entry_decide(agency_id="850099", ordering=ordering)
        assert decision.entry == LoginEntry.NOT_POSSIBLE
        assert not decision.can_order_without_login


def test_a_library_not_licensed_for_bibliotek_dk_is_not_available_here(registry: None) -> None:
    """R-PORTAL-1, R-VIP-4: Ingeniørhøjskolen checks borrowers for demo-app only."""
    decision = login_entry_decide(agency_id="840099", ordering=True)
    assert decision.entry == LoginEntry.NOT_POSSIBLE
    assert decision.reason == NotPossibleReason.SERVICE_NOT_LICENSED


@pytest.mark.parametrize("agency_id", ["999999", "", "71010x", "190101", " 71 "])
def test_an_unknown_library_is_not_found(registry: None, agency_id: str) -> None:
    with pytest.raises(NotFound):
        login_entry_decide(agency_id=agency_id)


def test_library_search_finds_by_name_alias_municipality_and_id_grouped(registry: None) -> None:
    """R-LOGIN-3 (the portal's own picker, R-PORTAL-1): grouped public / research / other."""
    groups = agencies_search(query="bibliotek")
    assert [g.key for g in groups] == ["public", "research"]
    assert "190101" not in {a.agency_id for g in groups for a in g.agencies}
    assert [a.agency_id for g in agencies_search(query="gentofte") for a in g.agencies] == [
        "715700"
    ]
    assert [a.agency_id for g in agencies_search(query="8200") for a in g.agencies] == ["820099"]
    assert [a.agency_id for g in agencies_search(query="København") for a in g.agencies] == [
        "710100"
    ]
    assert agencies_search(query="   ") == []
    assert agencies_search(query="x" * 5000) == []


def test_a_profile_login_goes_to_the_profile(registry: None) -> None:
    """R-PORTAL-2."""
    identity = identity_from_claims(claims=mitid_claims(ANNA, "g-1"))
    assert login_next_step(identity=identity) == NextStep.PROFILE


def test_a_session_user_at_an_unlinked_ffu_library_is_offered_linking(registry: None) -> None:
    """R-PORTAL-5: FFU, borrower check, no culr_sync, not linked, not opted out → offer."""
    identity = identity_from_claims(claims=claims())
    assert login_next_step(identity=identity) == NextStep.OFFER_LINK


def test_dont_ask_again_stops_the_offer_for_90_days(registry: None) -> None:
    """R-PORTAL-5: "Spørg ikke igen" lasts 90 days, server-side."""
    identity = identity_from_claims(claims=claims())
    now = timezone.now()
    link_offer_opt_out(agency_id="820099", user_id="CS-4711", now=now)
    assert login_next_step(identity=identity, now=now) == NextStep.SESSION
    later = now + dt.timedelta(days=91)
    assert login_next_step(identity=identity, now=later) == NextStep.OFFER_LINK


def test_a_linked_ffu_login_is_asked_to_use_mitid(registry: None) -> None:
    """R-PORTAL-7: culrDataOmitted → "knyttet til en profil, som kræver MitID"."""
    identity = identity_from_claims(claims=claims(culrDataOmitted=True))
    assert login_next_step(identity=identity) == NextStep.LINKED_REQUIRES_MITID


def test_library_logins_that_are_not_ffu_without_culr_get_no_offer(registry: None) -> None:
    """R-PORTAL-5 applies only to FFU libraries with borrower check and without culr_sync."""
    unknown_to_culr = identity_from_claims(claims=claims(loggedInAgencyId="710100", userId="x"))
    assert login_next_step(identity=unknown_to_culr) == NextStep.SESSION
    roskilde = identity_from_claims(claims=claims(loggedInAgencyId="872600", userId="y"))
    assert login_next_step(identity=roskilde) == NextStep.SESSION


def test_a_mitid_login_within_15_minutes_counts() -> None:
    """R-PORTAL-11."""
    now = timezone.now()
    at = int(now.timestamp())
    assert mitid_is_fresh(auth_time=at - 899, now=now)
    assert not mitid_is_fresh(auth_time=at - 901, now=now)
    assert not mitid_is_fresh(auth_time=None, now=now)
    assert not mitid_is_fresh(auth_time=at + 3600, now=now)


def test_mine_biblioteker_lists_libraries_with_type_home_and_pickup_branches(
    registry: None,
) -> None:
    """R-PORTAL-10: name, type, "Bopælskommune" on the home library, pickup branches + state."""
    anna = patron_with(ANNA, ("710100", None), ("715700", "2000001"), municipality_no=101)
    libraries = my_libraries(patron_guid=anna.guid)
    assert [lib.agency_id for lib in libraries] == ["710100", "715700"]
    kbh, gentofte = libraries
    assert kbh.is_home and not gentofte.is_home
    assert kbh.type_label == "Folkebibliotek" and not kbh.removable
    assert [b.branch_id for b in kbh.branches] == ["710100", "710104", "710111", "710117"]
    valby = kbh.branches[2]
    assert valby.temporarily_closed and valby.closed_reason == "Lukket for renovering"
    assert not valby.selectable
    bus = kbh.branches[3]
    assert bus.is_mobile and len(bus.stops) == 3
    assert pickup_branch_selectable(patron_guid=anna.guid, branch_id="710104")
    assert not pickup_branch_selectable(patron_guid=anna.guid, branch_id="710111")
    assert not pickup_branch_selectable(patron_guid=anna.guid, branch_id="710199")
    assert not pickup_branch_selectable(patron_guid=anna.guid, branch_id="820099")


def test_a_mitid_profile_without_libraries_lists_none(registry: None) -> None:
    """R-PORTAL-9: the profile-only agency (190101) is not one of the user's libraries."""
    dorte = patron_with(DORTE, ("190101", None))
    assert my_libraries(patron_guid=dorte.guid) == []
    assert profile_is_cpr_verified(patron_guid=dorte.guid)


def test_only_unlinked_licensed_ffu_libraries_without_culr_sync_can_be_added(
    registry: None,
) -> None:
    """R-PORTAL-11: FFU, borrower check, no culr_sync, not already linked."""
    bo = patron_with(BO, ("710100", None), ("820099", "CS-4711"), municipality_no=101)
    assert [a.agency_id for a in addable_libraries(patron_guid=bo.guid)] == ["829000"]
    dorte = patron_with(DORTE, ("190101", None))
    assert [a.agency_id for a in addable_libraries(patron_guid=dorte.guid)] == [
        "820099",
        "829000",
    ]

"""R-ORDER-2: the order policy per material and pickup agency, from the holdings."""

from __future__ import annotations

from dataclasses import dataclass

from biblogin.circulation.policy import OrderPolicy, order_policy_decide


@dataclass(frozen=True)
class Holding:
    agency_id: str
    lendable: bool = True
    own_users_only: bool = False
    own_catalogue_url: str = ""


def decide(*holdings: Holding, at: str = "710100") -> OrderPolicy:
    return order_policy_decide(holdings=list(holdings), pickup_agency_id=at).policy


def test_owned_and_lendable_at_the_pickup_agency_is_owned_accepted_R_ORDER_2() -> None:
    assert decide(Holding("710100"), Holding("715700")) == OrderPolicy.OWNED_ACCEPTED


def test_lent_only_by_another_library_is_interlibrary_loan_R_ORDER_2() -> None:
    assert decide(Holding("715700")) == OrderPolicy.NOT_OWNED_ILL_LOC
    assert decide(Holding("710100", lendable=False), Holding("715700")) == (
        OrderPolicy.NOT_OWNED_ILL_LOC
    )


def test_nobody_lends_it_is_not_orderable_R_ORDER_2() -> None:
    assert decide() == OrderPolicy.NOT_OWNED_NO_ILL_LOC
    assert decide(Holding("715700", lendable=False)) == OrderPolicy.NOT_OWNED_NO_ILL_LOC
    assert decide(Holding("715700", own_users_only=True)) == OrderPolicy.NOT_OWNED_NO_ILL_LOC
    assert not OrderPolicy.NOT_OWNED_NO_ILL_LOC.orderable


def test_owned_via_own_catalogue_links_to_the_library_and_is_not_orderable_R_ORDER_2() -> None:
    decision = order_policy_decide(
        holdings=[Holding("820099", own_catalogue_url="https://campussyd.example/bestil")],
        pickup_agency_id="820099",
    )
    assert decision.policy == OrderPolicy.OWNED_OWN_CATALOGUE
    assert decision.own_catalogue_url == "https://campussyd.example/bestil"
    assert not decision.orderable
    assert OrderPolicy.OWNED_ACCEPTED.orderable and OrderPolicy.NOT_OWNED_ILL_LOC.orderable

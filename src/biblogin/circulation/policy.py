"""R-ORDER-2: whether a material can be ordered to a pickup agency, from the holdings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class OrderPolicy(StrEnum):
    OWNED_ACCEPTED = "OWNED_ACCEPTED"
    # Another library lends it: interlibrary loan to the pickup agency.
    NOT_OWNED_ILL_LOC = "NOT_OWNED_ILL_LOC"
    # Nobody can lend it.
    NOT_OWNED_NO_ILL_LOC = "NOT_OWNED_NO_ILL_LOC"
    # The pickup library owns it but takes orders for it on its own site only.
    OWNED_OWN_CATALOGUE = "OWNED_OWN_CATALOGUE"

    @property
    def orderable(self) -> bool:
        """R-ORDER-2: only the first two can be ordered."""
        return self in (OrderPolicy.OWNED_ACCEPTED, OrderPolicy.NOT_OWNED_ILL_LOC)


class HoldingLike(Protocol):
    """What the policy reads of a holding (the catalogue's ``HoldingView``)."""

    @property
    def agency_id(self) -> str: ...

    @property
    def lendable(self) -> bool: ...

    @property
    def own_users_only(self) -> bool: ...

    @property
    def own_catalogue_url(self) -> str: ...


@dataclass(frozen=True)
class PolicyDecision:
    policy: OrderPolicy
    own_catalogue_url: str = ""

    @property
    def orderable(self) -> bool:
        return self.policy.orderable


def order_policy_decide(
    *, holdings: Sequence[HoldingLike], pickup_agency_id: str
) -> PolicyDecision:
    """Decide R-ORDER-2 for one material and one pickup agency.

    - OWNED_OWN_CATALOGUE: the pickup agency holds it and points to its own catalogue;
    - OWNED_ACCEPTED: the pickup agency holds a lendable copy;
    - NOT_OWNED_ILL_LOC: another library lends it to other libraries' users;
    - NOT_OWNED_NO_ILL_LOC: otherwise (held nowhere, or only for reference or own users).
    """
    own = [h for h in holdings if h.agency_id == pickup_agency_id]
    own_site = next((h.own_catalogue_url for h in own if h.own_catalogue_url), "")
    if own_site:
        return PolicyDecision(OrderPolicy.OWNED_OWN_CATALOGUE, own_catalogue_url=own_site)
    if any(h.lendable for h in own):
        return PolicyDecision(OrderPolicy.OWNED_ACCEPTED)
    if any(
        h.lendable and not h.own_users_only and not h.own_catalogue_url
        for h in holdings
        if h.agency_id != pickup_agency_id
    ):
        return PolicyDecision(OrderPolicy.NOT_OWNED_ILL_LOC)
    return PolicyDecision(OrderPolicy.NOT_OWNED_NO_ILL_LOC)

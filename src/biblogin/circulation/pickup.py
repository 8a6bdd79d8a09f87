"""Choose where an order is picked up (R-ORDER-1, R-VIP-10; issue 13 item 2).

Only branches with ``pickup_allowed`` of visible agencies are offered; temporarily closed ones
are listed with their reason but cannot be chosen; a mobile library needs one of its stops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from biblogin.common.folding import fold_danish
from biblogin.registry.models import Agency, AgencyType, Branch
from biblogin.registry.selectors import branches_for_pickup, pickup_branch_get, pickup_branches_all

MAX_RESULTS = 30
_MAX_QUERY = 100


class Registration(StrEnum):
    """What the user must do to order to a library they are not registered at."""

    REGISTERED = "registered"
    # FFU with borrower check, not delivering to CULR: add it under "Mine biblioteker".
    ADD_UNDER_MY_LIBRARIES = "add_under_my_libraries"
    # A public library (or any other): register at the library itself.
    REGISTER_AT_LIBRARY = "register_at_library"
    # Not logged in: the library takes orders without login (R-VIP-6).
    GUEST_ALLOWED = "guest_allowed"
    # Not logged in, and the library takes no orders without login.
    LOGIN_NEEDED = "login_needed"


@dataclass(frozen=True)
class PickupOption:
    branch_id: str
    name: str
    agency_id: str
    agency_name: str
    address: str
    is_mobile: bool
    temporarily_closed: bool
    closed_reason: str
    stops: tuple[str, ...] = ()
    own: bool = False
    registration: Registration = Registration.REGISTERED
    labels: tuple[str, ...] = field(default_factory=tuple)

    @property
    def choosable(self) -> bool:
        """R-ORDER-1: an open pickup branch (closed ones are shown with their reason only)."""
        return not self.temporarily_closed


def _registration(agency: Agency, *, own: bool, logged_in: bool) -> Registration:
    if own:
        return Registration.REGISTERED
    if not logged_in:
        return (
            Registration.GUEST_ALLOWED
            if agency.accepts_orders_without_login
            else Registration.LOGIN_NEEDED
        )
    if (
        agency.agency_type == AgencyType.FORSKNINGSBIBLIOTEK
        and agency.borrower_check
        and not agency.culr_sync
    ):
        return Registration.ADD_UNDER_MY_LIBRARIES
    return Registration.REGISTER_AT_LIBRARY


def pickup_option(
    branch: Branch, *, own_agency_ids: Sequence[str], logged_in: bool
) -> PickupOption:
    """Return how a branch is offered to this user."""
    agency = branch.agency
    own = agency.agency_id in own_agency_ids
    place = " ".join(p for p in (branch.postal_code, branch.city) if p)
    return PickupOption(
        branch_id=branch.branch_id,
        name=branch.name,
        agency_id=agency.agency_id,
        agency_name=agency.name,
        address=", ".join(p for p in (branch.address, place) if p),
        is_mobile=branch.is_mobile,
        temporarily_closed=branch.temporarily_closed,
        closed_reason=branch.temporarily_closed_reason,
        stops=tuple(stop.name for stop in branch.mobile_stops.all()),
        own=own,
        registration=_registration(agency, own=own, logged_in=logged_in),
    )


def pickup_branches_search(
    *, query: str, own_agency_ids: Sequence[str], logged_in: bool
) -> list[PickupOption]:
    """Search pickup branches by name, address, postal code, city or library; own ones first.

    An empty query lists the user's own libraries' branches. Every word must match somewhere.
    """
    text = query.strip()[:_MAX_QUERY] if isinstance(query, str) else ""
    words = [w for w in fold_danish(text).split() if w]
    rows = pickup_branches_all() if words else branches_for_pickup(agency_ids=list(own_agency_ids))
    found: list[PickupOption] = []
    for branch in rows:
        haystack = fold_danish(
            " ".join(
                (
                    branch.name,
                    branch.address,
                    branch.postal_code,
                    branch.city,
                    branch.agency.name,
                    branch.agency.aliases,
                )
            )
        )
        if all(word in haystack for word in words):
            found.append(pickup_option(branch, own_agency_ids=own_agency_ids, logged_in=logged_in))
    found.sort(key=lambda o: (not o.own, o.temporarily_closed, fold_danish(o.name), o.branch_id))
    return found[:MAX_RESULTS]


def pickup_option_get(
    *, branch_id: str, own_agency_ids: Sequence[str], logged_in: bool
) -> PickupOption | None:
    """Return one pickup branch as offered to this user; None unless it allows pickup."""
    branch = pickup_branch_get(branch_id=branch_id)
    if branch is None:
        return None
    return pickup_option(branch, own_agency_ids=own_agency_ids, logged_in=logged_in)


def pickup_branch_default(
    *,
    candidates: Sequence[str],
    own_agency_ids: Sequence[str],
    logged_in: bool,
) -> PickupOption | None:
    """Return the first choosable branch of the candidates, in order (issue 13 item 2).

    The caller passes: the session's last choice, the profile's last used, the favourite
    (R-PORTAL-10), the home library's main branch; then the first open branch of the user's
    own libraries is taken.
    """
    for branch_id in candidates:
        if not branch_id:
            continue
        option = pickup_option_get(
            branch_id=branch_id, own_agency_ids=own_agency_ids, logged_in=logged_in
        )
        if option is not None and option.choosable:
            return option
    for option in pickup_branches_search(
        query="", own_agency_ids=own_agency_ids, logged_in=logged_in
    ):
        if option.choosable:
            return option
    return None

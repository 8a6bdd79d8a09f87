"""Read what the portal decides: login entry, next step after login, Mine biblioteker."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from biblogin.borrowercheck.services import BorrowerCheckStatus, borrower_check_registry
from biblogin.common.errors import NotFound
from biblogin.patrons.models import Account
from biblogin.patrons.selectors import (
    accounts_for_patron,
    patron_get_by_guid,
    patron_home_municipality,
)
from biblogin.portal.constants import MITID_FRESH_SECONDS, PROFILE_ONLY_AGENCY_ID, SERVICE_REQUESTER
from biblogin.portal.identity import Identity
from biblogin.registry import selectors as registry
from biblogin.registry.models import Agency, AgencyType, Branch
from biblogin.userdata.selectors import link_offer_opted_out

_SEARCH_MAX_LENGTH = 100
_SEARCH_LIMIT = 50


class LoginEntry(enum.StrEnum):
    """R-PORTAL-1: what choosing a library at "Log ind" leads to."""

    LIBRARY_LOGIN = "library_login"
    ORDER_WITHOUT_LOGIN = "order_without_login"
    NOT_POSSIBLE = "not_possible"


class NotPossibleReason(enum.StrEnum):
    NO_BORROWER_CHECK = "no_borrower_check"
    SERVICE_NOT_LICENSED = "service_not_licensed"


@dataclass(frozen=True)
class LoginEntryDecision:
    agency: Agency
    entry: LoginEntry
    reason: NotPossibleReason | None = None
    can_order_without_login: bool = False


def _choosable(agency: Agency | None) -> Agency:
    # The registry's rule of which agencies exist for users (R-VIP-1), as the login platform's;
    # the profile-only agency is Bibliotek.dk itself, no library to choose (R-LOGIN-7).
    if agency is None or agency.agency_id == PROFILE_ONLY_AGENCY_ID:
        raise NotFound(_("Biblioteket findes ikke."), code="agency_not_found")
    return agency


def agency_get_for_login(*, agency_id: str) -> Agency:
    """Return an agency a user may choose by its ID (active or invisible), else ``NotFound``."""
    return _choosable(registry.agency_get(agency_id=agency_id))


def login_entry_decide(*, agency_id: str, ordering: bool = False) -> LoginEntryDecision:
    """Decide what choosing this library at "Log ind" leads to (R-PORTAL-1).

    Library login where the login platform's borrower check would let Bibliotek.dk in: the
    borrower check's own registry rules (R-VIP-3, R-VIP-4), so both sides always agree.
    """
    verdict = borrower_check_registry(service_requester=SERVICE_REQUESTER, agency_id=agency_id)
    agency = _choosable(verdict.agency)
    can_order = agency.accepts_orders_without_login
    if verdict.status is None:
        return LoginEntryDecision(
            agency=agency, entry=LoginEntry.LIBRARY_LOGIN, can_order_without_login=can_order
        )
    if ordering and can_order:
        return LoginEntryDecision(
            agency=agency, entry=LoginEntry.ORDER_WITHOUT_LOGIN, can_order_without_login=True
        )
    reason = (
        NotPossibleReason.NO_BORROWER_CHECK
        if verdict.status == BorrowerCheckStatus.BORROWERCHECK_NOT_ALLOWED
        else NotPossibleReason.SERVICE_NOT_LICENSED
    )
    return LoginEntryDecision(
        agency=agency,
        entry=LoginEntry.NOT_POSSIBLE,
        reason=reason,
        can_order_without_login=can_order,
    )


@dataclass(frozen=True)
class AgencyGroup:
    key: str
    label: str
    agencies: list[Agency]


def agencies_search(*, query: str) -> list[AgencyGroup]:
    """Find libraries as the login platform's picker does, grouped public / research / other.

    The registry's one library search (name, alias, municipality, branch, ID; Danish spellings),
    over every listed library: choosing one without login leads on per R-PORTAL-1.
    """
    text = (query or "").strip()[:_SEARCH_MAX_LENGTH]
    if not text:
        return []
    found = [
        agency
        for agency in registry.agencies_search(query=text, limit=_SEARCH_LIMIT + 1)
        if agency.agency_id != PROFILE_ONLY_AGENCY_ID
    ][:_SEARCH_LIMIT]
    groups = [
        AgencyGroup("public", _("Folkebiblioteker"), []),
        AgencyGroup("research", _("Forsknings- og uddannelsesbiblioteker"), []),
        AgencyGroup("other", _("Andre biblioteker"), []),
    ]
    for agency in found:
        if agency.agency_type == AgencyType.FOLKEBIBLIOTEK:
            groups[0].agencies.append(agency)
        elif agency.agency_type == AgencyType.FORSKNINGSBIBLIOTEK:
            groups[1].agencies.append(agency)
        else:
            groups[2].agencies.append(agency)
    return [g for g in groups if g.agencies]


def agency_get_choosable(*, agency_id: str) -> Agency | None:
    """Return the agency with this ID if a user may choose it, else None (the last library used)."""
    try:
        return agency_get_for_login(agency_id=agency_id)
    except NotFound:
        return None


def agency_is_linkable_ffu(*, agency: Agency) -> bool:
    """An FFU library with borrower check that does not deliver to CULR (R-PORTAL-5, -11)."""
    return (
        agency.agency_type == AgencyType.FORSKNINGSBIBLIOTEK
        and agency.borrower_check
        and not agency.culr_sync
    )


class NextStep(enum.StrEnum):
    """Where a completed login goes (R-PORTAL-2, -3, -5, -7)."""

    PROFILE = "profile"
    SESSION = "session"
    OFFER_LINK = "offer_link"
    LINKED_REQUIRES_MITID = "linked_requires_mitid"


def login_next_step(*, identity: Identity, now: dt.datetime | None = None) -> NextStep:
    """Decide what follows a login: profile, session user, link offer or "use MitID"."""
    if identity.is_profile:
        return NextStep.PROFILE
    agency = registry.agency_get(agency_id=identity.agency_id)
    if identity.idp != "borchk" or agency is None or not agency_is_linkable_ffu(agency=agency):
        return NextStep.SESSION
    if identity.culr_data_omitted:
        # R-PORTAL-7: the account is linked to a profile, which requires MitID.
        return NextStep.LINKED_REQUIRES_MITID
    if not identity.user_id or link_offer_opted_out(
        agency_id=agency.agency_id, user_id=identity.user_id, now=now
    ):
        return NextStep.SESSION
    # R-PORTAL-5: a session user at an unlinked FFU library is offered linking.
    return NextStep.OFFER_LINK


def mitid_is_fresh(*, auth_time: int | None, now: dt.datetime | None = None) -> bool:
    """Return whether a MitID login at ``auth_time`` counts as verification now (R-PORTAL-11)."""
    if auth_time is None:
        return False
    age = (now or timezone.now()).timestamp() - auth_time
    return -60 <= age <= MITID_FRESH_SECONDS


@dataclass(frozen=True)
class PickupBranch:
    branch_id: str
    name: str
    address: str
    temporarily_closed: bool
    closed_reason: str
    is_mobile: bool
    stops: list[str] = field(default_factory=list)

    @property
    def selectable(self) -> bool:
        return not self.temporarily_closed


@dataclass(frozen=True)
class MyLibrary:
    agency_id: str
    name: str
    type_label: str
    is_home: bool
    removable: bool
    known: bool
    branches: list[PickupBranch]


def _branch_view(branch: Branch) -> PickupBranch:
    parts = [branch.address, " ".join(p for p in (branch.postal_code, branch.city) if p)]
    return PickupBranch(
        branch_id=branch.branch_id,
        name=branch.name,
        address=", ".join(p for p in parts if p),
        temporarily_closed=branch.temporarily_closed,
        closed_reason=branch.temporarily_closed_reason,
        is_mobile=branch.is_mobile,
        stops=[
            f"{stop.name} ({stop.schedule})" if stop.schedule else stop.name
            for stop in branch.mobile_stops.all()
        ],
    )


def profile_accounts(*, patron_guid: uuid.UUID | str) -> list[Account]:
    """Return the CULR accounts of the profile's patron, without the profile-only agency."""
    patron = patron_get_by_guid(guid=patron_guid)
    if patron is None:
        return []
    return [a for a in accounts_for_patron(patron=patron) if a.agency_id != PROFILE_ONLY_AGENCY_ID]


def my_libraries(*, patron_guid: uuid.UUID | str) -> list[MyLibrary]:
    """List the profile's libraries with their pickup branches (R-PORTAL-10)."""
    patron = patron_get_by_guid(guid=patron_guid)
    if patron is None:
        return []
    municipality_no = patron_home_municipality(patron=patron)
    home_library = (
        registry.agency_home_for_municipality(municipality_no=municipality_no)
        if municipality_no is not None
        else None
    )
    home = home_library.agency_id if home_library is not None else None
    agency_ids = sorted(
        {a.agency_id for a in accounts_for_patron(patron=patron)} - {PROFILE_ONLY_AGENCY_ID}
    )
    agencies = {
        a.agency_id: a
        for a in registry.agencies_get_many(agency_ids=agency_ids, with_branches=True)
    }
    libraries: list[MyLibrary] = []
    for agency_id in agency_ids:
        agency = agencies.get(agency_id)
        if agency is None:
            # A library that left the registry (or was deleted from it, R-VIP-1): still the
            # user's registration, shown by number.
            libraries.append(
                MyLibrary(
                    agency_id=agency_id,
                    name=_("Bibliotek %(agency_id)s") % {"agency_id": agency_id},
                    type_label="",
                    is_home=False,
                    removable=True,
                    known=False,
                    branches=[],
                )
            )
            continue
        libraries.append(
            MyLibrary(
                agency_id=agency_id,
                name=agency.name,
                type_label=str(agency.get_agency_type_display()),
                is_home=agency_id == home,
                # R-PORTAL-12: only libraries that do not deliver to CULR can be removed.
                removable=not agency.culr_sync,
                known=True,
                branches=[_branch_view(b) for b in agency.branches.all() if b.pickup_allowed],
            )
        )
    # The home library first, then public libraries, then the rest, each by name.
    type_order: dict[str, int] = {AgencyType.FOLKEBIBLIOTEK: 0, AgencyType.FORSKNINGSBIBLIOTEK: 1}
    libraries.sort(
        key=lambda lib: (
            not lib.is_home,
            type_order.get(agencies[lib.agency_id].agency_type, 2)
            if lib.agency_id in agencies
            else 3,
            lib.name.casefold(),
        )
    )
    return libraries


def pickup_branch_selectable(*, patron_guid: uuid.UUID | str, branch_id: str) -> bool:
    """Return whether the branch may be the favourite: an open pickup branch of the profile."""
    return any(
        branch.branch_id == branch_id and branch.selectable
        for library in my_libraries(patron_guid=patron_guid)
        for branch in library.branches
    )


def profile_is_cpr_verified(*, patron_guid: uuid.UUID | str) -> bool:
    """Return whether the profile's patron has a CPR in CULR (R-PORTAL-11)."""
    patron = patron_get_by_guid(guid=patron_guid)
    return patron is not None and patron.cpr_hash is not None


def addable_libraries(*, patron_guid: uuid.UUID | str) -> list[Agency]:
    """Return the FFU libraries a profile can add (R-PORTAL-11), by name."""
    linked = {a.agency_id for a in profile_accounts(patron_guid=patron_guid)}
    # The libraries the login platform lists for Bibliotek.dk (R-LOGIN-3), of the FFU kind.
    offered = registry.agencies_search(
        query="", agency_type=AgencyType.FORSKNINGSBIBLIOTEK, service_requester=SERVICE_REQUESTER
    )
    return [
        a
        for a in offered
        if agency_is_linkable_ffu(agency=a)
        and a.agency_id not in linked
        and a.agency_id != PROFILE_ONLY_AGENCY_ID
    ]

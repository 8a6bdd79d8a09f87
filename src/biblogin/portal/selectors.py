"""Read what the portal decides: login entry, next step after login, Mine biblioteker."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from biblogin.common.errors import NotFound
from biblogin.patrons.models import Account
from biblogin.patrons.selectors import (
    accounts_for_patron,
    patron_get_by_guid,
    patron_home_agency_id,
)
from biblogin.portal.constants import MITID_FRESH_SECONDS, PROFILE_ONLY_AGENCY_ID, SERVICE_REQUESTER
from biblogin.portal.identity import Identity
from biblogin.registry.models import Agency, AgencyStatus, AgencyType, Branch
from biblogin.registry.municipalities import MUNICIPALITIES
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


def _active_agencies() -> Q:
    return Q(status=AgencyStatus.ACTIVE) & ~Q(agency_id=PROFILE_ONLY_AGENCY_ID)


def agency_get_for_login(*, agency_id: str) -> Agency:
    """Return an active agency a user may choose, else raise ``NotFound``."""
    value = agency_id.strip() if isinstance(agency_id, str) else ""
    agency = Agency.objects.filter(_active_agencies(), agency_id=value).first()
    if agency is None:
        raise NotFound(_("Biblioteket findes ikke."), code="agency_not_found")
    return agency


def agency_licenses_portal(*, agency: Agency) -> bool:
    """Return whether the agency opted in Bibliotek.dk under the shared borrower check (R-VIP-4)."""
    return agency.borrower_check_services.filter(name=SERVICE_REQUESTER).exists()


def login_entry_decide(*, agency_id: str, ordering: bool = False) -> LoginEntryDecision:
    """Decide what choosing this library at "Log ind" leads to (R-PORTAL-1)."""
    agency = agency_get_for_login(agency_id=agency_id)
    can_order = agency.accepts_orders_without_login
    if agency.borrower_check and agency_licenses_portal(agency=agency):
        return LoginEntryDecision(
            agency=agency, entry=LoginEntry.LIBRARY_LOGIN, can_order_without_login=can_order
        )
    if ordering and can_order:
        return LoginEntryDecision(
            agency=agency, entry=LoginEntry.ORDER_WITHOUT_LOGIN, can_order_without_login=True
        )
    reason = (
        NotPossibleReason.NO_BORROWER_CHECK
        if not agency.borrower_check
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
    """Find libraries by name, alias, municipality or ID, grouped public / research / other."""
    text = (query or "").strip()[:_SEARCH_MAX_LENGTH]
    if not text:
        return []
    condition = Q(name__icontains=text) | Q(aliases__icontains=text)
    if text.isdigit():
        condition |= Q(agency_id__startswith=text)
        if len(text) == 3:
            condition |= Q(municipality_no=int(text))
    municipalities = [
        number for number, name in MUNICIPALITIES.items() if text.casefold() in name.casefold()
    ]
    if municipalities:
        condition |= Q(municipality_no__in=municipalities)
    found = list(
        Agency.objects.filter(_active_agencies()).filter(condition).order_by("name")[:_SEARCH_LIMIT]
    )
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


def agency_get_active(*, agency_id: str) -> Agency | None:
    """Return the active agency with this ID, if any (e.g. the last library used)."""
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
    agency = Agency.objects.filter(agency_id=identity.agency_id).first()
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
    home = patron_home_agency_id(patron=patron)
    agency_ids = sorted(
        {a.agency_id for a in accounts_for_patron(patron=patron)} - {PROFILE_ONLY_AGENCY_ID}
    )
    agencies = {
        a.agency_id: a
        for a in Agency.objects.filter(agency_id__in=agency_ids).prefetch_related(
            "branches__mobile_stops"
        )
    }
    libraries: list[MyLibrary] = []
    for agency_id in agency_ids:
        agency = agencies.get(agency_id)
        if agency is None:
            # A library that left the registry: still the user's registration, shown by number.
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
    return list(
        Agency.objects.filter(
            _active_agencies(),
            agency_type=AgencyType.FORSKNINGSBIBLIOTEK,
            borrower_check=True,
            culr_sync=False,
            borrower_check_services__name=SERVICE_REQUESTER,
        )
        .exclude(agency_id__in=linked)
        .order_by("name")
        .distinct()
    )

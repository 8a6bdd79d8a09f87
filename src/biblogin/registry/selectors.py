"""Reads of the library registry (VIP).

R-VIP-11: every selector reads the database on each call; nothing here is cached, so a change
saved by staff is what the very next request sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Case, IntegerField, Prefetch, Q, When

from biblogin.common.agency_ids import agency_id_clean, branch_id_clean, is_branch_id
from biblogin.common.plain_rows import Rows
from biblogin.registry.models import (
    Agency,
    AgencyStatus,
    AgencyType,
    Branch,
    MobileStop,
    OrderUserParameter,
    OrderUserParameterType,
    UserIdKind,
)
from biblogin.registry.search import agency_pks_ranked

# R-VIP-1: an invisible agency is accepted when named by its ID (login, borrower check, claims)
# but listed nowhere (the library search); a deleted one is neither, for anybody.
_VISIBLE_STATUSES = (AgencyStatus.ACTIVE, AgencyStatus.INVISIBLE)
_LISTED_STATUSES = (AgencyStatus.ACTIVE,)

# Short forms used in URLs of the login platform (R-LOGIN-3 ``agencytype=folk|forsk``).
_AGENCY_TYPE_ALIASES = {
    "folk": AgencyType.FOLKEBIBLIOTEK,
    "forsk": AgencyType.FORSKNINGSBIBLIOTEK,
    "skole": AgencyType.SKOLEBIBLIOTEK,
    "andre": AgencyType.ANDRE,
}

# R-VIP-7: the parameter types that say what goes into the user ID, in the order they win.
_ID_PARAMETER_TYPES = (
    OrderUserParameterType.CPR,
    OrderUserParameterType.BARCODE,
    OrderUserParameterType.CARDNO,
    OrderUserParameterType.CUSTOM_ID,
)
_ALL_ID_TYPES = {*_ID_PARAMETER_TYPES, OrderUserParameterType.USER_ID}

# R-VIP-10 / R-ORDER-1: where a patron may fetch an order, the one rule for every caller.
# Temporarily closed branches are included (shown with their reason); ordering needs an open one.
_PICKUP_BRANCHES = Q(pickup_allowed=True, agency__status__in=_VISIBLE_STATUSES)

# Plain reads of an agency, converted as the ORM converts them (biblogin.common.plain_rows).
_AGENCY_ROWS = Rows(Agency, "g")

_STOPS_IN_ORDER = Prefetch("mobile_stops", queryset=MobileStop.objects.order_by("position", "id"))


def agency_get(*, agency_id: str) -> Agency | None:
    """Return the active or invisible agency with this ID; deleted and unknown give None."""
    cleaned = agency_id_clean(agency_id)
    if cleaned is None:
        return None
    # Plain SQL: the authorize request asks this for every login (issue 14, item 4).
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_AGENCY_ROWS.columns()} FROM {_AGENCY_ROWS.table()} "  # noqa: S608
            "WHERE g.agency_id = %s AND g.status IN (%s, %s)",
            [cleaned, *(str(s) for s in _VISIBLE_STATUSES)],
        )
        row = cursor.fetchone()
    return _AGENCY_ROWS.build(row) if row is not None else None


def agency_get_any_status(*, agency_id: str) -> Agency | None:
    """Return the agency with this ID whatever its status (staff tools that must tell "deleted")."""
    cleaned = agency_id_clean(agency_id)
    return None if cleaned is None else Agency.objects.filter(agency_id=cleaned).first()


def agency_exists(*, agency_id: str) -> bool:
    """Whether the registry has an agency with this ID, of any status (validating references)."""
    cleaned = agency_id_clean(agency_id)
    return cleaned is not None and Agency.objects.filter(agency_id=cleaned).exists()


def agencies_get_many(
    *,
    agency_ids: list[str],
    with_branches: bool = False,
    with_order_user_parameters: bool = False,
) -> list[Agency]:
    """Return the active or invisible agencies among these IDs, in the order given.

    ``with_branches``: their branches (``agency.branches.all()``, by ID) and stops in two queries.
    ``with_order_user_parameters``: their R-VIP-7 parameters (``agency.order_user_parameters``)
    in one more query.
    """
    wanted = [a for a in dict.fromkeys(agency_ids) if isinstance(a, str)]
    agencies = Agency.objects.filter(agency_id__in=wanted, status__in=_VISIBLE_STATUSES)
    if with_branches:
        agencies = agencies.prefetch_related(
            Prefetch("branches", queryset=Branch.objects.prefetch_related(_STOPS_IN_ORDER))
        )
    if with_order_user_parameters:
        agencies = agencies.prefetch_related("order_user_parameters")
    found = {a.agency_id: a for a in agencies}
    return [found[a] for a in wanted if a in found]


def agencies_search(
    *,
    query: str,
    agency_type: str | None = None,
    service_requester: str | None = None,
    borrower_check_only: bool = False,
    limit: int | None = None,
) -> list[Agency]:
    """Return the listed agencies matching every word of the query, best first (``search``).

    The one library search of the login platform's picker (R-LOGIN-3) and the portal's "Log ind"
    (R-PORTAL-1). Only active agencies are listed: an invisible one is found by neither, yet
    both accept it when named by its ID (``agency_get``, R-VIP-1). R-VIP-3 / R-VIP-4: with
    ``service_requester`` only agencies that allow borrower check and have opted that requester
    in; with ``borrower_check_only`` only those allowing it.
    """
    agencies = Agency.objects.filter(status__in=_LISTED_STATUSES)
    if agency_type:
        wanted_type = _AGENCY_TYPE_ALIASES.get(agency_type.strip().lower(), agency_type.strip())
        if wanted_type not in AgencyType.values:
            return []
        agencies = agencies.filter(agency_type=wanted_type)
    if borrower_check_only or service_requester is not None:
        agencies = agencies.filter(borrower_check=True)
    if service_requester is not None:
        agencies = agencies.filter(borrower_check_services__name=service_requester)

    pks = agency_pks_ranked(agencies=agencies, query=query)
    if limit is not None:
        pks = pks[: max(limit, 0)]
    by_pk = Agency.objects.in_bulk(pks)
    return [by_pk[pk] for pk in pks if pk in by_pk]


def agency_pks_matching(*, query: str) -> list[int]:
    """Return the pks of agencies of any status matching the query (the staff UI's search)."""
    return agency_pks_ranked(agencies=Agency.objects.all(), query=query)


def agency_ids_delivering_to_culr(*, agency_ids: Iterable[str]) -> set[str]:
    """Return which of these agencies (any status) deliver their borrowers to CULR (R-VIP-2)."""
    wanted = {a for a in agency_ids if isinstance(a, str)}
    return set(
        Agency.objects.filter(agency_id__in=wanted, culr_sync=True).values_list(
            "agency_id", flat=True
        )
    )


def agency_ids_syncing_to_culr() -> list[str]:
    """Return the IDs of the agencies that deliver their borrowers to CULR (R-VIP-2), in order."""
    return list(
        Agency.objects.filter(culr_sync=True)
        .exclude(status=AgencyStatus.DELETED)
        .order_by("agency_id")
        .values_list("agency_id", flat=True)
    )


@dataclass(frozen=True)
class OrderUserField:
    """One field of the order form without login (R-VIP-7)."""

    type: str
    required: bool
    help_text_da: str
    help_text_en: str
    is_id_field: bool


def agency_order_user_parameters(*, agency: Agency) -> list[OrderUserField]:
    """Return the fields of the order form without login, the one ID field first (R-VIP-7).

    The ID field is the first required one of cpr/barcode/cardno/customId, else ``userId``;
    it is always required. The other ID types are not shown; every other parameter is shown as
    configured, in its configured order.
    """
    parameters = list(
        OrderUserParameter.objects.filter(agency_id=agency.pk).order_by("position", "id")
    )
    id_parameter = next(
        (p for p in parameters if p.parameter_type in _ID_PARAMETER_TYPES and p.required), None
    )
    if id_parameter is None:
        id_parameter = next(
            (p for p in parameters if p.parameter_type == OrderUserParameterType.USER_ID), None
        )
    id_field = OrderUserField(
        type=id_parameter.parameter_type if id_parameter else OrderUserParameterType.USER_ID.value,
        required=True,
        help_text_da=id_parameter.help_text_da if id_parameter else "",
        help_text_en=id_parameter.help_text_en if id_parameter else "",
        is_id_field=True,
    )
    others = [
        OrderUserField(
            type=p.parameter_type,
            required=p.required,
            help_text_da=p.help_text_da,
            help_text_en=p.help_text_en,
            is_id_field=False,
        )
        for p in parameters
        if p.parameter_type not in _ALL_ID_TYPES
    ]
    return [id_field, *others]


def branch_get(*, branch_id: str) -> Branch | None:
    """Return the branch with this ID if its agency is not deleted, with its stops."""
    cleaned = branch_id_clean(branch_id)
    if cleaned is None:
        return None
    return (
        Branch.objects.select_related("agency")
        .prefetch_related(_STOPS_IN_ORDER)
        .filter(branch_id=cleaned, agency__status__in=_VISIBLE_STATUSES)
        .first()
    )


def branch_agency_id(*, branch_id: str) -> str | None:
    """Return the agency ID of this branch if its agency is not deleted (as ``branch_get``)."""
    cleaned = branch_id_clean(branch_id)
    if cleaned is None:
        return None
    return (
        Branch.objects.filter(branch_id=cleaned, agency__status__in=_VISIBLE_STATUSES)
        .values_list("agency__agency_id", flat=True)
        .first()
    )


def branches_for_pickup(*, agency_ids: list[str], open_only: bool = False) -> list[Branch]:
    """Return the pickup branches (R-VIP-10) of these agencies, in the agencies' order.

    Temporarily closed branches are included (with their reason, for display) unless
    ``open_only``; R-ORDER-1 only accepts an order to an open one.
    """
    wanted = list(dict.fromkeys(a for a in agency_ids if isinstance(a, str)))
    if not wanted:
        return []
    branches = Branch.objects.filter(_PICKUP_BRANCHES, agency__agency_id__in=wanted)
    if open_only:
        branches = branches.filter(temporarily_closed=False)
    agency_order = Case(
        *(When(agency__agency_id=a, then=i) for i, a in enumerate(wanted)),
        output_field=IntegerField(),
    )
    return list(
        branches.select_related("agency")
        .prefetch_related(_STOPS_IN_ORDER)
        .order_by(agency_order, "name", "branch_id")
    )


def pickup_branches_all() -> list[Branch]:
    """Return every pickup branch (R-VIP-10) of the active and invisible agencies, by name.

    The same rule as ``branches_for_pickup``, for the search among all of them; temporarily
    closed ones included. With the agency and the stops in order, in three queries.
    """
    return list(
        Branch.objects.filter(_PICKUP_BRANCHES)
        .select_related("agency")
        .prefetch_related(_STOPS_IN_ORDER)
        .order_by("name", "branch_id")
    )


def pickup_branch_get(*, branch_id: str) -> Branch | None:
    """Return the pickup branch (R-VIP-10) with exactly this ID, else None.

    The rule of ``branches_for_pickup`` for one branch, closed or not (R-ORDER-1 then asks for
    an open one). The ID is a form value sent back as chosen: it must be exactly six digits,
    not trimmed. With the agency and the stops in order.
    """
    if not is_branch_id(branch_id):
        return None
    return (
        Branch.objects.filter(_PICKUP_BRANCHES, branch_id=branch_id)
        .select_related("agency")
        .prefetch_related(_STOPS_IN_ORDER)
        .first()
    )


def branch_names(*, branch_ids: Iterable[str]) -> dict[str, str]:
    """Return the names of these branches by ID, whatever their agency's status.

    For naming a branch in what already happened (a reservation's or an order's pickup place):
    a library deleted since still has its name shown; unknown IDs are left out.
    """
    wanted = {b for b in branch_ids if isinstance(b, str) and b}
    if not wanted:
        return {}
    return dict(Branch.objects.filter(branch_id__in=wanted).values_list("branch_id", "name"))


def agencies_with_subscriptions(*, agency_ids: Iterable[str]) -> list[Agency]:
    """Return the active or invisible agencies among these IDs, by name, with their licences.

    What the user's rights are computed from (R-VIP-9, R-PORTAL-14): each agency's
    ``infomedia`` and ``digital_article_service`` flags and ``licensed_resources`` (prefetched).
    A deleted library grants nothing.
    """
    wanted = {a for a in agency_ids if isinstance(a, str)}
    if not wanted:
        return []
    return list(
        Agency.objects.filter(agency_id__in=wanted, status__in=_VISIBLE_STATUSES)
        .prefetch_related("licensed_resources")
        .order_by("name", "agency_id")
    )


def agencies_providing_user_status(*, agency_ids: Iterable[str]) -> list[Agency]:
    """Return the agencies among these IDs that deliver loan status (R-VIP-8), by name.

    Only active or invisible ones with ``provides_user_status``; only ID and name are read.
    """
    wanted = {a for a in agency_ids if isinstance(a, str)}
    if not wanted:
        return []
    return list(
        Agency.objects.filter(
            agency_id__in=wanted, provides_user_status=True, status__in=_VISIBLE_STATUSES
        )
        .only("agency_id", "name")
        .order_by("name", "agency_id")
    )


def agency_is_licensed_for(*, agency: Agency, service_requester: str) -> bool:
    """Tell whether the agency has opted this service requester in for borrower check (R-VIP-4)."""
    # Always a fresh query, also when the caller prefetched the relation (R-VIP-11).
    return Agency.borrower_check_services.through.objects.filter(
        agency_id=agency.pk, servicerequester__name=service_requester
    ).exists()


def agency_get_with_licence(
    *, agency_id: str, service_requester: str
) -> tuple[Agency | None, bool]:
    """``agency_get`` and ``agency_is_licensed_for`` in one query (the borrower check's rules).

    Read afresh on every call (R-VIP-11), as one plain statement: the ORM's building of the
    ``Exists`` subquery cost 1-2 ms per call on the login page and again on the PIN POST, the
    statement itself a twentieth of that (issue 14, item 4).
    """
    cleaned = agency_id_clean(agency_id)
    if cleaned is None:
        return None, False
    licences = Agency.borrower_check_services.through
    requester: Any = licences._meta.get_field("servicerequester").related_model
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_AGENCY_ROWS.columns()}, EXISTS (SELECT 1 "  # noqa: S608
            f"FROM {quote(licences._meta.db_table)} l "
            f"JOIN {quote(requester._meta.db_table)} r ON r.id = l.servicerequester_id "
            f"WHERE l.agency_id = g.id AND r.name = %s) "
            f"FROM {_AGENCY_ROWS.table()} WHERE g.agency_id = %s AND g.status IN (%s, %s)",
            [service_requester, cleaned, *(str(s) for s in _VISIBLE_STATUSES)],
        )
        row = cursor.fetchone()
    if row is None:
        return None, False
    return _AGENCY_ROWS.build(row[:-1]), bool(row[-1])


def agency_user_id_kinds(*, agency: Agency) -> list[str]:
    """Return what users type as user ID at this agency (R-VIP-5), in the configured order."""
    kinds = agency.user_id_kinds if isinstance(agency.user_id_kinds, list) else []
    return [k for k in kinds if k in UserIdKind.values]


def agency_home_for_municipality(*, municipality_no: int | None) -> Agency | None:
    """Return the home library of a municipality's residents (R-LOGIN-6, R-PORTAL-10).

    The one rule of "home library": the municipality's public library in the registry, the
    conventional ``7<municipality:03d>00`` first (``agency_home_pick``); not a computed ID.
    """
    if municipality_no is None or not _is_municipality_no(municipality_no):
        return None
    candidates = {
        a.agency_id: a
        for a in Agency.objects.filter(
            agency_type=AgencyType.FOLKEBIBLIOTEK,
            municipality_no=municipality_no,
            status__in=_VISIBLE_STATUSES,
        )
    }
    home = agency_home_pick(municipality_no=municipality_no, agency_ids=candidates)
    return candidates[home] if home is not None else None


@dataclass(frozen=True)
class AgencyFacts:
    """The few facts of a visible agency that the claims of a login need (R-LOGIN-8, R-LOGIN-9)."""

    agency_id: str
    culr_sync: bool
    # A branch with the agency's own ID: its main library.
    has_main_branch: bool


@dataclass(frozen=True)
class AgencyLookup:
    """Agencies and home libraries read together in one query, answering as the selectors would.

    Only what was asked for can be answered: asking for more is a programming error, not "none".
    """

    agencies: dict[str, AgencyFacts]
    homes: dict[int, str | None]
    asked_ids: frozenset[str]

    def agency(self, agency_id: str) -> AgencyFacts | None:
        """Return what ``agency_get`` would: the visible agency with this ID, else None."""
        cleaned = agency_id_clean(agency_id)
        if cleaned is None:
            return None
        if cleaned not in self.asked_ids:
            raise ValueError(f"agency {cleaned} was not read")
        return self.agencies.get(cleaned)

    def home_agency_id(self, municipality_no: int) -> str | None:
        """Return the ID of ``agency_home_for_municipality``'s answer, else None."""
        if not _is_municipality_no(municipality_no):
            return None
        if municipality_no not in self.homes:
            raise ValueError(f"municipality {municipality_no} was not read")
        return self.homes[municipality_no]

    def main_branch_id(self, agency_id: str) -> str | None:
        """Return the branch with the agency's own ID if it belongs to that very agency, else None.

        What ``branch_get(branch_id=agency_id)`` gives when its agency has exactly that ID.
        """
        if agency_id_clean(agency_id) != agency_id:
            # Untrimmed or not six digits: branch_get would find a branch whose agency has the
            # trimmed ID, never one whose agency has this very (malformed) ID.
            return None
        facts = self.agency(agency_id)
        return agency_id if facts is not None and facts.has_main_branch else None


def _is_municipality_no(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def agency_lookup(
    *, agency_ids: Iterable[str], municipality_nos: Iterable[int | None] = ()
) -> AgencyLookup:
    """Read agencies, their main branches and municipalities' public libraries in one query.

    Answers as ``agency_get``, ``branch_get`` (the branch with the agency's own ID) and
    ``agency_home_for_municipality`` would. A fresh read on each call (R-VIP-11).
    """
    ids = frozenset(c for c in map(agency_id_clean, agency_ids) if c is not None)
    municipalities = {m for m in municipality_nos if m is not None and _is_municipality_no(m)}
    if not ids and not municipalities:
        return AgencyLookup(agencies={}, homes={}, asked_ids=ids)
    # One row per (agency, branch); a LEFT JOIN is cheaper to build than an EXISTS per agency,
    # and an agency has a few dozen branches at most.
    rows = (
        Agency.objects.filter(status__in=_VISIBLE_STATUSES)
        .filter(
            Q(agency_id__in=ids)
            | Q(agency_type=AgencyType.FOLKEBIBLIOTEK, municipality_no__in=municipalities)
        )
        .values_list(
            "agency_id", "agency_type", "municipality_no", "culr_sync", "branches__branch_id"
        )
    )
    culr_syncs: dict[str, bool] = {}
    with_main_branch: set[str] = set()
    candidates: dict[int, set[str]] = {}
    for agency_id, agency_type, municipality_no, culr_sync, branch_id in rows:
        if agency_id in ids:
            culr_syncs[agency_id] = bool(culr_sync)
            if branch_id == agency_id:
                with_main_branch.add(agency_id)
        if agency_type == AgencyType.FOLKEBIBLIOTEK and municipality_no in municipalities:
            candidates.setdefault(municipality_no, set()).add(agency_id)
    agencies = {a: AgencyFacts(a, sync, a in with_main_branch) for a, sync in culr_syncs.items()}
    homes = {
        m: agency_home_pick(municipality_no=m, agency_ids=candidates.get(m, ()))
        for m in municipalities
    }
    return AgencyLookup(agencies=agencies, homes=homes, asked_ids=ids)


def agency_home_pick(*, municipality_no: int, agency_ids: Iterable[str]) -> str | None:
    """Return which of a municipality's public libraries is its residents' home (R-LOGIN-6).

    The conventional ``7<municipality:03d>00`` first, should a municipality ever have two (one
    being phased out), then by ID. For callers that read the candidates themselves.
    """
    conventional = f"7{municipality_no:03d}00"
    return min(agency_ids, key=lambda a: (a != conventional, a), default=None)

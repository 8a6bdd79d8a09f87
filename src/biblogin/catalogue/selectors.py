"""Reading the catalogue: search, works, manifestations, holdings and online access.

The public API other apps code against (issue 11): keep these names and fields.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from biblogin.catalogue.models import Holding, Manifestation, OnlineAccessKind, Work
from biblogin.catalogue.search.engine import SearchFilters, SearchHit, SearchPage, search

__all__ = [
    "HoldingView",
    "OnlineAccess",
    "SearchHit",
    "SearchPage",
    "catalogue_search",
    "holdings_for",
    "manifestation_get",
    "manifestations_get",
    "online_access_for",
    "work_get",
]


def catalogue_search(
    *,
    query: str,
    material_types: Sequence[str] = (),
    year_from: int | None = None,
    year_to: int | None = None,
    languages: Sequence[str] = (),
    lendable_at_agency: str | None = None,
    sort: str = "relevance",
    page: int = 1,
    page_size: int = 20,
) -> SearchPage:
    """Works matching every word of ``query`` (Danish stemming and folding), one hit per work.

    ``sort``: "relevance" (title hits, then creator hits first), "newest" or "title"; an unknown
    value is relevance. ``page``/``page_size`` are clamped to 1…500 and 1…100. ``facets`` count
    works per material type, language and year within the filtered result.
    ``lendable_at_agency``: only manifestations the agency (six digits) holds lendable.
    """
    filters = SearchFilters(
        material_types=material_types,
        year_from=year_from,
        year_to=year_to,
        languages=languages,
        lendable_at_agency=lendable_at_agency,
    )
    return search(
        query=query,
        filters=filters,
        sort=sort,
        page=page,
        page_size=page_size,
    )


def work_get(*, work_id: str) -> Work | None:
    """The work with its manifestations (ordered by material type, year, PID), or None."""
    from django.db.models import Prefetch

    manifestations = Manifestation.objects.order_by("material_type", "-year", "pid")
    return (
        Work.objects.prefetch_related(Prefetch("manifestations", queryset=manifestations))
        .filter(work_id=work_id)
        .first()
    )


def manifestation_get(*, pid: str) -> Manifestation | None:
    return Manifestation.objects.select_related("work", "periodical").filter(pid=pid).first()


def manifestations_get(*, pids: Sequence[str]) -> dict[str, Manifestation]:
    """The manifestations of those PIDs that exist, by PID."""
    found = Manifestation.objects.select_related("work", "periodical").filter(pid__in=list(pids))
    return {m.pid: m for m in found}


@dataclass(frozen=True)
class HoldingView:
    agency_id: str
    agency_name: str
    branch_id: str
    branch_name: str
    copies: int
    on_shelf: int
    expected_return: dt.date | None
    lendable: bool
    own_users_only: bool
    own_catalogue_url: str  # "" unless the material is ordered on the library's own site


def holdings_for(*, pid: str) -> list[HoldingView]:
    """Which agencies and branches hold the manifestation, ordered by agency and branch."""
    rows = (
        Holding.objects.filter(manifestation__pid=pid)
        .select_related("agency", "branch")
        .order_by("agency_id", "branch_id")
    )
    return [
        HoldingView(
            agency_id=h.agency_id,
            agency_name=h.agency.name,
            branch_id=h.branch_id,
            branch_name=h.branch.name,
            copies=h.copies,
            on_shelf=h.on_shelf,
            expected_return=h.expected_return,
            lendable=h.lendable,
            own_users_only=h.own_users_only,
            own_catalogue_url=h.own_catalogue_url,
        )
        for h in rows
    ]


@dataclass(frozen=True)
class OnlineAccess:
    kind: str  # OnlineAccessKind: "infomedia", "ebook", "digital_article_service"
    provider: str  # e.g. "Infomedia", "Central Ebook Plus", "Digital Artikelservice"
    url: str


def online_access_for(*, pid: str) -> list[OnlineAccess]:
    """The online access to a manifestation; an article also gets its periodical's
    Digital Article Service eligibility."""
    m = manifestation_get(pid=pid)
    if m is None:
        return []
    found = [OnlineAccess(a.kind, a.provider, a.url) for a in m.online_access.all()]
    if m.periodical is not None:
        found += [
            OnlineAccess(a.kind, a.provider, a.url)
            for a in m.periodical.online_access.filter(
                kind=OnlineAccessKind.DIGITAL_ARTICLE_SERVICE
            )
        ]
    return sorted(set(found), key=lambda a: (a.kind, a.provider))

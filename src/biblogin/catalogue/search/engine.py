"""The search itself: match (back-end), filter, rank, group by work, facets, page.

Ranking is portable SQL over the stored token columns, so both back-ends order alike:
tier 4 = every term in the title, +2 = every term among the creators, +1 = every term in the
title or the creators; then the shorter title, then the PID (byte order) as the tie-break.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Collate, Length

from biblogin.catalogue.models import Holding, Manifestation, OnlineAccess
from biblogin.catalogue.search.backends import SearchBackend, backend_for
from biblogin.catalogue.search.text import query_terms

SORTS = ("relevance", "newest", "title")
MAX_PAGE_SIZE = 100
MAX_PAGE = 500
FACET_KEYS = ("material_type", "language", "year")


@dataclass(frozen=True)
class SearchHit:
    work_id: str
    pid: str
    title: str
    creators: list[str]
    year: int | None
    material_types: list[str]
    available_somewhere: bool


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    total: int
    page: int
    page_size: int
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _contains_term(column: str, term: str) -> Q:
    # The stored columns are space-separated tokens: a whole-token test.
    return Q(**{f"_{column}_padded__contains": f" {term} "})


def _all_terms(column: str, terms: Sequence[str]) -> Q:
    q = Q()
    for t in terms:
        q &= _contains_term(column, t)
    return q


def _tier(terms: Sequence[str]) -> Any:
    title_or_creator = Q()
    for t in terms:
        title_or_creator &= _contains_term("title", t) | _contains_term("creators", t)
    return (
        Case(When(_all_terms("title", terms), then=Value(4)), default=Value(0))
        + Case(When(_all_terms("creators", terms), then=Value(2)), default=Value(0))
        + Case(When(title_or_creator, then=Value(1)), default=Value(0))
    )


def _padded(qs: QuerySet[Manifestation]) -> QuerySet[Manifestation]:
    from django.db.models.functions import Concat

    return qs.annotate(
        _title_padded=Concat(Value(" "), F("search_title"), Value(" "), output_field=TextField()),
        _creators_padded=Concat(
            Value(" "), F("search_creators"), Value(" "), output_field=TextField()
        ),
    )


def matching(
    *,
    backend: SearchBackend,
    terms: Sequence[str],
    material_types: Sequence[str] = (),
    year_from: int | None = None,
    year_to: int | None = None,
    languages: Sequence[str] = (),
    lendable_at_agency: str | None = None,
) -> QuerySet[Manifestation]:
    qs = backend.match(Manifestation.objects.all(), terms)
    if material_types:
        qs = qs.filter(material_type__in=list(material_types))
    if languages:
        qs = qs.filter(language__in=list(languages))
    if year_from is not None:
        qs = qs.filter(year__gte=year_from)
    if year_to is not None:
        qs = qs.filter(year__lte=year_to)
    if lendable_at_agency:
        qs = qs.filter(
            Exists(
                Holding.objects.filter(
                    manifestation=OuterRef("pk"), agency_id=lendable_at_agency, lendable=True
                )
            )
        )
    return qs


def _facets(qs: QuerySet[Manifestation]) -> dict[str, list[tuple[str, int]]]:
    facets: dict[str, list[tuple[str, int]]] = {}
    for key in FACET_KEYS:
        rows = (
            qs.order_by()
            .values(key)
            .annotate(n=Count("work_id", distinct=True))
            .values_list(key, "n")
        )
        counted = [(str(v), n) for v, n in rows if v is not None]
        if key == "year":
            counted.sort(key=lambda vn: vn[0], reverse=True)
        else:
            counted.sort(key=lambda vn: (-vn[1], vn[0]))
        facets[key] = counted
    return facets


def search(
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
    backend: SearchBackend | None = None,
    with_facets: bool = True,
) -> SearchPage:
    page_size = min(max(int(page_size), 1), MAX_PAGE_SIZE)
    page = min(max(int(page), 1), MAX_PAGE)
    if sort not in SORTS:
        sort = "relevance"
    terms = query_terms(query)
    if not terms:
        return SearchPage([], 0, page, page_size, {k: [] for k in FACET_KEYS})
    backend = backend or backend_for()
    qs = matching(
        backend=backend,
        terms=terms,
        material_types=material_types,
        year_from=year_from,
        year_to=year_to,
        languages=languages,
        lendable_at_agency=lendable_at_agency,
    )
    c = backend.collation
    grouped = (
        _padded(qs)
        .annotate(tier=_tier(terms))
        .order_by()
        .values("work_id")
        .annotate(
            best=Max("tier", output_field=IntegerField()),
            title_length=Min(Length("search_title")),
            first_pid=Min(Collate(F("pid"), c)),
            newest=Max("year"),
            first_title=Min(Collate(F("sort_title"), c)),
        )
    )
    if sort == "newest":
        grouped = grouped.order_by(F("newest").desc(nulls_last=True), "first_pid")
    elif sort == "title":
        grouped = grouped.order_by("first_title", "first_pid")
    else:
        grouped = grouped.order_by("-best", "title_length", "first_pid")
    total = grouped.count()
    offset = (page - 1) * page_size
    rows = list(grouped.values_list("work_id", flat=False)[offset : offset + page_size])
    work_ids = [r[0] for r in rows]
    hits = _hits(qs, terms, work_ids)
    facets = _facets(qs) if with_facets else {k: [] for k in FACET_KEYS}
    return SearchPage(hits, total, page, page_size, facets)


def _hits(
    qs: QuerySet[Manifestation], terms: Sequence[str], work_ids: list[int]
) -> list[SearchHit]:
    if not work_ids:
        return []
    matched = (
        _padded(qs.filter(work_id__in=work_ids))
        .annotate(tier=_tier(terms))
        .values_list("work_id", "pid", "tier", "search_title", "year")
    )
    best: dict[int, tuple[Any, ...]] = {}
    for work_id, pid, tier, stitle, year in matched:
        key = (-tier, len(stitle), pid)
        if work_id not in best or key < best[work_id][0]:
            best[work_id] = (key, pid, year)
    types: dict[int, set[str]] = {w: set() for w in work_ids}
    for work_id, material_type in (
        Manifestation.objects.filter(work_id__in=work_ids)
        .values_list("work_id", "material_type")
        .distinct()
    ):
        types[work_id].add(material_type)
    available = set(
        Holding.objects.filter(
            manifestation__work_id__in=work_ids, lendable=True, on_shelf__gt=0
        ).values_list("manifestation__work_id", flat=True)
    ) | set(
        OnlineAccess.objects.filter(manifestation__work_id__in=work_ids).values_list(
            "manifestation__work_id", flat=True
        )
    )
    from biblogin.catalogue.models import Work

    works = Work.objects.in_bulk(work_ids)
    hits = []
    for work_id in work_ids:
        work = works[work_id]
        _, pid, year = best[work_id]
        hits.append(
            SearchHit(
                work_id=work.work_id,
                pid=pid,
                title=work.title,
                creators=work.creator_names,
                year=year,
                material_types=sorted(types[work_id]),
                available_somewhere=work_id in available,
            )
        )
    return hits

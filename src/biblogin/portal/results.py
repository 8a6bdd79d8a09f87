"""What the result page shows of a catalogue search: hits, facets to filter by, pages."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.utils.formats import number_format

from biblogin.portal.search import (
    SORTS,
    SearchRequest,
    language_label,
    material_type_label,
)


@dataclass(frozen=True)
class Chip:
    value: str
    label: str


@dataclass(frozen=True)
class Hit:
    pid: str
    title: str
    creators: list[str]
    year: int | None
    material_types: list[Chip]
    available_somewhere: bool
    on_list: bool


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    checked: bool


@dataclass(frozen=True)
class PageLink:
    number: int
    url: str
    current: bool


@dataclass(frozen=True)
class Results:
    hits: list[Hit]
    total: int
    page: int
    pages: int
    first: int
    last: int
    material_types: list[FacetValue]
    languages: list[FacetValue]
    years: list[tuple[str, int]]
    page_links: list[PageLink]
    previous_url: str
    next_url: str
    sorts: list[tuple[str, str, bool]]
    # A large result: the total and the facet counts are the catalogue's estimates ("ca."),
    # and paging reaches the ``reachable`` works ranked first.
    estimated: bool = False
    total_label: str = ""  # the total with the language's thousands separator
    reachable: int = 0


def _facet(pairs: list[tuple[str, int]], chosen: Collection[str], label: Any) -> list[FacetValue]:
    values = [
        FacetValue(value=value, label=label(value), count=count, checked=value in chosen)
        for value, count in pairs
    ]
    # A chosen value the catalogue no longer counts stays visible, so it can be unticked.
    values.extend(
        FacetValue(value=value, label=label(value), count=0, checked=True)
        for value in chosen
        if value not in {v.value for v in values}
    )
    return values


def results_view(*, found: Any, wanted: SearchRequest, on_list: Collection[str]) -> Results:
    """Return the result page's content for a catalogue ``SearchPage``."""
    total = int(found.total)
    size = max(1, int(found.page_size))
    reachable = getattr(found, "reachable", None)
    reachable = total if reachable is None else int(reachable)
    pages = max(1, math.ceil(reachable / size))
    current = min(int(found.page), pages)
    window = range(max(1, current - 2), min(pages, current + 2) + 1)
    hits = [
        Hit(
            pid=hit.pid,
            title=hit.title,
            creators=list(hit.creators),
            year=hit.year,
            material_types=[Chip(t, material_type_label(t)) for t in hit.material_types],
            available_somewhere=bool(hit.available_somewhere),
            on_list=hit.pid in on_list,
        )
        for hit in found.hits
    ]
    facets = found.facets or {}
    first = (current - 1) * size + 1 if total else 0
    return Results(
        hits=hits,
        total=total,
        page=current,
        pages=pages,
        first=first,
        last=min(total, first + len(hits) - 1) if total else 0,
        material_types=_facet(
            list(facets.get("material_type", [])), wanted.material_types, material_type_label
        ),
        languages=_facet(list(facets.get("language", [])), wanted.languages, language_label),
        years=list(facets.get("year", []))[:10],
        page_links=[PageLink(n, wanted.url(page=n), n == current) for n in window],
        previous_url=wanted.url(page=current - 1) if current > 1 else "",
        next_url=wanted.url(page=current + 1) if current < pages else "",
        sorts=[
            (str(label), wanted.url(sort=key, page=1), key == wanted.sort)
            for key, label in SORTS.items()
        ],
        estimated=bool(getattr(found, "estimated", False)),
        total_label=number_format(total, force_grouping=True),
        reachable=reachable,
    )

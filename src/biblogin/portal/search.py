"""The portal's search request: parsed from a URL's query string, never trusted, and rebuilt.

One parser for the result page, saved searches and the session's last searches, so that a
rerun asks the catalogue exactly what the first search asked (R-PORTAL-17).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from biblogin.catalogue.models import MaterialType

QUERY_MAX = 256
_VALUE_MAX = 64
_VALUES_MAX = 20
_PAGE_MAX = 500
PAGE_SIZE = 20

SORTS: dict[str, Any] = {
    "relevance": _("Relevans"),
    "newest": _("Nyeste først"),
    "title": _("Titel"),
}

# Material types as the catalogue names them; languages (ISO 639-2) in the user's language.
MATERIAL_TYPE_LABELS: dict[str, Any] = dict(MaterialType.choices)
LANGUAGE_LABELS: dict[str, Any] = {
    "dan": _("Dansk"),
    "da": _("Dansk"),
    "eng": _("Engelsk"),
    "en": _("Engelsk"),
    "swe": _("Svensk"),
    "nor": _("Norsk"),
    "ger": _("Tysk"),
    "deu": _("Tysk"),
    "fre": _("Fransk"),
    "fra": _("Fransk"),
    "spa": _("Spansk"),
    "ita": _("Italiensk"),
}


def material_type_label(value: str) -> str:
    label = MATERIAL_TYPE_LABELS.get(value.casefold())
    return str(label) if label is not None else value


def language_label(value: str) -> str:
    label = LANGUAGE_LABELS.get(value.casefold())
    return str(label) if label is not None else value


def _text(value: object, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    text = " ".join("".join(ch for ch in value if ch.isprintable()).split())
    # Cut, then strip: a cut at a space would leave one that the next parse removes.
    return text[:limit].rstrip()


def _values(raw: Sequence[object]) -> tuple[str, ...]:
    seen: list[str] = []
    for item in raw[: _VALUES_MAX * 2]:
        text = _text(item, _VALUE_MAX)
        if text and text not in seen:
            seen.append(text)
    return tuple(seen[:_VALUES_MAX])


def _year(value: object) -> int | None:
    text = value.strip() if isinstance(value, str) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 4:
        return None
    return int(text)


@dataclass(frozen=True)
class SearchRequest:
    """What the user asked for; ``lendable`` means "kan lånes på mit bibliotek"."""

    query: str = ""
    material_types: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    sort: str = "relevance"
    lendable: bool = False
    page: int = 1
    notes: tuple[str, ...] = field(default=(), compare=False)

    def params(self) -> dict[str, list[str]]:
        """Return the filters and sort as {parameter: [values]} (without query and page)."""
        params: dict[str, list[str]] = {}
        if self.material_types:
            params["type"] = list(self.material_types)
        if self.languages:
            params["lang"] = list(self.languages)
        if self.year_from is not None:
            params["year_from"] = [str(self.year_from)]
        if self.year_to is not None:
            params["year_to"] = [str(self.year_to)]
        if self.sort != "relevance":
            params["sort"] = [self.sort]
        if self.lendable:
            params["lendable"] = ["1"]
        return params

    def querystring(self, **changes: Any) -> str:
        """Return this search's query string, with some fields changed (e.g. page=2)."""
        request = replace(self, **changes) if changes else self
        pairs: list[tuple[str, str]] = [("q", request.query)]
        for name, values in request.params().items():
            pairs.extend((name, v) for v in values)
        if request.page > 1:
            pairs.append(("page", str(request.page)))
        return urlencode(pairs)

    def url(self, **changes: Any) -> str:
        return f"{reverse('portal:search')}?{self.querystring(**changes)}"

    @property
    def has_filters(self) -> bool:
        return bool(self.material_types or self.languages or self.year_from or self.year_to)


def search_request_parse(data: Mapping[str, Any]) -> SearchRequest:
    """Return the search a query string asks for; what does not parse is dropped (with a note).

    ``data`` is a QueryDict or a saved search's {parameter: [values]} with "q".
    """

    def many(name: str) -> list[object]:
        getlist = getattr(data, "getlist", None)
        if getlist is not None:
            return list(getlist(name))
        value = data.get(name)
        if isinstance(value, list):
            return value
        return [] if value is None else [value]

    def one(name: str) -> object:
        values = many(name)
        return values[0] if values else None

    notes: list[str] = []
    year_from, year_to = _year(one("year_from")), _year(one("year_to"))
    if (one("year_from") or one("year_to")) and (
        (one("year_from") and year_from is None) or (one("year_to") and year_to is None)
    ):
        notes.append(str(_("Årstal skal skrives med op til fire cifre, fx 1967.")))
    if year_from is not None and year_to is not None and year_from > year_to:
        year_from, year_to = year_to, year_from
    sort = one("sort")
    page = _year(one("page")) if isinstance(one("page"), str) else None
    return SearchRequest(
        query=_text(one("q"), QUERY_MAX),
        material_types=_values(many("type")),
        languages=_values(many("lang")),
        year_from=year_from,
        year_to=year_to,
        sort=sort if isinstance(sort, str) and sort in SORTS else "relevance",
        lendable=one("lendable") == "1",
        page=min(max(1, page or 1), _PAGE_MAX),
        notes=tuple(notes),
    )

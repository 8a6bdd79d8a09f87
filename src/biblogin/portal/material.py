"""What the material page shows: the facts, the editions, "Hvor findes den?", online access."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from biblogin.catalogue.models import Manifestation
from biblogin.catalogue.selectors import (
    holdings_for,
    manifestation_get,
    online_access_for,
    work_get,
)
from biblogin.portal.search import language_label, material_type_label


@dataclass(frozen=True)
class Creator:
    name: str
    role: str


@dataclass(frozen=True)
class Edition:
    pid: str
    label: str
    current: bool


@dataclass(frozen=True)
class BranchState:
    name: str
    state: str
    home: bool


@dataclass(frozen=True)
class AgencyHoldings:
    agency_id: str
    name: str
    branches: list[BranchState]
    own_catalogue_url: str


@dataclass(frozen=True)
class Access:
    kind: str
    provider: str
    text: str
    url: str


@dataclass(frozen=True)
class MaterialView:
    pid: str
    title: str
    creators: list[Creator]
    material_type: str
    description: str
    facts: list[tuple[str, str]]
    editions: list[Edition]
    holdings: list[AgencyHoldings]
    online: list[Access]


def _date(value: dt.date | None) -> str:
    return formats.date_format(value, "j. F Y") if value else ""


def branch_state(holding: Any) -> BranchState:
    """Say where one branch's copies are: home, out until a date, not for loan, own users."""
    if not holding.lendable:
        state = _("Kan ikke lånes, kun bruges på stedet")
        home = False
    elif holding.on_shelf:
        state = _("Hjemme (%(count)d af %(total)d)") % {
            "count": holding.on_shelf,
            "total": holding.copies,
        }
        home = True
    elif holding.expected_return:
        state = _("Udlånt, forventes hjem %(date)s") % {"date": _date(holding.expected_return)}
        home = False
    else:
        state = _("Udlånt")
        home = False
    if holding.own_users_only:
        state = _("%(state)s · kun for bibliotekets egne lånere") % {"state": state}
    return BranchState(name=holding.branch_name, state=state, home=home)


def holdings_by_agency(holdings: Sequence[Any]) -> list[AgencyHoldings]:
    """Group the holdings by library, in the order the catalogue gives them."""
    grouped: dict[str, AgencyHoldings] = {}
    for holding in holdings:
        entry = grouped.get(holding.agency_id)
        if entry is None:
            entry = AgencyHoldings(
                agency_id=holding.agency_id,
                name=holding.agency_name,
                branches=[],
                own_catalogue_url=holding.own_catalogue_url or "",
            )
            grouped[holding.agency_id] = entry
        entry.branches.append(branch_state(holding))
    return list(grouped.values())


def access_text(kind: str) -> str:
    if kind == "infomedia":
        return _("Læs artiklen online via Infomedia, hvis et af dine biblioteker giver adgang.")
    if kind == "ebook":
        return _("Lån den online, hvis et af dine biblioteker abonnerer.")
    if kind == "digital_article_service":
        return _("Bestil en digital kopi via Digital Artikelservice.")
    return _("Online adgang via dit bibliotek.")


ROLE_LABELS: dict[str, Any] = {
    "forfatter": _lazy("forfatter"),
    "oversætter": _lazy("oversætter"),
    "illustrator": _lazy("illustrator"),
    "indlæser": _lazy("indlæser"),
    "instruktør": _lazy("instruktør"),
    "redaktør": _lazy("redaktør"),
    "komponist": _lazy("komponist"),
    "medforfatter": _lazy("medforfatter"),
}


def _creators(raw: object) -> list[Creator]:
    creators = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and item.get("name"):
            role = str(item.get("role") or "")
            label = ROLE_LABELS.get(role.casefold())
            creators.append(Creator(name=str(item["name"]), role=str(label) if label else role))
    return creators


def _facts(m: Manifestation) -> list[tuple[str, str]]:
    """The manifestation's facts that are known, in the order a catalogue record shows them."""
    facts: list[tuple[str, str]] = [(_("Materialetype"), material_type_label(m.material_type))]
    if m.subtitle:
        facts.append((_("Undertitel"), m.subtitle))
    if m.periodical is not None:
        where = m.periodical.title
        if m.periodical_issue:
            where = f"{where}, {m.periodical_issue}"
        if m.pages:
            where = _("%(where)s, side %(pages)s") % {"where": where, "pages": m.pages}
        facts.append((_("I"), where))
    if m.year:
        facts.append((_("Udgivet"), str(m.year)))
    if m.publisher:
        facts.append((_("Forlag"), m.publisher))
    if m.edition:
        facts.append((_("Udgave"), m.edition))
    if m.language:
        facts.append((_("Sprog"), language_label(m.language)))
    if m.isbn:
        facts.append((_("ISBN"), m.isbn))
    if m.issn:
        facts.append((_("ISSN"), m.issn))
    subjects = [str(s) for s in m.subjects if s] if isinstance(m.subjects, list) else []
    if subjects:
        facts.append((_("Emner"), ", ".join(subjects)))
    facts.append(
        (
            _("Fjernlån"),
            _("Kan lånes fra et andet bibliotek")
            if m.interlibrary_loan
            else _("Kan ikke fjernlånes"),
        )
    )
    return facts


def material_view(*, pid: str) -> MaterialView | None:
    """Return the material page of a manifestation, or None when the catalogue has no such PID."""
    m = manifestation_get(pid=pid)
    if m is None:
        return None
    work = work_get(work_id=m.work.work_id)
    editions: list[Edition] = []
    if work is not None:
        for other in work.manifestations.all():
            label = material_type_label(other.material_type)
            if other.year:
                label = f"{label}, {other.year}"
            editions.append(Edition(pid=other.pid, label=label, current=other.pid == pid))
    return MaterialView(
        pid=pid,
        title=m.title,
        creators=_creators(m.creators),
        material_type=material_type_label(m.material_type),
        description=m.description,
        facts=_facts(m),
        editions=editions,
        holdings=holdings_by_agency(holdings_for(pid=pid)),
        online=[
            Access(kind=a.kind, provider=a.provider, text=access_text(a.kind), url=a.url)
            for a in online_access_for(pid=pid)
        ],
    )

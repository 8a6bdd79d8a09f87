"""Load the demo catalogue idempotently, in a few bulk inserts.

Holdings are spread over the demo agencies by fixed rules (a hash of the PID picks branches), so
that every order-policy outcome of R-ORDER-2 occurs; ``EXAMPLES`` names one PID per outcome for
tests and the guide. Existing manifestations keep their rows (other apps may refer to them); their
bibliographic fields are refreshed and their holdings and online access re-made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone

from biblogin.catalogue.models import Holding, Manifestation, OnlineAccess, OnlineAccessKind, Work
from biblogin.catalogue.services import catalogue_bulk_insert, manifestation_search_fields_set
from biblogin.demo.catalogue.data import (
    ARTICLES,
    DEMO_ARTICLE_NOTE,
    NEWSPAPER_ARTICLES,
    PERIODICALS,
    WORKS,
    DemoWork,
)

KBH, GENTOFTE, AARHUS = "710100", "715700", "775100"
CAMPUS_SYD, HHS, UCN, IHK, ARKITEKT = "820099", "830099", "829000", "840099", "850099"
VESTERBRO, VALBY, HELLERUP = "710104", "710111", "715703"
EBOOK_RESOURCE = "Central Ebook Plus"  # the licensed resource of the demo registry (R-VIP-9)

# One PID per order-policy outcome (R-ORDER-2), seen from Københavns Biblioteker (Vesterbro) or
# Handelshøjskolens Bibliotek; tests/catalogue checks the holdings really give these outcomes.
EXAMPLES = {
    # Barndom (bog), lendable at Vesterbro Bibliotek and many others.
    "owned_accepted": "870970-basis:00001000",
    # Hunden (Kerstin Ekman): lendable only in Gentofte and Aarhus, not in Copenhagen.
    "not_owned_ill": "870970-basis:00102000",
    # Syv fantastiske Fortællinger, 1st edition 1935: reading room only, no interlibrary loan.
    "nowhere_lendable": "870970-basis:00010000",
    # Organisationsteori: Handelshøjskolens Bibliotek takes orders for it in its own catalogue.
    "own_catalogue": "870970-basis:00113000",
}
_NOWHERE_LENDABLE = {"870970-basis:00010000", "870970-basis:00036000"}
_ONLY = {  # manifestations held only where named (branch IDs)
    "870970-basis:00102000": (GENTOFTE, AARHUS),
    "870970-basis:00117000": (IHK, UCN),
    "870970-basis:00112000": (HHS, CAMPUS_SYD, KBH),
    "870970-basis:00113000": (HHS, CAMPUS_SYD),
    "870970-basis:00116000": (ARKITEKT, KBH),
    "870970-basis:00110000": (KBH, HHS, GENTOFTE, CAMPUS_SYD),
    "870970-basis:00114000": (KBH, GENTOFTE, HHS),
}
_OWN_CATALOGUE = {("870970-basis:00113000", HHS), ("870970-basis:00116000", ARKITEKT)}
_BRANCH_AGENCY = {
    KBH: KBH,
    VESTERBRO: KBH,
    VALBY: KBH,
    GENTOFTE: GENTOFTE,
    HELLERUP: GENTOFTE,
    AARHUS: AARHUS,
    CAMPUS_SYD: CAMPUS_SYD,
    HHS: HHS,
    UCN: UCN,
    IHK: IHK,
    ARKITEKT: ARKITEKT,
}
_DIGITAL = {"e-bog", "lydbog (net)"}


def _h(pid: str) -> int:
    return int.from_bytes(hashlib.sha256(pid.encode()).digest()[:8], "big")


def work_pid(work: DemoWork, i: int) -> str:
    return f"870970-basis:{work.n:05d}{i:03d}"


def _branches_for(pid: str, material_type: str) -> tuple[str, ...]:
    if pid in _ONLY:
        return _ONLY[pid]
    if material_type in _DIGITAL:
        return (KBH, GENTOFTE, AARHUS)
    h = _h(pid)
    picks = [KBH]
    rules = [
        (VESTERBRO, h % 3 != 0),
        (VALBY, h % 5 == 0),
        (GENTOFTE, h % 2 == 0),
        (HELLERUP, h % 7 == 0),
        (AARHUS, h % 3 == 1),
        (CAMPUS_SYD, h % 4 == 0),
        (HHS, h % 6 == 0),
        (UCN, h % 5 == 1),
    ]
    picks += [branch for branch, chosen in rules if chosen]
    return tuple(picks)


def _holdings(m: Manifestation, today: dt.date) -> Iterator[Holding]:
    if m.material_type in {"artikel", "avisartikel"}:
        return  # an article is ordered as its periodical's issue, or read online
    digital = m.material_type in _DIGITAL
    for branch in _branches_for(m.pid, m.material_type):
        h = _h(m.pid + branch)
        copies = 1 if digital else 1 + h % 4
        out = 0 if digital else min(h % 3, copies)
        agency = _BRANCH_AGENCY[branch]
        own_catalogue = (m.pid, branch) in _OWN_CATALOGUE
        yield Holding(
            manifestation=m,
            agency_id=agency,
            branch_id=branch,
            copies=copies,
            on_shelf=copies - out,
            expected_return=today + dt.timedelta(days=3 + h % 25) if out else None,
            lendable=m.pid not in _NOWHERE_LENDABLE,
            own_users_only=agency == CAMPUS_SYD and h % 2 == 0,
            own_catalogue_url=(
                f"https://katalog.{agency}.bibliotek.example/materiale/{m.pid}"
                if own_catalogue
                else ""
            ),
        )


def _creators(work: DemoWork) -> list[dict[str, str]]:
    return [{"name": name, "role": role} for name, role in work.creators]


def _demo_rows() -> tuple[list[Work], list[Manifestation], list[Manifestation]]:
    """Works, then manifestations in two groups: periodicals first (articles point to them)."""
    works: list[Work] = []
    periodicals: list[Manifestation] = []
    others: list[Manifestation] = []
    for w in WORKS:
        work = Work(
            work_id=f"work-of:{work_pid(w, 0)}",
            title=w.title,
            creators=_creators(w),
            first_year=min((f.year for f in w.forms if f.year), default=None),
        )
        works.append(work)
        for i, form in enumerate(w.forms):
            others.append(
                Manifestation(
                    pid=work_pid(w, i),
                    work=work,
                    title=w.title,
                    creators=_creators(w),
                    year=form.year,
                    publisher=form.publisher,
                    edition=form.edition,
                    language=w.language,
                    material_type=form.material_type,
                    subjects=list(w.subjects),
                    interlibrary_loan=form.material_type not in _DIGITAL
                    and work_pid(w, i) not in _NOWHERE_LENDABLE,
                )
            )
    by_pid: dict[str, Manifestation] = {}
    for p in PERIODICALS:
        work = Work(work_id=f"work-of:{p.pid}", title=p.title)
        works.append(work)
        m = Manifestation(
            pid=p.pid,
            work=work,
            title=p.title,
            publisher=p.publisher,
            issn=p.issn,
            material_type="tidsskrift",
            subjects=list(p.subjects),
        )
        periodicals.append(m)
        by_pid[p.pid] = m
    for a in ARTICLES + NEWSPAPER_ARTICLES:
        creators = [{"name": a.author, "role": "forfatter"}]
        work = Work(work_id=f"work-of:{a.pid}", title=a.title, creators=creators, first_year=a.year)
        works.append(work)
        newspaper = a.pid.startswith("870971-avis:")
        others.append(
            Manifestation(
                pid=a.pid,
                work=work,
                title=a.title,
                creators=creators,
                year=a.year,
                material_type="avisartikel" if newspaper else "artikel",
                publisher=a.periodical_pid if newspaper else "",
                periodical=None if newspaper else by_pid[a.periodical_pid],
                periodical_issue=a.issue,
                pages=a.pages,
                subjects=list(a.subjects),
                description=DEMO_ARTICLE_NOTE,
                interlibrary_loan=not newspaper,
            )
        )
    return works, periodicals, others


def _online_access(m: Manifestation) -> Iterator[OnlineAccess]:
    if m.material_type == "e-bog":
        yield OnlineAccess(manifestation=m, kind=OnlineAccessKind.EBOOK, provider=EBOOK_RESOURCE)
    if m.material_type == "avisartikel":
        yield OnlineAccess(manifestation=m, kind=OnlineAccessKind.INFOMEDIA, provider="Infomedia")
    if m.material_type == "tidsskrift" and any(
        p.pid == m.pid and p.digital_article_service for p in PERIODICALS
    ):
        yield OnlineAccess(
            manifestation=m,
            kind=OnlineAccessKind.DIGITAL_ARTICLE_SERVICE,
            provider="Digital Artikelservice",
        )


_REFRESHED = [
    "title",
    "creators",
    "year",
    "publisher",
    "edition",
    "language",
    "material_type",
    "issn",
    "subjects",
    "description",
    "periodical_issue",
    "pages",
    "interlibrary_loan",
    "search_title",
    "search_creators",
    "search_body",
    "sort_title",
]


@transaction.atomic
def demo_catalogue_load() -> int:
    """Load or refresh the demo catalogue; returns the number of manifestations."""
    today = timezone.localdate()
    works, periodicals, others = _demo_rows()
    existing_works = dict(Work.objects.values_list("work_id", "pk"))
    new_works = [w for w in works if w.work_id not in existing_works]
    for w in works:
        if w.work_id in existing_works:
            w.pk = existing_works[w.work_id]
    Work.objects.bulk_update(
        [w for w in works if w.pk is not None and w not in new_works],
        ["title", "creators", "first_year"],
    )
    Work.objects.bulk_create(new_works)
    count = 0
    for group in (periodicals, others):
        existing = dict(
            Manifestation.objects.filter(pid__in=[m.pid for m in group]).values_list("pid", "pk")
        )
        for m in group:
            m.work_id = m.work.pk
            if m.periodical is not None:
                m.periodical_id = m.periodical.pk
        fresh = [m for m in group if m.pid not in existing]
        old = [m for m in group if m.pid in existing]
        for m in old:
            m.pk = existing[m.pid]
            manifestation_search_fields_set(manifestation=m)
        Manifestation.objects.bulk_update(old, _REFRESHED)
        count += catalogue_bulk_insert(works=(), manifestations=fresh)
    every = periodicals + others
    Holding.objects.filter(manifestation__in=every).delete()
    OnlineAccess.objects.filter(manifestation__in=every).delete()
    Holding.objects.bulk_create([h for m in every for h in _holdings(m, today)])
    OnlineAccess.objects.bulk_create([a for m in every for a in _online_access(m)])
    return len(every)

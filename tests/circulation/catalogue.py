"""A small catalogue for the order tests: every R-ORDER-2 outcome and a periodical article."""

from __future__ import annotations

from biblogin.catalogue.models import (
    Holding,
    Manifestation,
    MaterialType,
    OnlineAccess,
    OnlineAccessKind,
    Work,
)
from biblogin.catalogue.services import manifestation_save

AT_VESTERBRO = "870970-basis:91000001"
AT_GENTOFTE = "870970-basis:91000002"
NOBODY_LENDS = "870970-basis:91000003"
AT_HH = "870970-basis:91000004"
AT_CAMPUS_SYD = "870970-basis:91000005"
OWN_SITE = "870970-basis:91000006"
PERIODICAL = "870970-basis:91000010"
ARTICLE = "870971-tsart:91000011"


def _m(pid: str, title: str, material_type: str = MaterialType.BOG, **fields) -> Manifestation:
    work = Work.objects.create(work_id=f"work-{pid}", title=title, creators=[])
    m = Manifestation(
        pid=pid,
        work=work,
        title=title,
        creators=[{"name": "Testforfatter", "role": "forfatter"}],
        year=2020,
        material_type=material_type,
        **fields,
    )
    return manifestation_save(manifestation=m)


def _hold(m: Manifestation, agency_id: str, branch_id: str, **fields) -> None:
    Holding.objects.create(manifestation=m, agency_id=agency_id, branch_id=branch_id, **fields)


def order_catalogue() -> None:
    _hold(_m(AT_VESTERBRO, "Bogen på Vesterbro"), "710100", "710104")
    _hold(_m(AT_GENTOFTE, "Bogen i Gentofte"), "715700", "715703")
    _hold(_m(NOBODY_LENDS, "Opslagsværket"), "710100", "710100", lendable=False)
    _hold(_m(AT_HH, "Erhvervsøkonomi"), "830099", "830099")
    _hold(_m(AT_CAMPUS_SYD, "Ingeniørens håndbog"), "820099", "820099")
    _hold(
        _m(OWN_SITE, "Kun i eget katalog"),
        "820099",
        "820099",
        own_catalogue_url="https://campussyd.example/katalog",
    )
    periodical = _m(
        PERIODICAL, "Tidsskrift for Biblioteker", MaterialType.TIDSSKRIFT, issn="1234-5678"
    )
    _hold(periodical, "710100", "710100")
    OnlineAccess.objects.create(
        manifestation=periodical,
        kind=OnlineAccessKind.DIGITAL_ARTICLE_SERVICE,
        provider="Digital Artikelservice",
    )
    _m(
        ARTICLE,
        "Bibliotekerne og fremtiden",
        MaterialType.ARTIKEL,
        periodical=periodical,
        periodical_issue="2023, nr. 4",
        pages="12-19",
    )

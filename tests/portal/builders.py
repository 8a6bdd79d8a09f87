"""Small builders for portal and userdata tests: agencies like the demo's, patrons, claims."""

from __future__ import annotations

import time
from typing import Any

from biblogin.patrons.models import Patron
from biblogin.patrons.services import account_create
from biblogin.registry.models import Agency, Branch, MobileStop, ServiceRequester

ANNA, BO, CLARA, DORTE, GITTE = (
    "1503851234",
    "0207921235",
    "2309881236",
    "1111701237",
    "0808801238",
)


def agency(
    agency_id: str,
    name: str,
    *,
    agency_type: str = "FORSKNINGSBIBLIOTEK",
    municipality_no: int | None = None,
    culr_sync: bool = False,
    borrower_check: bool = True,
    services: tuple[str, ...] = ("bibliotek.dk",),
    accepts_orders_without_login: bool = False,
    user_id_kinds: tuple[str, ...] = ("borrower_number",),
    status: str = "active",
) -> Agency:
    made = Agency.objects.create(
        agency_id=agency_id,
        name=name,
        agency_type=agency_type,
        municipality_no=municipality_no,
        culr_sync=culr_sync,
        borrower_check=borrower_check,
        accepts_orders_without_login=accepts_orders_without_login,
        user_id_kinds=list(user_id_kinds),
        status=status,
    )
    made.borrower_check_services.set(
        [ServiceRequester.objects.get_or_create(name=s)[0] for s in services]
    )
    return made


def public_library(agency_id: str, name: str, municipality_no: int) -> Agency:
    return agency(
        agency_id,
        name,
        agency_type="FOLKEBIBLIOTEK",
        municipality_no=municipality_no,
        culr_sync=True,
        services=("bibliotek.dk", "demo-app"),
        accepts_orders_without_login=True,
        user_id_kinds=("cpr", "borrower_number"),
    )


def branch(agency_obj: Agency, branch_id: str, name: str, **fields: Any) -> Branch:
    return Branch.objects.create(agency=agency_obj, branch_id=branch_id, name=name, **fields)


def demo_registry() -> dict[str, Agency]:
    """Create the demo's agencies and branches that the portal's rules distinguish."""
    kbh = public_library("710100", "Københavns Biblioteker", 101)
    branch(kbh, "710100", "Hovedbiblioteket", address="Krystalgade 15", postal_code="1172")
    branch(kbh, "710104", "Vesterbro Bibliotek")
    branch(
        kbh,
        "710111",
        "Valby Bibliotek",
        temporarily_closed=True,
        temporarily_closed_reason="Lukket for renovering",
    )
    bus = branch(kbh, "710117", "Bogbussen", is_mobile=True)
    for i, stop in enumerate(["Sundby Kirke", "Bellahøj Skole", "Husum Torv"]):
        MobileStop.objects.create(branch=bus, name=stop, schedule="Tirsdag 14-16", position=i)
    branch(kbh, "710199", "Magasinet", pickup_allowed=False)
    gentofte = public_library("715700", "Gentofte Bibliotekerne", 157)
    branch(gentofte, "715700", "Gentofte Hovedbibliotek")
    branch(gentofte, "715703", "Hellerup Bibliotek")
    roskilde = agency(
        "872600", "Roskilde Gymnasiums Bibliotek", culr_sync=True, user_id_kinds=("cpr",)
    )
    branch(roskilde, "872600", "Roskilde Gymnasiums Bibliotek")
    ucn = agency(
        "829000", "UCN Biblioteket", services=("bibliotek.dk", "demo-app"), user_id_kinds=("email",)
    )
    branch(ucn, "829000", "UCN Biblioteket Aalborg")
    campus = agency("820099", "Campus Syd Bibliotek")
    branch(campus, "820099", "Campus Syd Bibliotek")
    hh = agency(
        "830099",
        "Handelshøjskolens Bibliotek",
        borrower_check=False,
        services=(),
        accepts_orders_without_login=True,
    )
    branch(hh, "830099", "Handelshøjskolens Bibliotek")
    ih = agency("840099", "Ingeniørhøjskolens Bibliotek", services=("demo-app",))
    ark = agency("850099", "Arkitektskolens Bibliotek", borrower_check=False, services=())
    none = agency(
        "190101",
        "Bibliotek.dk",
        agency_type="ANDRE",
        culr_sync=True,
        borrower_check=False,
        services=(),
        user_id_kinds=(),
    )
    return {a.agency_id: a for a in [kbh, gentofte, roskilde, ucn, campus, hh, ih, ark, none]}


def patron_with(
    cpr: str, *accounts: tuple[str, str | None], municipality_no: int | None = None
) -> Patron:
    """Create a CULR patron with CPR accounts (local ID None) and local accounts."""
    made = None
    for agency_id, local_id in accounts:
        made = account_create(
            agency_id=agency_id, cpr=cpr, local_id=local_id, municipality_no=municipality_no
        ).patron
    assert made is not None
    made.refresh_from_db()
    return made


def claims(**overrides: Any) -> dict[str, Any]:
    """Return claims shaped like the login platform's (R-LOGIN-8/9) for a library login."""
    base: dict[str, Any] = {
        "sub": "pairwise-abc",
        "userId": "CS-4711",
        "uniqueId": None,
        "agencies": [{"agencyId": "820099", "userId": "CS-4711", "userIdType": "LOCAL"}],
        "municipality": None,
        "municipalityAgencyId": None,
        "loggedInAgencyId": "820099",
        "idpUsed": "borchk",
        "blocked": False,
        "culrDataOmitted": False,
        "acr": "urn:dk:bibliotekslogin:acr:pin",
        "amr": ["pin"],
        "auth_time": int(time.time()),
        "name": "Bo Bertelsen",
    }
    base.update(overrides)
    return base


def mitid_claims(cpr: str, guid: str, **overrides: Any) -> dict[str, Any]:
    return claims(
        sub=guid,
        userId=cpr,
        uniqueId=guid,
        agencies=[],
        loggedInAgencyId="190101",
        idpUsed="mitid",
        acr="https://data.gov.dk/concept/core/nsis/loa/Substantial",
        amr=["mitid"],
        cpr=cpr,
        **overrides,
    )

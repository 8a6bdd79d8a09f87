"""Time the one library search (registry.selectors.agencies_search) on a national-size registry.

    DATABASE_URL=sqlite:////tmp/search.sqlite3 python bench/library_search.py
    DATABASE_URL=postgres://user@127.0.0.1:5432/bench python bench/library_search.py

Migrates the database, puts in (once) a registry the size of the national one (2,500 agencies,
2,900 branches; real VIP has about 2,000 agencies), then prints one JSON object: per query, the
median and worst wall time of the login picker's search (for one service requester) and the
portal's (every listed library). Everything is read afresh per search (R-VIP-11).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

AGENCIES = 2500
REPEATS = 7
QUERIES = ["Aarhus", "Århus", "kbh", "Valby", "bibliotek", "8290", "Hellerup", "xyz ukendt"]


def _registry() -> None:
    from biblogin.registry.models import Agency, AgencyType, Branch, ServiceRequester
    from biblogin.registry.municipalities import MUNICIPALITIES

    if Agency.objects.count() >= AGENCIES:
        return
    requester, _ = ServiceRequester.objects.get_or_create(name="bibliotek.dk")
    municipalities = sorted(MUNICIPALITIES)
    agencies = []
    for n in range(AGENCIES):
        if n < len(municipalities):
            m = municipalities[n]
            agencies.append(
                Agency(
                    agency_id=f"7{m:03d}00",
                    name=f"{MUNICIPALITIES[m]} Bibliotekerne",
                    agency_type=AgencyType.FOLKEBIBLIOTEK,
                    municipality_no=m,
                    culr_sync=True,
                    borrower_check=True,
                    aliases=MUNICIPALITIES[m],
                )
            )
        else:
            agencies.append(
                Agency(
                    agency_id=f"8{n:05d}",
                    name=f"Uddannelsesbibliotek nr. {n} på Højskolevej",
                    agency_type=AgencyType.FORSKNINGSBIBLIOTEK,
                    borrower_check=n % 2 == 0,
                    aliases=f"UB{n}, Skole {n}",
                )
            )
    Agency.objects.bulk_create(agencies)
    stored = list(Agency.objects.all())
    Agency.borrower_check_services.through.objects.bulk_create(
        [
            Agency.borrower_check_services.through(agency_id=a.pk, servicerequester_id=requester.pk)
            for a in stored
            if a.borrower_check
        ]
    )
    # A public library has several branches, an FFU or school library mostly one.
    names = ("Hovedbiblioteket", "Valby Bibliotek", "Vesterbro Bibliotek", "Bogbussen", "Filial")
    Branch.objects.bulk_create(
        [
            Branch(agency=a, branch_id=f"9{a.pk:04d}{i}", name=f"{names[i]} {a.pk}")
            for a in stored
            for i in range(5 if a.agency_type == AgencyType.FOLKEBIBLIOTEK else 1)
        ]
    )


def _time(search: object, query: str) -> dict[str, float | int]:
    times = []
    found = 0
    for _ in range(REPEATS):
        started = time.perf_counter()
        found = len(search(query))  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return {
        "found": found,
        "median_ms": round(statistics.median(times) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
    }


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    _registry()
    from biblogin.registry import selectors
    from biblogin.registry.models import Branch

    def picker(q: str) -> list[object]:
        return list(selectors.agencies_search(query=q, service_requester="bibliotek.dk"))

    def portal(q: str) -> list[object]:
        return list(selectors.agencies_search(query=q, limit=51))

    result = {
        "database": connection.vendor,
        "agencies": AGENCIES,
        "branches": Branch.objects.count(),
        "picker": {q: _time(picker, q) for q in QUERIES},
        "portal": {q: _time(portal, q) for q in QUERIES},
    }
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

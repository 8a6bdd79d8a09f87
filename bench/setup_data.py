"""Prepare a benchmark database: demo data, the bench client, bench borrowers, CULR delivery.

Run in the server's environment (BIBLOGIN_VAR_DIR, DATABASE_URL, ...) after ``biblogin migrate``:

    python bench/setup_data.py --borrowers 64 --secret S > fixture.json

Prints one JSON object: the client, the agency, the users (user ID and PIN) and one PIN hash.
Idempotent: running it again updates the same client and borrowers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from typing import Any

# The public library the bench borrowers belong to: a demo agency with CULR delivery, borrower
# check licensed for bibliotek.dk, and no demo borrowers of its own (Aarhus).
AGENCY_ID = "775100"
AGENCY_MUNICIPALITY = 751
CLIENT_ID = "bench"
SERVICE_REQUESTER = "bibliotek.dk"
# Like the peer's client: confidential, client_secret_basic, this redirect URI (nobody listens).
REDIRECT_URI = "http://127.0.0.1:1/cb"


def bench_cpr(index: int) -> str:
    """Return the CPR of bench borrower ``index``: born 2001 or later (7th digit 4: the 2000s).

    Synthetic patrons of ``patrons_bulkload`` are born 1920-1999, so the two never collide.
    """
    born = dt.date(2001, 1, 1) + dt.timedelta(days=index % 9000)
    return f"{born:%d%m%y}4{index // 9000 % 10}{index % 100:02d}"


def bench_pin(index: int) -> str:
    return f"{(index * 7919 + 1234) % 10000:04d}"


def setup(*, borrowers: int, secret: str, base_url: str) -> dict[str, Any]:
    """Load the demo data, then the bench client and borrowers, and deliver them to CULR."""
    from biblogin.culrsync.services import culr_sync_agency
    from biblogin.demo.services import demo_load
    from biblogin.integrations.library_systems.models import SimBorrower
    from biblogin.integrations.library_systems.services import simulated_borrower_create
    from biblogin.oidc.models import Scope
    from biblogin.oidc.services import client_upsert

    timings: dict[str, float] = {}
    started = time.perf_counter()
    demo_load(base_url=base_url or None)
    timings["demo_load_s"] = time.perf_counter() - started

    started = time.perf_counter()
    client_upsert(
        client_id=CLIENT_ID,
        display_name="Benchmark",
        client_type="confidential",
        client_secret=secret,
        redirect_uris=[REDIRECT_URI],
        service_requester=SERVICE_REQUESTER,
        allowed_idps=["borchk"],
        allowed_scopes=[Scope.OPENID, Scope.PROFILE],
        actor="bench",
    )
    users: list[list[str]] = []
    first_ref = ""
    for index in range(borrowers):
        cpr, pin = bench_cpr(index), bench_pin(index)
        # The same Argon2id cost as production: the simulated system's own hasher.
        borrower = simulated_borrower_create(
            agency_id=AGENCY_ID,
            name=f"Bench Låner {index}",
            pin=pin,
            cpr=cpr,
            borrower_numbers=[f"BENCH-{index:05d}"],
            municipality_no=AGENCY_MUNICIPALITY,
        )
        first_ref = first_ref or borrower.borrower_ref
        users.append([cpr, pin])
    timings["borrowers_s"] = time.perf_counter() - started

    started = time.perf_counter()
    # R-CULR-2: Aarhus delivers its borrowers, so each bench borrower is a CULR patron and
    # every login consults CULR by CPR.
    report = culr_sync_agency(agency_id=AGENCY_ID)
    timings["culr_sync_s"] = time.perf_counter() - started
    pin_hash = SimBorrower.objects.get(system_id=AGENCY_ID, borrower_ref=first_ref).pin_hash
    return {
        "client_id": CLIENT_ID,
        "client_secret": secret,
        "redirect_uri": REDIRECT_URI,
        "agency_id": AGENCY_ID,
        "users": users,
        "pin_hash": pin_hash,
        "pin": users[0][1] if users else "",
        "culr_patrons_touched": report.patrons_touched,
        "timings": {k: round(v, 2) for k, v in timings.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=64)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--base-url", default=os.environ.get("BIBLOGIN_BASE_URL", ""))
    args = parser.parse_args(argv)
    if not 1 <= args.borrowers <= 9000:
        parser.error("--borrowers must be between 1 and 9000")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    result = setup(borrowers=args.borrowers, secret=args.secret, base_url=args.base_url or "")
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""R-BC-2 in wall-clock time: a wrong PIN and an unknown user take the same time to answer.

Moved out of the unit suite (no wall-clock assertions there): the unit tests prove R-BC-2
structurally (the same answer, exactly one Argon2id verify each, a dummy hash at the same
parameters as real PIN hashes); this measures it at production settings and prints, never fails.

    .venv/bin/python -m bench.rbc2_timing [--rounds 15]

Runs on a throw-away SQLite database in a temporary directory (production settings otherwise).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)

    var_dir = tempfile.mkdtemp(prefix="rbc2-")
    os.environ["BIBLOGIN_VAR_DIR"] = var_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("BIBLOGIN_LOG_LEVEL", "WARNING")  # not one log line per check
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)

    from biblogin.borrowercheck.services import BorrowerCheckStatus, borrower_check
    from biblogin.integrations.library_systems.services import (
        simulated_borrower_create,
        simulated_system_configure,
    )
    from biblogin.registry.models import Agency, AgencyType, ServiceRequester

    agency = Agency.objects.create(
        agency_id="710100",
        name="Københavns Biblioteker",
        agency_type=AgencyType.FOLKEBIBLIOTEK,
        municipality_no=101,
        culr_sync=True,
        borrower_check=True,
        user_id_kinds=["cpr", "borrower_number"],
    )
    agency.borrower_check_services.set([ServiceRequester.objects.create(name="bibliotek.dk")])
    simulated_system_configure(agency_id="710100")
    simulated_borrower_create(
        agency_id="710100", name="Anna Jensen", pin="80417", borrower_numbers=["L1001"]
    )

    def timed(*, user_id: str, password: str) -> float:
        started = time.perf_counter()
        result = borrower_check(
            service_requester="bibliotek.dk", agency_id="710100", user_id=user_id, password=password
        )
        assert result.status == BorrowerCheckStatus.BORROWER_NOT_FOUND, result
        return time.perf_counter() - started

    wrong_pin: list[float] = []
    unknown: list[float] = []
    for i in range(args.rounds):  # interleaved, so that drift in machine load hits both alike
        wrong_pin.append(timed(user_id="L1001", password=f"0000{i}"))
        unknown.append(timed(user_id=f"L9{i:03d}", password="80417"))
    a, b = statistics.median(wrong_pin), statistics.median(unknown)
    print(
        f"R-BC-2 ({args.rounds} rounds, production Argon2id): wrong PIN median {a * 1000:.1f} ms, "
        f"unknown user median {b * 1000:.1f} ms, ratio {max(a, b) / min(a, b):.2f} "
        "(the unit suite used to require < 1.5)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark (not a test): Lån og reserveringer with 10 libraries vs 1, each answering in 200 ms.

Issue 12's goal: the page for a user at 10 libraries takes at most 1.5 x the page for a user at
1 library, because the libraries are asked at once (the fan-out), and the same with the
libraries behind SIP2 (one pysip2-based test server per library on loopback).

    .venv/bin/python -m bench.circulation             # print the figures
    .venv/bin/python -m bench.circulation --record    # and append them to bench/RESULTS.md

Runs in a private temporary directory (SQLite file database): migrate, then 10 public libraries
whose simulated systems answer each call after ``--latency-ms`` (200), a borrower at each with 3
loans, 1 reservation and 1 debt, and two CULR patrons: one registered at 1 library, one at all
10. Each round GETs /laan-og-reserveringer/ as each of them (order alternating), through Django's
whole request path (middleware, session, view, fan-out, template). In-process, the simulated
libraries' own database work runs in the portal's process (their CPU competes with the page's);
over SIP2 the servers run in a process of their own, as a library's system would. There, every
SIP2 message that reads the borrower's status waits the latency in the simulator behind the
server (a SIP2 user status is 5 such messages: the look-up, then one per list), so a library
answers in about 5 x 200 ms there; the ratio is what counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

LIBRARIES = 10
RESULTS = Path(__file__).with_name("RESULTS.md")


def _agency_ids() -> list[str]:
    """The public libraries (``7<municipality>00``) of the first real municipalities."""
    from biblogin.registry.municipalities import MUNICIPALITIES

    return [f"7{number:03d}00" for number in sorted(MUNICIPALITIES)[:LIBRARIES]]


def _setup(latency_ms: int) -> dict[str, str]:
    """Create the libraries, borrowers and patrons; return the patron guid per case."""
    from django.utils import timezone

    from biblogin.integrations.library_systems import services as simulated
    from biblogin.patrons.selectors import patron_get_by_cpr
    from biblogin.patrons.services import account_create
    from biblogin.registry.services import agency_create

    today = timezone.localdate()
    one, ten = "0101014001", "0101014002"
    for i, agency_id in enumerate(_agency_ids()):
        agency_create(
            agency_id=agency_id,
            name=f"Bench Bibliotek {i + 1:02d}",
            agency_type="FOLKEBIBLIOTEK",
            municipality_no=int(agency_id[1:4]),
            provides_user_status=True,
        )
        simulated.simulated_system_configure(agency_id=agency_id, latency_ms=latency_ms)
        for cpr in (one, ten) if i == 0 else (ten,):
            borrower = simulated.simulated_borrower_create(
                agency_id=agency_id, name=f"Bench {cpr[-1]}", pin="1234", cpr=cpr
            )
            for n in range(3):
                simulated.simulated_loan_add(
                    borrower=borrower,
                    title=f"Bog {n + 1} fra bibliotek {i + 1}",
                    due_date=today + dt.timedelta(days=n * 7 - 2),
                )
            simulated.simulated_reservation_add(
                borrower=borrower, title=f"Reservering fra bibliotek {i + 1}", queue_position=2
            )
            simulated.simulated_debt_add(borrower=borrower, title="Gebyr", amount_dkk=Decimal("10"))
            account_create(agency_id=agency_id, cpr=cpr)
    guids = {}
    for case, cpr in (("1 library", one), (f"{LIBRARIES} libraries", ten)):
        patron = patron_get_by_cpr(cpr=cpr)
        assert patron is not None
        guids[case] = str(patron.guid)
    return guids


def _client_for(guid: str) -> Any:
    from django.conf import settings
    from django.test import Client

    from biblogin.portal.identity import Identity
    from biblogin.portal.session import COOKIE_NAME

    engine = __import__(settings.SESSION_ENGINE, fromlist=["SessionStore"])
    session = engine.SessionStore()
    identity = Identity(
        kind="profile",
        sub=guid,
        idp="borchk",
        agency_id=_agency_ids()[0],
        user_id="bench",
        guid=guid,
        name="Bench",
        blocked=False,
        culr_data_omitted=False,
        auth_time=int(time.time()),
        acr="",
        municipality=None,
    )
    session["identity"] = identity.to_session()
    session.save()
    client = Client(HTTP_HOST="localhost")
    client.cookies[COOKIE_NAME] = session.session_key
    return client


@dataclass
class Figures:
    medians: dict[str, float]
    p90: dict[str, float]
    loans: dict[str, int]

    @property
    def ratio(self) -> float:
        cases = list(self.medians)
        return self.medians[cases[1]] / self.medians[cases[0]]


def _measure(guids: dict[str, str], *, rounds: int) -> Figures:
    import re

    clients = {case: _client_for(guid) for case, guid in guids.items()}
    times: dict[str, list[float]] = {case: [] for case in guids}
    loans: dict[str, int] = {}
    cases = list(guids)
    for case in cases:  # warm-up: connections, templates, the thread pool
        clients[case].get("/laan-og-reserveringer/")
    for r in range(rounds):
        for case in cases if r % 2 == 0 else reversed(cases):
            started = time.perf_counter()
            response = clients[case].get("/laan-og-reserveringer/")
            times[case].append(time.perf_counter() - started)
            body = response.content.decode()
            assert response.status_code == 200, response.status_code
            assert "Vi kunne ikke hente" not in body, f"a library did not answer ({case})"
            match = re.search(r'id="loans-heading">[^<(]*\((\d+)\)', body)
            loans[case] = int(match.group(1)) if match else -1
    return Figures(
        medians={c: statistics.median(t) for c, t in times.items()},
        p90={c: sorted(t)[max(0, int(len(t) * 0.9) - 1)] for c, t in times.items()},
        loans=loans,
    )


def _serve_sip2() -> None:
    """In a separate process (the libraries' side): one SIP2 server per library; ports on stdout."""
    import json

    from biblogin.integrations.library_systems.sip2.testserver import Sip2TestServer

    servers = []
    for i, agency_id in enumerate(_agency_ids()):
        server = Sip2TestServer(
            agency_id=agency_id,
            institution_id=f"BENCH{i}",
            login_user="bench",
            login_password="bench-secret",
        )
        server.start()
        servers.append(server)
    print(json.dumps({s.agency_id: s.port for s in servers}), flush=True)
    sys.stdin.read()  # until the bench closes our stdin
    for server in servers:
        server.stop()


def _over_sip2() -> subprocess.Popen[str]:
    """Start the libraries' SIP2 servers in their own process and point the registry at them.

    Their own process, as a real ILS is: the simulator's database work behind each server then
    does not compete with the portal for this process's interpreter.
    """
    import json

    from biblogin.integrations.library_systems.services import sip2_configuration_save

    process = subprocess.Popen(
        [sys.executable, "-m", "bench.circulation", "--serve-sip2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=RESULTS.parent.parent,
        env=os.environ.copy(),
    )
    assert process.stdout is not None
    ports = json.loads(process.stdout.readline())
    for i, agency_id in enumerate(_agency_ids()):
        sip2_configuration_save(
            agency_id=agency_id,
            host="127.0.0.1",
            port=ports[agency_id],
            institution_id=f"BENCH{i}",
            login_user="bench",
            login_password="bench-secret",
        )
    return process


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, check=True, cwd=RESULTS.parent
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--serve-sip2", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_sip2:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        _serve_sip2()
        return 0

    tmp = tempfile.mkdtemp(prefix="bench-circulation-")
    os.environ["BIBLOGIN_VAR_DIR"] = tmp
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(RESULTS.parent.parent))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    started = time.perf_counter()
    guids = _setup(args.latency_ms)
    setup_s = time.perf_counter() - started

    simulator = _measure(guids, rounds=args.rounds)
    from biblogin.integrations.library_systems.sip2.client import clients_close

    libraries = _over_sip2()
    try:
        sip2 = _measure(guids, rounds=args.rounds)
    finally:
        clients_close()
        assert libraries.stdin is not None
        libraries.stdin.close()
        libraries.wait(timeout=60)

    cases = list(guids)
    lines = [
        f"## Lån og reserveringer: {LIBRARIES} libraries vs 1 "
        f"({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        "`python -m bench.circulation` (bench/circulation.py), code "
        f"{_git('rev-parse', '--short', 'HEAD')}, {platform.machine()} with {os.cpu_count()} "
        "cores, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; SQLite; each simulated library call "
        f"waits {args.latency_ms} ms; {args.rounds} rounds, interleaved; set-up {setup_s:.1f} s.",
        "",
        "| libraries reached | "
        + " | ".join(f"{c}: median (p90)" for c in cases)
        + f" | ratio {cases[1]} ÷ {cases[0]} | goal |",
        "|---|---|---|---|---|",
    ]
    for name, figures in (
        ("in-process simulator", simulator),
        ("over SIP2 (pysip2 servers in their own process)", sip2),
    ):
        lines.append(
            f"| {name} | "
            + " | ".join(
                f"{figures.medians[c] * 1000:.0f} ms ({figures.p90[c] * 1000:.0f} ms), "
                f"{figures.loans[c]} loans"
                for c in cases
            )
            + f" | **{figures.ratio:.2f}** | ≤ 1.5: {'met' if figures.ratio <= 1.5 else 'missed'} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.record:
        with RESULTS.open("a") as out:
            out.write("\n" + text)
    ok = simulator.ratio <= 1.5 and sip2.ratio <= 1.5
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

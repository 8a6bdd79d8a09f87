"""Deliver the borrowers of one or every ``culr_sync`` agency to CULR (R-CULR-2)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from biblogin.common.errors import ApplicationError
from biblogin.culrsync.services import culr_sync_agency, culr_sync_all


class Command(BaseCommand):
    help = "Lever lånere fra bibliotekernes systemer til CULR (alle med culr_sync, eller ét)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--agency", metavar="BIBLIOTEKSNUMMER", help="Kun dette bibliotek, fx 710100."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        agency_id = options.get("agency")
        if agency_id is not None:
            try:
                reports = [culr_sync_agency(agency_id=agency_id)]
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
        else:
            reports = culr_sync_all()
        failed = [r for r in reports if r.error]
        for report in reports:
            if report.error:
                self.stderr.write(report.summary())
            else:
                self.stdout.write(report.summary())
        if failed:
            raise CommandError(f"{len(failed)} af {len(reports)} leveringer mislykkedes.")

"""Load or refresh the demo data set."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from biblogin.demo.services import demo_load


class Command(BaseCommand):
    help = (
        "Load or refresh the demo data set (agencies, borrowers, CULR, clients, staff); idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default=None, help="base URL of the demo clients")

    def handle(self, *args: Any, **options: Any) -> None:
        summary = demo_load(base_url=options["base_url"])
        self.stdout.write(
            f"Demo data loaded: {summary.agencies} agencies, {summary.branches} branches, "
            f"{summary.borrowers} library registrations, {summary.patrons_in_culr} CULR patrons, "
            f"{summary.manifestations} catalogue manifestations."
        )

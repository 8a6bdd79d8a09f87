"""Add a synthetic catalogue for benchmarks."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from biblogin.catalogue.bulkload import catalogue_bulkload


class Command(BaseCommand):
    help = "Add N synthetic manifestations (works of 1-4, holdings at the demo branches)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True, help="manifestations to add")
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed (same seed, same data)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count = options["count"]
        if not 1 <= count <= 20_000_000:
            raise CommandError("--count must be between 1 and 20000000")
        started = time.monotonic()
        result = catalogue_bulkload(count=count, seed=options["seed"])
        self.stdout.write(
            f"Added {result.manifestations} manifestations in {result.works} works with "
            f"{result.holdings} holdings in {time.monotonic() - started:.1f} s."
        )

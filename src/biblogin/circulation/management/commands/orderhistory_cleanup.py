"""Delete orders older than 30 days unless the profile consented to longer storage."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from biblogin.circulation.history import order_history_cleanup


class Command(BaseCommand):
    help = "Delete orders older than 30 days whose profile has not consented (R-PORTAL-18)."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = order_history_cleanup()
        self.stdout.write(f"{deleted} orders older than 30 days deleted")

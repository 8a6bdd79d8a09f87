"""Delete old login records (and expired tokens, throttling counters): run daily, e.g. from cron.

Here, above both ``login`` and django-oauth-toolkit's tokens: only this layer knows which login
records a live refresh token still relies on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from oauth2_provider.models import clear_expired

from biblogin.borrowercheck.throttling import throttle_rows_purge
from biblogin.login.services import authentications_purge
from biblogin.oidc.selectors import authentications_in_use


class Command(BaseCommand):
    help = "Delete expired tokens and login records no session or refresh token needs any more."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=0, help="keep logins this many days (default: session age)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        clear_expired()
        days = int(options["days"])
        keep = (
            dt.timedelta(days=days)
            if days > 0
            else dt.timedelta(seconds=int(settings.SESSION_COOKIE_AGE))
        )
        deleted = authentications_purge(older_than=keep, in_use=authentications_in_use())
        self.stdout.write(f"{deleted} old login records deleted")
        # R-LOGIN-5: counters past their memory count as absent already; this frees the rows.
        self.stdout.write(f"{throttle_rows_purge()} expired throttling counters deleted")

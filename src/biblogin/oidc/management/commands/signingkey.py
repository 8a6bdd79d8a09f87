"""Show, rotate or import the RS256 signing key of the login platform's ID tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from biblogin.oidc import keys
from biblogin.oidc.models import SigningKey


class Command(BaseCommand):
    help = "Show the signing keys; --rotate makes a new active key (or --import-pem FILE)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rotate", action="store_true", help="make a new active key")
        parser.add_argument("--import-pem", type=Path, help="rotate to this RSA private key (PEM)")

    def handle(self, *args: Any, **options: Any) -> None:
        pem_path: Path | None = options["import_pem"]
        if pem_path is not None or options["rotate"]:
            try:
                pem = pem_path.read_bytes() if pem_path is not None else None
                new = keys.signing_key_rotate(pem=pem, actor="cli")
            except (OSError, ValueError) as error:
                raise CommandError(f"no new key: {error}") from error
            self.stdout.write(f"active signing key: {new.kid}")
        keys.signing_key_active()
        keys.signing_keys_expire()
        for row in SigningKey.objects.all():
            self.stdout.write(f"{row.kid}  {row.state}  {row.created_at:%Y-%m-%d %H:%M}")

"""Run the production server: gunicorn with threaded workers and the WSGI application."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


def gunicorn_argv(*, host: str, port: int, workers: int, threads: int) -> list[str]:
    """Return the command line that starts gunicorn for this project."""
    # gthread with headroom: in the embedded set-up the portal's back-channel calls to the
    # login platform are served by the same pool (DESIGN.md "One process, two roles").
    return [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"{host}:{port}",
        "--worker-class", "gthread",
        "--workers", str(workers),
        "--threads", str(threads),
        "--timeout", "60",
        "--graceful-timeout", "10",
        "--access-logfile", "-",
        "--forwarded-allow-ips", os.environ.get("BIBLOGIN_FORWARDED_ALLOW_IPS", "127.0.0.1"),
    ]  # fmt: skip


class Command(BaseCommand):
    help = "Run the production server (gunicorn, several threaded workers)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("BIBLOGIN_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("BIBLOGIN_WORKERS", "0")) or None,
            help="worker processes (default: 2 x CPU cores + 1)",
        )  # fmt: skip
        parser.add_argument("--threads", type=int, default=8, help="threads per worker")

    def handle(self, *args: Any, **options: Any) -> None:
        workers = options["workers"] or (2 * (os.cpu_count() or 1) + 1)
        argv = gunicorn_argv(
            host=options["host"], port=options["port"], workers=workers, threads=options["threads"]
        )
        os.execv(sys.executable, argv)  # noqa: S606 - replace this process with gunicorn

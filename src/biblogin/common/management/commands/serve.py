"""Run the production server: granian worker processes, each with a pool of threads for Django.

Granian reads every request whole (headers and body) on its event loop before a thread runs
the WSGI application (``biblogin.common.server``): slow clients cost no threads.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

# Seconds a client gets to send its request headers (slowloris); the body has its own deadline.
HEADER_TIMEOUT_MS = 10_000


def default_workers() -> int:
    """One worker process per core this process may run on (issue 14, bench/RESULTS.md).

    Not gunicorn's 2 x cores + 1: a request here already passes through several threads of one
    process (granian's runtime, the event loop, a pool thread) that take the GIL in turn, and
    more processes than cores only add switches between them. On 2 cores, 2 workers instead of
    5 cost 8-20 % less CPU per refresh and userinfo in every A/B (SQLite: 2.47 vs 2.94 ms and
    0.93 vs 1.12 ms; PostgreSQL + Redis: 3.56 vs 4.19 ms and 1.81 vs 2.26 ms).
    Blocking work (Argon2, which releases the GIL; a library's answer) waits in the 8 threads of
    each worker, so fewer processes do not mean fewer logins in flight.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores)


def serve_argv(*, host: str, port: int, workers: int, threads: int) -> list[str]:
    """Return the command line of ``biblogin serve`` with these options (for the demo, tests)."""
    return [
        sys.executable, "-m", "biblogin", "serve", "--host", host, "--port", str(port),
        "--workers", str(workers), "--threads", str(threads),
    ]  # fmt: skip


def granian_argv(*, host: str, port: int, workers: int) -> list[str]:
    """Return the command line that starts granian for this project."""
    return [
        sys.executable, "-m", "granian", "biblogin.common.server:application",
        "--interface", "rsgi",
        "--host", host,
        "--port", str(port),
        "--workers", str(workers),
        "--http", "1",  # TLS and HTTP/2 end at the reverse proxy (README "Production")
        "--no-ws",
        "--http1-header-read-timeout", str(HEADER_TIMEOUT_MS),
        "--respawn-failed-workers",
        "--workers-kill-timeout", "10",
        "--no-access-log",  # access lines come from biblogin.access, through LOGGING
    ]  # fmt: skip


def port_taken(host: str, port: int) -> bool:
    """Whether something already listens on host:port (so a server of ours could not bind it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


class Command(BaseCommand):
    help = "Run the production server (granian, worker processes with threads)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("BIBLOGIN_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("BIBLOGIN_WORKERS", "0")) or None,
            help="worker processes (default: one per CPU core)",
        )  # fmt: skip
        parser.add_argument(
            "--threads", type=int, default=int(os.environ.get("BIBLOGIN_THREADS", "8")),
            help="threads per worker",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        if port_taken(host, port):
            raise CommandError(
                f"Port {port} on {host} is taken: stop what runs there, or --port N."
            )
        workers = options["workers"] or default_workers()
        argv = granian_argv(host=host, port=port, workers=workers)
        env = {**os.environ, "BIBLOGIN_THREADS": str(options["threads"])}
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        # Two malloc arenas per process: Argon2's 19 MiB per PIN check in thread after thread
        # otherwise faults in fresh pages of another arena (issue 14: ~4 ms more per verify).
        env.setdefault("MALLOC_ARENA_MAX", "2")
        os.execve(sys.executable, argv, env)  # noqa: S606 - replace this process with granian

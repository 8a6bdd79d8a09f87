"""Prepare the database, load the demo data, start the test MitID broker and the server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from biblogin.common.management.commands.serve import default_workers, port_taken, serve_argv
from biblogin.demo.guide import demo_guide
from biblogin.demo.sip2 import demo_sip2_start


class Command(BaseCommand):
    help = (
        "Start the demo: migrate, load the demo data, start the test MitID broker and the "
        "server (granian) on http://localhost:8000, and print a short guide."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--broker-port", type=int, default=9400)
        # The production server's default (one per core; ``serve.default_workers`` says why).
        parser.add_argument("--workers", type=int, default=default_workers())
        parser.add_argument(
            "--sip2-port", type=int, default=0, help="port of the demo's SIP2 server (0: any free)"
        )
        parser.add_argument(
            "--no-wait", action="store_true", help="start, print the guide and stop (for tests)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port, broker_port = options["port"], options["broker_port"]
        # Checked first: a server already there would answer our readiness checks instead.
        for what, number, option in (
            ("demo server", port, "--port N (make demo PORT=N)"),
            ("test MitID broker", broker_port, "--broker-port N (make demo BROKER_PORT=N)"),
            ("demo SIP2 server", options["sip2_port"], "--sip2-port N (0: any free port)"),
        ):
            if port_taken("127.0.0.1", number):
                raise CommandError(
                    f"Port {number} is taken, so the {what} cannot start there. Stop what runs "
                    f"on it, or choose another port: {option}."
                )
        if port == broker_port:
            raise CommandError("The demo server and the test MitID broker need two ports.")
        base_url = f"http://localhost:{port}"
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("loaddemo", base_url=base_url, stdout=self.stdout)
        # One demo library over real SIP2 (a pysip2 server on loopback), in this process.
        sip2 = demo_sip2_start(port=options["sip2_port"])

        env = {
            **os.environ,
            "BIBLOGIN_BASE_URL": base_url,
            "BIBLOGIN_SECURE_COOKIES": "0",
            "BIBLOGIN_MITID_ISSUER": f"http://127.0.0.1:{broker_port}",
        }
        children = [
            subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [
                    sys.executable,
                    "-m",
                    "biblogin.integrations.mitid_broker.testbroker",
                    "--port",
                    str(broker_port),
                    "--client-id",
                    settings.MITID_CLIENT_ID,
                    "--client-secret",
                    settings.MITID_CLIENT_SECRET,
                    "--redirect-uri",
                    base_url + reverse("login:mitid-callback"),
                ],
                env=env,
            ),
            subprocess.Popen(  # noqa: S603
                serve_argv(host="127.0.0.1", port=port, workers=options["workers"], threads=8),
                env=env,
            ),
        ]
        try:
            _wait_until_answering(f"http://127.0.0.1:{port}/admin/login/", children)
            _wait_until_answering(
                f"http://127.0.0.1:{broker_port}/.well-known/openid-configuration", children
            )
            self.stdout.write(
                demo_guide(base_url=base_url, broker_port=broker_port, sip2_address=sip2.address)
            )
            if options["no_wait"]:
                return
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
            sip2.stop()


def _wait_until_answering(url: str, children: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            raise SystemExit("A demo process stopped while starting; see the output above.")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback URL of ours
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within 60 s")

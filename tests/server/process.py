"""The production server as a process of its own (``biblogin serve``, as the demo starts it), on
the test database: for the tests of DESIGN.md "One process, two roles" and of slow clients."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from biblogin.common.management.commands.serve import serve_argv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url() -> str:
    """The test database, as a URL for a server process of its own."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def _wait_until_answering(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the test server stopped while starting")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within 60 s")


@pytest.fixture
def production_site(transactional_db: None) -> Iterator[Callable[..., str]]:
    """Start ``biblogin serve`` on loopback, test database, demo data; return its URL."""
    from biblogin.demo.services import demo_load

    processes: list[subprocess.Popen[bytes]] = []

    def start(
        *, workers: int, threads: int, env: dict[str, str] | None = None, log: Path | None = None
    ) -> str:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        demo_load(base_url=base_url)  # the portal's redirect URI at this server's address
        environ = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(),
            # This pytest-xdist worker's Redis database (config.settings_test), not the base one.
            **({"REDIS_URL": settings.REDIS_URL} if settings.REDIS_URL else {}),
            "BIBLOGIN_BASE_URL": base_url,
            "BIBLOGIN_SECURE_COOKIES": "0",
            "BIBLOGIN_LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        # BIBLOGIN_LOG_LEVEL=WARNING: no access lines, they would drown the test output.
        argv = serve_argv(host="127.0.0.1", port=port, workers=workers, threads=threads)
        out = log.open("wb") if log else None
        process = subprocess.Popen(
            argv,
            env=environ,
            cwd=settings.BASE_DIR,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
        )
        processes.append(process)
        _wait_until_answering(f"{base_url}/log-ind/", process)
        return base_url

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

"""The `biblogin` command line: help for each command, and the demo really serving."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

BIBLOGIN = [sys.executable, "-m", "biblogin"]


def _run(
    *args: str, env: dict[str, str] | None = None, timeout: int = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BIBLOGIN, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_help_lists_the_three_commands() -> None:
    result = _run("--help")
    assert result.returncode == 0
    for command in ("demo", "serve", "loaddemo"):
        assert f"  {command}" in result.stdout


@pytest.mark.parametrize(
    ("command", "expected"),
    [("demo", "--broker-port"), ("serve", "--workers"), ("loaddemo", "--base-url")],
)
def test_each_command_has_its_own_help(command: str, expected: str) -> None:
    result = _run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


def test_demo_starts_the_server_and_the_broker_and_prints_the_guide(tmp_path: Path) -> None:
    """From an empty var/ directory: migrate, load, serve, guide (the README's `make demo`)."""
    port, broker_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {"BIBLOGIN_VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    result = _run(
        "demo", "--port", str(port), "--broker-port", str(broker_port), "--workers", "1",
        "--no-wait", env=env, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    guide = result.stdout
    assert f"http://localhost:{port}/admin/" in guide
    assert "Anna Andersen" in guide and "PIN 1234" in guide
    assert "admin / biblogin-admin" in guide and "campussyd / campussyd-staff" in guide
    assert "Starting granian" in result.stdout + result.stderr


@pytest.mark.parametrize("busy", ["--port", "--broker-port"])
def test_demo_on_a_taken_port_says_so_and_exits_non_zero(busy: str) -> None:
    """`biblogin demo` used to print the guide and exit 0 when another server held its port
    (that server answered the readiness check); it must name the port and fail instead."""
    ports = {"--port": _free_port(), "--broker-port": _free_port()}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports[busy]))
        taken.listen()
        result = _run("demo", *(str(a) for kv in ports.items() for a in kv), "--no-wait")
    assert result.returncode != 0
    assert f"Port {ports[busy]} is taken" in result.stderr, result.stderr[-2000:]
    assert "guide" not in result.stdout.lower() and "Anna Andersen" not in result.stdout
    hint = "make demo PORT=N" if busy == "--port" else "make demo BROKER_PORT=N"
    assert hint in result.stderr


def test_serve_on_a_taken_port_says_so_and_exits_non_zero() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run("serve", "--port", str(port), "--workers", "1")
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is taken" in result.stderr


def test_make_demo_takes_a_port_and_the_readme_says_so() -> None:
    """`make demo PORT=8100` starts the demo on 8100 (dry run: make prints the command)."""
    root = Path(__file__).resolve().parent.parent
    dry = subprocess.run(
        ["make", "-n", "demo", "PORT=8100", "BROKER_PORT=9401"],
        cwd=root, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert "biblogin demo --port 8100 --broker-port 9401" in dry.stdout
    readme = (root / "README.md").read_text()
    assert "make demo PORT=8100" in readme
    production = readme.split("## Production", 1)[1].split("\n## ", 1)[0]
    for needed in ("deploy/nginx.conf", "proxy_request_buffering", "BIBLOGIN_TRUSTED_PROXY_COUNT"):
        assert needed in production

"""Start and stop what a benchmark run needs: databases, our server, the peer; measure their CPU.

Every process started here is stopped here, by its own process group; every database and Redis
key created here is removed at the end of the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
PEER_DIR = REPO / "bench" / "peers"
BIN = Path(sys.executable).parent
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """A step of the run failed; the message says which and shows the tail of its output."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prerequisites(*, postgres: bool) -> None:
    """Fail at once, with what to do, when something the run needs is missing."""
    if shutil.which("node") is None:
        raise BenchError("Node.js is missing: the peer needs node >= 20 (apt-get install nodejs)")
    if not (PEER_DIR / "node_modules" / "oidc-provider").exists():
        raise BenchError("the peer is not installed: run 'cd bench/peers && npm ci' first")
    needed = [("Redis", 6379)] + ([("PostgreSQL", 5432)] if postgres else [])
    for name, port in needed:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            raise BenchError(f"{name} is not answering on 127.0.0.1:{port}") from None


def run_checked(argv: list[str], *, env: Mapping[str, str], what: str, timeout: float = 900) -> str:
    """Run a command to completion; return its stdout, or raise with the tail of its output."""
    try:
        done = subprocess.run(
            argv, env=dict(env), cwd=REPO, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{what}: no result within {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-2000:]
        raise BenchError(f"{what} failed (exit {done.returncode}):\n{tail}")
    return done.stdout


# --- CPU of a process tree -------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def process_tree(root: int) -> list[int]:
    """Return the process and all its descendants."""
    tree, found, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(tree.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds these processes have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / _CLOCK_TICKS


def thread_cpu_seconds(pids: list[int]) -> dict[str, float]:
    """CPU seconds so far of these processes' live threads, by role (``biblogin serve``'s names).

    ``loop``: a worker's main thread (granian's asyncio loop: environ, access line, hand-off);
    ``lean``/``pool``: the lean path's and Django's threads (named by ``biblogin.common.server``);
    ``granian``: every other thread (granian's Rust runtime: sockets, HTTP parsing).
    Threads that ended are not counted (the process totals of ``cpu_seconds`` include them).
    """
    out: dict[str, float] = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat.rsplit(")", 1)[1].split()
            role = (
                "loop" if tid == str(pid)
                else "lean" if comm.startswith("biblogin_lean")
                else "pool" if comm.startswith("biblogin_")
                else "granian"
            )  # fmt: skip
            out[role] = out.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    return out


def loadavg() -> tuple[float, float, float]:
    return os.getloadavg()


# --- our server ------------------------------------------------------------------------------


@dataclass
class Server:
    """``biblogin serve`` (granian worker processes with threads) on loopback, own database."""

    name: str
    env: dict[str, str]
    port: int
    workers: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    pids: list[int] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 60) -> None:
        argv = [str(BIN / "biblogin"), "serve", "--port", str(self.port)]
        argv += ["--workers", str(self.workers)]
        with self.log.open("wb") as out:
            # Its own session: stopping the run stops the server and every worker, nothing else.
            self.proc = subprocess.Popen(
                argv, env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        url = f"{self.base_url}/login/.well-known/openid-configuration"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"server {self.name} exited:\n{self.log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise BenchError(f"server {self.name} not ready within {timeout:.0f} s")
        # Wait until every worker has booted (they start one by one).
        while time.monotonic() < deadline and len(process_tree(self.proc.pid)) < self.workers + 1:
            time.sleep(0.1)
        self.pids = process_tree(self.proc.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pids)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def errors_logged(self) -> int:
        """Count tracebacks and 5xx answers in the server's log."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.count("Traceback (most recent call last)") + sum(
            1 for line in text.splitlines() if '" 50' in line
        )


# --- the peer --------------------------------------------------------------------------------


@dataclass
class Peer:
    """node-oidc-provider in production mode with its cluster of workers (bench/peers)."""

    port: int
    workers: int
    redis_url: str
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    pids: list[int] = field(default_factory=list)
    client_id: str = "bench"
    client_secret: str = "bench-secret"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 30) -> None:
        if not (PEER_DIR / "node_modules" / "oidc-provider").exists():
            raise BenchError("the peer is not installed: run 'cd bench/peers && npm ci' first")
        env = {
            **os.environ,
            "NODE_ENV": "production",
            "PORT": str(self.port),
            "WORKERS": str(self.workers),
            "REDIS_URL": self.redis_url,
            "BENCH_CLIENT_SECRET": self.client_secret,
        }
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                ["node", "oidc-peer.mjs"], cwd=PEER_DIR, env=env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"peer exited:\n{self.log.read_text()[-2000:]}")
            if '"event":"ready"' in self.log.read_text(errors="replace"):
                break
            time.sleep(0.1)
        else:
            raise BenchError(f"peer not ready within {timeout:.0f} s")
        self.pids = process_tree(self.proc.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pids)

    def stop(self) -> dict[str, object]:
        """Stop the cluster (its primary deletes the run's Redis keys); return its last words."""
        if self.proc is None or self.proc.poll() is not None:
            return {}
        self.proc.send_signal(signal.SIGTERM)  # the primary stops its workers itself
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        for line in reversed(self.log.read_text(errors="replace").splitlines()):
            if '"event":"stopped"' in line:
                return dict(json.loads(line))
        return {}

    def version(self) -> str:
        pkg = PEER_DIR / "node_modules" / "oidc-provider" / "package.json"
        return str(json.loads(pkg.read_text())["version"]) if pkg.exists() else "?"


# --- databases -------------------------------------------------------------------------------


def sqlite_copy(source: Path, target: Path) -> None:
    """Copy a SQLite database in WAL mode: checkpoint first, so the file holds everything."""
    with contextlib.closing(sqlite3.connect(source)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(source, target)


@contextlib.contextmanager
def postgres_databases(admin_url: str, names: list[str]) -> Iterator[None]:
    """Drop these databases (if left over) before and after the block."""
    import psycopg

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    drop()
    try:
        yield
    finally:
        drop()


def postgres_create(admin_url: str, name: str, *, template: str | None = None) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if template:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            conn.execute(f'CREATE DATABASE "{name}"')


def redis_purge(url: str, prefix: str) -> int:
    """Delete the run's keys (Django's cache keys start with its KEY_PREFIX)."""
    import redis

    client = redis.Redis.from_url(url)
    deleted = 0
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        deleted += int(client.delete(key))
    client.close()
    return deleted

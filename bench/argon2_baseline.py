"""The physical limit of a PIN login: Argon2id verifies of one stored PIN hash, nothing else.

A process pool of N workers (N = the cores the server may use) verifies the same hash the bench
borrowers have, with the project's own hasher (``biblogin.integrations.library_systems.pins``,
OWASP parameters m=19456 KiB, t=2, p=1). Started once and kept warm; measured between the login
measurements of the same run.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any


def _warm() -> None:
    from biblogin.integrations.library_systems import pins  # noqa: F401 - import once per worker


def _verify_for(stored_hash: str, pin: str, count: int, seconds: float) -> tuple[int, float, bool]:
    """Verify up to ``count`` times or until ``seconds`` pass; return (done, CPU s, all matched)."""
    from biblogin.integrations.library_systems.pins import pin_verify

    deadline = time.perf_counter() + seconds
    cpu = time.process_time()
    done, matched = 0, True
    while done < count and time.perf_counter() < deadline:
        matched = pin_verify(stored_hash=stored_hash, pin=pin) and matched
        done += 1
    return done, time.process_time() - cpu, matched


@dataclass
class Argon2Result:
    workers: int
    verifies: int
    wall_s: float
    cpu_s: float
    matched: bool

    @property
    def per_s(self) -> float:
        return self.verifies / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def cpu_ms_per_verify(self) -> float:
        return 1000 * self.cpu_s / self.verifies if self.verifies else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "phase": "argon2",
            "workers": self.workers,
            "ok": self.verifies,
            "errors": 0 if self.matched else 1,
            "wall_s": round(self.wall_s, 3),
            "per_s": round(self.per_s, 2),
            "per_s_per_core": round(self.per_s / self.workers, 2),
            "cpu_ms_per_verify": round(self.cpu_ms_per_verify, 2),
        }


class Argon2Pool:
    """A warm pool of ``workers`` processes that verify one PIN hash as fast as they can."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers, initializer=_warm)
        # Start every worker now, so that no measurement pays for a process start.
        list(self._pool.map(_noop, range(workers)))

    def measure(
        self, *, stored_hash: str, pin: str, verifies: int, max_seconds: float
    ) -> Argon2Result:
        """Verify ``verifies`` times in all (split over the workers) or until the deadline."""
        share = max(1, verifies // self.workers)
        started = time.perf_counter()
        futures = [
            self._pool.submit(_verify_for, stored_hash, pin, share, max_seconds)
            for _ in range(self.workers)
        ]
        results = [f.result() for f in futures]
        wall = time.perf_counter() - started
        return Argon2Result(
            workers=self.workers,
            verifies=sum(r[0] for r in results),
            wall_s=wall,
            cpu_s=sum(r[1] for r in results),
            matched=all(r[2] for r in results),
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _noop(_index: int) -> None:
    return None

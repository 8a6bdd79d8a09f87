"""A module's own clock, moved forward: no global patch of ``time.time``.

``mock.patch.object(module.time, "time")`` replaces ``time.time`` for the whole process (every
thread, Django, the cache, pytest itself); this replaces only the module's reference to ``time``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType, SimpleNamespace
from unittest import mock


class _ShiftedTime(SimpleNamespace):
    def __getattr__(self, name: str) -> object:
        return getattr(time, name)  # monotonic, sleep, …: the real ones


@contextmanager
def clock_moved(module: ModuleType, *, seconds: float) -> Iterator[None]:
    """Within the block, ``module`` sees ``time.time()`` ``seconds`` later than it is."""
    shifted = _ShiftedTime(time=lambda: time.time() + seconds)
    with mock.patch.object(module, "time", shifted):
        yield

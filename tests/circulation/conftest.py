"""Circulation tests: the demo data set; fan-outs inline (the test's own transaction)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def inline_fanout(settings: Any) -> None:
    """Ask the libraries one after the other in the test's thread: they see its data."""
    settings.LIBRARY_FANOUT_INLINE = True

"""Calling the user's library systems: find the borrower there, then ask, under R-BC-6's guard."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from biblogin.borrowercheck.guard import library_call
from biblogin.integrations.library_systems.protocol import (
    Borrower,
    BorrowerNotFound,
    LibrarySystem,
    LibrarySystemTimeout,
)
from biblogin.integrations.library_systems.selectors import library_system_for

T = TypeVar("T")


def circulation_timeout() -> float:
    """Each library's limit for one page's worth of calls (settings)."""
    return float(settings.CIRCULATION_LIBRARY_TIMEOUT_SECONDS)


def circulation_deadline() -> float:
    """The whole fan-out's limit: a page never waits longer for its slowest library."""
    return float(settings.CIRCULATION_DEADLINE_SECONDS)


def with_borrower(
    agency_id: str,
    user_ids: tuple[str, ...],
    ask: Callable[[LibrarySystem, Borrower, float], T],
    *,
    timeout: float,
    system_for: Callable[[str], LibrarySystem] = library_system_for,
) -> T:
    """Find the user at the library (the first of their IDs it knows), then ``ask`` it.

    The whole exchange shares ``timeout``; each call holds one of the agency's bulkhead slots
    under its circuit breaker (R-BC-6), so a failing library is not asked again and again.
    Raises ``BorrowerNotFound`` when the library knows none of the IDs.
    """
    ends = time.monotonic() + timeout
    system = system_for(agency_id)

    def left() -> float:
        remaining = ends - time.monotonic()
        if remaining <= 0:
            raise LibrarySystemTimeout(f"library system {agency_id} took too long")
        return remaining

    borrower: Borrower | None = None
    for user_id in user_ids:
        try:
            budget = left()
            with library_call(agency_id, timeout=budget):
                borrower = system.lookup(user_id=user_id, timeout=budget)
            break
        except BorrowerNotFound:
            continue
    if borrower is None:
        raise BorrowerNotFound("none of the user's IDs is known here")
    budget = left()
    with library_call(agency_id, timeout=budget):
        return ask(system, borrower, budget)

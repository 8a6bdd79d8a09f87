"""What the platform needs from a library's own system (ILS), whatever protocol it speaks.

Every call takes an explicit ``timeout`` in seconds and either answers or raises one of the
domain errors below; a real adapter maps its transport's failures onto them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol


class LibrarySystemError(Exception):
    """The library system could not answer."""


class LibrarySystemTimeout(LibrarySystemError):
    """No answer within the timeout."""


class LibrarySystemUnavailable(LibrarySystemError):
    """The library system answered with an error or could not be reached."""


class BorrowerNotFound(LibrarySystemError):
    """Unknown user or wrong PIN: deliberately indistinguishable (R-BC-2)."""


class RequestRefused(LibrarySystemError):
    """The library system refused an action (renew, cancel, request) with a reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Borrower:
    """A borrower as the library system knows them. ``cpr`` is None when the library has none."""

    borrower_ref: str
    name: str
    email: str
    municipality_no: int | None
    blocked: bool
    cpr: str | None = None
    borrower_numbers: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class Loan:
    loan_id: str
    title: str
    due_date: dt.date
    renewable: bool = True


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    title: str
    queue_position: int | None = None
    ready_for_pickup: bool = False
    pickup_branch_id: str = ""
    pickup_expires: dt.date | None = None


@dataclass(frozen=True)
class Debt:
    debt_id: str
    title: str
    amount_dkk: str
    date: dt.date | None = None


@dataclass(frozen=True)
class UserStatus:
    loans: tuple[Loan, ...] = ()
    reservations: tuple[Reservation, ...] = ()
    debts: tuple[Debt, ...] = ()


@dataclass(frozen=True)
class RequestReceipt:
    request_id: str
    queue_position: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


class LibrarySystem(Protocol):
    agency_id: str

    def authenticate(self, *, user_id: str, password: str, timeout: float) -> Borrower:
        """Return the borrower whose ID and PIN these are, else raise ``BorrowerNotFound``."""

    def lookup(self, *, user_id: str, timeout: float) -> Borrower:
        """Return the borrower with this ID (no PIN), else raise ``BorrowerNotFound``."""

    def user_status(self, *, borrower_ref: str, timeout: float) -> UserStatus: ...

    def loan_renew(self, *, borrower_ref: str, loan_id: str, timeout: float) -> Loan: ...

    def reservation_cancel(
        self, *, borrower_ref: str, reservation_id: str, timeout: float
    ) -> None: ...

    def request_place(
        self, *, borrower_ref: str, material_id: str, pickup_branch_id: str, timeout: float
    ) -> RequestReceipt: ...

    def borrowers_export(self) -> Iterator[Borrower]:
        """Yield every borrower, for delivery to CULR by ``culr_sync`` agencies (R-CULR-2)."""

"""What the platform needs from a library's own system (ILS), whatever protocol it speaks.

Split by concern, so each caller depends on only what it uses:

- ``BorrowerAuthentication``: who is this (borrower check, login);
- ``Circulation``: loans, reservations, debts, renewals, requests (the profile, ordering);
- ``BorrowerExport``: every borrower, for delivery to CULR (R-CULR-2).

Every call takes an explicit ``timeout`` in seconds. It either answers, or raises:

- a transport failure, ``LibrarySystemError`` (``LibrarySystemTimeout``,
  ``LibrarySystemUnavailable``): the system did not answer; asking again later may help;
- an answer, ``LibrarySystemAnswer`` (``BorrowerNotFound``, ``RequestRefused``): the system did
  answer, and said no. These are deliberately NOT ``LibrarySystemError``s: a fan-out over
  several libraries must not call "unknown user here" an outage, and a circuit breaker must not
  count a refusal as a failure.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

# An idempotency key: what a caller sends so that a retried request is not placed twice.
IDEMPOTENCY_KEY_MAX_LENGTH = 100
# R-VIP-7: the borrower data a request may carry, by the library's user parameter types (the
# ID types are not among them: the borrower is named by ``borrower_ref``).
BORROWER_DATA_TYPES = frozenset(
    {"userName", "userAddress", "userTelephone", "userDateOfBirth", "userMail"}
)
BORROWER_DATA_MAX_LENGTH = 300


class LibrarySystemError(Exception):
    """The library system could not answer (a transport failure)."""


class LibrarySystemTimeout(LibrarySystemError):
    """No answer within the timeout."""


class LibrarySystemUnavailable(LibrarySystemError):
    """The library system answered with an error or could not be reached."""


class LibrarySystemAnswer(Exception):
    """The library system answered, and the answer is no."""


class BorrowerNotFound(LibrarySystemAnswer):
    """Unknown user or wrong PIN: deliberately indistinguishable (R-BC-2)."""


class RefusalReason(enum.StrEnum):
    """Why a library system refused an action; the portal translates each into a message."""

    LOAN_NOT_FOUND = "loan_not_found"
    NOT_RENEWABLE = "not_renewable"
    BORROWER_BLOCKED = "borrower_blocked"
    RESERVATION_NOT_FOUND = "reservation_not_found"
    MATERIAL_UNKNOWN = "material_unknown"
    PICKUP_BRANCH_UNKNOWN = "pickup_branch_unknown"
    ALREADY_RESERVED = "already_reserved"
    INVALID_REQUEST = "invalid_request"
    # The protocol carried no reason we know; ``detail`` holds the library's own words.
    OTHER = "other"


class RequestRefused(LibrarySystemAnswer):
    """The library system refused an action (renew, cancel, request) for a reason ``code``.

    ``detail`` is the library's own text, if any (a SIP2 screen message): for logs and for
    ``RefusalReason.OTHER``, never instead of the code.
    """

    def __init__(self, code: RefusalReason, detail: str = "") -> None:
        super().__init__(f"{code.value}: {detail}" if detail else code.value)
        self.code = code
        self.detail = detail


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
    """A loan; ``material_id`` is the library's record ID (a catalogue PID where it matches)."""

    loan_id: str
    title: str
    due_date: dt.date
    renewable: bool = True
    material_id: str = ""


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    title: str
    queue_position: int | None = None
    ready_for_pickup: bool = False
    pickup_branch_id: str = ""
    pickup_expires: dt.date | None = None
    material_id: str = ""


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
    """A placed request: the library's ID for it, the material it is on, the queue position."""

    request_id: str
    material_id: str = ""
    queue_position: int | None = None


class BorrowerAuthentication(Protocol):
    agency_id: str

    def authenticate(self, *, user_id: str, password: str, timeout: float) -> Borrower:
        """Return the borrower whose ID and PIN these are, else raise ``BorrowerNotFound``."""

    def lookup(self, *, user_id: str, timeout: float) -> Borrower:
        """Return the borrower with this ID (no PIN), else raise ``BorrowerNotFound``."""


class Circulation(Protocol):
    agency_id: str

    def user_status(self, *, borrower_ref: str, timeout: float) -> UserStatus:
        """Return the borrower's loans, reservations and debts."""

    def loan_renew(self, *, borrower_ref: str, loan_id: str, timeout: float) -> Loan:
        """Renew one loan and return it with its new due date, else raise ``RequestRefused``."""

    def reservation_cancel(self, *, borrower_ref: str, reservation_id: str, timeout: float) -> None:
        """Delete one reservation, else raise ``RequestRefused``."""

    def request_place(
        self,
        *,
        borrower_ref: str,
        idempotency_key: str,
        material_ids: Sequence[str],
        pickup_branch_id: str,
        timeout: float,
        borrower_data: Mapping[str, str] | None = None,
    ) -> RequestReceipt:
        """Place ONE request satisfied by any of ``material_ids`` (e.g. any edition of a work).

        ``borrower_data``: the borrower details the library asks orders to carry (R-VIP-7),
        by type (``BORROWER_DATA_TYPES``); a library refuses a malformed value as
        ``INVALID_REQUEST``.

        Idempotent per ``idempotency_key`` (R-ORDER-5): the same key again, also after a timeout
        whose answer was lost, returns the same receipt and never places a second request.
        """


class BorrowerExport(Protocol):
    agency_id: str

    def borrowers_export(self) -> Iterator[Borrower]:
        """Yield every borrower, for delivery to CULR by ``culr_sync`` agencies (R-CULR-2)."""


class LibrarySystem(BorrowerAuthentication, Circulation, BorrowerExport, Protocol):
    """A library system with every concern (what ``library_system_for`` returns)."""

"""Writes of circulation: renew a loan, delete a reservation (R-PORTAL-13)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.utils.translation import gettext as _

from biblogin.circulation.libraries import circulation_timeout, with_borrower
from biblogin.circulation.messages import refusal_message
from biblogin.circulation.overview import (
    LibraryRef,
    circulation_counts_forget,
    status_libraries,
)
from biblogin.circulation.users import CirculationUser
from biblogin.common.errors import ApplicationError, NotFound
from biblogin.integrations.library_systems.protocol import (
    Borrower,
    BorrowerNotFound,
    LibrarySystem,
    LibrarySystemError,
    Loan,
    RequestRefused,
    Reservation,
)
from biblogin.integrations.library_systems.selectors import library_system_for

logger = logging.getLogger(__name__)

_ID_MAX = 100
T = TypeVar("T")


@dataclass(frozen=True)
class RenewedLoan:
    library: LibraryRef
    title: str
    due_date: dt.date


def _library(user: CirculationUser, agency_id: str) -> tuple[LibraryRef, tuple[str, ...]]:
    """The user's status-giving library of this ID, else ``NotFound`` (never another's)."""
    user_ids, refs = status_libraries(user=user)
    ref = next((r for r in refs if r.agency_id == agency_id), None)
    if ref is None:
        raise NotFound(_("Biblioteket er ikke et af dine biblioteker."), code="not_your_library")
    return ref, user_ids[agency_id]


def _valid_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > _ID_MAX or "\x00" in value:
        raise NotFound(_("Det findes ikke."), code="bad_id")
    return value.strip()


def _unavailable(library: LibraryRef) -> ApplicationError:
    return ApplicationError(
        _("Vi kunne ikke få svar fra %(library)s lige nu. Prøv igen senere.")
        % {"library": library.name},
        code="library_unavailable",
    )


def _ask(
    user: CirculationUser,
    agency_id: str,
    ask: Callable[[LibrarySystem, Borrower, float], T],
    system_for: Callable[[str], LibrarySystem],
) -> tuple[LibraryRef, T]:
    library, user_ids = _library(user, agency_id)
    try:
        return library, with_borrower(
            agency_id, user_ids, ask, timeout=circulation_timeout(), system_for=system_for
        )
    except RequestRefused as refused:
        logger.info("library refused agency=%s code=%s", agency_id, refused.code)
        raise ApplicationError(
            refusal_message(refused=refused, library=library.name), code=refused.code.value
        ) from refused
    except BorrowerNotFound as exc:
        raise ApplicationError(
            _("%(library)s kender dig ikke som låner.") % {"library": library.name},
            code="borrower_not_found",
        ) from exc
    except LibrarySystemError as exc:
        logger.warning("library did not answer agency=%s error=%s", agency_id, type(exc).__name__)
        raise _unavailable(library) from exc


def loan_renew_for(
    *,
    user: CirculationUser,
    agency_id: str,
    loan_id: str,
    system_for: Callable[[str], LibrarySystem] = library_system_for,
) -> RenewedLoan:
    """Renew one of the user's loans; return its new due date, or raise the library's refusal."""
    loan_id = _valid_id(loan_id)

    def ask(system: LibrarySystem, borrower: Borrower, left: float) -> Loan:
        return system.loan_renew(borrower_ref=borrower.borrower_ref, loan_id=loan_id, timeout=left)

    library, loan = _ask(user, agency_id, ask, system_for)
    circulation_counts_forget(user=user)
    return RenewedLoan(library=library, title=loan.title, due_date=loan.due_date)


def reservation_get_for(
    *,
    user: CirculationUser,
    agency_id: str,
    reservation_id: str,
    system_for: Callable[[str], LibrarySystem] = library_system_for,
) -> tuple[LibraryRef, Reservation]:
    """Return one of the user's reservations as the library has it now (for the confirmation)."""
    reservation_id = _valid_id(reservation_id)

    def ask(system: LibrarySystem, borrower: Borrower, left: float) -> Reservation | None:
        status = system.user_status(borrower_ref=borrower.borrower_ref, timeout=left)
        return next((r for r in status.reservations if r.reservation_id == reservation_id), None)

    library, found = _ask(user, agency_id, ask, system_for)
    if found is None:
        raise NotFound(
            _("%(library)s har ikke den reservering (den er måske allerede slettet).")
            % {"library": library.name},
            code="reservation_not_found",
        )
    return library, found


def reservation_delete_for(
    *,
    user: CirculationUser,
    agency_id: str,
    reservation_id: str,
    system_for: Callable[[str], LibrarySystem] = library_system_for,
) -> LibraryRef:
    """Delete one of the user's reservations at their library, or raise its refusal."""
    reservation_id = _valid_id(reservation_id)

    def ask(system: LibrarySystem, borrower: Borrower, left: float) -> None:
        system.reservation_cancel(
            borrower_ref=borrower.borrower_ref, reservation_id=reservation_id, timeout=left
        )

    library, _none = _ask(user, agency_id, ask, system_for)
    circulation_counts_forget(user=user)
    return library

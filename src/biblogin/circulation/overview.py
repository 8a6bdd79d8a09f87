"""Lån og reserveringer: loans, reservations and debts at all the user's libraries (R-PORTAL-13).

Every library of the user that ``provides_user_status`` (R-VIP-8) is asked at once through the
fan-out; each row names its library; a library that fails or does not answer in time is named
in ``unavailable`` while the others' rows still show.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.utils import timezone

from biblogin.catalogue.selectors import manifestations_get
from biblogin.circulation.libraries import circulation_deadline, circulation_timeout, with_borrower
from biblogin.circulation.users import CirculationUser, user_libraries
from biblogin.integrations.library_systems.fanout import fan_out
from biblogin.integrations.library_systems.protocol import (
    Borrower,
    BorrowerNotFound,
    LibrarySystem,
    UserStatus,
)
from biblogin.integrations.library_systems.selectors import library_system_for
from biblogin.registry.selectors import agencies_providing_user_status, branch_names

# R-PORTAL-13: a loan due within this many days is "due soon".
DUE_SOON_DAYS = 5
_COUNTS_SECONDS = 300
_COUNTS_PREFIX = "biblogin:circulation:counts:"


@dataclass(frozen=True)
class LibraryRef:
    agency_id: str
    name: str


@dataclass(frozen=True)
class LoanRow:
    library: LibraryRef
    loan_id: str
    title: str
    due_date: dt.date
    days_left: int
    renewable: bool
    material_id: str
    # The catalogue PID the library's record matches, if it does.
    catalogue_pid: str | None = None

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def due_soon(self) -> bool:
        return 0 <= self.days_left <= DUE_SOON_DAYS

    @property
    def days_overdue(self) -> int:
        return -self.days_left


@dataclass(frozen=True)
class ReservationRow:
    library: LibraryRef
    reservation_id: str
    title: str
    ready_for_pickup: bool
    pickup_expires: dt.date | None
    pickup_branch: str
    queue_position: int | None
    material_id: str
    catalogue_pid: str | None = None

    @property
    def ahead(self) -> int | None:
        """How many are ahead in the queue (0: first in line)."""
        return None if self.queue_position is None else max(0, self.queue_position - 1)


@dataclass(frozen=True)
class DebtRow:
    library: LibraryRef
    debt_id: str
    title: str
    amount_dkk: Decimal
    date: dt.date | None


@dataclass(frozen=True)
class CirculationCounts:
    loans: int = 0
    overdue: int = 0
    reservations: int = 0
    ready_for_pickup: int = 0
    debts: int = 0


@dataclass(frozen=True)
class CirculationOverview:
    debts: tuple[DebtRow, ...] = ()
    loans: tuple[LoanRow, ...] = ()
    reservations: tuple[ReservationRow, ...] = ()
    # Libraries that did not answer (failed, refused to be asked, or too slow): named on the page.
    unavailable: tuple[LibraryRef, ...] = ()
    # Every library that was asked.
    asked: tuple[LibraryRef, ...] = ()

    @property
    def debt_total(self) -> Decimal:
        return sum((d.amount_dkk for d in self.debts), Decimal("0"))

    @property
    def counts(self) -> CirculationCounts:
        return CirculationCounts(
            loans=len(self.loans),
            overdue=sum(1 for loan in self.loans if loan.overdue),
            reservations=len(self.reservations),
            ready_for_pickup=sum(1 for r in self.reservations if r.ready_for_pickup),
            debts=len(self.debts),
        )


def status_libraries(
    *, user: CirculationUser
) -> tuple[dict[str, tuple[str, ...]], list[LibraryRef]]:
    """The user's libraries that deliver loan status (R-VIP-8): their IDs there, and names."""
    libraries = user_libraries(user=user)
    agencies = agencies_providing_user_status(agency_ids=libraries.agency_ids)
    refs = [LibraryRef(agency_id=a.agency_id, name=a.name) for a in agencies]
    return {r.agency_id: libraries.user_ids[r.agency_id] for r in refs}, refs


def _amount(value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError):
        return Decimal("0")
    return amount if amount.is_finite() else Decimal("0")


def circulation_overview_for(
    *,
    user: CirculationUser,
    executor: concurrent.futures.Executor | None = None,
    system_for: Callable[[str], LibrarySystem] = library_system_for,
    today: dt.date | None = None,
) -> CirculationOverview:
    """Ask every status-giving library of the user at once; return all rows (R-PORTAL-13).

    Debts first when there are any; loans by due date; reservations ready for pickup first
    (by the date they must be fetched by), then by queue position.
    """
    today = today or timezone.localdate()
    user_ids, refs = status_libraries(user=user)
    timeout = circulation_timeout()

    def status_of(agency_id: str) -> Callable[[float], UserStatus]:
        def call(budget: float) -> UserStatus:
            def ask(system: LibrarySystem, borrower: Borrower, left: float) -> UserStatus:
                return system.user_status(borrower_ref=borrower.borrower_ref, timeout=left)

            return with_borrower(
                agency_id, user_ids[agency_id], ask, timeout=budget, system_for=system_for
            )

        return call

    results = fan_out(
        {ref.agency_id: status_of(ref.agency_id) for ref in refs},
        timeout=timeout,
        deadline=circulation_deadline(),
        executor=executor,
    )
    by_id = {ref.agency_id: ref for ref in refs}
    loans: list[LoanRow] = []
    reservations: list[ReservationRow] = []
    debts: list[DebtRow] = []
    unavailable: list[LibraryRef] = []
    answered: dict[str, UserStatus] = {}
    for agency_id, result in results.items():
        if result.ok and result.value is not None:
            answered[agency_id] = result.value
        elif not isinstance(result.error, BorrowerNotFound):
            # Unknown there is an answer (no rows), not an outage; everything else is named.
            unavailable.append(by_id[agency_id])
    material_ids = {
        m
        for status in answered.values()
        for m in [loan.material_id for loan in status.loans]
        + [r.material_id for r in status.reservations]
        if m
    }
    pids = set(manifestations_get(pids=sorted(material_ids))) if material_ids else set()
    branch_ids = {
        r.pickup_branch_id
        for status in answered.values()
        for r in status.reservations
        if r.pickup_branch_id
    }
    branches = branch_names(branch_ids=branch_ids)
    for agency_id, status in answered.items():
        library = by_id[agency_id]
        for loan in status.loans:
            loans.append(
                LoanRow(
                    library=library,
                    loan_id=loan.loan_id,
                    title=loan.title,
                    due_date=loan.due_date,
                    days_left=(loan.due_date - today).days,
                    renewable=loan.renewable,
                    material_id=loan.material_id,
                    catalogue_pid=loan.material_id if loan.material_id in pids else None,
                )
            )
        for r in status.reservations:
            reservations.append(
                ReservationRow(
                    library=library,
                    reservation_id=r.reservation_id,
                    title=r.title,
                    ready_for_pickup=r.ready_for_pickup,
                    pickup_expires=r.pickup_expires,
                    pickup_branch=branches.get(r.pickup_branch_id, r.pickup_branch_id),
                    queue_position=r.queue_position,
                    material_id=r.material_id,
                    catalogue_pid=r.material_id if r.material_id in pids else None,
                )
            )
        for d in status.debts:
            debts.append(
                DebtRow(
                    library=library,
                    debt_id=d.debt_id,
                    title=d.title,
                    amount_dkk=_amount(d.amount_dkk),
                    date=d.date,
                )
            )
    loans.sort(key=lambda row: (row.due_date, row.title.casefold(), row.library.name))
    reservations.sort(
        key=lambda row: (
            not row.ready_for_pickup,
            row.pickup_expires or dt.date.max,
            row.queue_position if row.queue_position is not None else 1 << 30,
            row.title.casefold(),
        )
    )
    debts.sort(key=lambda row: (row.date or dt.date.min, row.library.name))
    overview = CirculationOverview(
        debts=tuple(debts),
        loans=tuple(loans),
        reservations=tuple(reservations),
        unavailable=tuple(unavailable),
        asked=tuple(refs),
    )
    if not unavailable:
        cache.set(_counts_key(user), asdict(overview.counts), timeout=_COUNTS_SECONDS)
    return overview


def _counts_key(user: CirculationUser) -> str:
    who = user.patron_guid or f"{user.login_agency_id}:{user.login_user_id}"
    return _COUNTS_PREFIX + hashlib.sha256(who.encode()).hexdigest()


def circulation_counts_for(*, user: CirculationUser) -> CirculationCounts | None:
    """The counts for the profile menu as last fetched (never asks a library; None if unknown)."""
    counts = cache.get(_counts_key(user))
    if not isinstance(counts, dict):
        return None
    try:
        return CirculationCounts(**{k: int(v) for k, v in counts.items()})
    except (TypeError, ValueError):
        return None


def circulation_counts_forget(*, user: CirculationUser) -> None:
    """Forget the counts after a change (renewal, deletion): the next page fetches anew."""
    cache.delete(_counts_key(user))

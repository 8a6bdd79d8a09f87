"""Read-only queries of circulation: loans, reservations and debts; access rights.

The portal and ordering import from here: ``access_rights_for`` (R-PORTAL-14, R-ORDER-6) and
``circulation_overview_for`` (R-PORTAL-13), with ``CirculationUser`` naming whom they are for.
"""

from __future__ import annotations

from biblogin.circulation.overview import (
    DUE_SOON_DAYS,
    CirculationCounts,
    CirculationOverview,
    DebtRow,
    LibraryRef,
    LoanRow,
    ReservationRow,
    circulation_counts_for,
    circulation_overview_for,
)
from biblogin.circulation.rights import (
    AccessRights,
    GrantingLibrary,
    LicensedResourceRight,
    access_rights_for,
)
from biblogin.circulation.users import CirculationUser, UserLibraries, user_libraries

__all__ = [
    "DUE_SOON_DAYS",
    "AccessRights",
    "CirculationCounts",
    "CirculationOverview",
    "CirculationUser",
    "DebtRow",
    "GrantingLibrary",
    "LibraryRef",
    "LicensedResourceRight",
    "LoanRow",
    "ReservationRow",
    "UserLibraries",
    "access_rights_for",
    "circulation_counts_for",
    "circulation_overview_for",
    "user_libraries",
]

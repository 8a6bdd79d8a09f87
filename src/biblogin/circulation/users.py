"""Who circulation is asked about, and at which libraries they are known (R-PORTAL-2, -3).

A profile user is their CULR patron: every account of it, the home library from its
municipality. A session user is only their login (R-LOGIN-9 hides the rest): one library, the
user ID they logged in with, no home library.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from biblogin.patrons.models import AccountIdType, Patron
from biblogin.patrons.selectors import (
    accounts_for_patron,
    patron_get_by_guid,
    patron_home_municipality,
)
from biblogin.registry.selectors import agency_home_for_municipality

# Bibliotek.dk's own "no library" agency (R-LOGIN-6): an account there is no library.
NO_LIBRARY_AGENCY_ID = "190101"


@dataclass(frozen=True)
class CirculationUser:
    """A profile user (``patron_guid``), or a session user (their login agency and user ID)."""

    patron_guid: str | None = None
    login_agency_id: str | None = None
    login_user_id: str = field(default="", repr=False)

    @classmethod
    def profile(cls, patron_guid: str) -> CirculationUser:
        return cls(patron_guid=patron_guid)

    @classmethod
    def session(cls, *, agency_id: str, user_id: str) -> CirculationUser:
        return cls(login_agency_id=agency_id, login_user_id=user_id)


@dataclass(frozen=True)
class UserLibraries:
    """The user's libraries: for each agency, the user IDs it may know them by (best first)."""

    user_ids: dict[str, tuple[str, ...]]
    home_agency_id: str | None = None

    @property
    def agency_ids(self) -> list[str]:
        return list(self.user_ids)


def user_libraries(*, user: CirculationUser) -> UserLibraries:
    """Return the libraries the user is registered at, with their IDs there."""
    if user.patron_guid:
        patron = patron_get_by_guid(guid=user.patron_guid)
        if patron is None:
            return UserLibraries(user_ids={})
        ids: dict[str, list[str]] = {}
        for account in accounts_for_patron(patron=patron):
            if account.agency_id == NO_LIBRARY_AGENCY_ID:
                continue
            value = account.id_value
            if value:
                # A local ID (the library's own borrower number) before the CPR.
                slot = ids.setdefault(account.agency_id, [])
                if account.id_type == AccountIdType.LOCAL:
                    slot.insert(0, value)
                else:
                    slot.append(value)
        return UserLibraries(
            user_ids={agency: tuple(values) for agency, values in sorted(ids.items())},
            home_agency_id=_home_agency_id(patron),
        )
    if user.login_agency_id and user.login_user_id:
        return UserLibraries(user_ids={user.login_agency_id: (user.login_user_id,)})
    return UserLibraries(user_ids={})


def _home_agency_id(patron: Patron) -> str | None:
    home = agency_home_for_municipality(municipality_no=patron_home_municipality(patron=patron))
    return home.agency_id if home is not None else None

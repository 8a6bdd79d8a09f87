"""Small builders for registry tests: agencies, branches and staff, through the services."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth import get_user_model

from biblogin.common.models import User
from biblogin.registry import services
from biblogin.registry.models import Agency, AgencyType, Branch, ServiceRequester

_numbers = itertools.count(10)


def requester(name: str = "bibliotek.dk") -> ServiceRequester:
    return services.service_requester_get_or_create(name=name)


def research_library(agency_id: str | None = None, **fields: Any) -> Agency:
    """An FFU library (no CULR delivery unless asked)."""
    agency_id = agency_id or f"8{next(_numbers):05d}"
    fields.setdefault("name", f"Forskningsbibliotek {agency_id}")
    return services.agency_create(
        agency_id=agency_id, agency_type=AgencyType.FORSKNINGSBIBLIOTEK, **fields
    )


def public_library(municipality_no: int = 101, **fields: Any) -> Agency:
    """The public library of a municipality, ``7<municipality>00``."""
    fields.setdefault("name", f"Folkebibliotek {municipality_no}")
    return services.agency_create(
        agency_id=f"7{municipality_no:03d}00",
        agency_type=AgencyType.FOLKEBIBLIOTEK,
        municipality_no=municipality_no,
        **fields,
    )


def _free_branch_id(agency: Agency) -> str:
    """A branch ID in the agency's range (R-VIP-10) that no agency or branch has yet."""
    taken = set(Agency.objects.values_list("agency_id", flat=True))
    taken |= set(Branch.objects.values_list("branch_id", flat=True))
    for n in range(99, 0, -1):
        candidate = f"{agency.agency_id[:4]}{n:02d}"
        if candidate not in taken:
            return candidate
    raise AssertionError(f"no free branch ID left for {agency.agency_id}")


def branch(agency: Agency, branch_id: str | None = None, **fields: Any) -> Branch:
    branch_id = branch_id or _free_branch_id(agency)
    fields.setdefault("name", f"Filial {branch_id}")
    return services.branch_create(agency=agency, branch_id=branch_id, **fields)


def staff_user(username: str, *, agency: Agency | None = None, superuser: bool = False) -> User:
    user = get_user_model().objects.create_user(
        username=username, password=None, is_staff=True, is_superuser=superuser
    )
    if agency is not None:
        services.staff_agency_bind(user=user, agency=agency)
    return user


def staff_otp_verified(client: Any, user: User) -> Any:
    """Give the account a TOTP device and mark the client's session verified by it.

    What a correct code at the admin login does (R-SEC-4), as ``force_login`` does for the
    password; tests/staff prove the real login.
    """
    from django_otp import DEVICE_ID_SESSION_KEY

    from biblogin.staff.models import StaffTOTPDevice

    device = StaffTOTPDevice.objects.create(user=user, name="test", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client

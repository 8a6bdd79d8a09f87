"""Orderers and materials for the order tests, from the demo data set."""

from __future__ import annotations

import secrets

from biblogin.circulation.models import OrdererKind
from biblogin.circulation.orderer import Orderer
from biblogin.circulation.orders import MaterialRequest
from biblogin.patrons.selectors import patron_get_by_cpr
from biblogin.patrons.services import account_link

ANNA_CPR = "1503851234"
BO_CPR = "0207921235"
ERIK_CPR = "3012651239"


def key() -> str:
    return secrets.token_urlsafe(24)


def profile(cpr: str, ip: str = "203.0.113.7") -> Orderer:
    patron = patron_get_by_cpr(cpr=cpr)
    assert patron is not None
    return Orderer(
        kind=OrdererKind.PROFILE,
        owner=f"profile:{patron.guid}",
        patron_guid=str(patron.guid),
        ip=ip,
    )


def bo_linked() -> Orderer:
    """Bo after linking Campus Syd to his profile (R-PORTAL-6)."""
    account_link(agency_id="820099", cpr=BO_CPR, local_id="CS-4711")
    return profile(BO_CPR)


def session(agency_id: str, user_id: str, sub: str = "pairwise-bo") -> Orderer:
    return Orderer(
        kind=OrdererKind.SESSION,
        owner=f"session:{sub}",
        login_agency_id=agency_id,
        login_user_id=user_id,
        ip="203.0.113.8",
    )


def guest(details: dict[str, str], token: str = "guest-token-1234567890") -> Orderer:
    return Orderer(
        kind=OrdererKind.GUEST,
        owner=f"guest:{token}",
        guest_details=details,
        email=details.get("userMail", ""),
        ip="203.0.113.9",
    )


def book(pid: str = "870970-basis:test0001", title: str = "En bog") -> MaterialRequest:
    return MaterialRequest(pid=pid, title=title, policy="OWNED_ACCEPTED", orderable=True)


def not_lendable(pid: str = "870970-basis:test0009") -> MaterialRequest:
    return MaterialRequest(
        pid=pid, title="Ingen låner den", policy="NOT_OWNED_NO_ILL_LOC", orderable=False
    )

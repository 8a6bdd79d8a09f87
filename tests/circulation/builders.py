"""Orderers and materials for the order tests, from the demo data set."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import pytest

from biblogin.circulation.models import OrdererKind
from biblogin.circulation.orderer import Orderer, OrdererRefused
from biblogin.circulation.orders import MaterialRequest, OrderInvalid, OrderResult, order_submit
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


def submit(
    orderer: Orderer,
    *,
    at: str = "710104",
    materials: Sequence[MaterialRequest] | None = None,
    submission_key: str | None = None,
    pin: str = "",
) -> OrderResult:
    """Submit the order form once: a fresh form key and one lendable book unless told.

    ``at`` is the pickup branch (Vesterbro of Københavns Biblioteker by default). A given
    ``submission_key`` is used as it is, also an empty or malformed one.
    """
    return order_submit(
        submission_key=key() if submission_key is None else submission_key,
        orderer=orderer,
        pickup_branch_id=at,
        materials=[book()] if materials is None else materials,
        pin=pin,
    )


def refused(
    orderer: Orderer,
    *,
    at: str = "710104",
    materials: Sequence[MaterialRequest] | None = None,
    submission_key: str | None = None,
    pin: str = "",
) -> OrdererRefused:
    """Submit as ``submit`` does and return the refusal it must raise (R-ORDER-3/4)."""
    with pytest.raises(OrdererRefused) as caught:
        submit(orderer, at=at, materials=materials, submission_key=submission_key, pin=pin)
    return caught.value


def invalid(
    orderer: Orderer,
    *,
    at: str = "710104",
    materials: Sequence[MaterialRequest] | None = None,
    submission_key: str | None = None,
    pin: str = "",
) -> OrderInvalid:
    """Submit as ``submit`` does and return the ``OrderInvalid`` it must raise (R-ORDER-1)."""
    with pytest.raises(OrderInvalid) as caught:
        submit(orderer, at=at, materials=materials, submission_key=submission_key, pin=pin)
    return caught.value

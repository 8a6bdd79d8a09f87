"""Who orders, and whether the pickup library takes their order (R-ORDER-3, -4, R-PORTAL-8).

Nothing here is kept: a PIN is passed to the borrower check only (R-BC-5), and checked under the
throttling of the library login (R-LOGIN-5), reserved before the library is asked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from biblogin.borrowercheck.services import (
    BorrowerCheckResult,
    BorrowerCheckStatus,
    borrower_check,
    borrower_lookup,
    user_id_normalise,
)
from biblogin.borrowercheck.throttling import (
    throttle_failure,
    throttle_release,
    throttle_reserve,
    throttle_success,
)
from biblogin.circulation.models import OrdererKind
from biblogin.common.cpr import normalise_cpr
from biblogin.integrations.library_systems.protocol import (
    BORROWER_DATA_MAX_LENGTH,
    BORROWER_DATA_TYPES,
    BorrowerNotFound,
    LibrarySystemError,
)
from biblogin.integrations.library_systems.selectors import library_system_for
from biblogin.patrons.models import AccountIdType
from biblogin.patrons.selectors import accounts_for_patron, patron_get_by_guid
from biblogin.registry.models import Agency, AgencyType
from biblogin.registry.selectors import agency_order_user_parameters, agency_user_id_kinds

SERVICE_REQUESTER: str = getattr(settings, "PORTAL_SERVICE_REQUESTER", "bibliotek.dk")


class OrderRefusal(StrEnum):
    """Why the pickup library takes no order from this orderer (R-ORDER-3, -4)."""

    BORCHK_USER_BLOCKED_BY_AGENCY = "BORCHK_USER_BLOCKED_BY_AGENCY"
    BORCHK_USER_NO_LONGER_EXIST_ON_AGENCY = "BORCHK_USER_NO_LONGER_EXIST_ON_AGENCY"
    UNKNOWN_USER = "UNKNOWN_USER"
    BORCHK_USER_NOT_VERIFIED = "BORCHK_USER_NOT_VERIFIED"
    ERROR_MISSING_PINCODE = "ERROR_MISSING_PINCODE"
    # A PIN typed (R-PORTAL-8, R-ORDER-4) that the library did not accept.
    WRONG_PINCODE = "WRONG_PINCODE"
    # R-LOGIN-5: too many wrong PINs; tried again later.
    PIN_THROTTLED = "PIN_THROTTLED"
    # Not registered at the pickup library (issue 13 item 2 explains what to do).
    NOT_REGISTERED = "NOT_REGISTERED"
    # R-VIP-6 / R-ORDER-4: the library takes no orders without login.
    NO_ORDERS_WITHOUT_LOGIN = "NO_ORDERS_WITHOUT_LOGIN"
    # R-ORDER-4: a required user parameter missing or malformed.
    USER_PARAMETERS_INVALID = "USER_PARAMETERS_INVALID"


class OrdererRefused(Exception):
    """The order cannot be placed for this orderer at this library; nothing was ordered."""

    def __init__(
        self,
        code: OrderRefusal,
        *,
        attempts_left: int | None = None,
        retry_after: int = 0,
        fields: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(code.value)
        self.code = code
        self.attempts_left = attempts_left
        self.retry_after = retry_after
        self.fields = dict(fields or {})


@dataclass(frozen=True)
class Orderer:
    """Who orders, as the portal knows them (it never passes a PIN here to be kept).

    ``owner``: a stable, opaque ID of the orderer (a profile's guid, a login's ``sub``, a
    guest's portal session token); only its keyed hash is stored.
    """

    kind: OrdererKind
    owner: str
    patron_guid: str | None = None
    login_agency_id: str = ""
    login_user_id: str = field(default="", repr=False)
    guest_details: Mapping[str, str] = field(default_factory=dict, repr=False)
    # A logged-in user's contact details for the pickup library, by VIP type (R-PORTAL-15).
    contact_details: Mapping[str, str] = field(default_factory=dict, repr=False)
    email: str = ""
    ip: str = ""


@dataclass(frozen=True, repr=False)
class VerifiedOrderer:
    """The borrower the pickup library will place the order for."""

    agency_id: str
    borrower_ref: str
    name: str = ""
    email: str = ""


def pin_required(*, orderer: Orderer, agency: Agency) -> bool:
    """R-PORTAL-8 (profile users at an FFU with borrower check, no CULR delivery); R-ORDER-4."""
    if orderer.kind == OrdererKind.PROFILE:
        return (
            agency.agency_type == AgencyType.FORSKNINGSBIBLIOTEK
            and agency.borrower_check
            and not agency.culr_sync
        )
    if orderer.kind == OrdererKind.GUEST:
        return agency.borrower_check
    return False


def _value_error(kind: str, value: str) -> str | None:
    """R-ORDER-4: the error code of one typed user parameter value, None when well-formed."""
    if len(value) > BORROWER_DATA_MAX_LENGTH or "\x00" in value:
        return "invalid"
    if kind == "userMail":
        try:
            validate_email(value)
        except ValidationError:
            return "invalid"
    elif kind == "cpr" and normalise_cpr(value) is None:
        return "invalid"
    elif kind == "userDateOfBirth":
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return "invalid"
    return None


def _typed(details: Mapping[str, str], kind: str) -> str:
    raw = details.get(kind, "")
    return raw.strip() if isinstance(raw, str) else ""


def guest_details_errors(*, agency: Agency, details: Mapping[str, str]) -> dict[str, str]:
    """R-ORDER-4: every required user parameter present and well-formed; field → error code."""
    errors: dict[str, str] = {}
    for parameter in agency_order_user_parameters(agency=agency):
        value = _typed(details, parameter.type)
        if not value:
            if parameter.required:
                errors[parameter.type] = "required"
        elif (error := _value_error(parameter.type, value)) is not None:
            errors[parameter.type] = error
    return errors


def contact_details_errors(*, details: Mapping[str, str]) -> dict[str, str]:
    """A logged-in user's typed contact details: none required, each well-formed (R-VIP-7)."""
    errors: dict[str, str] = {}
    for kind in details:
        value = _typed(details, kind)
        if value and (error := _value_error(kind, value)) is not None:
            errors[kind] = error
    return errors


def borrower_data_for(
    *, orderer: Orderer, agency: Agency, verified: VerifiedOrderer
) -> dict[str, str]:
    """The borrower data the order carries to the library: exactly what it asks for (R-VIP-7).

    The library's user parameters other than its ID field (the ID, a CPR too, is already the
    borrower the order is placed for: ``borrower_ref``). A guest's values are the order
    form's; a logged-in user's are the typed contact details (over a profile's saved ones,
    R-PORTAL-15), else what the library itself knows of them. Nothing empty is sent.
    """
    known = {"userName": verified.name, "userMail": orderer.email or verified.email}
    data: dict[str, str] = {}
    for parameter in agency_order_user_parameters(agency=agency):
        if parameter.is_id_field or parameter.type not in BORROWER_DATA_TYPES:
            continue
        if orderer.kind == OrdererKind.GUEST:
            value = _typed(orderer.guest_details, parameter.type)
        else:
            value = (
                _typed(orderer.contact_details, parameter.type)
                or known.get(parameter.type, "").strip()
            )
        # What the library itself returned is not checked by a form: it goes only if it fits.
        if value and len(value) <= BORROWER_DATA_MAX_LENGTH and "\x00" not in value:
            data[parameter.type] = value
    return data


def guest_user_id(*, agency: Agency, details: Mapping[str, str]) -> str:
    """Return the guest's ID at the library: the order form's one ID field (R-VIP-7)."""
    id_field = agency_order_user_parameters(agency=agency)[0]
    value = details.get(id_field.type, "")
    return value.strip() if isinstance(value, str) else ""


def _refusal_for(result: BorrowerCheckResult, *, culr_account: bool) -> OrderRefusal | None:
    """R-ORDER-3: each status of the check its reason code; None when the order may go on."""
    if result.ok:
        return OrderRefusal.BORCHK_USER_BLOCKED_BY_AGENCY if result.blocked else None
    if result.status == BorrowerCheckStatus.BORROWER_NOT_FOUND:
        return (
            OrderRefusal.BORCHK_USER_NO_LONGER_EXIST_ON_AGENCY
            if culr_account
            else OrderRefusal.UNKNOWN_USER
        )
    return OrderRefusal.BORCHK_USER_NOT_VERIFIED


def _verified(result: BorrowerCheckResult) -> VerifiedOrderer:
    return VerifiedOrderer(
        agency_id=result.agency_id,
        borrower_ref=result.borrower_ref,
        name=result.name,
        email=result.email,
    )


def _pin_checked(*, agency: Agency, user_id: str, pin: str, ip: str) -> BorrowerCheckResult:
    """Check a PIN under R-LOGIN-5: reserve before asking, count a wrong one, reset on success."""
    normalised = user_id_normalise(
        user_id=user_id, user_id_kinds=agency_user_id_kinds(agency=agency)
    )
    state = throttle_reserve(agency_id=agency.agency_id, user_id=normalised.value, ip=ip)
    if state.blocked:
        raise OrdererRefused(
            OrderRefusal.PIN_THROTTLED, attempts_left=0, retry_after=state.retry_after
        )
    try:
        result = borrower_check(
            service_requester=SERVICE_REQUESTER,
            agency_id=agency.agency_id,
            user_id=user_id,
            password=pin,
        )
    except BaseException:
        throttle_release(checked=state)
        raise
    if result.status == BorrowerCheckStatus.BORROWER_NOT_FOUND:
        state = throttle_failure(
            agency_id=agency.agency_id, user_id=normalised.value, ip=ip, checked=state
        )
        if state.blocked:
            raise OrdererRefused(
                OrderRefusal.PIN_THROTTLED, attempts_left=0, retry_after=state.retry_after
            )
        raise OrdererRefused(OrderRefusal.WRONG_PINCODE, attempts_left=state.attempts_left)
    if not result.ok:
        throttle_release(checked=state)
        return result
    throttle_success(
        agency_id=agency.agency_id,
        user_id=normalised.value,
        checked=state,
        borrower_ref=result.borrower_ref,
        user_ids=[result.cpr or "", *result.user_ids],
    )
    return result


def _profile_user_id(*, patron_guid: str, agency_id: str) -> str | None:
    """The profile's user ID at the agency from CULR: its CPR or local ID (R-PORTAL-8)."""
    patron = patron_get_by_guid(guid=patron_guid)
    if patron is None:
        return None
    accounts = [a for a in accounts_for_patron(patron=patron) if a.agency_id == agency_id]
    accounts.sort(key=lambda a: a.id_type != AccountIdType.LOCAL)  # a local ID first
    for account in accounts:
        value = account.id_value
        if value:
            return value
    return None


def orderer_verify(*, orderer: Orderer, agency: Agency, pin: str = "") -> VerifiedOrderer:
    """Check at the pickup agency that it takes this orderer's order; raise ``OrdererRefused``.

    - guest (R-ORDER-4, R-PORTAL-4): the agency accepts orders without login, the user
      parameters are complete and well-formed; with ``borrower_check`` the PIN is checked;
    - session user (R-ORDER-3): only at the agency logged in at, looked up there now;
    - profile user (R-ORDER-3, R-PORTAL-8): their CULR account at the agency, looked up, or
      checked with the PIN where R-PORTAL-8 needs one.
    """
    pin = pin if isinstance(pin, str) else ""
    if orderer.kind == OrdererKind.GUEST:
        return _guest_verify(orderer=orderer, agency=agency, pin=pin)
    errors = contact_details_errors(details=orderer.contact_details)
    if errors:
        raise OrdererRefused(OrderRefusal.USER_PARAMETERS_INVALID, fields=errors)
    if orderer.kind == OrdererKind.SESSION:
        if orderer.login_agency_id != agency.agency_id or not orderer.login_user_id:
            raise OrdererRefused(OrderRefusal.NOT_REGISTERED)
        result = borrower_lookup(
            service_requester=SERVICE_REQUESTER,
            agency_id=agency.agency_id,
            user_id=orderer.login_user_id,
        )
        refusal = _refusal_for(result, culr_account=False)
        if refusal is not None:
            raise OrdererRefused(refusal)
        return _verified(result)
    user_id = (
        _profile_user_id(patron_guid=orderer.patron_guid, agency_id=agency.agency_id)
        if orderer.patron_guid
        else None
    )
    if not user_id:
        raise OrdererRefused(OrderRefusal.NOT_REGISTERED)
    if pin_required(orderer=orderer, agency=agency):
        if not pin.strip():
            raise OrdererRefused(OrderRefusal.ERROR_MISSING_PINCODE)
        result = _pin_checked(agency=agency, user_id=user_id, pin=pin, ip=orderer.ip)
    else:
        result = borrower_lookup(
            service_requester=SERVICE_REQUESTER, agency_id=agency.agency_id, user_id=user_id
        )
    refusal = _refusal_for(result, culr_account=True)
    if refusal is not None:
        raise OrdererRefused(refusal)
    return _verified(result)


def _guest_verify(*, orderer: Orderer, agency: Agency, pin: str) -> VerifiedOrderer:
    if not agency.accepts_orders_without_login:
        raise OrdererRefused(OrderRefusal.NO_ORDERS_WITHOUT_LOGIN)
    errors = guest_details_errors(agency=agency, details=orderer.guest_details)
    if errors:
        raise OrdererRefused(OrderRefusal.USER_PARAMETERS_INVALID, fields=errors)
    user_id = guest_user_id(agency=agency, details=orderer.guest_details)
    email = str(orderer.guest_details.get("userMail", "") or "")
    name = str(orderer.guest_details.get("userName", "") or "")
    if agency.borrower_check:
        if not pin.strip():
            raise OrdererRefused(OrderRefusal.ERROR_MISSING_PINCODE)
        result = _pin_checked(agency=agency, user_id=user_id, pin=pin, ip=orderer.ip)
        refusal = _refusal_for(result, culr_account=False)
        if refusal is not None:
            raise OrdererRefused(refusal)
        verified = _verified(result)
        return VerifiedOrderer(
            agency_id=verified.agency_id,
            borrower_ref=verified.borrower_ref,
            name=name or verified.name,
            email=email or verified.email,
        )
    # No borrower check at this library (R-VIP-3): it identifies the guest by the typed ID.
    timeout = float(settings.BORROWER_CHECK_TIMEOUT_SECONDS)
    try:
        borrower = library_system_for(agency.agency_id).lookup(user_id=user_id, timeout=timeout)
    except BorrowerNotFound:
        raise OrdererRefused(OrderRefusal.UNKNOWN_USER) from None
    except LibrarySystemError:
        raise OrdererRefused(OrderRefusal.BORCHK_USER_NOT_VERIFIED) from None
    if borrower.blocked:
        raise OrdererRefused(OrderRefusal.BORCHK_USER_BLOCKED_BY_AGENCY)
    return VerifiedOrderer(
        agency_id=agency.agency_id,
        borrower_ref=borrower.borrower_ref,
        name=name or borrower.name,
        email=email or borrower.email,
    )

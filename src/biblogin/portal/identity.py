"""Who the portal's user is, read only from the claims the login platform gives (R-PORTAL-2…4).

The portal never imports the login platform: this module is its whole knowledge of an identity.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from django.utils.translation import gettext as _

from biblogin.common.agency_ids import is_agency_id
from biblogin.common.cpr import normalise_cpr
from biblogin.common.cpr_crypto import decrypt_cpr, encrypt_cpr
from biblogin.common.errors import ApplicationError

PROFILE: Literal["profile"] = "profile"
SESSION: Literal["session"] = "session"
IDP_BORCHK = "borchk"
IDP_MITID = "mitid"

_MAX_TEXT = 254


@dataclass(frozen=True)
class LibraryAccount:
    """One entry of the ``agencies`` claim."""

    agency_id: str
    user_id: str
    user_id_type: str


@dataclass(frozen=True)
class Identity:
    """A login as the portal sees it.

    ``kind`` is "profile" when the login revealed a CULR guid (R-PORTAL-2), else "session"
    (R-PORTAL-3). ``cpr`` is only for comparing CPRs (R-PORTAL-6, -11): never shown, never
    stored in plain text.
    """

    kind: Literal["profile", "session"]
    sub: str
    idp: str
    agency_id: str
    user_id: str
    guid: str | None
    name: str
    blocked: bool
    culr_data_omitted: bool
    auth_time: int | None
    acr: str
    municipality: int | None
    agencies: tuple[LibraryAccount, ...] = ()
    cpr: str | None = field(default=None, repr=False, compare=False)

    @property
    def is_profile(self) -> bool:
        return self.kind == PROFILE

    @property
    def is_mitid(self) -> bool:
        return self.idp == IDP_MITID

    def to_session(self) -> dict[str, Any]:
        """Return what the portal session keeps: the CPR and the user ID only encrypted.

        A user ID may itself be a CPR (R-CULR-5: never in plain text at rest); the claim's
        list of agencies is not needed after the login and is not kept.
        """
        data = asdict(self)
        data.pop("agencies")
        data["user_id"] = seal(self.user_id) if self.user_id else ""
        data["cpr"] = seal(self.cpr) if self.cpr else ""
        return data

    @classmethod
    def from_session(cls, data: Mapping[str, Any]) -> Identity:
        fields = {
            k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "agencies"
        }
        fields["user_id"] = unseal(fields.get("user_id") or "")
        fields["cpr"] = unseal(fields.get("cpr") or "") or None
        return cls(**fields)


def seal(value: str) -> str:
    """Encrypt a value for the session (AES-GCM under the CPR key, R-CULR-5)."""
    return encrypt_cpr(value)


def unseal(value: str) -> str:
    """Decrypt a sealed value; anything unreadable (a rotated key) reads as empty."""
    if not value:
        return ""
    try:
        return decrypt_cpr(value)
    except (ValueError, InvalidTag, binascii.Error):
        return ""


def _text(claims: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = claims.get(name)
    if value is None or value == "":
        if required:
            raise _invalid(name)
        return ""
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise _invalid(name)
    return value.strip()


def _invalid(name: str) -> ApplicationError:
    return ApplicationError(
        _("Login-tjenesten sendte et svar, som Bibliotek.dk ikke kan bruge. Prøv igen."),
        code=f"invalid_claim_{name}",
    )


def identity_from_claims(*, claims: Mapping[str, Any]) -> Identity:
    """Parse the ID token and userinfo claims (R-LOGIN-8/9) into the portal's identity."""
    sub = _text(claims, "sub", required=True)
    idp = _text(claims, "idpUsed", required=True)
    if idp not in {IDP_BORCHK, IDP_MITID}:
        raise _invalid("idpUsed")
    agency_id = _text(claims, "loggedInAgencyId", required=True)
    if not is_agency_id(agency_id):
        raise _invalid("loggedInAgencyId")
    guid_value = claims.get("uniqueId")
    guid = None
    if guid_value is not None:
        guid = _text(claims, "uniqueId") or None
    raw_cpr = claims.get("cpr")
    cpr = normalise_cpr(raw_cpr) if isinstance(raw_cpr, str) and raw_cpr else None
    municipality = claims.get("municipality")
    if isinstance(municipality, str) and municipality.isdigit():
        municipality = int(municipality)
    if not isinstance(municipality, int) or isinstance(municipality, bool):
        municipality = None
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float) or isinstance(auth_time, bool):
        auth_time = None
    agencies: list[LibraryAccount] = []
    raw_agencies = claims.get("agencies") or []
    if not isinstance(raw_agencies, list):
        raise _invalid("agencies")
    for entry in raw_agencies:
        if not isinstance(entry, Mapping):
            raise _invalid("agencies")
        entry_agency = _text(entry, "agencyId")
        if not is_agency_id(entry_agency):
            continue
        agencies.append(
            LibraryAccount(
                agency_id=entry_agency,
                user_id=_text(entry, "userId"),
                user_id_type=_text(entry, "userIdType"),
            )
        )
    return Identity(
        # R-PORTAL-2: a revealed CULR guid makes a profile user; R-PORTAL-3: else a session user.
        kind=PROFILE if guid else SESSION,
        sub=sub,
        idp=idp,
        agency_id=agency_id,
        user_id=_text(claims, "userId"),
        guid=guid,
        name=_text(claims, "name"),
        blocked=claims.get("blocked") is True,
        culr_data_omitted=claims.get("culrDataOmitted") is True,
        auth_time=int(auth_time) if auth_time is not None else None,
        acr=_text(claims, "acr"),
        municipality=municipality,
        agencies=tuple(agencies),
        cpr=cpr,
    )

"""Saved library info (R-PORTAL-15): e-mail, phone and a library's order user parameters.

One record per (profile, library of the profile). Ordering prefills its form from
``saved_library_info_prefill`` and saves what the user ticks "Gem oplysningerne til næste gang"
for with ``saved_library_info_update``; the profile page edits it with ``saved_library_info_save``.
A CPR is never saved here: a profile user is known to their libraries through CULR already.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from biblogin.common.errors import ApplicationError
from biblogin.common.secret_crypto import decrypt_secret, encrypt_secret
from biblogin.patrons.selectors import accounts_for_patron, patron_get_by_guid
from biblogin.registry.models import Agency, OrderUserParameterType
from biblogin.registry.selectors import agency_get
from biblogin.userdata.models import Profile, SavedLibraryInfo

_PURPOSE = "userdata-saved-library-info"
_PHONE = re.compile(r"^\+?[0-9 ]{8,19}$")
_MAX_VALUE = 300
# E-mail and phone have their own fields; a CPR is never kept (see the module docstring).
NOT_SAVED_PARAMETERS = frozenset(
    {OrderUserParameterType.CPR, OrderUserParameterType.MAIL, OrderUserParameterType.TELEPHONE}
)
_NO_LIBRARY = "190101"


@dataclass(frozen=True)
class LibraryInfo:
    """The saved info for one library (empty when nothing is saved)."""

    agency_id: str
    email: str = ""
    phone: str = ""
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def prefill(self) -> dict[str, str]:
        """The order form's values by VIP parameter type (R-VIP-7): what ordering prefills."""
        values = dict(self.parameters)
        if self.email:
            values[OrderUserParameterType.MAIL.value] = self.email
        if self.phone:
            values[OrderUserParameterType.TELEPHONE.value] = self.phone
        return values


def saveable_parameter_types(*, agency: Agency) -> list[str]:
    """The library's order user parameters this page keeps, in the library's order."""
    return [
        p.parameter_type
        for p in agency.order_user_parameters.all()
        if p.parameter_type not in NOT_SAVED_PARAMETERS
    ]


def _profile_agency_ids(profile: Profile) -> set[str]:
    patron = patron_get_by_guid(guid=profile.patron_guid)
    if patron is None:
        return set()
    return {a.agency_id for a in accounts_for_patron(patron=patron)} - {_NO_LIBRARY}


def _as_info(record: SavedLibraryInfo) -> LibraryInfo:
    parameters: dict[str, str] = {}
    if record.parameters_encrypted:
        try:
            loaded = json.loads(decrypt_secret(record.parameters_encrypted, purpose=_PURPOSE))
        except ValueError:
            loaded = {}  # a changed master key: nothing readable is kept
        if isinstance(loaded, dict):
            parameters = {str(k): str(v) for k, v in loaded.items()}
    return LibraryInfo(
        agency_id=record.agency_id, email=record.email, phone=record.phone, parameters=parameters
    )


def saved_library_info_for(*, profile: Profile, agency_id: str) -> LibraryInfo:
    """Return what the profile saved for this library (empty if nothing)."""
    record = SavedLibraryInfo.objects.filter(profile=profile, agency_id=agency_id).first()
    return _as_info(record) if record is not None else LibraryInfo(agency_id=agency_id)


def saved_library_infos(*, profile: Profile) -> dict[str, LibraryInfo]:
    """Return every library's saved info of the profile, by agency ID."""
    return {r.agency_id: _as_info(r) for r in SavedLibraryInfo.objects.filter(profile=profile)}


def saved_library_info_prefill(*, profile: Profile, agency_id: str) -> dict[str, str]:
    """Return the order form's prefilled values for this library (R-PORTAL-15, R-VIP-7)."""
    return saved_library_info_for(profile=profile, agency_id=agency_id).prefill


def _clean_value(kind: str, value: object) -> str:
    if not isinstance(value, str):
        raise ApplicationError(_("Ugyldig værdi."), code="bad_value")
    value = value.strip()
    if len(value) > _MAX_VALUE or any(ord(c) < 32 for c in value):
        raise ApplicationError(_("Ugyldig værdi."), code="bad_value")
    if value and kind == OrderUserParameterType.DATE_OF_BIRTH:
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ApplicationError(_("Skriv datoen som ÅÅÅÅ-MM-DD."), code="bad_date") from None
    return value


@transaction.atomic
def saved_library_info_save(
    *,
    profile: Profile,
    agency_id: str,
    email: str = "",
    phone: str = "",
    parameters: dict[str, str] | None = None,
) -> LibraryInfo:
    """Save the profile's info for one of its libraries; all empty deletes it (R-PORTAL-15)."""
    if not isinstance(agency_id, str) or agency_id not in _profile_agency_ids(profile):
        raise ApplicationError(
            _("Biblioteket er ikke et af dine biblioteker."), code="not_your_library"
        )
    agency = agency_get(agency_id=agency_id)
    allowed = saveable_parameter_types(agency=agency) if agency is not None else []
    email = _clean_value("userMail", email)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ApplicationError(_("Skriv en gyldig e-mailadresse."), code="bad_email") from None
    phone = _clean_value("userTelephone", phone)
    if phone and not _PHONE.match(phone):
        raise ApplicationError(
            _("Skriv et telefonnummer med 8 cifre eller flere."), code="bad_phone"
        )
    kept: dict[str, str] = {}
    for kind, value in (parameters or {}).items():
        if kind not in allowed:
            raise ApplicationError(_("Biblioteket beder ikke om det felt."), code="bad_field")
        cleaned = _clean_value(kind, value)
        if cleaned:
            kept[kind] = cleaned
    if not (email or phone or kept):
        SavedLibraryInfo.objects.filter(profile=profile, agency_id=agency_id).delete()
        return LibraryInfo(agency_id=agency_id)
    SavedLibraryInfo.objects.update_or_create(
        profile=profile,
        agency_id=agency_id,
        defaults={
            "email": email,
            "phone": phone,
            "parameters_encrypted": encrypt_secret(json.dumps(kept), purpose=_PURPOSE)
            if kept
            else "",
        },
    )
    return LibraryInfo(agency_id=agency_id, email=email, phone=phone, parameters=kept)


def saved_library_info_update(
    *, profile: Profile, agency_id: str, values: Mapping[str, str]
) -> LibraryInfo:
    """Save these order-form values (by VIP parameter type) for one library (R-PORTAL-15).

    The inverse of ``saved_library_info_prefill``: the types given replace what was saved (an
    empty value clears it); the others saved for the library stay as they are. The same checks
    as ``saved_library_info_save``; a CPR is never kept.
    """
    current = saved_library_info_for(profile=profile, agency_id=agency_id)
    agency = agency_get(agency_id=agency_id)
    allowed = set(saveable_parameter_types(agency=agency)) if agency is not None else set()
    # What the library no longer asks for is dropped, not refused: the user did not type it now.
    parameters = {k: v for k, v in current.parameters.items() if k in allowed}
    email, phone = current.email, current.phone
    for kind, value in values.items():
        if kind == OrderUserParameterType.MAIL:
            email = value
        elif kind == OrderUserParameterType.TELEPHONE:
            phone = value
        elif value:
            parameters[kind] = value
        else:
            parameters.pop(kind, None)
    return saved_library_info_save(
        profile=profile, agency_id=agency_id, email=email, phone=phone, parameters=parameters
    )

"""Parse and key the identifiers user data is given; user IDs are only kept as keyed hashes."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from django.utils.translation import gettext as _

from biblogin.common.cpr_crypto import keyed_hash
from biblogin.common.errors import ApplicationError

_AGENCY_ID = re.compile(r"[0-9]{6}")
_USER_ID_MAX_LENGTH = 254


def parse_agency_id(value: object) -> str:
    """Return a 6-digit agency ID, else raise."""
    agency_id = value.strip() if isinstance(value, str) else ""
    if not _AGENCY_ID.fullmatch(agency_id):
        raise ApplicationError(
            _("Ugyldigt biblioteksnummer: det skal være 6 cifre."), code="invalid_agency_id"
        )
    return agency_id


def parse_guid(value: object) -> uuid.UUID:
    """Return the patron guid, else raise."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        raise ApplicationError(_("Ugyldig profil."), code="invalid_guid") from None


def _user_id(value: object) -> str:
    user_id = value.strip() if isinstance(value, str) else ""
    if not user_id or len(user_id) > _USER_ID_MAX_LENGTH:
        raise ApplicationError(_("Ugyldigt bruger-id."), code="invalid_user_id")
    return user_id


def link_user_key(*, agency_id: str, user_id: str) -> str:
    """Key of a user ID at an agency for "don't ask again"; e-mail IDs ignore case."""
    return keyed_hash(
        f"{parse_agency_id(agency_id)}\x00{_user_id(user_id).casefold()}",
        purpose="userdata-link-offer",
    )


def local_id_key(*, agency_id: str, local_id: str) -> str:
    """Key of a CULR local ID at an agency, exactly as CULR stores it."""
    return keyed_hash(
        f"{parse_agency_id(agency_id)}\x00{_user_id(local_id)}", purpose="userdata-portal-link"
    )


# A catalogue PID: "<agency or base>-<name>:<local ID>", e.g. "870970-basis:12345678".
_PID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}:[0-9A-Za-z._-]{1,31}")
_PARAM_NAME = re.compile(r"[a-z_]{1,20}")
_TITLE_MAX = 300
_QUERY_MAX = 256
_PARAMS_MAX = 8
_PARAM_VALUES_MAX = 20
_PARAM_VALUE_MAX = 64


def parse_pid(value: object) -> str:
    """Return a catalogue PID, else raise."""
    pid = value.strip() if isinstance(value, str) else ""
    if not _PID.fullmatch(pid):
        raise ApplicationError(_("Ukendt materiale."), code="invalid_pid")
    return pid


def _printable(value: str) -> str:
    return "".join(ch for ch in value if ch.isprintable()).strip()


def parse_title(value: object) -> str:
    """Return a title to keep and sort by: printable, at most 300 characters."""
    title = _printable(value) if isinstance(value, str) else ""
    return title[:_TITLE_MAX]


def parse_search_query(value: object) -> str:
    """Return a search query to keep: printable, one line, at most 256 characters."""
    query = " ".join(_printable(value).split()) if isinstance(value, str) else ""
    if not query:
        raise ApplicationError(_("Der er ingen søgning at gemme."), code="empty_query")
    if len(query) > _QUERY_MAX:
        raise ApplicationError(_("Søgningen er for lang."), code="query_too_long")
    return query


def parse_search_params(value: object) -> dict[str, list[str]]:
    """Return a search's filters as {name: [values]}: a few short, printable values, else raise."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or len(value) > _PARAMS_MAX:
        raise ApplicationError(_("Ugyldige filtre."), code="invalid_params")
    params: dict[str, list[str]] = {}
    for name, raw in value.items():
        values = [raw] if isinstance(raw, str) else raw
        if (
            not isinstance(name, str)
            or not _PARAM_NAME.fullmatch(name)
            or not isinstance(values, list)
            or len(values) > _PARAM_VALUES_MAX
        ):
            raise ApplicationError(_("Ugyldige filtre."), code="invalid_params")
        cleaned = []
        for item in values:
            text = _printable(item) if isinstance(item, str) else ""
            if not text or len(text) > _PARAM_VALUE_MAX:
                raise ApplicationError(_("Ugyldige filtre."), code="invalid_params")
            cleaned.append(text)
        if cleaned:
            params[name] = cleaned
    return dict(sorted(params.items()))

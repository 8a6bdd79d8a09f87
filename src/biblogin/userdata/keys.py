"""Parse and key the identifiers user data is given; user IDs are only kept as keyed hashes."""

from __future__ import annotations

import uuid

from django.utils.translation import gettext as _

from biblogin.common.agency_ids import agency_id_parse
from biblogin.common.cpr_crypto import keyed_hash
from biblogin.common.errors import ApplicationError

_USER_ID_MAX_LENGTH = 254


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
        f"{agency_id_parse(agency_id)}\x00{_user_id(user_id).casefold()}",
        purpose="userdata-link-offer",
    )


def local_id_key(*, agency_id: str, local_id: str) -> str:
    """Key of a CULR local ID at an agency, exactly as CULR stores it."""
    return keyed_hash(
        f"{agency_id_parse(agency_id)}\x00{_user_id(local_id)}", purpose="userdata-portal-link"
    )

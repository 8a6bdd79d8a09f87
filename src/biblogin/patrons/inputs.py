"""Parse the identifiers CULR is given: CPR, agency ID, local ID, municipality number.

Each ``parse_*`` returns the normalised value or raises ``ApplicationError`` with a Danish message
that never repeats the input (it may be a CPR, R-CULR-5).
"""

from __future__ import annotations

import unicodedata

from django.utils.translation import gettext as _

from biblogin.common.agency_ids import agency_id_parse
from biblogin.common.cpr import normalise_cpr
from biblogin.common.errors import ApplicationError

LOCAL_ID_MAX_LENGTH = 254


def parse_cpr(value: object) -> str:
    """Return the 10 digits of a CPR (R-BC-4 normalisation), else raise."""
    cpr = normalise_cpr(value) if isinstance(value, str) else None
    if cpr is None:
        raise ApplicationError(
            _("Ugyldigt CPR-nummer: skriv 10 cifre (DDMMÅÅ-SSSS) med en gyldig fødselsdato."),
            code="invalid_cpr",
        )
    return cpr


# CULR's agency IDs are the registry's: one rule, in common.
parse_agency_id = agency_id_parse


def parse_local_id(value: object) -> str:
    """Return a trimmed local ID (borrower number, card number, e-mail), else raise."""
    local_id = value.strip() if isinstance(value, str) else ""
    if not local_id:
        raise ApplicationError(_("Det lokale id må ikke være tomt."), code="invalid_local_id")
    if len(local_id) > LOCAL_ID_MAX_LENGTH:
        raise ApplicationError(
            _("Det lokale id er for langt (højst %(max)d tegn).") % {"max": LOCAL_ID_MAX_LENGTH},
            code="invalid_local_id",
        )
    # One token of printable characters: control characters (NUL above all) and lone
    # surrogates cannot be stored, and whitespace inside an ID is a typing error.
    if any(ch.isspace() or unicodedata.category(ch) in _UNPRINTABLE for ch in local_id):
        raise ApplicationError(
            _("Det lokale id må ikke indeholde mellemrum eller kontroltegn."),
            code="invalid_local_id",
        )
    return local_id


_UNPRINTABLE = {"Cc", "Cf", "Cs", "Co", "Cn"}


def parse_municipality_no(value: object) -> int | None:
    """Return a Danish municipality number (3 digits, e.g. 101) or None, else raise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 999:
        raise ApplicationError(
            _("Ugyldigt kommunenummer: det skal være et tal mellem 100 og 999."),
            code="invalid_municipality_no",
        )
    return value

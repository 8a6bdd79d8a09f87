"""Agency and branch IDs: the one place that says what a 6-digit library number looks like.

Glossary (DOMAIN.md): an agency has a 6-digit ID (public libraries ``7<municipality>00``); its
branches have 6-digit IDs too (R-VIP-10). Only the ASCII digits 0-9 count: ``str.isdigit`` and
the regex ``\\d`` also accept other scripts' digits (Arabic-Indic, Devanagari, ...), which no
registry holds.

- ``is_agency_id`` / ``is_branch_id``: the value is exactly an ID (not trimmed).
- ``agency_id_clean`` / ``branch_id_clean``: the trimmed ID, or None (input from outside).
- ``agency_id_parse`` / ``branch_id_parse``: the trimmed ID, or ``ApplicationError`` (services).
- ``six_digits``: the same rule as a model and form field validator.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from biblogin.common.errors import ApplicationError

ID_LENGTH = 6
_DIGITS = frozenset("0123456789")

# Field validator for agency and branch IDs (registry, login platform clients, library systems).
six_digits = RegexValidator(r"^[0-9]{6}$", gettext_lazy("Skal være præcis 6 cifre (0-9)."))


def is_agency_id(value: object) -> bool:
    """Tell whether the value is exactly six ASCII digits, untrimmed."""
    return isinstance(value, str) and len(value) == ID_LENGTH and _DIGITS.issuperset(value)


# A branch ID has the same shape; whether it lies in its agency's range is the registry's rule.
is_branch_id = is_agency_id


def agency_id_clean(value: object) -> str | None:
    """Return the trimmed agency ID if it is six ASCII digits, else None (it names nothing)."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if is_agency_id(value) else None


branch_id_clean = agency_id_clean


def agency_id_parse(value: object) -> str:
    """Return the trimmed agency ID, else raise ``ApplicationError`` (never repeating the input)."""
    agency_id = agency_id_clean(value)
    if agency_id is None:
        raise ApplicationError(
            _("Ugyldigt biblioteksnummer: det skal være 6 cifre."), code="invalid_agency_id"
        )
    return agency_id


def branch_id_parse(value: object) -> str:
    """Return the trimmed branch ID, else raise ``ApplicationError``."""
    branch_id = branch_id_clean(value)
    if branch_id is None:
        raise ApplicationError(_("Ugyldigt afhentningssted."), code="invalid_branch")
    return branch_id

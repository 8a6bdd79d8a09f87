"""CPR numbers: normalise, validate, derive birth date, birth year and gender; mask for display."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

# Hyphen, and the dashes that word processors and phones put in its place (U+2010-2015, U+2212).
_DASHES = "\\-\u2010-\u2015\u2212"
_SEPARATORS = re.compile(rf"[\s{_DASHES}]")
_CPR_SHAPE = re.compile(r"^\d{10}$")
_MASK_PATTERN = re.compile(rf"(?<!\d)(\d{{6}})[\s{_DASHES}]?(\d{{4}})(?!\d)")


def normalise_cpr(value: str) -> str | None:
    """Return the 10 digits of a CPR typed as DDMMYYSSSS, DDMMYY-SSSS or with spaces, else None.

    R-BC-4: only a real date counts; anything else is not a CPR.
    """
    if not isinstance(value, str) or len(value) > 32:
        return None
    digits = _SEPARATORS.sub("", value.strip())
    if not _CPR_SHAPE.fullmatch(digits) or not digits.isascii():
        return None
    return digits if birth_date(digits) is not None else None


def is_cpr(value: str) -> bool:
    return normalise_cpr(value) is not None


def birth_year(cpr: str) -> int | None:
    """Return the four-digit birth year, the century taken from the 7th digit."""
    if not _CPR_SHAPE.fullmatch(cpr) or not cpr.isascii():
        return None
    yy = int(cpr[4:6])
    seventh = int(cpr[6])
    if seventh <= 3:
        century = 1900
    elif seventh in (4, 9):
        century = 2000 if yy <= 36 else 1900
    else:  # 5-8
        century = 2000 if yy <= 57 else 1800
    return century + yy


def birth_date(cpr: str) -> dt.date | None:
    year = birth_year(cpr)
    if year is None:
        return None
    try:
        return dt.date(year, int(cpr[2:4]), int(cpr[0:2]))
    except ValueError:
        return None


def gender(cpr: str) -> Literal["male", "female"] | None:
    """Odd last digit: male; even: female."""
    if not _CPR_SHAPE.fullmatch(cpr) or not cpr.isascii():
        return None
    return "male" if int(cpr[9]) % 2 else "female"


def mask_cpr(cpr: str) -> str:
    """Show only the birth date: ``150385-XXXX``. R-CULR-5: never in full in any UI."""
    if not cpr:
        return ""
    return f"{cpr[:6]}-XXXX" if len(cpr) >= 6 else "XXXXXX-XXXX"


def mask_cprs_in_text(text: str) -> str:
    """Replace every CPR-looking number (10 digits, optional dash) in free text, e.g. log lines."""
    return _MASK_PATTERN.sub(lambda m: f"{m.group(1)}-XXXX", text)

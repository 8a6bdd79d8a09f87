"""CPR numbers: normalise, validate, derive birth date, birth year and gender; mask for display."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

# Hyphen, and the dashes that word processors and phones put in its place (U+2010-2015, U+2212).
_DASHES = "\\-\u2010-\u2015\u2212"
_SEPARATORS = re.compile(rf"[\s{_DASHES}]")
_CPR_SHAPE = re.compile(r"^\d{10}$")
# Not inside a longer run of letters and digits (a UUID's hex may hold ten digits in a row).
_MASK_PATTERN = re.compile(rf"(?<![0-9A-Za-z])(\d{{6}})[\s{_DASHES}]?(\d{{4}})(?![0-9A-Za-z])")
# Digits in groups split by a few spaces or dashes: "15 03 85 12 34", "1503 85-1234".
_DIGIT_RUN = re.compile(rf"\d+(?:[\s{_DASHES}]{{1,3}}\d+)+")
_DIGIT_GROUP = re.compile(r"\d+")


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
    """Replace every CPR-looking number in free text, e.g. log lines and audit subjects.

    10 digits with at most one dash or space are masked whatever they are; 10 digits typed in
    other groups ("15 03 85 12 34") when they make a real CPR date (R-CULR-5: a CPR typed with
    spaces at a library that does not take CPRs is still a CPR).
    """
    masked = _MASK_PATTERN.sub(lambda m: f"{m.group(1)}-XXXX", text)
    return _DIGIT_RUN.sub(_mask_grouped_cprs, masked)


def _mask_grouped_cprs(run: re.Match[str]) -> str:
    """Mask each stretch of whole digit groups in this run that makes a 10-digit real CPR."""
    text = run.group(0)
    groups = list(_DIGIT_GROUP.finditer(text))
    out: list[str] = []
    position = 0
    i = 0
    while i < len(groups):
        digits = ""
        j = i
        while j < len(groups) and len(digits) < 10:
            digits += groups[j].group(0)
            j += 1
        if len(digits) == 10 and birth_date(digits) is not None:
            out.append(text[position : groups[i].start()])
            out.append(f"{digits[:6]}-XXXX")
            position = groups[j - 1].end()
            i = j
        else:
            i += 1
    out.append(text[position:])
    return "".join(out)

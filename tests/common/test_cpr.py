"""CPR helpers: normalisation (R-BC-4), century rule, birth date, gender, masking (R-CULR-5)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from biblogin.common.cpr import (
    birth_date,
    birth_year,
    gender,
    is_cpr,
    mask_cpr,
    mask_cprs_in_text,
    normalise_cpr,
)

# The CPR office's table, written out independently of the code: the 7th digit and the
# two-digit year give the century ("Personnummeret i CPR", CPR-kontoret).
#               7th digit: YY 00-36, YY 37-57, YY 58-99
CENTURY_TABLE = {
    0: (1900, 1900, 1900),
    1: (1900, 1900, 1900),
    2: (1900, 1900, 1900),
    3: (1900, 1900, 1900),
    4: (2000, 1900, 1900),
    5: (2000, 2000, 1800),
    6: (2000, 2000, 1800),
    7: (2000, 2000, 1800),
    8: (2000, 2000, 1800),
    9: (2000, 1900, 1900),
}


def table_century(seventh: int, yy: int) -> int:
    column = 0 if yy <= 36 else 1 if yy <= 57 else 2
    return CENTURY_TABLE[seventh][column]


# --- normalise --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "1503851234",
        "150385-1234",
        "150385 1234",
        " 150385-1234 ",
        "\t150385 - 1234\n",
        "15 03 85 12 34",
        "150385\u20131234",  # en dash, as word processors write it
        "150385\u22121234",  # minus sign
        "150385\u00a01234",  # no-break space
    ],
)
def test_cpr_typed_with_dash_or_spaces_is_normalised_to_10_digits_R_BC_4(typed):
    assert normalise_cpr(typed) == "1503851234"
    assert is_cpr(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "3102851234",  # 31 February
        "0013851234",  # month 00
        "1513851234",  # month 13
        "0001851234",  # day 00
        "2902014234",  # 29 Feb 2001 (not a leap year; 7th digit 4, YY 01 -> 2001)
        "150385123",  # 9 digits
        "15038512345",  # 11 digits
        "150385-12a4",
        "150385_1234",
        "١٥٠٣٨٥١٢٣٤",  # Arabic-Indic digits are not CPR digits
        "",
        "   ",
        "lånernummer",
        "1" * 40,
    ],
)
def test_not_a_cpr_is_rejected_R_BC_4(typed):
    assert normalise_cpr(typed) is None
    assert not is_cpr(typed)


def test_leap_day_is_a_real_date_only_in_leap_years_R_BC_4():
    assert normalise_cpr("2902004234") == "2902004234"  # 29 Feb 2000
    assert normalise_cpr("2902000234") is None  # 29 Feb 1900: not a leap year
    assert normalise_cpr("2902963234") == "2902963234"  # 29 Feb 1996


def test_non_string_input_is_not_a_cpr():
    assert normalise_cpr(None) is None  # type: ignore[arg-type]
    assert normalise_cpr(1503851234) is None  # type: ignore[arg-type]


# --- century rule, birth date ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpr", "year"),
    [
        ("0101000000", 1900),
        ("0101993999", 1999),
        ("0101364000", 2036),
        ("0101374000", 1937),
        ("0101579000", 1957),
        ("0101369000", 2036),
        ("0101375000", 2037),
        ("0101575000", 2057),
        ("0101585000", 1858),
        ("0101998999", 1899),
        ("0101008999", 2000),
    ],
)
def test_century_from_seventh_digit_and_year(cpr, year):
    assert birth_year(cpr) == year


def test_century_rule_matches_the_table_for_every_digit_and_year():
    for seventh in range(10):
        for yy in range(100):
            cpr = f"0101{yy:02d}{seventh}000"
            assert birth_year(cpr) == table_century(seventh, yy) + yy, cpr


@given(seventh=st.integers(0, 9), yy=st.integers(0, 99), rest=st.integers(0, 999))
def test_century_rule_property_against_the_table(seventh, yy, rest):
    cpr = f"2806{yy:02d}{seventh}{rest:03d}"
    expected_year = table_century(seventh, yy) + yy
    assert birth_year(cpr) == expected_year
    assert birth_date(cpr) == dt.date(expected_year, 6, 28)


def test_birth_date_is_day_month_and_full_year():
    assert birth_date("1503851234") == dt.date(1985, 3, 15)
    assert birth_date("0107124321") == dt.date(2012, 7, 1)
    assert birth_date("3104851234") is None
    assert birth_date("not a cpr") is None
    assert birth_year("150385-1234") is None  # only normalised input


# --- gender -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpr", "expected"),
    [
        ("1503851231", "male"),
        ("1503851233", "male"),
        ("1503851239", "male"),
        ("1503851230", "female"),
        ("1503851232", "female"),
        ("1503851238", "female"),
    ],
)
def test_odd_last_digit_is_male_even_is_female(cpr, expected):
    assert gender(cpr) == expected


def test_gender_of_something_else_is_unknown():
    assert gender("150385-1231") is None
    assert gender("") is None


# --- masking (R-CULR-5) -----------------------------------------------------------------------


def test_mask_shows_only_the_birth_date_R_CULR_5():
    assert mask_cpr("1503851234") == "150385-XXXX"
    assert mask_cpr("") == ""
    assert mask_cpr("123") == "XXXXXX-XXXX"
    assert "1234" not in mask_cpr("1503851234")


def test_cprs_in_free_text_are_masked_R_CULR_5():
    text = (
        "login 1503851234 ok, other 150385-4321 and 150385 9999, 150385\u20135555; "
        "order 12345678901 stays"
    )
    masked = mask_cprs_in_text(text)
    assert "1234" not in masked.split("ok")[0]
    assert "4321" not in masked and "9999" not in masked and "5555" not in masked
    assert masked.count("150385-XXXX") == 4
    assert "12345678901" in masked  # 11 digits is not a CPR


# --- property-based: normalisation --------------------------------------------------------------


@st.composite
def valid_cprs(draw):
    """A real CPR: a date that exists, with a 7th digit whose century gives that year."""
    day = draw(st.dates(min_value=dt.date(1858, 1, 1), max_value=dt.date(2057, 12, 31)))
    yy = day.year % 100
    digits = [d for d in range(10) if table_century(d, yy) == day.year - yy]
    assume(digits)
    seventh = draw(st.sampled_from(digits))
    rest = draw(st.integers(0, 999))
    return f"{day:%d%m}{yy:02d}{seventh}{rest:03d}", day


separators = st.sampled_from(["", "-", " ", " - ", "  ", "\t", "\u2013", "\u2011"])
padding = st.sampled_from(["", " ", "\t", "\n", "  "])


@given(cpr_and_day=valid_cprs(), sep=separators, left=padding, right=padding, spaced=st.booleans())
@example(cpr_and_day=("0101000000", dt.date(1900, 1, 1)), sep="-", left="", right="", spaced=False)
def test_any_formatting_of_a_valid_cpr_normalises_to_the_same_10_digits_R_BC_4(
    cpr_and_day, sep, left, right, spaced
):
    cpr, day = cpr_and_day
    head = " ".join([cpr[0:2], cpr[2:4], cpr[4:6]]) if spaced else cpr[:6]
    typed = f"{left}{head}{sep}{cpr[6:]}{right}"
    assert normalise_cpr(typed) == cpr
    assert birth_date(cpr) == day


@given(text=st.text(max_size=60))
def test_arbitrary_text_never_raises_and_only_real_cprs_pass_R_BC_4(text):
    result = normalise_cpr(text)
    if result is not None:
        assert len(result) == 10 and result.isascii() and result.isdigit()
        assert birth_date(result) is not None
        assert gender(result) in ("male", "female")
    mask_cprs_in_text(text)
    mask_cpr(text)


@given(digits=st.from_regex(r"[0-9]{10}", fullmatch=True))
def test_ten_digits_are_a_cpr_exactly_when_they_make_a_real_date(digits):
    year = table_century(int(digits[6]), int(digits[4:6])) + int(digits[4:6])
    try:
        dt.date(year, int(digits[2:4]), int(digits[0:2]))
        real = True
    except ValueError:
        real = False
    assert (normalise_cpr(digits) == digits) is real


def test_a_cpr_typed_in_other_groups_is_masked_in_free_text_R_CULR_5():
    """R-CULR-5: "15 03 85 12 34" or "1503 85-1234" is the same CPR and masked like it."""
    for typed in (
        "15 03 85 12 34",
        "1503 85-1234",
        "150385 - 1234",
        "15-03-85-1234",
        "150  385 1234",
    ):
        masked = mask_cprs_in_text(f"820099:{typed} failed")
        assert masked == "820099:150385-XXXX failed", masked
    assert mask_cprs_in_text("tlf 12 34 56 78, 2026-12-02 06:17:00") == (
        "tlf 12 34 56 78, 2026-12-02 06:17:00"
    )


@given(cpr_and_day=valid_cprs(), cut=st.lists(st.integers(1, 9), max_size=4, unique=True),
       sep=st.sampled_from([" ", "-", "  ", " - ", "\t", "\u2013"]))  # fmt: skip
def test_every_grouping_of_a_real_cpr_is_masked_R_CULR_5(cpr_and_day, cut, sep):
    cpr, _day = cpr_and_day
    cuts = sorted(cut)
    pieces = [cpr[a:b] for a, b in zip([0, *cuts], [*cuts, 10], strict=True)]
    masked = mask_cprs_in_text(f"user {sep.join(pieces)} at 820099")
    assert masked == f"user {cpr[:6]}-XXXX at 820099"

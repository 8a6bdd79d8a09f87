"""Parsing what CULR is given (R-BC-4 normalisation, R-SEC-3 bad input)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from biblogin.common.errors import ApplicationError
from biblogin.patrons.inputs import (
    parse_agency_id,
    parse_cpr,
    parse_local_id,
    parse_municipality_no,
)


@given(
    born=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(1999, 12, 31)),
    serial=st.integers(min_value=0, max_value=3999),
    style=st.sampled_from(["{d}{s}", "{d}-{s}", " {d} {s} ", "{d} - {s}"]),
)
def test_a_cpr_typed_any_usual_way_parses_to_its_ten_digits_R_BC_4(born, serial, style):
    digits = f"{born:%d%m%y}"
    typed = style.format(d=digits, s=f"{serial:04d}")
    assert parse_cpr(typed) == f"{digits}{serial:04d}"


@given(st.text(max_size=40))
def test_any_text_is_a_cpr_or_refused_without_echo(text):
    try:
        cpr = parse_cpr(text)
    except ApplicationError as exc:
        assert exc.code == "invalid_cpr"
        # One fixed message, whatever was typed: the input is never echoed (R-CULR-5).
        assert exc.message == _message_of(lambda: parse_cpr("x"))
    else:
        assert len(cpr) == 10 and cpr.isdigit()


@given(st.text(max_size=300))
def test_any_text_is_a_clean_local_id_or_refused(text):
    try:
        local = parse_local_id(text)
    except ApplicationError as exc:
        assert exc.code == "invalid_local_id"
    else:
        assert local == text.strip()
        assert local and len(local) <= 254
        assert "\x00" not in local and not any(c.isspace() for c in local)


def _message_of(call):
    with pytest.raises(ApplicationError) as caught:
        call()
    return caught.value.message


@pytest.mark.parametrize("value", [" 710100 ", "820010"])
def test_agency_ids_are_six_digits_trimmed(value):
    assert parse_agency_id(value) == value.strip()


FULLWIDTH_710100 = "\uff17\uff11\uff10\uff11\uff10\uff10"


@pytest.mark.parametrize("value", ["7101001", "71010", FULLWIDTH_710100, "", None, 710100])
def test_other_agency_ids_are_refused(value):
    with pytest.raises(ApplicationError, match="6 cifre"):
        parse_agency_id(value)


@pytest.mark.parametrize("value", [0, 99, 1000, -101, True, "101"])
def test_municipality_numbers_are_three_digits(value):
    with pytest.raises(ApplicationError, match="kommunenummer"):
        parse_municipality_no(value)
    assert parse_municipality_no(101) == 101
    assert parse_municipality_no(None) is None

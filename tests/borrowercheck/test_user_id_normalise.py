"""Normalising typed user IDs by what users type at the agency (R-BC-4), as properties."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from biblogin.borrowercheck.services import NormalisedUserId, user_id_normalise
from biblogin.common.cpr import birth_date

ALL_KINDS = ("cpr", "borrower_number", "email")


@st.composite
def valid_cprs(draw: st.DrawFn) -> str:
    """A CPR of a real date in the 1900s (7th digit 0-3 puts every year there)."""
    born = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(1999, 12, 31)))
    seventh = draw(st.integers(min_value=0, max_value=3))
    rest = draw(st.integers(min_value=0, max_value=999))
    return f"{born:%d%m%y}{seventh}{rest:03d}"


@st.composite
def formatted(draw: st.DrawFn, cpr: str) -> str:
    """The CPR as someone might type it: a dash or spaces anywhere, whitespace around."""
    separators = draw(st.lists(st.sampled_from(["", "", " ", "-"]), min_size=9, max_size=9))
    body = "".join(d + s for d, s in zip(cpr, [*separators, ""], strict=True))
    return draw(st.text(" \t", max_size=2)) + body + draw(st.text(" \n", max_size=2))


@given(data=st.data(), cpr=valid_cprs())
def test_any_formatting_of_a_valid_cpr_normalises_to_its_ten_digits_R_BC_4(
    data: st.DataObject, cpr: str
) -> None:
    assert birth_date(cpr) is not None
    typed = data.draw(formatted(cpr))
    assert user_id_normalise(user_id=typed, user_id_kinds=ALL_KINDS) == NormalisedUserId(
        value=cpr, is_cpr=True
    )


@given(data=st.data(), cpr=valid_cprs())
def test_a_cpr_at_an_agency_without_cpr_stays_as_typed_only_trimmed_R_BC_4(
    data: st.DataObject, cpr: str
) -> None:
    typed = data.draw(formatted(cpr))
    result = user_id_normalise(user_id=typed, user_id_kinds=("borrower_number", "email"))
    assert result == NormalisedUserId(value=typed.strip(), is_cpr=False)


@given(user_id=st.text(max_size=60), kinds=st.sets(st.sampled_from(ALL_KINDS)))
def test_normalising_never_raises_and_is_idempotent_R_BC_4(user_id: str, kinds: set[str]) -> None:
    once = user_id_normalise(user_id=user_id, user_id_kinds=tuple(kinds))
    assert once.value == once.value.strip()
    assert user_id_normalise(user_id=once.value, user_id_kinds=tuple(kinds)) == once
    if once.is_cpr:
        assert len(once.value) == 10
        assert birth_date(once.value) is not None


def test_a_cpr_must_be_a_real_date_R_BC_4() -> None:
    for typed in ("320180-1234", "011380-1234", "290201-1234"):  # 29 Feb 1901 never was
        result = user_id_normalise(user_id=typed, user_id_kinds=ALL_KINDS)
        assert result == NormalisedUserId(value=typed, is_cpr=False)
    leap = user_id_normalise(user_id="290204-1234", user_id_kinds=ALL_KINDS)
    assert leap == NormalisedUserId(value="2902041234", is_cpr=True)


def test_e_mails_are_lower_cased_only_where_the_agency_uses_e_mail_R_BC_4() -> None:
    assert user_id_normalise(user_id=" A@B.dk ", user_id_kinds=("email",)).value == "a@b.dk"
    assert user_id_normalise(user_id=" A@B.dk ", user_id_kinds=("cpr",)).value == "A@B.dk"
    assert user_id_normalise(user_id="AB12", user_id_kinds=("email",)).value == "AB12"

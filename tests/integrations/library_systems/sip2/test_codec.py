"""Our SIP2 framing held against the third-party ``pysip2`` codec, which shares no code with it."""

from __future__ import annotations

import pysip2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from biblogin.integrations.library_systems.sip2.client import (
    Sip2MalformedAnswer,
    checksum,
    decode,
    encode,
    sip2_date,
)

# Values that can travel in a SIP2 field: cp850 text without | CR LF NUL.
_values = st.text(
    alphabet=st.characters(codec="cp850", exclude_characters="|\r\n\x00"), max_size=60
)


@given(data=st.binary(max_size=300))
def test_our_checksum_is_pysip2s(data: bytes) -> None:
    assert checksum(data) == pysip2.calculate_checksum(data)


@given(patron=_values, pin=_values, sequence=st.integers(0, 9))
def test_our_patron_information_request_decodes_in_pysip2_with_its_checksum(
    patron: str, pin: str, sequence: int
) -> None:
    frame = encode(
        "63",
        "000" + sip2_date() + "  Y       ",
        [("AO", "UCN"), ("AA", patron), ("AC", ""), ("AD", pin), ("BP", "1"), ("BQ", "9999")],
        encoding="cp850",
        sequence=sequence,
    )
    decoded = pysip2.decode_as(frame, pysip2.PatronInformationRequest)
    assert decoded.sequence_number == sequence and decoded.checksum is not None
    message = decoded.message
    assert (message.patron_identifier, message.patron_password) == (patron, pin)
    assert message.summary == "  Y       "


def test_our_renew_hold_item_and_login_requests_decode_in_pysip2() -> None:
    now = sip2_date()
    frames = {
        pysip2.RenewRequest: encode(
            "29",
            "NN" + now + now,
            [("AO", "U"), ("AA", "p"), ("AB", "L1"), ("AC", "")],
            encoding="cp850",
            sequence=1,
        ),
        pysip2.HoldRequest: encode(
            "15",
            "+" + now,
            [("AO", "U"), ("AA", "p"), ("BS", "829001"), ("AB", "m"), ("AC", "")],
            encoding="cp850",
            sequence=2,
        ),
        pysip2.ItemInformationRequest: encode(
            "17", now, [("AO", "U"), ("AB", "L1"), ("AC", "")], encoding="cp850", sequence=3
        ),
        pysip2.LoginRequest: encode(
            "93", "00", [("CN", "sc"), ("CO", "pw")], encoding="cp850", sequence=4
        ),
    }
    for kind, frame in frames.items():
        assert type(pysip2.decode_message(frame).message) is kind


@given(name=_values, items=st.lists(_values.filter(bool), max_size=5), sequence=st.integers(0, 9))
def test_pysip2s_patron_information_answer_reads_back_in_ours(
    name: str, items: list[str], sequence: int
) -> None:
    frame = pysip2.encode_message(
        pysip2.PatronInformationResponse(
            patron_status=" " * 14,
            language="000",
            transaction_date=sip2_date(),
            hold_items_count="0000",
            overdue_items_count="0000",
            charged_items_count=f"{len(items):04d}",
            fine_items_count="0000",
            recall_items_count="0000",
            unavailable_holds_count="0000",
            institution_id="UCN",
            patron_identifier="ref",
            personal_name=name,
            valid_patron="Y",
            charged_items=tuple(items),
        ),
        sequence_number=sequence,
        checksum=True,
    )
    message = decode(frame[:-1], encoding="cp850", expect="64", fixed_length=59, sequence=sequence)
    assert message.first("AE") == name
    assert message.every("AU") == tuple(items)
    assert message.first("BL") == "Y"


def test_one_flipped_byte_fails_the_checksum() -> None:
    frame = pysip2.encode_message(pysip2.LoginResponse(ok="1"), sequence_number=0, checksum=True)
    assert (
        decode(frame[:-1], encoding="cp850", expect="94", fixed_length=1, sequence=0).fixed == "1"
    )
    with pytest.raises(Sip2MalformedAnswer, match="checksum"):
        decode(b"940" + frame[3:-1], encoding="cp850", expect="94", fixed_length=1, sequence=0)


@pytest.mark.parametrize("value", ["a|b", "a\rb", "a\nb", "a\x00b", "x" * 256])
def test_values_that_would_break_the_frame_are_refused_before_sending(value: str) -> None:
    with pytest.raises(ValueError):
        encode("63", "", [("AA", value)], encoding="cp850", sequence=0)

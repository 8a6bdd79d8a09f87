"""Agency and branch IDs: one rule, six ASCII digits (DOMAIN.md glossary, R-VIP-1, R-VIP-10)."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from biblogin.common.agency_ids import (
    agency_id_clean,
    agency_id_parse,
    branch_id_parse,
    is_agency_id,
    six_digits,
)
from biblogin.common.errors import ApplicationError
from biblogin.integrations.library_systems.models import SimulatedSystem, Sip2Configuration
from biblogin.oidc.models import Client
from biblogin.registry.models import Agency, Branch

_SHAPE = re.compile(r"[0-9]{6}")
# 710100 in other scripts' digits: str.isdigit() and the regex \d accept them all.
ARABIC_INDIC = "\u0667\u0661\u0660\u0661\u0660\u0660"
DEVANAGARI = "\u096d\u0967\u0966\u0967\u0966\u0966"
FULL_WIDTH = "\uff17\uff11\uff10\uff11\uff10\uff10"


@given(st.text(max_size=12) | st.from_regex(r"\s*[0-9]{6}\s*", fullmatch=True))
def test_an_id_is_six_ascii_digits_and_input_is_trimmed_R_VIP_1(value):
    assert is_agency_id(value) == bool(_SHAPE.fullmatch(value))
    cleaned = agency_id_clean(value)
    assert cleaned == (value.strip() if _SHAPE.fullmatch(value.strip()) else None)


@pytest.mark.parametrize(
    "value",
    [
        ARABIC_INDIC,
        DEVANAGARI,
        FULL_WIDTH,
        "71010",
        "7101000",
        "71010x",
        "",
        None,
        710100,
        "710 100",
    ],
)
def test_digits_of_other_scripts_and_other_shapes_are_no_id_R_VIP_1(value):
    """``str.isdigit`` and ``\\d`` accept Arabic-Indic, Devanagari and full-width digits."""
    assert not is_agency_id(value)
    assert agency_id_clean(value) is None
    with pytest.raises(ApplicationError) as refused:
        agency_id_parse(value)
    assert refused.value.code == "invalid_agency_id"
    assert str(value) not in refused.value.message or not value
    with pytest.raises(ApplicationError):
        branch_id_parse(value)


def test_parse_returns_the_trimmed_id():
    assert agency_id_parse(" 710100\n") == "710100"
    assert branch_id_parse("710104 ") == "710104"


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (Agency, "agency_id"),
        (Branch, "branch_id"),
        (Client, "create_culr_account_agency"),
        (SimulatedSystem, "agency_id"),
        (Sip2Configuration, "agency_id"),
    ],
)
def test_every_stored_agency_or_branch_id_is_validated_by_the_one_rule_R_VIP_1(model, field):
    validators = model._meta.get_field(field).validators
    assert six_digits in validators
    with pytest.raises(ValidationError):
        six_digits(ARABIC_INDIC)
    six_digits("710100")

"""CULR look-ups by CPR and by (agency, local ID) (R-CULR-3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biblogin.patrons.selectors import (
    account_get_cpr,
    account_get_local,
    accounts_for_patron,
    patron_get_by_cpr,
    patron_get_by_guid,
    patron_get_by_local_id,
    patron_home_municipality,
)
from biblogin.patrons.services import account_create, account_delete
from tests.patrons.builders import CPR, CPR_DASHED, OTHER_CPR

pytestmark = pytest.mark.django_db


def test_patron_is_found_by_cpr_and_by_agency_and_local_id_R_CULR_3():
    """R-CULR-3: look-ups by CPR (in any typed form) and by (agency, local ID)."""
    local = account_create(agency_id="820010", cpr=CPR, local_id="s123", municipality_no=101)
    patron = local.patron

    assert patron_get_by_cpr(cpr=CPR) == patron
    assert patron_get_by_cpr(cpr=CPR_DASHED) == patron
    assert patron_get_by_cpr(cpr=" 150385 1234 ") == patron
    assert patron_get_by_local_id(agency_id="820010", local_id=" s123 ") == patron
    assert patron_get_by_guid(guid=patron.guid) == patron
    assert patron_get_by_guid(guid=str(patron.guid)) == patron
    assert account_get_local(agency_id="820010", local_id="s123") == local


def test_look_ups_do_not_cross_agencies_or_people_R_CULR_3():
    account_create(agency_id="820010", cpr=CPR, local_id="s123")
    account_create(agency_id="710100", cpr=OTHER_CPR)

    assert patron_get_by_local_id(agency_id="820011", local_id="s123") is None
    assert patron_get_by_local_id(agency_id="820010", local_id="S123") is None
    assert account_get_cpr(agency_id="710100", cpr=CPR) is None
    assert account_get_cpr(agency_id="710100", cpr=OTHER_CPR) is not None
    assert patron_get_by_cpr(cpr="0202021234") is None


@pytest.mark.parametrize(
    "lookup",
    [
        lambda: patron_get_by_cpr(cpr="3102851234"),
        lambda: patron_get_by_cpr(cpr="not a cpr\x00"),
        lambda: patron_get_by_guid(guid="not-a-uuid\x00"),
        lambda: patron_get_by_local_id(agency_id="7101001", local_id="s123"),
        lambda: patron_get_by_local_id(agency_id="820010", local_id=""),
        lambda: account_get_local(agency_id="820010", local_id="s1\x00"),
        lambda: account_get_cpr(agency_id="8200", cpr=CPR),
    ],
)
def test_a_malformed_look_up_finds_nothing(lookup):
    account_create(agency_id="820010", cpr=CPR, local_id="s123")
    assert lookup() is None


@settings(max_examples=50, deadline=None)
@given(agency_id=st.text(max_size=12), local_id=st.text(max_size=30), cpr=st.text(max_size=16))
def test_look_ups_with_any_text_answer_none_or_a_patron(agency_id, local_id, cpr):
    """R-SEC-3 (property): no text makes a look-up fail with anything but 'not found'."""
    assert patron_get_by_local_id(agency_id=agency_id, local_id=local_id) is None
    assert patron_get_by_cpr(cpr=cpr) is None
    assert patron_get_by_guid(guid=local_id) is None


def test_a_deactivated_patron_is_found_only_when_asked_for_R_CULR_4():
    account = account_create(agency_id="820010", cpr=CPR, local_id="s123")
    other = account_create(agency_id="820010", cpr=CPR, local_id="s124")
    account_delete(account=account)
    account_delete(account=other)

    assert patron_get_by_cpr(cpr=CPR) is None
    assert patron_get_by_cpr(cpr=CPR, include_inactive=True) == account.patron
    assert patron_get_by_guid(guid=account.patron.guid) is None
    assert patron_get_by_guid(guid=account.patron.guid, include_inactive=True) is not None


def test_accounts_for_patron_are_ordered_by_agency_with_the_cpr_account_first():
    account_create(agency_id="820010", cpr=CPR, local_id="b")
    account_create(agency_id="710100", cpr=CPR, local_id="a")
    cpr_account = account_create(agency_id="710100", cpr=CPR)

    accounts = accounts_for_patron(patron=cpr_account.patron)

    assert [(a.agency_id, a.id_type, a.local_id) for a in accounts] == [
        ("710100", "CPR", ""),
        ("710100", "LOCAL", "a"),
        ("820010", "LOCAL", "b"),
    ]


def test_home_municipality_is_what_a_public_library_delivered_R_LOGIN_6():
    patron = account_create(agency_id="775100", cpr=CPR, municipality_no=751).patron
    assert patron_home_municipality(patron=patron) == 751

    unknown = account_create(agency_id="820010", cpr=OTHER_CPR, local_id="x").patron
    assert patron_home_municipality(patron=unknown) is None

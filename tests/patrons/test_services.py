"""CULR writes: patrons by CPR, accounts at agencies (R-CULR-1, R-CULR-4, R-CULR-5)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblogin.common.cpr_crypto import cpr_hash
from biblogin.common.errors import ApplicationError
from biblogin.patrons.models import Account, AccountIdType, Patron
from biblogin.patrons.services import (
    account_create,
    account_delete,
    account_link,
    account_move,
    patron_get_or_create_by_cpr,
    patron_reactivate,
)
from tests.patrons.builders import CPR, CPR_DASHED, OTHER_CPR

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple[list[tuple], list[tuple]]:
    return (
        list(Patron.objects.order_by("pk").values_list()),
        list(Account.objects.order_by("pk").values_list()),
    )


def test_account_create_makes_patron_with_cpr_account_R_CULR_4():
    """R-CULR-4: an account for an unknown CPR creates the patron; no local ID: a CPR account."""
    account = account_create(agency_id="710100", cpr=CPR)

    patron = account.patron
    assert account.id_type == AccountIdType.CPR
    assert account.local_id == ""
    assert account.id_value == CPR
    assert patron.cpr == CPR
    assert patron.cpr_hash == cpr_hash(CPR)
    assert patron.is_active
    assert Patron.objects.count() == 1


def test_account_create_attaches_local_account_to_the_patron_with_that_cpr_R_CULR_4():
    """R-CULR-4: (agency, LOCAL id, CPR) attaches to the patron that already has the CPR."""
    cpr_account = account_create(agency_id="710100", cpr=CPR, municipality_no=101)

    local = account_create(agency_id="820010", cpr=CPR_DASHED, local_id=" L-42 ")

    assert local.patron_id == cpr_account.patron_id
    assert local.id_type == AccountIdType.LOCAL
    assert local.local_id == "L-42"  # trimmed
    assert Patron.objects.count() == 1
    assert Account.objects.filter(patron=cpr_account.patron).count() == 2


def test_creating_an_existing_account_returns_it_unchanged_R_CULR_4():
    """R-CULR-4: account creation is idempotent, for CPR and LOCAL accounts alike."""
    first_cpr = account_create(agency_id="710100", cpr=CPR)
    first_local = account_create(agency_id="710100", cpr=CPR, local_id="1234")
    before = _snapshot()

    assert account_create(agency_id="710100", cpr=CPR_DASHED) == first_cpr
    assert account_create(agency_id="710100", cpr=CPR, local_id="1234") == first_local
    assert _snapshot() == before


def test_account_is_unique_per_agency_type_and_value_in_the_database_R_CULR_1():
    """R-CULR-1: the database itself refuses a second (agency, type, value)."""
    account = account_create(agency_id="710100", cpr=CPR)
    account_create(agency_id="710100", cpr=CPR, local_id="1234")
    other = account_create(agency_id="710100", cpr=OTHER_CPR).patron

    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(
            patron=other, agency_id="710100", id_type=AccountIdType.LOCAL, local_id="1234"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(patron=account.patron, agency_id="710100", id_type="CPR")
    with pytest.raises(IntegrityError), transaction.atomic():
        Patron.objects.create(cpr_hash=cpr_hash(CPR), cpr_encrypted="v1:x")


def test_a_patron_has_a_guid_and_optionally_a_home_municipality_R_CULR_1():
    """R-CULR-1: a patron has a guid (UUID), its CPR if known, and a home municipality."""
    patron = patron_get_or_create_by_cpr(cpr=CPR, municipality_no=751)
    assert len(str(patron.guid)) == 36
    assert patron.municipality_no == 751
    assert patron_get_or_create_by_cpr(cpr=CPR_DASHED) == patron


def test_a_given_municipality_updates_the_patron_and_none_leaves_it():
    patron = patron_get_or_create_by_cpr(cpr=CPR, municipality_no=101)
    account_create(agency_id="710100", cpr=CPR, municipality_no=751)
    patron.refresh_from_db()
    assert patron.municipality_no == 751
    account_create(agency_id="820010", cpr=CPR, local_id="x1")
    patron.refresh_from_db()
    assert patron.municipality_no == 751


def test_local_id_held_by_another_patron_is_refused_and_nothing_changes_R_CULR_4():
    account_create(agency_id="820010", cpr=CPR, local_id="s123")
    before = _snapshot()

    with pytest.raises(ApplicationError) as caught:
        account_create(agency_id="820010", cpr=OTHER_CPR, local_id="s123")

    assert caught.value.code == "account_belongs_to_other_patron"
    assert "anden låner" in caught.value.message
    # The other CPR's patron is created only when the account can be made: nothing changed.
    assert _snapshot() == before


def test_account_link_moves_a_local_account_and_deactivates_the_former_patron_R_CULR_4():
    """R-PORTAL-6 / R-CULR-4: linking moves the local account; the emptied patron is deactivated."""
    old = account_create(agency_id="820010", cpr=CPR, local_id="s123")

    result = account_link(agency_id="820010", cpr=OTHER_CPR, local_id="s123")

    assert result.account_moved and not result.account_created
    assert result.account.pk == old.pk
    assert result.account.patron.cpr == OTHER_CPR
    old.patron.refresh_from_db()
    assert old.patron.is_active is False


def test_account_delete_deactivates_a_patron_left_without_accounts_R_CULR_4():
    """R-CULR-4: delete removes the account; a patron left with none is deactivated."""
    cpr_account = account_create(agency_id="710100", cpr=CPR)
    local = account_create(agency_id="820010", cpr=CPR, local_id="s1")
    patron = cpr_account.patron

    account_delete(account=local)
    patron.refresh_from_db()
    assert patron.is_active is True
    assert not Account.objects.filter(pk=local.pk).exists()

    account_delete(account=cpr_account)
    patron.refresh_from_db()
    assert patron.is_active is False
    assert Patron.objects.filter(pk=patron.pk).exists()  # kept, with its guid


def test_deleting_an_account_twice_is_harmless():
    account = account_create(agency_id="710100", cpr=CPR)
    account_delete(account=account)
    account_delete(account=account)
    assert Account.objects.count() == 0


def test_a_new_account_reactivates_a_deactivated_patron_with_the_same_guid_R_CULR_4():
    account = account_create(agency_id="710100", cpr=CPR)
    guid = account.patron.guid
    account_delete(account=account)

    again = account_create(agency_id="190101", cpr=CPR)

    assert again.patron.guid == guid
    assert again.patron.is_active is True
    assert Patron.objects.count() == 1


def test_patron_reactivate_marks_the_patron_active():
    account = account_create(agency_id="710100", cpr=CPR)
    account_delete(account=account)
    patron = patron_reactivate(patron=account.patron)
    assert patron.is_active is True


def test_account_move_re_parents_a_local_account_R_CULR_4():
    local = account_create(agency_id="820010", cpr=CPR, local_id="s1")
    target = patron_get_or_create_by_cpr(cpr=OTHER_CPR)

    moved = account_move(account=local, to_patron=target)

    assert moved.patron_id == target.pk
    local.patron.refresh_from_db()
    assert local.patron.is_active is False
    assert account_move(account=moved, to_patron=target).patron_id == target.pk


def test_a_cpr_account_cannot_be_moved_and_nothing_changes():
    account = account_create(agency_id="710100", cpr=CPR)
    target = patron_get_or_create_by_cpr(cpr=OTHER_CPR)
    before = _snapshot()
    with pytest.raises(ApplicationError) as caught:
        account_move(account=account, to_patron=target)
    assert caught.value.code == "not_a_local_account"
    assert _snapshot() == before


def test_a_local_id_equal_to_the_cpr_becomes_the_cpr_account_R_CULR_5():
    """R-CULR-5: the person's CPR given as local ID is never kept in plain text."""
    account = account_create(agency_id="710100", cpr=CPR, local_id=CPR_DASHED)
    assert account.id_type == AccountIdType.CPR
    assert not Account.objects.filter(local_id__contains="150385").exists()


@pytest.mark.parametrize(
    ("kwargs", "code", "words"),
    [
        ({"agency_id": "710100", "cpr": "3102851234"}, "invalid_cpr", "CPR-nummer"),
        ({"agency_id": "710100", "cpr": "15038512"}, "invalid_cpr", "CPR-nummer"),
        ({"agency_id": "710100", "cpr": ""}, "invalid_cpr", "CPR-nummer"),
        ({"agency_id": "7101001", "cpr": CPR}, "invalid_agency_id", "6 cifre"),
        ({"agency_id": "71010", "cpr": CPR}, "invalid_agency_id", "6 cifre"),
        ({"agency_id": "7101oo", "cpr": CPR}, "invalid_agency_id", "6 cifre"),
        ({"agency_id": "710100", "cpr": CPR, "local_id": "   "}, "invalid_local_id", "tomt"),
        ({"agency_id": "710100", "cpr": CPR, "local_id": "a\x00b"}, "invalid_local_id", "tegn"),
        ({"agency_id": "710100", "cpr": CPR, "local_id": "x" * 255}, "invalid_local_id", "langt"),
        (
            {"agency_id": "710100", "cpr": CPR, "municipality_no": 5},
            "invalid_municipality_no",
            "kommunenummer",
        ),
    ],
)
def test_bad_input_is_refused_with_a_danish_message_and_changes_nothing(kwargs, code, words):
    """R-SEC-3: bad input gets a clear message and changes nothing; the input is not echoed."""
    account_create(agency_id="820010", cpr=OTHER_CPR, local_id="keep")
    before = _snapshot()

    with pytest.raises(ApplicationError) as caught:
        account_create(**kwargs)

    assert caught.value.code == code
    assert words in caught.value.message
    assert kwargs["cpr"] not in caught.value.message or not kwargs["cpr"]
    assert _snapshot() == before


_free_text = st.text(max_size=40) | st.sampled_from(
    [CPR, CPR_DASHED, "710100", "7101001", " 820010 ", "0000000000", "1503851234\x00"]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(agency_id=_free_text, cpr=_free_text, local_id=st.none() | _free_text)
def test_any_input_either_makes_the_account_or_is_refused_without_change(agency_id, cpr, local_id):
    """R-SEC-3 (property): free-form input never raises anything but ApplicationError."""
    before = _snapshot()
    try:
        account = account_create(agency_id=agency_id, cpr=cpr, local_id=local_id)
    except ApplicationError as exc:
        assert exc.message
        assert _snapshot() == before
    else:
        assert account.agency_id == agency_id.strip()
        assert account.patron.cpr_hash is not None

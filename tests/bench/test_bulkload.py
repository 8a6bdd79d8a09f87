"""``patrons_bulkload``: synthetic patrons for the scale benchmark (R-CULR-1, R-CULR-5)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from biblogin.common.cpr import birth_date, normalise_cpr
from biblogin.common.cpr_crypto import cpr_hash
from biblogin.patrons.management.commands.patrons_bulkload import (
    DEFAULT_AGENCY_ID,
    MAX_SYNTHETIC,
    synthetic_cpr,
)
from biblogin.patrons.models import Account, AccountIdType, Patron
from biblogin.patrons.selectors import patron_get_by_cpr
from biblogin.patrons.services import account_create


def bulkload(**options: object) -> str:
    out = StringIO()
    call_command("patrons_bulkload", stdout=out, **options)
    return out.getvalue()


def synthetic() -> int:
    return Account.objects.filter(agency_id=DEFAULT_AGENCY_ID).count()


@given(st.integers(min_value=0, max_value=MAX_SYNTHETIC - 1))
def test_every_synthetic_cpr_is_a_valid_cpr_with_a_real_birth_date(index):
    """R-BC-4: a synthetic CPR is 10 digits whose date exists (and is in the 1900s)."""
    cpr = synthetic_cpr(index)
    assert normalise_cpr(cpr) == cpr
    born = birth_date(cpr)
    assert born is not None and 1920 <= born.year <= 1999


def test_synthetic_cprs_are_distinct():
    """Every index gives its own CPR: a million patrons never collide with each other."""
    sample = [*range(0, 60_000), *range(MAX_SYNTHETIC - 60_000, MAX_SYNTHETIC)]
    assert len({synthetic_cpr(i) for i in sample}) == len(sample)
    with pytest.raises(ValueError):
        synthetic_cpr(MAX_SYNTHETIC)


@pytest.mark.django_db
def test_bulkload_stores_cprs_encrypted_and_findable_by_keyed_hash_R_CULR_5():
    """R-CULR-5: the CPR only encrypted, found through its keyed hash; one CPR account each."""
    output = bulkload(count=200)

    assert "200 created" in output and "patrons/s" in output
    assert Patron.objects.count() == 200
    assert synthetic() == 200
    cpr = synthetic_cpr(7)
    patron = patron_get_by_cpr(cpr=cpr)
    assert patron is not None and patron.cpr == cpr
    assert cpr not in patron.cpr_encrypted and patron.cpr_hash == cpr_hash(cpr)
    (account,) = patron.accounts.all()
    assert (account.agency_id, account.id_type, account.local_id) == (
        DEFAULT_AGENCY_ID,
        AccountIdType.CPR,
        "",
    )


@pytest.mark.django_db
def test_bulkload_is_idempotent_and_reset_removes_only_synthetic_patrons():
    """Running it twice adds nothing; --reset deletes the synthetic patrons and no one else."""
    # A real person who happens to have the first synthetic CPR keeps their patron.
    real = account_create(agency_id="710100", cpr=synthetic_cpr(0)).patron
    first = bulkload(count=200)
    assert "1 CPRs skipped as taken" in first
    assert synthetic() == 200 and Patron.objects.count() == 201
    assert real.accounts.get().agency_id == "710100"

    again = bulkload(count=200)
    assert "200 already there, 0 created" in again
    assert Patron.objects.count() == 201

    bulkload(count=250)
    assert synthetic() == 250

    reset = bulkload(count=50, reset=True)
    assert "Reset: 250 synthetic patrons" in reset
    assert synthetic() == 50
    assert Patron.objects.filter(pk=real.pk).exists()
    assert Patron.objects.count() == 51


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"count": -1}, "--count"),
        ({"count": 10, "agency": "12345"}, "6 cifre"),
        ({"count": 10, "batch_size": 0}, "--batch-size"),
        ({"count": 10, "jobs": 0}, "--jobs"),
    ],
)
def test_bulkload_refuses_bad_options_and_changes_nothing(options, message):
    """Bad input: a clear message, no change."""
    with pytest.raises(CommandError, match=message):
        bulkload(**options)
    assert Patron.objects.count() == 0

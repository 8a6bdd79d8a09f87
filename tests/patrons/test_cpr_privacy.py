"""R-CULR-5: the CPR is stored only encrypted + keyed hash, and never logged."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.urls import reverse

from biblogin.common.cpr_crypto import cpr_hash
from biblogin.common.errors import ApplicationError
from biblogin.patrons.models import Account, Patron
from biblogin.patrons.selectors import patron_get_by_cpr, patron_get_by_local_id
from biblogin.patrons.services import account_create, account_delete, account_link
from tests.patrons.builders import CPR, CPR_DASHED, OTHER_CPR, every_table_text, raw_rows

pytestmark = pytest.mark.django_db


def test_the_cpr_is_stored_only_encrypted_and_hashed_R_CULR_5():
    """R-CULR-5: the raw rows hold ciphertext and the keyed hash, never the CPR."""
    account_create(agency_id="710100", cpr=CPR_DASHED)
    account_create(agency_id="820010", cpr=CPR, local_id=CPR_DASHED)  # becomes the CPR account
    account_create(agency_id="820010", cpr=CPR, local_id="s1")

    patron_rows = raw_rows(Patron._meta.db_table)
    assert len(patron_rows) == 1
    assert cpr_hash(CPR) in map(str, patron_rows[0])  # proves we read the real row
    everything = every_table_text()
    assert CPR not in everything
    assert CPR_DASHED not in everything
    assert "150385" not in "".join(map(str, raw_rows(Account._meta.db_table)))


def test_the_ciphertext_differs_for_the_same_cpr_and_decrypts_R_CULR_5():
    a = account_create(agency_id="710100", cpr=CPR).patron
    b = account_create(agency_id="710100", cpr=OTHER_CPR).patron
    assert a.cpr_encrypted != b.cpr_encrypted
    assert a.cpr_encrypted.startswith("v1:")
    assert Patron.objects.get(pk=a.pk).cpr == CPR


def test_no_log_line_ever_carries_the_cpr_R_CULR_5(caplog, admin_client):
    """R-CULR-5 / R-SEC-2: not even unmasked by a filter: services, SQL, admin and errors."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    connection.force_debug_cursor = True  # log every SQL statement with its parameters
    try:
        account = account_create(agency_id="710100", cpr=CPR_DASHED, municipality_no=101)
        account_link(agency_id="820010", cpr=CPR, local_id="s1")
        account_link(agency_id="820010", cpr=OTHER_CPR, local_id="s1")
        patron_get_by_cpr(cpr=CPR)
        patron_get_by_local_id(agency_id="820010", local_id="s1")
        for bad in ("1503851234x", "150385-12345", CPR + "\x00"):
            with pytest.raises(ApplicationError):
                account_create(agency_id="710100", cpr=bad)
        with pytest.raises(ApplicationError):
            account_create(agency_id="7101001", cpr=CPR)
        admin_client.get(reverse("admin:patrons_patron_changelist"), {"q": CPR_DASHED})
        admin_client.post(
            reverse("admin:patrons_account_add"),
            {"agency_id": "710100", "cpr": CPR, "local_id": ""},
        )
        account_delete(account=account)
    finally:
        connection.force_debug_cursor = False

    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "CULR account created" in text and "SELECT" in text  # the logs were captured
    assert CPR not in text
    assert CPR_DASHED not in text

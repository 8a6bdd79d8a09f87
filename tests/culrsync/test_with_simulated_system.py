"""The delivery against the embedded simulated library system, through library_system_for."""

from __future__ import annotations

import pytest

from biblogin.culrsync.services import culr_sync_agency
from biblogin.integrations.library_systems.services import simulated_borrower_create
from biblogin.patrons.selectors import account_get_local, patron_get_by_cpr
from biblogin.registry.models import Agency, AgencyType
from tests.patrons.builders import CPR, OTHER_CPR, cpr_number

pytestmark = pytest.mark.django_db


def test_the_simulated_library_system_delivers_its_borrowers_to_culr_R_CULR_2():
    """R-CULR-2 end to end: registry agency + its (simulated) library system -> CULR."""
    Agency.objects.create(
        agency_id="710100",
        name="Københavns Biblioteker",
        agency_type=AgencyType.FOLKEBIBLIOTEK,
        municipality_no=101,
        culr_sync=True,
    )
    simulated_borrower_create(
        agency_id="710100",
        name="Anna",
        pin="1234",
        cpr=CPR,
        borrower_numbers=["1111"],
        municipality_no=101,
    )
    simulated_borrower_create(
        agency_id="710100", name="Bo", pin="1234", borrower_numbers=["2222"]
    )  # no CPR: skipped
    for i in range(30):
        simulated_borrower_create(
            agency_id="710100", name=f"L{i}", pin=None, cpr=cpr_number(100 + i)
        )

    first = culr_sync_agency(agency_id="710100")
    second = culr_sync_agency(agency_id="710100")

    patron = patron_get_by_cpr(cpr=CPR)
    assert patron is not None and patron.municipality_no == 101
    assert account_get_local(agency_id="710100", local_id="1111").patron == patron
    assert account_get_local(agency_id="710100", local_id="2222") is None
    assert patron_get_by_cpr(cpr=OTHER_CPR) is None
    assert first.skipped_without_cpr == 1
    assert first.accounts_created == 32
    assert second.changes == 0

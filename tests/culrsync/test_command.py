"""The ``culrsync`` management command (R-CULR-2)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from biblogin.culrsync import services as culrsync_services
from biblogin.patrons.selectors import account_get_local, patron_get_by_cpr
from biblogin.registry.models import Agency, AgencyType
from tests.culrsync.test_services import ExportingLibrarySystem, borrower
from tests.patrons.builders import CPR, OTHER_CPR

pytestmark = pytest.mark.django_db


@pytest.fixture
def library_systems(monkeypatch: pytest.MonkeyPatch) -> dict[str, ExportingLibrarySystem]:
    """Replace the library systems (the integration boundary) with exporting doubles."""
    systems = {
        "710100": ExportingLibrarySystem("710100", [borrower(CPR, "111", municipality_no=101)]),
        "775100": ExportingLibrarySystem("775100", [borrower(OTHER_CPR, "222")]),
    }
    monkeypatch.setattr(culrsync_services, "_library_system_for", systems.__getitem__)
    for agency_id, municipality in (("710100", 101), ("775100", 751)):
        Agency.objects.create(
            agency_id=agency_id,
            name=f"Bibliotek {agency_id}",
            agency_type=AgencyType.FOLKEBIBLIOTEK,
            municipality_no=municipality,
            culr_sync=True,
        )
    Agency.objects.create(
        agency_id="820010", name="FFU", agency_type=AgencyType.FORSKNINGSBIBLIOTEK
    )
    return systems


def test_culrsync_delivers_one_agency(library_systems):
    out = StringIO()
    call_command("culrsync", "--agency", "710100", stdout=out)

    assert account_get_local(agency_id="710100", local_id="111") is not None
    assert patron_get_by_cpr(cpr=OTHER_CPR) is None
    assert out.getvalue().startswith("710100:")
    assert CPR not in out.getvalue()


def test_culrsync_without_agency_delivers_every_culr_sync_agency(library_systems):
    out = StringIO()
    call_command("culrsync", stdout=out)

    assert patron_get_by_cpr(cpr=CPR) is not None
    assert patron_get_by_cpr(cpr=OTHER_CPR) is not None
    assert out.getvalue().count("\n") == 2


@pytest.mark.parametrize("agency_id", ["820010", "7101001", "abc"])
def test_culrsync_refuses_a_bad_agency_with_a_clear_message(library_systems, agency_id):
    with pytest.raises(CommandError) as caught:
        call_command("culrsync", "--agency", agency_id, stdout=StringIO())
    assert "CULR" in str(caught.value) or "6 cifre" in str(caught.value)
    assert patron_get_by_cpr(cpr=CPR) is None


def test_culrsync_fails_loudly_when_a_library_system_breaks(library_systems):
    library_systems["775100"].fail_after = 0
    err = StringIO()
    with pytest.raises(CommandError, match="1 af 2"):
        call_command("culrsync", stdout=StringIO(), stderr=err)
    assert "775100" in err.getvalue()
    assert patron_get_by_cpr(cpr=CPR) is not None

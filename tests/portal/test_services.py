"""Linking FFU libraries, Mine biblioteker changes (R-PORTAL-6, -7, -10, -11, -12)."""

from __future__ import annotations

import pytest

from biblogin.audit.models import AuditEvent
from biblogin.common.errors import ApplicationError
from biblogin.patrons.models import Account
from biblogin.patrons.selectors import account_get_local, patron_get_by_cpr
from biblogin.portal.selectors import my_libraries
from biblogin.portal.services import (
    CprMismatch,
    favourite_pickup_choose,
    ffu_link_with_mitid,
    ffu_unlink,
    library_add_complete,
    library_remove,
)
from biblogin.userdata.models import PortalLink
from biblogin.userdata.selectors import portal_link_agency_ids, profile_get
from biblogin.userdata.services import profile_login_record
from tests.portal.builders import ANNA, BO, DORTE, GITTE, demo_registry, patron_with

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def registry() -> None:
    demo_registry()


def test_link_with_mitid_puts_the_ffu_account_under_the_mitid_persons_profile() -> None:
    """R-PORTAL-6: a LOCAL account (FFU agency, user ID) under the MitID CPR's patron."""
    bo = patron_with(BO, ("710100", None), municipality_no=101)
    outcome = ffu_link_with_mitid(
        agency_id="820099", library_user_id="CS-4711", library_cpr=None, mitid_cpr=BO
    )
    account = account_get_local(agency_id="820099", local_id="CS-4711")
    assert account is not None and account.patron == bo
    assert outcome.profile.patron_guid == bo.guid and outcome.created and not outcome.moved
    assert portal_link_agency_ids(profile=outcome.profile) == ["820099"]
    assert [lib.agency_id for lib in my_libraries(patron_guid=bo.guid)] == ["710100", "820099"]
    assert AuditEvent.objects.filter(action="ffu_link", outcome="linked").exists()


def test_link_with_mitid_creates_the_patron_when_culr_does_not_know_the_person() -> None:
    """R-PORTAL-6: the MitID CPR's patron is created if absent."""
    outcome = ffu_link_with_mitid(
        agency_id="829000",
        library_user_id="clara@ucn.example",
        library_cpr=None,
        mitid_cpr="2309881236",
    )
    clara = patron_get_by_cpr(cpr="2309881236")
    assert clara is not None and outcome.profile.patron_guid == clara.guid


def test_link_with_mitid_moves_a_local_account_linked_to_another_patron() -> None:
    """R-PORTAL-6: if the local account was linked to another patron it is moved."""
    gitte = patron_with(GITTE, ("190101", None), ("820099", "CS-4711"))
    gitte_profile = profile_login_record(patron_guid=gitte.guid).profile
    PortalLink.objects.create(profile=gitte_profile, agency_id="820099", local_id_hash="x")
    bo = patron_with(BO, ("710100", None), municipality_no=101)
    outcome = ffu_link_with_mitid(
        agency_id="820099", library_user_id="CS-4711", library_cpr=None, mitid_cpr=BO
    )
    assert outcome.moved
    assert account_get_local(agency_id="820099", local_id="CS-4711").patron == bo
    assert [lib.agency_id for lib in my_libraries(patron_guid=gitte.guid)] == []
    assert AuditEvent.objects.filter(action="ffu_link", outcome="moved").exists()


def test_link_refuses_a_library_cpr_that_is_not_the_mitid_cpr() -> None:
    """CPR mismatch is its own clear error; nothing is linked."""
    with pytest.raises(CprMismatch) as error:
        ffu_link_with_mitid(
            agency_id="820099", library_user_id="CS-4711", library_cpr=ANNA, mitid_cpr=BO
        )
    assert error.value.code == "cpr_mismatch" and "MitID" in error.value.message
    assert account_get_local(agency_id="820099", local_id="CS-4711") is None


@pytest.mark.parametrize("agency_id", ["710100", "872600", "830099", "999999", "bad"])
def test_only_ffu_libraries_without_culr_sync_can_be_linked(agency_id: str) -> None:
    with pytest.raises(ApplicationError):
        ffu_link_with_mitid(
            agency_id=agency_id, library_user_id="X-1", library_cpr=None, mitid_cpr=BO
        )
    assert Account.objects.count() == 0


def test_link_needs_a_cpr_from_mitid() -> None:
    with pytest.raises(ApplicationError):
        ffu_link_with_mitid(
            agency_id="820099", library_user_id="CS-4711", library_cpr=None, mitid_cpr=None
        )


def test_remove_link_deletes_the_culr_account_and_the_profiles_record() -> None:
    """R-PORTAL-7: "Fjern tilknytning til profil" deletes the CULR account."""
    patron_with(BO, ("710100", None), municipality_no=101)
    outcome = ffu_link_with_mitid(
        agency_id="820099", library_user_id="CS-4711", library_cpr=None, mitid_cpr=BO
    )
    assert ffu_unlink(agency_id="820099", library_user_id="CS-4711")
    assert account_get_local(agency_id="820099", local_id="CS-4711") is None
    assert portal_link_agency_ids(profile=outcome.profile) == []
    assert not ffu_unlink(agency_id="820099", library_user_id="CS-4711")
    assert AuditEvent.objects.filter(action="ffu_unlink").count() == 1


def test_add_education_library_links_it_when_mitid_is_the_profiles_person() -> None:
    """R-PORTAL-11: library login + MitID of the same person → linked."""
    dorte = patron_with(DORTE, ("190101", None))
    outcome = library_add_complete(
        patron_guid=dorte.guid,
        agency_id="820099",
        library_user_id="CS-0815",
        library_cpr=None,
        mitid_cpr=DORTE,
    )
    assert outcome.profile.patron_guid == dorte.guid
    assert [lib.agency_id for lib in my_libraries(patron_guid=dorte.guid)] == ["820099"]


def test_add_education_library_with_another_persons_mitid_links_nothing() -> None:
    """R-PORTAL-11: CPR mismatch between profile and MitID → clear error, nothing linked."""
    anna = patron_with(ANNA, ("710100", None), municipality_no=101)
    with pytest.raises(CprMismatch):
        library_add_complete(
            patron_guid=anna.guid,
            agency_id="820099",
            library_user_id="CS-4711",
            library_cpr=None,
            mitid_cpr=GITTE,
        )
    assert account_get_local(agency_id="820099", local_id="CS-4711") is None
    assert patron_get_by_cpr(cpr=GITTE) is None
    assert AuditEvent.objects.filter(action="library_add", outcome="cpr_mismatch").exists()


def test_add_education_library_refuses_what_cannot_be_added() -> None:
    anna = patron_with(ANNA, ("710100", None), municipality_no=101)
    for agency_id in ["710100", "872600", "840099", "830099", "nope"]:
        with pytest.raises(ApplicationError):
            library_add_complete(
                patron_guid=anna.guid,
                agency_id=agency_id,
                library_user_id="X-1",
                library_cpr=None,
                mitid_cpr=ANNA,
            )
    with pytest.raises(ApplicationError):
        library_add_complete(
            patron_guid="00000000-0000-4000-8000-000000000000",
            agency_id="820099",
            library_user_id="X-1",
            library_cpr=None,
            mitid_cpr=ANNA,
        )


def test_only_libraries_without_culr_sync_can_be_removed() -> None:
    """R-PORTAL-12."""
    dorte = patron_with(DORTE, ("190101", None))
    library_add_complete(
        patron_guid=dorte.guid,
        agency_id="820099",
        library_user_id="CS-0815",
        library_cpr=None,
        mitid_cpr=DORTE,
    )
    anna = patron_with(ANNA, ("710100", None), municipality_no=101)
    with pytest.raises(ApplicationError) as error:
        library_remove(patron_guid=anna.guid, agency_id="710100")
    assert error.value.code == "library_not_removable"
    with pytest.raises(ApplicationError):
        library_remove(patron_guid=dorte.guid, agency_id="190101")
    with pytest.raises(ApplicationError):
        library_remove(patron_guid=dorte.guid, agency_id="829000")
    assert library_remove(patron_guid=dorte.guid, agency_id="820099") == 1
    assert my_libraries(patron_guid=dorte.guid) == []
    assert PortalLink.objects.count() == 0


def test_favourite_pickup_branch_must_be_an_open_pickup_branch_of_the_profile() -> None:
    """R-PORTAL-10."""
    anna = patron_with(ANNA, ("710100", None), municipality_no=101)
    profile_login_record(patron_guid=anna.guid)
    favourite_pickup_choose(patron_guid=anna.guid, branch_id="710104")
    assert profile_get(patron_guid=anna.guid).favourite_pickup_branch_id == "710104"
    for bad in ["710111", "710199", "820099", "x", "9" * 50]:
        with pytest.raises(ApplicationError):
            favourite_pickup_choose(patron_guid=anna.guid, branch_id=bad)
    assert profile_get(patron_guid=anna.guid).favourite_pickup_branch_id == "710104"
    favourite_pickup_choose(patron_guid=anna.guid, branch_id="")
    assert profile_get(patron_guid=anna.guid).favourite_pickup_branch_id == ""

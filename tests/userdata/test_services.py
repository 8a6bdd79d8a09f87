"""User data: profiles, portal-made links, "don't ask again" (R-PORTAL-2, -5, -19)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from biblogin.audit.models import AuditEvent
from biblogin.common.errors import ApplicationError
from biblogin.patrons.models import Account
from biblogin.patrons.selectors import account_get_local, patron_get_by_cpr
from biblogin.userdata.models import LinkOfferOptOut, PortalLink, Profile
from biblogin.userdata.selectors import (
    link_offer_opted_out,
    portal_link_agency_ids,
    profile_get,
)
from biblogin.userdata.services import (
    link_offer_opt_out,
    link_offer_opt_outs_purge,
    portal_link_record,
    portal_links_forget,
    profile_delete,
    profile_favourite_pickup_set,
    profile_login_record,
)
from tests.patrons.builders import every_table_text
from tests.portal.builders import ANNA, DORTE, demo_registry, patron_with

pytestmark = pytest.mark.django_db


def test_profile_is_created_on_first_login_and_reused_after() -> None:
    """R-PORTAL-2: no separate sign-up; the first login creates the profile."""
    guid = uuid.uuid4()
    first = profile_login_record(patron_guid=guid)
    second = profile_login_record(patron_guid=str(guid))
    assert first.created and not second.created
    assert first.profile.pk == second.profile.pk
    assert Profile.objects.count() == 1
    assert profile_get(patron_guid=guid) == first.profile


def test_profile_login_rejects_a_malformed_guid_without_change() -> None:
    with pytest.raises(ApplicationError):
        profile_login_record(patron_guid="not-a-guid")
    assert Profile.objects.count() == 0
    assert profile_get(patron_guid="not-a-guid") is None


def test_dont_ask_again_lasts_90_days_for_that_agency_and_user_id() -> None:
    """R-PORTAL-5: "Spørg ikke igen" is kept server-side per (agency, user ID) for 90 days."""
    now = timezone.now()
    link_offer_opt_out(agency_id="829000", user_id="clara@ucn.example", now=now)
    assert link_offer_opted_out(agency_id="829000", user_id="clara@ucn.example", now=now)
    # e-mail IDs are typed in any case
    assert link_offer_opted_out(agency_id="829000", user_id=" Clara@UCN.example ", now=now)
    assert not link_offer_opted_out(agency_id="820099", user_id="clara@ucn.example", now=now)
    assert not link_offer_opted_out(agency_id="829000", user_id="other@ucn.example", now=now)
    assert link_offer_opted_out(
        agency_id="829000", user_id="clara@ucn.example", now=now + dt.timedelta(days=89)
    )
    assert not link_offer_opted_out(
        agency_id="829000", user_id="clara@ucn.example", now=now + dt.timedelta(days=90, seconds=1)
    )


def test_dont_ask_again_chosen_twice_renews_the_90_days() -> None:
    now = timezone.now()
    link_offer_opt_out(agency_id="829000", user_id="clara@ucn.example", now=now)
    later = now + dt.timedelta(days=60)
    link_offer_opt_out(agency_id="829000", user_id="clara@ucn.example", now=later)
    assert LinkOfferOptOut.objects.count() == 1
    assert link_offer_opted_out(
        agency_id="829000", user_id="clara@ucn.example", now=now + dt.timedelta(days=120)
    )


def test_dont_ask_again_keeps_no_user_id_in_plain_text() -> None:
    link_offer_opt_out(agency_id="829000", user_id="clara@ucn.example")
    assert "clara@ucn.example" not in every_table_text()


def test_expired_dont_ask_again_choices_are_purged() -> None:
    now = timezone.now()
    link_offer_opt_out(agency_id="829000", user_id="a@ucn.example", now=now - dt.timedelta(days=91))
    link_offer_opt_out(agency_id="829000", user_id="b@ucn.example", now=now)
    assert link_offer_opt_outs_purge(now=now) == 1
    assert LinkOfferOptOut.objects.count() == 1


@settings(max_examples=40, deadline=None)
@given(agency_id=st.text(max_size=10), user_id=st.text(max_size=300))
def test_dont_ask_again_with_any_input_is_a_clear_error_or_works(
    agency_id: str, user_id: str
) -> None:
    """R-SEC-3: bad input gets a clear error and changes nothing."""
    before = LinkOfferOptOut.objects.count()
    try:
        link_offer_opt_out(agency_id=agency_id, user_id=user_id)
    except ApplicationError as error:
        assert error.message
        assert LinkOfferOptOut.objects.count() == before
    assert isinstance(link_offer_opted_out(agency_id=agency_id, user_id=user_id), bool)


def test_favourite_pickup_branch_is_stored_and_cleared() -> None:
    profile = profile_login_record(patron_guid=uuid.uuid4()).profile
    profile_favourite_pickup_set(profile=profile, branch_id="710104")
    assert Profile.objects.get().favourite_pickup_branch_id == "710104"
    profile_favourite_pickup_set(profile=profile, branch_id=None)
    assert Profile.objects.get().favourite_pickup_branch_id == ""
    with pytest.raises(ApplicationError):
        profile_favourite_pickup_set(profile=profile, branch_id="71010")


def test_a_link_recorded_by_another_profile_passes_to_the_new_holder() -> None:
    """R-PORTAL-6: a moved account is no longer the former profile's to delete."""
    first = profile_login_record(patron_guid=uuid.uuid4()).profile
    second = profile_login_record(patron_guid=uuid.uuid4()).profile
    portal_link_record(profile=first, agency_id="820099", local_id="CS-4711")
    portal_link_record(profile=second, agency_id="820099", local_id="CS-4711")
    assert portal_link_agency_ids(profile=first) == []
    assert portal_link_agency_ids(profile=second) == ["820099"]
    assert portal_links_forget(agency_id="820099", local_id="CS-4711") == 1
    assert PortalLink.objects.count() == 0


def test_delete_profile_removes_userdata_and_portal_links_but_not_library_registrations() -> None:
    """R-PORTAL-19: the user stays registered at their libraries."""
    demo_registry()
    anna = patron_with(ANNA, ("710100", None), ("710100", "1000001"), municipality_no=101)
    account_linked = patron_with(ANNA, ("820099", "CS-9999"))
    assert account_linked == anna
    profile = profile_login_record(patron_guid=anna.guid).profile
    profile_favourite_pickup_set(profile=profile, branch_id="710104")
    portal_link_record(profile=profile, agency_id="820099", local_id="CS-9999")

    deletion = profile_delete(profile=profile)

    assert deletion.links_removed == ("820099",)
    assert Profile.objects.count() == 0 and PortalLink.objects.count() == 0
    assert account_get_local(agency_id="820099", local_id="CS-9999") is None
    assert sorted((a.agency_id, a.id_type) for a in Account.objects.filter(patron=anna)) == [
        ("710100", "CPR"),
        ("710100", "LOCAL"),
    ]
    assert patron_get_by_cpr(cpr=ANNA) is not None
    assert AuditEvent.objects.filter(action="profile_delete").exists()
    # the next login creates a fresh profile
    assert profile_login_record(patron_guid=anna.guid).created


def test_delete_profile_never_removes_an_account_at_a_library_that_delivers_to_culr() -> None:
    demo_registry()
    frederik = patron_with("0505054240", ("872600", "F-1"))
    profile = profile_login_record(patron_guid=frederik.guid).profile
    portal_link_record(profile=profile, agency_id="872600", local_id="F-1")
    assert profile_delete(profile=profile).links_removed == ()
    assert account_get_local(agency_id="872600", local_id="F-1") is not None


def test_delete_profile_leaves_an_account_since_moved_to_someone_else() -> None:
    demo_registry()
    dorte = patron_with(DORTE, ("190101", None), ("820099", "CS-0815"))
    profile = profile_login_record(patron_guid=dorte.guid).profile
    portal_link_record(profile=profile, agency_id="820099", local_id="CS-0815")
    other = patron_with(ANNA, ("190101", None))
    from biblogin.patrons.services import account_link

    account_link(agency_id="820099", cpr=ANNA, local_id="CS-0815")
    assert profile_delete(profile=profile).links_removed == ()
    assert account_get_local(agency_id="820099", local_id="CS-0815").patron == other

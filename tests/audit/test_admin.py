"""The audit log in the admin: read-only; staff see their own agency's events, superusers all.

R-LOGIN-13 / R-CULR-5: CPRs masked on display as on write, never a PIN.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from biblogin.audit.models import AuditAction, AuditEvent
from biblogin.audit.services import audit_event_record
from tests.registry.builders import (
    public_library,
    research_library,
    staff_otp_verified,
    staff_user,
)

pytestmark = pytest.mark.django_db

LOG = "/admin/audit/auditevent/"


@pytest.fixture
def world():
    campus = research_library("820099", name="Campus Syd Bibliotek")
    kbh = public_library(101, name="Københavns Biblioteker")
    AuditEvent.objects.all().delete()  # the builders' own registry events
    own = audit_event_record(action=AuditAction.LOGIN, outcome="ok", agency_id="820099")
    other = audit_event_record(action=AuditAction.LOGIN, outcome="ok", agency_id="710100")
    national = audit_event_record(action=AuditAction.OIDC_CLIENT_CREATED, outcome="ok")
    return {"campus": campus, "kbh": kbh, "own": own, "other": other, "national": national}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return staff_otp_verified(client, user) if user.is_superuser else client


def listed(response) -> set[int]:
    assert response.status_code == 200
    return {event.pk for event in response.context["cl"].result_list}


def test_a_staff_user_sees_only_their_agencys_events(world):
    """The audit admin shows a staff account bound to an agency that agency's events only."""
    client = logged_in(staff_user("campussyd", agency=world["campus"]))
    staff_events = set(AuditEvent.objects.filter(agency_id="820099").values_list("pk", flat=True))
    assert listed(client.get(LOG)) == staff_events  # its login event and its own binding
    assert world["own"].pk in staff_events
    assert client.get(f"{LOG}{world['own'].pk}/change/").status_code == 200
    for hidden in (world["other"], world["national"]):
        page = client.get(f"{LOG}{hidden.pk}/change/", follow=True)
        assert hidden.pk not in {getattr(page.context.get("original"), "pk", None)}
        assert f"{LOG}{hidden.pk}/change/" not in page.redirect_chain[-1][0]


def test_a_superuser_sees_every_event(world):
    client = logged_in(staff_user("admin", superuser=True))
    assert {world["own"].pk, world["other"].pk, world["national"].pk} <= listed(client.get(LOG))


def test_an_unbound_staff_account_sees_the_log_only_with_the_audit_permission(world):
    user = staff_user("vip")
    client = logged_in(user)
    assert client.get(LOG).status_code == 403
    assert "/admin/audit/" not in client.get("/admin/").content.decode()
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    client = logged_in(type(user).objects.get(pk=user.pk))
    assert {world["own"].pk, world["other"].pk, world["national"].pk} <= listed(client.get(LOG))


@pytest.mark.parametrize("superuser", [False, True])
def test_the_audit_log_is_read_only_even_for_superusers(world, superuser):
    """No add, change or delete: not as links, not as posted forms."""
    user = (
        staff_user("admin", superuser=True)
        if superuser
        else staff_user("campussyd", agency=world["campus"])
    )
    client = logged_in(user)
    event = world["own"]
    page = client.get(f"{LOG}{event.pk}/change/").content.decode()
    assert 'name="_save"' not in page and "/delete/" not in page
    assert client.get(f"{LOG}add/").status_code == 403
    assert client.post(f"{LOG}add/", {"action": "login"}).status_code == 403
    client.post(f"{LOG}{event.pk}/change/", {"action": "logout", "outcome": "forged"})
    assert client.post(f"{LOG}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = client.post(LOG, {"action": "delete_selected", "_selected_action": [event.pk]})
    assert bulk.status_code in (200, 302)
    event.refresh_from_db()
    assert (event.action, event.outcome) == ("login", "ok")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_cprs_are_masked_on_display_and_no_pin_is_shown_even_in_an_old_row(world):
    """R-LOGIN-13: a row written before a fix (straight into the table) still shows masked."""
    raw = AuditEvent.objects.create(
        action="login_failed",
        outcome="0101901111",
        agency_id="820099",
        actor="1503851234",
        subject="user 150385-1234",
        details={"user_id": "1503851234", "pin": "7777", "nested": [{"password": "hemmelig"}]},
    )
    client = logged_in(staff_user("campussyd", agency=world["campus"]))
    listing = client.get(LOG).content.decode()
    detail = client.get(f"{LOG}{raw.pk}/change/").content.decode()
    for page in (listing, detail):
        assert "1503851234" not in page and "150385-1234" not in page
        assert "0101901111" not in page
        assert "150385-XXXX" in page
    assert "7777" not in detail and "hemmelig" not in detail
    assert "user_id" in detail  # the rest of the details is shown


def test_the_audit_log_speaks_danish_first_and_english_to_english_staff(world):
    """Danish first, English complete: the actions' names too."""
    audit_event_record(action=AuditAction.REGISTRY_BORROWER_CHECK_OFF, agency_id="820099")
    client = logged_in(staff_user("campussyd", agency=world["campus"]))
    assert "Lånertjek slået fra" in client.get(LOG).content.decode()
    english = client.get(LOG, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Borrower check turned off" in english
    assert "Search by library number, action or outcome." in english


def test_old_totp_enrolment_events_get_the_agency_of_the_staff_account(world):
    """Existing events: the migration derives the agency where the registry knows it."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "biblogin.registry.migrations.0002_audit_events_agency_of_staff"
    )
    staff_user("campussyd", agency=world["campus"])
    staff_user("vip")
    bound = AuditEvent.objects.create(action="staff_totp_enrolled", subject="campussyd")
    unbound = AuditEvent.objects.create(action="staff_totp_enrolled", subject="vip")
    migration.derive_agency_ids(apps, None)
    bound.refresh_from_db()
    unbound.refresh_from_db()
    assert (bound.agency_id, unbound.agency_id) == ("820099", "")
    client = logged_in(staff_user("campus2", agency=world["campus"]))
    assert bound.pk in listed(client.get(LOG))


def test_a_bound_staff_accounts_totp_enrolment_is_its_agencys_event(world):
    """A new enrolment carries the account's agency, so its library's staff see it."""
    from biblogin.staff import services as staff_services
    from tests.staff.test_totp import code

    user = staff_user("campussyd", agency=world["campus"])
    device = staff_services.totp_enrolment_start(user=user)
    assert staff_services.totp_enrolment_confirm(user=user, device=device, token=code(device))
    event = AuditEvent.objects.get(action=AuditAction.STAFF_TOTP_ENROLLED)
    assert (event.agency_id, event.subject) == ("820099", "campussyd")

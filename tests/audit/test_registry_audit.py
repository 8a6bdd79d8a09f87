"""The registry audits its own writes: settings, licences, branches, staff bindings.

DESIGN convention 9: per-library behaviour is data, changed through services that also write
an audit event; the admin saves through those services. R-SEC-4: a change that stops patrons
is audited as such, whichever way it is made.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from biblogin.audit.models import AuditAction, AuditEvent
from biblogin.registry import services
from biblogin.registry.models import Agency, Branch, OrderUserParameter
from tests.registry.builders import (
    branch,
    public_library,
    requester,
    research_library,
    staff_otp_verified,
    staff_user,
)

pytestmark = pytest.mark.django_db


def events(action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


@pytest.fixture
def campus() -> Agency:
    requester("bibliotek.dk")
    requester("netpunkt")
    return research_library(
        "820099",
        name="Campus Syd Bibliotek",
        borrower_check=True,
        borrower_check_services=["bibliotek.dk"],
        user_id_kinds=["borrower_number"],
    )


def test_creating_an_agency_is_audited_with_its_settings_and_licences(campus):
    (event,) = events(AuditAction.REGISTRY_AGENCY_CREATED)
    assert event.agency_id == "820099"
    assert event.details["settings"]["borrower_check"] is True
    assert event.details["licences"]["borrower_check_services"] == ["bibliotek.dk"]


def test_a_settings_change_is_audited_with_before_and_after(campus):
    """Convention 9: the event says which settings changed, from what to what."""
    services.agency_update(agency=campus, actor="vip", accepts_orders_without_login=True)
    (event,) = events(AuditAction.REGISTRY_AGENCY_CHANGED)
    assert (event.actor, event.agency_id) == ("vip", "820099")
    assert event.details == {"changed": {"accepts_orders_without_login": [False, True]}}


def test_a_licence_or_subscription_change_is_audited(campus):
    """R-VIP-4, R-VIP-9: services opted in and licensed e-resources, added and removed."""
    services.licensed_resource_get_or_create(name="Central Ebook Plus")
    services.agency_update(
        agency=campus,
        actor="vip",
        borrower_check_services=["netpunkt", "bibliotek.dk"],
        licensed_resources=["Central Ebook Plus"],
        infomedia=True,
    )
    (licences,) = events(AuditAction.REGISTRY_LICENCES_CHANGED)
    assert licences.details == {
        "changed": {
            "borrower_check_services": {"added": ["netpunkt"], "removed": []},
            "licensed_resources": {"added": ["Central Ebook Plus"], "removed": []},
        }
    }
    (subscription,) = events(AuditAction.REGISTRY_AGENCY_CHANGED)
    assert subscription.details == {"changed": {"infomedia": [False, True]}}


def test_turning_off_the_borrower_check_through_the_service_is_audited_as_stopping_patrons(
    campus,
):
    """R-SEC-4: not only the admin's confirmed change; the service itself records it."""
    services.agency_update(agency=campus, actor="vip", borrower_check=False)
    (event,) = events(AuditAction.REGISTRY_BORROWER_CHECK_OFF)
    assert (event.actor, event.agency_id, event.details["confirmed"]) == ("vip", "820099", False)
    services.agency_update(agency=campus, actor="vip", borrower_check=True)
    services.agency_update(agency=campus, actor="vip", borrower_check_services=[])
    (removed,) = events(AuditAction.REGISTRY_SERVICE_REMOVED)
    assert removed.details["service"] == "bibliotek.dk"


def test_a_save_that_changes_nothing_writes_no_event(campus):
    written = AuditEvent.objects.count()
    services.agency_update(agency=campus, actor="vip", name="Campus Syd Bibliotek")
    services.agency_save(agency=Agency.objects.get(pk=campus.pk), actor="vip")
    assert AuditEvent.objects.count() == written


def test_a_refused_change_writes_no_event(campus):
    """R-SEC-3: a bad value changes nothing, so nothing is audited either."""
    written = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        services.agency_update(agency=campus, actor="vip", user_id_kinds=["shoe_size"])
    assert AuditEvent.objects.count() == written


def test_branches_created_changed_and_deleted_are_audited(campus):
    made = branch(campus, "820011", name="Campus Syd, Kolding")
    services.branch_update(branch=made, actor="vip", pickup_allowed=False)
    services.branch_delete(branch=Branch.objects.get(pk=made.pk), actor="vip")
    created, changed, deleted = (
        events(AuditAction.REGISTRY_BRANCH_CREATED)[0],
        events(AuditAction.REGISTRY_BRANCH_CHANGED)[0],
        events(AuditAction.REGISTRY_BRANCH_DELETED)[0],
    )
    assert {e.agency_id for e in (created, changed, deleted)} == {"820099"}
    assert {e.subject for e in (created, changed, deleted)} == {"820011"}
    assert changed.details == {"changed": {"pickup_allowed": [True, False]}}
    assert deleted.details == {"name": "Campus Syd, Kolding"}


def test_order_parameters_set_through_the_service_are_audited(campus):
    """R-VIP-7: the "Lånerdata" of the order form are a setting too."""
    services.order_user_parameters_set(
        agency=campus, actor="vip", parameters=[{"type": "userId", "required": True}]
    )
    (event,) = events(AuditAction.REGISTRY_ORDER_PARAMETERS_CHANGED)
    assert event.details["changed"]["order_user_parameters"] == [[], [["userId", True, "", ""]]]


def test_binding_and_unbinding_staff_is_audited(campus):
    user = staff_user("campussyd", agency=campus)
    services.staff_agency_unbind(user=user, actor="admin")
    (bound,) = events(AuditAction.REGISTRY_STAFF_BOUND)
    (unbound,) = events(AuditAction.REGISTRY_STAFF_UNBOUND)
    assert (bound.subject, bound.agency_id) == ("campussyd", "820099")
    assert (unbound.actor, unbound.agency_id) == ("admin", "820099")


# --- The admin goes through the services ------------------------------------------------------


@pytest.fixture
def campus_staff(campus) -> Client:
    client = Client()
    client.force_login(staff_user("campussyd", agency=campus))
    return client


@pytest.fixture
def superuser_client(campus) -> Client:
    client = Client()
    user = staff_user("admin", superuser=True)
    client.force_login(user)
    return staff_otp_verified(client, user)


def agency_form(client: Client, agency: Agency) -> dict:
    from tests.registry.test_admin import form_data

    return form_data(client.get(f"/admin/registry/agency/{agency.pk}/change/"))


def test_a_branch_changed_on_the_agency_page_is_audited_with_the_staff_account(
    campus_staff, campus
):
    """The branches inline saves through ``branch_save``: the change is audited."""
    made = branch(campus, "820011", name="Campus Syd, Kolding")
    data = agency_form(campus_staff, campus)
    prefix = next(k for k, v in data.items() if k.endswith("-id") and str(v) == str(made.pk))
    data[prefix.replace("-id", "-temporarily_closed")] = "on"
    data[prefix.replace("-id", "-temporarily_closed_reason")] = "Vandskade"
    data["_save"] = "Gem"
    assert campus_staff.post(f"/admin/registry/agency/{campus.pk}/change/", data).status_code == 302
    assert Branch.objects.get(pk=made.pk).temporarily_closed is True
    (event,) = events(AuditAction.REGISTRY_BRANCH_CHANGED)
    assert (event.actor, event.agency_id, event.subject) == ("campussyd", "820099", "820011")
    assert event.details["changed"]["temporarily_closed"] == [False, True]


def test_order_parameters_edited_in_the_admin_are_audited(campus_staff, campus):
    data = agency_form(campus_staff, campus)
    prefix = "order_user_parameters"
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-0-position": "0",
            f"{prefix}-0-parameter_type": "userMail",
            f"{prefix}-0-required": "on",
            f"{prefix}-0-help_text_da": "",
            f"{prefix}-0-help_text_en": "",
            "_save": "Gem",
        }
    )
    assert campus_staff.post(f"/admin/registry/agency/{campus.pk}/change/", data).status_code == 302
    assert list(OrderUserParameter.objects.values_list("parameter_type", flat=True)) == ["userMail"]
    (event,) = events(AuditAction.REGISTRY_ORDER_PARAMETERS_CHANGED)
    assert event.actor == "campussyd"
    assert event.details["changed"]["order_user_parameters"][1] == [["userMail", True, "", ""]]


def test_a_licence_added_in_the_admin_is_audited(superuser_client, campus):
    data = agency_form(superuser_client, campus)
    netpunkt = requester("netpunkt")
    data["borrower_check_services"] = [*data["borrower_check_services"], netpunkt.pk]
    data["_save"] = "Gem"
    response = superuser_client.post(f"/admin/registry/agency/{campus.pk}/change/", data)
    assert response.status_code == 302
    assert set(campus.borrower_check_services.values_list("name", flat=True)) == {
        "bibliotek.dk",
        "netpunkt",
    }
    (event,) = events(AuditAction.REGISTRY_LICENCES_CHANGED)
    assert event.actor == "admin"
    assert event.details["changed"]["borrower_check_services"] == {
        "added": ["netpunkt"],
        "removed": [],
    }


def test_deleting_an_agency_or_a_branch_in_the_admin_is_audited(superuser_client, campus):
    other = public_library(101, name="Københavns Biblioteker")
    made = branch(other, "710101")
    response = superuser_client.post(f"/admin/registry/branch/{made.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    response = superuser_client.post(f"/admin/registry/agency/{other.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Agency.objects.filter(pk=other.pk).exists()
    (branch_gone,) = events(AuditAction.REGISTRY_BRANCH_DELETED)
    (agency_gone,) = events(AuditAction.REGISTRY_AGENCY_DELETED)
    assert (branch_gone.actor, branch_gone.agency_id, branch_gone.subject) == (
        "admin",
        "710100",
        "710101",
    )
    assert (agency_gone.actor, agency_gone.agency_id) == ("admin", "710100")

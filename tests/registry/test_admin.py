"""The staff UI: scoping of bound staff accounts, validation as form errors, never a 500."""

from __future__ import annotations

import html
import re

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblogin.audit.models import AuditEvent
from biblogin.registry import selectors, services
from biblogin.registry.models import Agency, Branch, MobileStop, StaffAgency
from tests.registry.builders import (
    branch,
    public_library,
    requester,
    research_library,
    staff_otp_verified,
    staff_user,
)

pytestmark = pytest.mark.django_db

AGENCIES = "/admin/registry/agency/"
BRANCHES = "/admin/registry/branch/"


def change_url(obj) -> str:
    return f"/admin/registry/{obj._meta.model_name}/{obj.pk}/change/"


def form_data(response) -> dict:
    """Return the POST data the change form would send as rendered (inlines included)."""
    data: dict = {}

    def add(form):
        for name, field in form.fields.items():
            bound = form[name]
            value = bound.value()
            if isinstance(field.widget, forms.CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif value is not None:
                data[bound.html_name] = value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form)
        for form in formset.forms:
            add(form)
    return data


@pytest.fixture
def world():
    requester("bibliotek.dk")
    campus = research_library(
        "820099",
        name="Campus Syd Bibliotek",
        borrower_check=True,
        borrower_check_services=["bibliotek.dk"],
        user_id_kinds=["borrower_number"],
    )
    kbh = public_library(
        101,
        name="Københavns Biblioteker",
        borrower_check=True,
        borrower_check_services=["bibliotek.dk"],
        provides_user_status=True,
        infomedia=True,
        accepts_orders_without_login=True,
    )
    aarhus = public_library(751, name="Aarhus Kommunes Biblioteker", aliases="Århus")
    branch(campus, "820099", name="Campus Syd Bibliotek")
    branch(kbh, "710100", name="Hovedbiblioteket")
    return {"campus": campus, "kbh": kbh, "aarhus": aarhus}


@pytest.fixture
def campus_staff(world):
    client = Client()
    client.force_login(staff_user("campussyd", agency=world["campus"]))
    return client


@pytest.fixture
def superuser_client(world):
    client = Client()
    user = staff_user("admin", superuser=True)
    client.force_login(user)
    return staff_otp_verified(client, user)


def listed(response) -> list[str]:
    assert response.status_code == 200
    return [str(obj.pk) for obj in response.context["cl"].result_list]


# --- scoping of bound staff ---------------------------------------------------------------


def test_superuser_sees_every_agency(superuser_client, world):
    assert len(listed(superuser_client.get(AGENCIES))) == 3


def test_bound_staff_sees_only_its_own_agency_in_the_changelist(campus_staff, world):
    assert listed(campus_staff.get(AGENCIES)) == [str(world["campus"].pk)]
    assert listed(campus_staff.get(AGENCIES, {"q": "København"})) == []
    assert [b.branch_id for b in campus_staff.get(BRANCHES).context["cl"].result_list] == ["820099"]


def test_bound_staff_gets_404_on_another_agencys_pages(campus_staff, world):
    kbh = world["kbh"]
    assert campus_staff.get(change_url(kbh)).status_code == 404
    assert campus_staff.get(f"{AGENCIES}{kbh.pk}/history/").status_code == 404
    assert campus_staff.get(f"{AGENCIES}{kbh.pk}/delete/").status_code == 404
    other_branch = Branch.objects.get(branch_id="710100")
    assert campus_staff.get(change_url(other_branch)).status_code == 404
    assert campus_staff.get(f"{AGENCIES}not-a-number/change/").status_code == 404


def test_bound_staff_post_to_another_agency_changes_nothing(campus_staff, superuser_client, world):
    kbh = world["kbh"]
    data = form_data(superuser_client.get(change_url(kbh)))
    data.update(name="Overtaget", borrower_check="", infomedia="")
    response = campus_staff.post(change_url(kbh), data)
    assert response.status_code in (403, 404)
    kbh.refresh_from_db()
    assert (kbh.name, kbh.borrower_check, kbh.infomedia) == ("Københavns Biblioteker", True, True)
    branch_data = form_data(
        superuser_client.get(change_url(Branch.objects.get(branch_id="710100")))
    )
    branch_data["name"] = "Overtaget"
    other = Branch.objects.get(branch_id="710100")
    assert campus_staff.post(change_url(other), branch_data).status_code in (403, 404)
    other.refresh_from_db()
    assert other.name == "Hovedbiblioteket"


def test_bound_staff_edits_its_agency_but_not_the_national_fields(campus_staff, world):
    campus = world["campus"]
    response = campus_staff.get(change_url(campus))
    assert response.status_code == 200
    data = form_data(response)
    assert "agency_id" not in data and "agency_type" not in data and "culr_sync" not in data
    data.update(
        name="Campus Syd",
        agency_id="710100",
        agency_type="FOLKEBIBLIOTEK",
        culr_sync="on",
        accepts_orders_without_login="on",
    )
    response = campus_staff.post(change_url(campus), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    campus.refresh_from_db()
    assert campus.name == "Campus Syd"
    assert campus.accepts_orders_without_login is True
    assert (campus.agency_id, campus.agency_type, campus.culr_sync) == (
        "820099",
        "FORSKNINGSBIBLIOTEK",
        False,
    )


def test_bound_staff_cannot_add_or_delete_agencies(campus_staff, world):
    assert campus_staff.get(f"{AGENCIES}add/").status_code == 403
    response = campus_staff.post(
        f"{AGENCIES}add/",
        {"agency_id": "820100", "name": "Nyt", "agency_type": "ANDRE", "status": "active"},
    )
    assert response.status_code == 403
    assert not Agency.objects.filter(agency_id="820100").exists()
    campus = world["campus"]
    assert campus_staff.post(f"{AGENCIES}{campus.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Agency.objects.filter(pk=campus.pk).exists()


def test_bound_staff_can_only_choose_its_own_agency_for_a_branch(campus_staff, world):
    response = campus_staff.get(f"{BRANCHES}add/")
    choices = list(response.context["adminform"].form.fields["agency"].queryset)
    assert choices == [world["campus"]]
    response = campus_staff.post(
        f"{BRANCHES}add/",
        {
            "branch_id": "710199",
            "agency": world["kbh"].pk,
            "name": "Smuglet filial",
            "pickup_allowed": "on",
            "mobile_stops-TOTAL_FORMS": "0",
            "mobile_stops-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "agency" in response.context["adminform"].form.errors
    assert not Branch.objects.filter(branch_id="710199").exists()


def test_bound_staff_adds_a_branch_and_a_mobile_stop_to_its_agency(campus_staff, world):
    response = campus_staff.post(
        f"{BRANCHES}add/",
        {
            "branch_id": "820098",
            "agency": world["campus"].pk,
            "name": "Bogbussen",
            "pickup_allowed": "on",
            "is_mobile": "on",
            "mobile_stops-TOTAL_FORMS": "1",
            "mobile_stops-INITIAL_FORMS": "0",
            "mobile_stops-0-position": "1",
            "mobile_stops-0-name": "Torvet",
            "mobile_stops-0-schedule": "Tirsdag 10-12",
        },
    )
    assert response.status_code == 302
    bus = Branch.objects.get(branch_id="820098")
    assert bus.agency == world["campus"]
    assert list(MobileStop.objects.filter(branch=bus).values_list("name", flat=True)) == ["Torvet"]


def test_staff_without_a_binding_sees_no_agency(world, client):
    user = staff_user("løs")
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="registry").exclude(
            codename="edit_all_agencies"
        )
    )
    client.force_login(user)
    assert client.get(AGENCIES).status_code == 403
    assert client.get(change_url(world["kbh"])).status_code in (403, 404)
    assert client.get(BRANCHES).status_code == 403


def test_national_registry_staff_see_every_agency_without_being_superusers(world, client):
    user = staff_user("vip")
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="registry"))
    client.force_login(user)
    assert len(listed(client.get(AGENCIES))) == 3
    assert client.get(change_url(world["kbh"])).status_code == 200


def test_staff_binding_admin_is_for_superusers_only(campus_staff, superuser_client, world):
    assert campus_staff.get("/admin/registry/staffagency/").status_code == 403
    assert superuser_client.get("/admin/registry/staffagency/").status_code == 200
    newcomer = get_user_model().objects.create_user(username="ny", password=None)
    response = superuser_client.post(
        "/admin/registry/staffagency/add/", {"user": newcomer.pk, "agency": world["kbh"].pk}
    )
    assert response.status_code == 302
    newcomer.refresh_from_db()
    assert newcomer.is_staff and newcomer.staff_agency.agency == world["kbh"]
    assert newcomer.has_perm("registry.change_agency")
    binding = StaffAgency.objects.get(user=newcomer)
    response = superuser_client.post(
        f"/admin/registry/staffagency/{binding.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not StaffAgency.objects.filter(user=newcomer).exists()


def test_service_requesters_are_read_only_to_bound_staff(campus_staff, world):
    assert campus_staff.get("/admin/registry/servicerequester/").status_code == 200
    assert campus_staff.get("/admin/registry/servicerequester/add/").status_code == 403


# --- bad input is a form error, never a 500 -------------------------------------------------


def _add_form(client) -> dict:
    return form_data(client.get(f"{AGENCIES}add/"))


def test_bad_agency_id_is_a_form_error_R_VIP_1(superuser_client):
    data = _add_form(superuser_client)
    data.update(agency_id="12ab", name="Forkert", agency_type="ANDRE", status="active")
    response = superuser_client.post(f"{AGENCIES}add/", data)
    assert response.status_code == 200
    assert "agency_id" in response.context["adminform"].form.errors
    assert not Agency.objects.filter(name="Forkert").exists()


def test_public_library_without_municipality_is_a_form_error_R_VIP_1_R_VIP_2(superuser_client):
    data = _add_form(superuser_client)
    data.update(agency_id="726500", name="Roskilde", agency_type="FOLKEBIBLIOTEK", status="active")
    response = superuser_client.post(f"{AGENCIES}add/", data)
    errors = response.context["adminform"].form.errors
    assert response.status_code == 200
    assert "municipality_no" in errors
    assert "culr_sync" in errors  # R-VIP-2
    assert not Agency.objects.filter(agency_id="726500").exists()


def test_user_id_kinds_are_edited_as_checkboxes_R_VIP_5(superuser_client, world):
    campus = world["campus"]
    response = superuser_client.get(change_url(campus))
    widget = response.context["adminform"].form.fields["user_id_kinds"].widget
    assert isinstance(widget, forms.CheckboxSelectMultiple)
    assert 'type="checkbox" name="user_id_kinds" value="email"' in response.content.decode()
    data = form_data(response)
    data["user_id_kinds"] = ["email", "cpr"]
    assert superuser_client.post(change_url(campus), data).status_code == 302
    campus.refresh_from_db()
    assert campus.user_id_kinds == ["cpr", "email"]
    data["user_id_kinds"] = ["unilogin"]
    response = superuser_client.post(change_url(campus), data)
    assert "user_id_kinds" in response.context["adminform"].form.errors
    data["user_id_kinds"] = []
    response = superuser_client.post(change_url(campus), data)  # borrower check is on
    assert "user_id_kinds" in response.context["adminform"].form.errors
    campus.refresh_from_db()
    assert campus.user_id_kinds == ["cpr", "email"]


def test_duplicate_order_parameter_is_a_form_error_R_VIP_7(campus_staff, world):
    campus = world["campus"]
    services.order_user_parameters_set(agency=campus, parameters=[{"type": "userMail"}])
    data = form_data(campus_staff.get(change_url(campus)))
    prefix = "order_user_parameters"
    data[f"{prefix}-TOTAL_FORMS"] = "2"
    data.update(
        {
            f"{prefix}-1-position": "1",
            f"{prefix}-1-parameter_type": "userMail",
            f"{prefix}-1-agency": campus.pk,
        }
    )
    response = campus_staff.post(change_url(campus), data)
    assert response.status_code == 200
    assert campus.order_user_parameters.count() == 1


def test_order_parameters_are_edited_inline_and_drive_the_order_form_R_VIP_7(campus_staff, world):
    campus = world["campus"]
    data = form_data(campus_staff.get(change_url(campus)))
    prefix = "order_user_parameters"
    data[f"{prefix}-TOTAL_FORMS"] = "2"
    data.update(
        {
            f"{prefix}-0-position": "0",
            f"{prefix}-0-parameter_type": "barcode",
            f"{prefix}-0-required": "on",
            f"{prefix}-0-help_text_da": "Stregkoden på dit studiekort",
            f"{prefix}-0-agency": campus.pk,
            f"{prefix}-1-position": "1",
            f"{prefix}-1-parameter_type": "userMail",
            f"{prefix}-1-agency": campus.pk,
        }
    )
    assert campus_staff.post(change_url(campus), data).status_code == 302
    fields = selectors.agency_order_user_parameters(agency=campus)
    assert [(f.type, f.required, f.is_id_field) for f in fields] == [
        ("barcode", True, True),
        ("userMail", False, False),
    ]
    assert fields[0].help_text_da == "Stregkoden på dit studiekort"


def test_closed_branch_without_reason_is_a_form_error_R_VIP_10(campus_staff, world):
    b = Branch.objects.get(branch_id="820099")
    data = form_data(campus_staff.get(change_url(b)))
    data.update(temporarily_closed="on", temporarily_closed_reason="")
    response = campus_staff.post(change_url(b), data)
    assert response.status_code == 200
    assert "temporarily_closed_reason" in response.context["adminform"].form.errors
    b.refresh_from_db()
    assert b.temporarily_closed is False
    data.update(temporarily_closed_reason="Lukket i sommerferien", postal_code="64OO")
    response = campus_staff.post(change_url(b), data)
    assert "postal_code" in response.context["adminform"].form.errors
    data["postal_code"] = "6400"
    assert campus_staff.post(change_url(b), data).status_code == 302
    b.refresh_from_db()
    assert (b.temporarily_closed, b.postal_code) == (True, "6400")


@given(
    agency_id=st.from_regex(r"[78][0-9]{5}", fullmatch=True) | st.text(max_size=12),
    name=st.text(max_size=30),
    municipality_no=st.sampled_from(["101", "157", "265", "999", ""]) | st.text(max_size=6),
    agency_type=st.sampled_from(["FOLKEBIBLIOTEK", "FORSKNINGSBIBLIOTEK", "ANDRE", "??"]),
)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_input_to_the_add_form_is_saved_or_refused_never_a_500(
    superuser_client, agency_id, name, municipality_no, agency_type
):
    data = _add_form(superuser_client)
    data.update(
        agency_id=agency_id.replace("\x00", ""),
        name=name.replace("\x00", ""),
        municipality_no=municipality_no.replace("\x00", ""),
        agency_type=agency_type,
        status="active",
        culr_sync="on",
    )
    response = superuser_client.post(f"{AGENCIES}add/", data)
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        created = Agency.objects.get(agency_id=agency_id.strip())
        created.full_clean()
        created.delete()


# --- filters and search ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "rule"),
    [
        ("borrower_check", "R-VIP-3"),
        ("accepts_orders_without_login", "R-VIP-6"),
        ("provides_user_status", "R-VIP-8"),
        ("infomedia", "R-VIP-9"),
    ],
)
def test_changelist_filters_by_each_setting_R_VIP_3_6_8_9(superuser_client, world, flag, rule):
    expected = {str(a.pk) for a in Agency.objects.filter(**{flag: True})}
    assert set(listed(superuser_client.get(AGENCIES, {f"{flag}__exact": "1"}))) == expected
    assert str(world["kbh"].pk) in expected


@pytest.mark.parametrize("query", ["århus", "ÅRHUS", "aarhus", "751", "775100", "Aarhus Kommunes"])
def test_changelist_search_by_name_alias_municipality_and_id(superuser_client, world, query):
    assert listed(superuser_client.get(AGENCIES, {"q": query})) == [str(world["aarhus"].pk)]


def test_change_in_the_staff_ui_is_seen_by_the_next_login_page_search_R_VIP_11(campus_staff, world):
    campus = world["campus"]
    assert selectors.agencies_search(query="Campus Syd", service_requester="bibliotek.dk")
    data = form_data(campus_staff.get(change_url(campus)))
    data.pop("borrower_check")
    data["_confirm_patron_impact"] = "1"  # R-SEC-4: staff confirmed what patrons will lose
    assert campus_staff.post(change_url(campus), data).status_code == 302
    assert selectors.agencies_search(query="Campus Syd", service_requester="bibliotek.dk") == []
    assert selectors.agency_get(agency_id="820099").borrower_check is False


def test_every_registry_admin_page_renders_for_superuser_and_bound_staff(
    superuser_client, campus_staff, world
):
    campus, kbh = world["campus"], world["kbh"]
    services.licensed_resource_get_or_create(name="Central Ebook Plus")
    own_branch = Branch.objects.get(branch_id="820099")
    MobileStop.objects.create(branch=own_branch, name="Torvet")
    pages = [
        "/admin/",
        "/admin/registry/",
        AGENCIES,
        f"{AGENCIES}?q=aarhus&agency_type__exact=FOLKEBIBLIOTEK&status__exact=active",
        f"{AGENCIES}add/",
        change_url(campus),
        change_url(kbh),
        f"{AGENCIES}{campus.pk}/history/",
        BRANCHES,
        f"{BRANCHES}add/",
        change_url(own_branch),
        "/admin/registry/servicerequester/",
        "/admin/registry/licensedresource/",
        "/admin/registry/staffagency/",
        "/admin/registry/staffagency/add/",
        "/admin/autocomplete/?app_label=registry&model_name=staffagency&field_name=agency&term=k",
    ]
    for page in pages:
        assert superuser_client.get(page).status_code == 200, page
        assert campus_staff.get(page).status_code in (200, 403, 404), page
    assert campus_staff.get(change_url(campus)).status_code == 200
    assert campus_staff.get(change_url(own_branch)).status_code == 200
    # The staff binding list is not even offered to a bound account.
    assert "/admin/registry/staffagency/" not in campus_staff.get("/admin/").content.decode()
    assert "/admin/registry/staffagency/" in superuser_client.get("/admin/").content.decode()


# --- R-SEC-4: changes that stop patrons are confirmed first and audited ---------------------


def confirm_page_data(page) -> list[tuple[str, str]]:
    """The hidden fields and the confirm button the confirmation page posts back."""
    text = page.content.decode()
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', text)
    fields = [(html.unescape(k), html.unescape(v)) for k, v in fields]
    return [*fields, ("_confirm_patron_impact", "Ja, gem ændringen")]


def post_pairs(client, url, pairs):
    data: dict[str, list[str]] = {}
    for key, value in pairs:
        data.setdefault(key, []).append(value)
    return client.post(url, data)


@pytest.mark.parametrize(
    ("change", "code", "danish"),
    [
        (
            {"borrower_check": None},
            "registry_borrower_check_off",
            "Lånere hos Campus Syd Bibliotek kan ikke længere logge ind med bibliotekslogin.",
        ),
        (
            {"borrower_check_services": []},
            "registry_service_removed",
            "Lånere hos Campus Syd Bibliotek kan ikke længere logge ind med bibliotekslogin på "
            "bibliotek.dk.",
        ),
        (
            {"status": "invisible"},
            "registry_status_invisible",
            "Lånere kan ikke længere finde Campus Syd Bibliotek i bibliotekssøgningen",
        ),
        (
            {"status": "deleted"},
            "registry_status_deleted",
            "Campus Syd Bibliotek findes ikke længere for lånerne",
        ),
    ],
)
def test_a_change_that_stops_patrons_is_saved_only_after_confirming_and_is_audited_R_SEC_4(
    campus_staff, world, change, code, danish
):
    """R-SEC-4: the admin says what patrons will experience; saved and audited on confirming."""
    campus = world["campus"]
    url = change_url(campus)
    data = form_data(campus_staff.get(url))
    for key, value in change.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    data["_save"] = "Gem"
    page = campus_staff.post(url, data)
    assert page.status_code == 200
    assert danish in page.content.decode()
    fresh = Agency.objects.get(pk=campus.pk)
    assert (fresh.borrower_check, fresh.status) == (True, "active"), "saved before confirming"
    assert list(fresh.borrower_check_services.values_list("name", flat=True)) == ["bibliotek.dk"]
    assert not AuditEvent.objects.filter(action=code).exists()

    saved = post_pairs(campus_staff, url, confirm_page_data(page))
    assert saved.status_code == 302
    fresh = Agency.objects.get(pk=campus.pk)
    if "borrower_check" in change:
        assert fresh.borrower_check is False
    if "borrower_check_services" in change:
        assert not fresh.borrower_check_services.exists()
    if "status" in change:
        assert fresh.status == change["status"]
    event = AuditEvent.objects.get(action=code)
    assert (event.actor, event.agency_id) == ("campussyd", "820099")
    assert event.details["confirmed"] is True


def test_cancelling_the_confirmation_changes_nothing_R_SEC_4(campus_staff, world):
    """R-SEC-4: "Nej, fortryd" goes back to the form; the agency is as before."""
    campus = world["campus"]
    url = change_url(campus)
    written = AuditEvent.objects.count()  # the setup's own registry writes
    data = form_data(campus_staff.get(url))
    data.pop("borrower_check")
    data["name"] = "Nyt navn"
    page = campus_staff.post(url, data)
    cancel = re.search(r'<a href="([^"]+)" class="button cancel-link">', page.content.decode())[1]
    assert campus_staff.get(cancel).status_code == 200
    fresh = Agency.objects.get(pk=campus.pk)
    assert (fresh.borrower_check, fresh.name) == (True, "Campus Syd Bibliotek")
    assert AuditEvent.objects.count() == written


def test_the_confirmation_page_speaks_english_to_english_staff_R_SEC_4(campus_staff, world):
    """R-SEC-4: Danish first, English complete."""
    campus = world["campus"]
    url = change_url(campus)
    data = form_data(campus_staff.get(url))
    data.pop("borrower_check")
    page = campus_staff.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert "Patrons of Campus Syd Bibliotek can no longer log in with their library login." in text
    assert "Yes, save the change" in text


def test_an_ordinary_change_is_saved_without_a_confirmation_page(campus_staff, world):
    """R-SEC-4: only changes that stop patrons ask; others save at once, audited as a change."""
    campus = world["campus"]
    url = change_url(campus)
    data = form_data(campus_staff.get(url))
    data["name"] = "Campus Syd"
    assert campus_staff.post(url, data).status_code == 302
    assert Agency.objects.get(pk=campus.pk).name == "Campus Syd"
    written = AuditEvent.objects.filter(actor="campussyd")
    assert list(written.values_list("action", "details")) == [
        ("registry_agency_changed", {"changed": {"name": ["Campus Syd Bibliotek", "Campus Syd"]}})
    ]


def test_bound_staff_cannot_give_its_branch_an_id_from_another_agencys_range(campus_staff, world):
    """R-VIP-10, DOMAIN glossary: Campus Syd (820099) cannot add 710199 or 190101."""
    for smuggled in ("710199", "190101"):
        response = campus_staff.post(
            f"{BRANCHES}add/",
            {
                "branch_id": smuggled,
                "agency": world["campus"].pk,
                "name": "Smuglet filial",
                "pickup_allowed": "on",
                "mobile_stops-TOTAL_FORMS": "0",
                "mobile_stops-INITIAL_FORMS": "0",
            },
        )
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "branch_id" in errors, errors
        assert "8200" in " ".join(errors["branch_id"])
        assert not Branch.objects.filter(branch_id=smuggled).exists()

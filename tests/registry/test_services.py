"""Registry writes: validated in clean() and in the database (R-VIP-1, 2, 5, 6, 8, 9, 10)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from biblogin.registry import selectors, services
from biblogin.registry.models import (
    VALID_USER_ID_KIND_LISTS,
    Agency,
    AgencyStatus,
    AgencyType,
    Branch,
    MobileStop,
    OrderUserParameter,
)
from tests.registry.builders import branch, public_library, requester, research_library

pytestmark = pytest.mark.django_db


# --- R-VIP-1: agency fields ---------------------------------------------------------------


def test_agency_keeps_id_name_type_municipality_and_status_R_VIP_1():
    agency = public_library(751, name="Aarhus Kommunes Biblioteker", aliases="Aarhus, Århus")
    agency.refresh_from_db()
    assert (agency.agency_id, agency.name, agency.agency_type) == (
        "775100",
        "Aarhus Kommunes Biblioteker",
        AgencyType.FOLKEBIBLIOTEK,
    )
    assert agency.municipality_no == 751
    assert agency.status == AgencyStatus.ACTIVE
    assert agency.alias_list == ["Aarhus", "Århus"]


@pytest.mark.parametrize(
    "bad_id", ["12ab34", "12345", "1234567", " 82001", "\uff18\uff12\uff10\uff10\uff11\uff10", ""]
)
def test_agency_id_must_be_six_ascii_digits_R_VIP_1(bad_id):
    with pytest.raises(ValidationError) as exc:
        services.agency_create(agency_id=bad_id, name="X", agency_type="FORSKNINGSBIBLIOTEK")
    assert "agency_id" in exc.value.message_dict
    assert not Agency.objects.exists()


def test_agency_id_is_unique_R_VIP_1():
    research_library("820010")
    with pytest.raises(ValidationError) as exc:
        research_library("820010")
    assert "agency_id" in exc.value.message_dict


def test_public_library_needs_a_real_municipality_R_VIP_1():
    with pytest.raises(ValidationError) as exc:
        services.agency_create(
            agency_id="710100", name="Uden kommune", agency_type=AgencyType.FOLKEBIBLIOTEK
        )
    assert "municipality_no" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.agency_create(
            agency_id="799900",
            name="Ingen sådan kommune",
            agency_type=AgencyType.FOLKEBIBLIOTEK,
            municipality_no=999,
        )
    assert "municipality_no" in exc.value.message_dict


def test_public_library_id_is_7_municipality_00_R_VIP_1():
    with pytest.raises(ValidationError) as exc:
        services.agency_create(
            agency_id="715700",
            name="Forkert nummer",
            agency_type=AgencyType.FOLKEBIBLIOTEK,
            municipality_no=101,
        )
    assert "710100" in str(exc.value.message_dict["municipality_no"])


def test_public_library_without_municipality_is_refused_by_the_database_R_VIP_1():
    agency = public_library(101)
    with pytest.raises(IntegrityError), transaction.atomic():
        Agency.objects.filter(pk=agency.pk).update(municipality_no=None)


def test_a_municipality_has_one_public_library_R_VIP_1():
    public_library(101)
    with pytest.raises(IntegrityError), transaction.atomic():
        Agency.objects.create(
            agency_id="710199",
            name="Endnu et",
            agency_type=AgencyType.FOLKEBIBLIOTEK,
            municipality_no=101,
            culr_sync=True,
        )


# --- R-VIP-2: culr_sync ---------------------------------------------------------------------


def test_public_library_always_delivers_to_culr_R_VIP_2():
    agency = public_library(157)
    assert agency.culr_sync is True
    with pytest.raises(ValidationError) as exc:
        services.agency_update(agency=agency, culr_sync=False)
    assert "culr_sync" in exc.value.message_dict
    agency.refresh_from_db()
    assert agency.culr_sync is True


def test_database_refuses_public_library_without_culr_R_VIP_2():
    agency = public_library(157)
    with pytest.raises(IntegrityError), transaction.atomic():
        Agency.objects.filter(pk=agency.pk).update(culr_sync=False)


def test_culr_sync_is_settable_for_other_libraries_R_VIP_2():
    gymnasium = research_library(culr_sync=True)
    assert gymnasium.culr_sync is True
    services.agency_update(agency=gymnasium, culr_sync=False)
    gymnasium.refresh_from_db()
    assert gymnasium.culr_sync is False
    assert research_library().culr_sync is False


# --- R-VIP-3 / R-VIP-4 ------------------------------------------------------------------------


def test_borrower_check_services_are_set_by_name_and_unknown_names_refused_R_VIP_4():
    requester("bibliotek.dk")
    agency = research_library(borrower_check=True, borrower_check_services=["bibliotek.dk"])
    assert list(agency.borrower_check_services.values_list("name", flat=True)) == ["bibliotek.dk"]
    with pytest.raises(ValidationError) as exc:
        services.agency_update(agency=agency, borrower_check_services=["bibliotek.dkk"])
    assert "borrower_check_services" in exc.value.message_dict
    assert selectors.agency_is_licensed_for(agency=agency, service_requester="bibliotek.dk")


def test_turning_borrower_check_on_needs_a_user_id_kind_R_VIP_3():
    agency = research_library(user_id_kinds=[])
    with pytest.raises(ValidationError) as exc:
        services.agency_update(agency=agency, borrower_check=True)
    assert "user_id_kinds" in exc.value.message_dict
    agency.refresh_from_db()
    assert agency.borrower_check is False


# --- R-VIP-5: user_id_kinds -------------------------------------------------------------------


def test_user_id_kinds_are_stored_in_fixed_order_without_duplicates_R_VIP_5():
    agency = research_library(user_id_kinds=["email", "cpr", "email"])
    agency.refresh_from_db()
    assert agency.user_id_kinds == ["cpr", "email"]
    assert selectors.agency_user_id_kinds(agency=agency) == ["cpr", "email"]


@pytest.mark.parametrize("kinds", [["cpr", "barcode"], ["CPR"], ["unilogin"]])
def test_unknown_user_id_kind_is_refused_R_VIP_5(kinds):
    with pytest.raises(ValidationError) as exc:
        research_library(user_id_kinds=kinds)
    assert "user_id_kinds" in exc.value.message_dict


@pytest.mark.parametrize("stored", [["cpr", "barcode"], ["cpr", "cpr"], "cpr", {"cpr": 1}])
def test_database_refuses_invalid_user_id_kinds_R_VIP_5(stored):
    agency = research_library(user_id_kinds=["cpr"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Agency.objects.filter(pk=agency.pk).update(user_id_kinds=stored)


def test_database_accepts_every_valid_user_id_kind_list_R_VIP_5():
    agency = research_library(user_id_kinds=["cpr"])
    for kinds in VALID_USER_ID_KIND_LISTS:
        Agency.objects.filter(pk=agency.pk).update(user_id_kinds=kinds)
        agency.refresh_from_db()
        assert agency.user_id_kinds == kinds
        agency.full_clean()  # the Python-side check agrees with the database


# --- R-VIP-6, 8, 9: settings and subscriptions -------------------------------------------------


def test_order_without_login_and_user_status_flags_are_kept_R_VIP_6_R_VIP_8():
    agency = research_library()
    assert (agency.accepts_orders_without_login, agency.provides_user_status) == (False, False)
    services.agency_update(agency=agency, accepts_orders_without_login=True)
    services.agency_update(agency=agency, provides_user_status=True)
    fresh = selectors.agency_get(agency_id=agency.agency_id)
    assert (fresh.accepts_orders_without_login, fresh.provides_user_status) == (True, True)


def test_subscriptions_and_licensed_resources_R_VIP_9():
    services.licensed_resource_get_or_create(name="Central Ebook Plus")
    agency = public_library(
        101, infomedia=True, digital_article_service=True, licensed_resources=["Central Ebook Plus"]
    )
    fresh = selectors.agency_get(agency_id="710100")
    assert fresh.infomedia and fresh.digital_article_service
    assert [r.name for r in fresh.licensed_resources.all()] == ["Central Ebook Plus"]
    with pytest.raises(ValidationError) as exc:
        services.agency_update(agency=agency, licensed_resources=["Ukendt Ressource"])
    assert "licensed_resources" in exc.value.message_dict
    services.agency_update(agency=agency, licensed_resources=[], infomedia=False)
    fresh = selectors.agency_get(agency_id="710100")
    assert not fresh.infomedia
    assert not fresh.licensed_resources.exists()


def test_update_refuses_fields_the_agency_does_not_have():
    agency = research_library()
    with pytest.raises(ValueError, match="not agency fields"):
        services.agency_update(agency=agency, pk=99)


def test_update_saves_only_the_given_fields():
    agency = research_library(name="Før")
    stale = Agency.objects.get(pk=agency.pk)
    services.agency_update(agency=agency, name="Efter")
    # A concurrent edit of another field through a stale copy keeps the new name.
    services.agency_update(agency=stale, infomedia=True)
    agency.refresh_from_db()
    assert (agency.name, agency.infomedia) == ("Efter", True)


# --- R-VIP-7: order parameters are stored in order ----------------------------------------------


def test_order_user_parameters_are_replaced_in_order_and_each_type_once_R_VIP_7():
    agency = research_library()
    services.order_user_parameters_set(
        agency=agency,
        parameters=[{"type": "userId", "required": True}, {"type": "userMail", "required": True}],
    )
    assert list(agency.order_user_parameters.values_list("parameter_type", "position")) == [
        ("userId", 0),
        ("userMail", 1),
    ]
    with pytest.raises(ValidationError):
        services.order_user_parameters_set(
            agency=agency, parameters=[{"type": "userMail"}, {"type": "userMail"}]
        )
    with pytest.raises(ValidationError):
        services.order_user_parameters_set(agency=agency, parameters=[{"type": "shoeSize"}])
    assert agency.order_user_parameters.count() == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderUserParameter.objects.create(agency=agency, parameter_type="userMail")


# --- R-VIP-10: branches -------------------------------------------------------------------------


def test_branch_keeps_its_fields_R_VIP_10():
    agency = public_library(101)
    b = branch(
        agency,
        "710104",
        name="Vesterbro Bibliotek",
        address="Lyrskovgade 4",
        postal_code="1758",
        city="København V",
        opening_hours="Man-fre 10-19",
        website="https://bibliotek.kk.dk",
        email="vesterbro@kk.example",
    )
    b.refresh_from_db()
    assert (b.branch_id, b.agency, b.postal_code, b.city) == (
        "710104",
        agency,
        "1758",
        "København V",
    )
    assert b.pickup_allowed is True and b.temporarily_closed is False


def test_temporarily_closed_branch_needs_a_reason_R_VIP_10():
    b = branch(public_library(101))
    with pytest.raises(ValidationError) as exc:
        services.branch_update(branch=b, temporarily_closed=True, temporarily_closed_reason="  ")
    assert "temporarily_closed_reason" in exc.value.message_dict
    b.refresh_from_db()
    assert b.temporarily_closed is False
    with pytest.raises(IntegrityError), transaction.atomic():
        Branch.objects.filter(pk=b.pk).update(temporarily_closed=True)
    services.branch_update(branch=b, temporarily_closed=True, temporarily_closed_reason="Ombygning")
    b.refresh_from_db()
    assert (b.temporarily_closed, b.temporarily_closed_reason) == (True, "Ombygning")


@pytest.mark.parametrize(
    ("field", "value"),
    [("postal_code", "12a4"), ("branch_id", "71010x"), ("email", "ikke-en-mail"), ("website", "x")],
)
def test_bad_branch_input_is_a_validation_error_R_VIP_10(field, value):
    b = branch(public_library(101))
    with pytest.raises(ValidationError) as exc:
        services.branch_update(branch=b, **{field: value})
    assert field in exc.value.message_dict


def test_mobile_library_stops_are_kept_in_order_R_VIP_10():
    bus = branch(public_library(101), is_mobile=True, name="Bogbussen")
    MobileStop.objects.create(branch=bus, name="Torvet", position=2)
    MobileStop.objects.create(branch=bus, name="Skolen", position=1)
    found = selectors.branch_get(branch_id=bus.branch_id)
    assert [s.name for s in found.mobile_stops.all()] == ["Skolen", "Torvet"]


# --- staff binding ------------------------------------------------------------------------------


def test_staff_agency_bind_makes_a_staff_account_of_that_agency():
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="medarbejder", password=None)
    a, b = research_library(), research_library()
    services.staff_agency_bind(user=user, agency=a)
    services.staff_agency_bind(user=user, agency=b)  # rebinding moves the account
    user = get_user_model().objects.get(pk=user.pk)
    assert user.is_staff
    assert user.staff_agency.agency == b
    assert user.has_perm("registry.change_agency")
    assert not user.has_perm("registry.add_agency")
    services.staff_agency_unbind(user=user)
    user = get_user_model().objects.get(pk=user.pk)
    assert not user.has_perm("registry.change_agency")


# --- R-VIP-10 + glossary: a branch ID lies in its agency's number range ------------------------


def test_a_branch_id_in_another_agencys_range_is_refused_R_VIP_10():
    """R-VIP-10, DOMAIN glossary: a branch of 820099 cannot be 710199 (Copenhagen's range)."""
    public_library(101)
    campus = research_library("820099")
    for smuggled in ("710199", "190101", "820199"):
        with pytest.raises(ValidationError) as caught:
            services.branch_create(agency=campus, branch_id=smuggled, name="Smuglet")
        assert "branch_id" in caught.value.message_dict
    assert not Branch.objects.filter(agency=campus).exists()


def test_a_branch_cannot_take_another_agencys_id_even_in_its_range_R_VIP_10():
    """R-VIP-10: 820010 is an agency of its own; 820099 may not call a branch that."""
    campus = research_library("820099")
    research_library("820010")
    with pytest.raises(ValidationError) as caught:
        services.branch_create(agency=campus, branch_id="820010", name="Forveksling")
    assert "branch_id" in caught.value.message_dict


def test_branch_ids_in_the_agencys_range_are_accepted_R_VIP_10():
    """R-VIP-10: the main branch may have the agency's ID; others share its first four digits."""
    kbh = public_library(101)
    assert services.branch_create(agency=kbh, branch_id="710100", name="Hoved").pk
    assert services.branch_create(agency=kbh, branch_id="710199", name="Filial").pk


def test_moving_a_branch_to_another_agency_is_checked_against_the_new_range_R_VIP_10():
    kbh = public_library(101)
    aarhus = public_library(751)
    b = branch(kbh, "710104")
    b.agency = aarhus
    with pytest.raises(ValidationError):
        services.branch_save(branch=b)
    b.refresh_from_db()
    assert b.agency == kbh


def test_every_demo_branch_lies_in_its_agencys_range_R_VIP_10():
    from biblogin.demo.services import demo_load

    demo_load()
    branches = list(Branch.objects.select_related("agency"))
    assert len(branches) > 5
    for b in branches:
        b.full_clean()


def test_a_branch_registered_before_the_range_rule_can_still_be_edited_R_VIP_10():
    """R-VIP-10: the rule guards new IDs and moves; other fields of an old branch stay editable."""
    kbh = public_library(101)
    campus = research_library("820099")
    Branch.objects.create(agency=campus, branch_id="710150", name="Gammel")
    old = Branch.objects.get(branch_id="710150")
    services.branch_update(branch=old, name="Omdøbt")
    assert Branch.objects.get(branch_id="710150").name == "Omdøbt"
    old.agency = kbh
    services.branch_save(branch=old)
    moved = Branch.objects.get(branch_id="710150")
    moved.agency = campus
    with pytest.raises(ValidationError):
        services.branch_save(branch=moved)

"""Saved library info per library of the profile, prefilled in order forms (R-PORTAL-15)."""

from __future__ import annotations

import pytest

from biblogin.common.errors import ApplicationError
from biblogin.patrons.selectors import patron_get_by_cpr
from biblogin.registry.models import Agency, OrderUserParameter
from biblogin.userdata.models import Profile, SavedLibraryInfo
from biblogin.userdata.saved_info import (
    saved_library_info_for,
    saved_library_info_prefill,
    saved_library_info_save,
)

pytestmark = pytest.mark.django_db

ANNA = "1503851234"


@pytest.fixture
def anna(demo: None) -> Profile:
    patron = patron_get_by_cpr(cpr=ANNA)
    assert patron is not None
    return Profile.objects.get_or_create(patron_guid=patron.guid)[0]


def _parameter(agency_id: str, kind: str) -> None:
    OrderUserParameter.objects.get_or_create(
        agency=Agency.objects.get(agency_id=agency_id), parameter_type=kind
    )


def test_saved_info_prefills_the_order_form_by_vip_parameter_type_R_PORTAL_15(
    anna: Profile,
) -> None:
    _parameter("710100", "userName")
    saved_library_info_save(
        profile=anna,
        agency_id="710100",
        email="anna@example.dk",
        phone="12345678",
        parameters={"userName": "Anna Andersen"},
    )
    assert saved_library_info_prefill(profile=anna, agency_id="710100") == {
        "userMail": "anna@example.dk",
        "userTelephone": "12345678",
        "userName": "Anna Andersen",
    }
    # Another library of hers has nothing saved.
    assert saved_library_info_prefill(profile=anna, agency_id="715700") == {}


def test_order_parameters_are_kept_encrypted_R_PORTAL_15(anna: Profile) -> None:
    _parameter("710100", "cardno")
    saved_library_info_save(profile=anna, agency_id="710100", parameters={"cardno": "KORT-4711"})
    stored = SavedLibraryInfo.objects.get(profile=anna)
    assert "KORT-4711" not in stored.parameters_encrypted
    assert saved_library_info_for(profile=anna, agency_id="710100").parameters == {
        "cardno": "KORT-4711"
    }


def test_editing_replaces_and_emptying_deletes_R_PORTAL_15(anna: Profile) -> None:
    saved_library_info_save(profile=anna, agency_id="710100", email="a@example.dk")
    saved_library_info_save(profile=anna, agency_id="710100", email="b@example.dk")
    assert saved_library_info_for(profile=anna, agency_id="710100").email == "b@example.dk"
    saved_library_info_save(profile=anna, agency_id="710100")
    assert not SavedLibraryInfo.objects.exists()


@pytest.mark.parametrize(
    ("agency_id", "kwargs"),
    [
        ("829000", {"email": "a@example.dk"}),  # not one of her libraries
        ("710100", {"email": "ikke-en-mail"}),
        ("710100", {"phone": "12"}),
        ("710100", {"parameters": {"cpr": "1503851234"}}),  # a CPR is never kept
        ("710100", {"parameters": {"userName": "x" * 301}}),
        ("710100", {"parameters": {"userDateOfBirth": "1985-02-31"}}),
        ("710100", {"parameters": {"notAParameter": "x"}}),
    ],
)
def test_bad_saved_info_is_refused_and_nothing_saved_R_PORTAL_15(
    anna: Profile, agency_id: str, kwargs: dict[str, object]
) -> None:
    _parameter("710100", "userName")
    _parameter("710100", "userDateOfBirth")
    with pytest.raises(ApplicationError):
        saved_library_info_save(profile=anna, agency_id=agency_id, **kwargs)  # type: ignore[arg-type]
    assert not SavedLibraryInfo.objects.exists()


def test_deleting_the_profile_deletes_its_saved_info_R_PORTAL_19(anna: Profile) -> None:
    from biblogin.userdata.services import profile_delete

    saved_library_info_save(profile=anna, agency_id="710100", email="a@example.dk")
    profile_delete(profile=anna)
    assert not SavedLibraryInfo.objects.exists()


def test_saving_from_the_order_form_replaces_only_the_types_it_asked_R_PORTAL_15(
    anna: Profile,
) -> None:
    from biblogin.userdata.saved_info import saved_library_info_update

    _parameter("710100", "userName")
    _parameter("710100", "userAddress")
    saved_library_info_save(
        profile=anna,
        agency_id="710100",
        email="anna@example.dk",
        phone="12345678",
        parameters={"userName": "Anna A.", "userAddress": "Krystalgade 1"},
    )
    info = saved_library_info_update(
        profile=anna,
        agency_id="710100",
        values={"userMail": "ny@example.dk", "userTelephone": "", "userAddress": ""},
    )
    assert (info.email, info.phone, info.parameters) == (
        "ny@example.dk",
        "",
        {"userName": "Anna A."},
    )
    assert saved_library_info_for(profile=anna, agency_id="710100") == info
    # What the library no longer asks for is dropped, not refused.
    OrderUserParameter.objects.filter(parameter_type="userName").delete()
    info = saved_library_info_update(
        profile=anna, agency_id="710100", values={"userTelephone": "87654321"}
    )
    assert (info.email, info.phone, info.parameters) == ("ny@example.dk", "87654321", {})


@pytest.mark.parametrize(
    ("agency_id", "values"),
    [
        ("710100", {"userMail": "anna@"}),
        ("710100", {"userTelephone": "12"}),
        ("710100", {"cpr": "1503851234"}),
        ("829000", {"userMail": "anna@example.dk"}),
    ],
)
def test_saving_bad_values_from_the_order_form_changes_nothing_R_PORTAL_15(
    anna: Profile, agency_id: str, values: dict[str, str]
) -> None:
    from biblogin.userdata.saved_info import saved_library_info_update

    saved_library_info_save(profile=anna, agency_id="710100", email="anna@example.dk")
    with pytest.raises(ApplicationError):
        saved_library_info_update(profile=anna, agency_id=agency_id, values=values)
    assert list(SavedLibraryInfo.objects.values_list("agency_id", "email")) == [
        ("710100", "anna@example.dk")
    ]

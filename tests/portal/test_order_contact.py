"""A logged-in user's contact details in the one order flow (R-PORTAL-15, R-VIP-7), test client.

Anna (profile, Københavns Biblioteker: userName, userMail and userTelephone in its order user
parameters) gets her saved library info prefilled and saves changes with "Gem oplysningerne til
næste gang"; Bo as a session user (Campus Syd) only has them remembered in the session.
"""

from __future__ import annotations

import os
import re
from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django.core.validators import validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblogin.circulation.models import Order
from biblogin.integrations.library_systems.models import SimReservation
from biblogin.patrons.selectors import patron_get_by_cpr
from biblogin.portal.order_flow import CONTACT_DETAILS_KEY
from biblogin.portal.session import COOKIE_NAME
from biblogin.registry.models import Agency, OrderUserParameter
from biblogin.userdata.models import Profile, SavedLibraryInfo
from biblogin.userdata.saved_info import saved_library_info_for, saved_library_info_save
from tests.circulation import catalogue as c
from tests.portal.driver import PortalBrowser, text_of
from tests.portal.test_order_views import form_of, submit

ANNA = "1503851234"
VESTERBRO = f"/bestil/?pid={c.AT_VESTERBRO}&filial=710104"


@pytest.fixture(autouse=True)
def _catalogue(demo) -> None:
    c.order_catalogue()


@pytest.fixture
def anna(user: PortalBrowser) -> PortalBrowser:
    """Anna logged in as a profile user, with saved info for Københavns Biblioteker."""
    user.library_login("710100", ANNA, "1234")
    patron = patron_get_by_cpr(cpr=ANNA)
    assert patron is not None
    profile = Profile.objects.get(patron_guid=patron.guid)
    saved_library_info_save(
        profile=profile,
        agency_id="710100",
        email="anna@example.dk",
        phone="12345678",
        parameters={"userName": "Anna A."},
    )
    return user


def _saved() -> SavedLibraryInfo:
    return SavedLibraryInfo.objects.get(agency_id="710100")


def _value(html: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    if tag is None:
        return None
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def test_saved_library_info_is_prefilled_in_the_order_form_R_PORTAL_15(
    anna: PortalBrowser,
) -> None:
    page = anna.client.get(VESTERBRO)
    html = page.content.decode()
    assert _value(html, "kontakt-userMail") == "anna@example.dk"
    assert _value(html, "kontakt-userTelephone") == "12345678"
    text = text_of(page)
    assert "Dine kontaktoplysninger til Københavns Biblioteker" in text
    assert "Gem oplysningerne til næste gang" in text
    # Unticked by default: saving is the user's choice at every order.
    keep = re.search(r'<input[^>]*name="kontakt-keep"[^>]*>', html)
    assert keep is not None and "checked" not in keep.group(0)


def test_a_logged_in_user_is_asked_only_the_librarys_contact_data_R_PORTAL_15_R_VIP_7(
    anna: PortalBrowser,
) -> None:
    """The login gives the borrower's identity and name: no ID, CPR, birth date or name field;
    every contact field is optional (the library has its borrower's own details)."""
    agency = Agency.objects.get(agency_id="710100")
    for position, kind in enumerate(("cpr", "userDateOfBirth", "userAddress"), start=10):
        OrderUserParameter.objects.create(
            agency=agency, parameter_type=kind, required=True, position=position
        )
    html = anna.client.get(VESTERBRO).content.decode()
    names = re.findall(r'name="kontakt-([^"]+)"', html)
    assert names == ["userMail", "userTelephone", "userAddress", "keep"]
    assert 'name="laaner-' not in html
    for kind in ("userMail", "userTelephone", "userAddress"):
        tag = re.search(rf'<input[^>]*name="kontakt-{kind}"[^>]*>', html)
        assert tag is not None and " required" not in tag.group(0)
    done = submit(anna, anna.client.get(VESTERBRO), **{"kontakt-userMail": ""})
    assert done.status_code == 303
    # Left empty: the library's own e-mail of its borrower goes on the order.
    assert Order.objects.get().email == "anna@example.dk"


def test_ticking_save_saves_the_changed_details_for_next_time_R_PORTAL_15(
    anna: PortalBrowser,
) -> None:
    page = anna.client.get(VESTERBRO)
    done = submit(
        anna,
        page,
        **{
            "kontakt-userMail": "anna.ny@example.dk",
            "kontakt-userTelephone": "",
            "kontakt-keep": "on",
        },
    )
    assert done.status_code == 303
    assert Order.objects.get().email == "anna.ny@example.dk"
    saved = saved_library_info_for(profile=_saved().profile, agency_id="710100")
    assert (saved.email, saved.phone) == ("anna.ny@example.dk", "")
    assert saved.parameters == {"userName": "Anna A."}  # what the form did not ask stays
    receipt = text_of(anna.client.get(done["Location"]))
    assert "Dine oplysninger til Københavns Biblioteker er gemt til næste gang." in receipt
    again = anna.client.get(f"/bestil/?pid={c.PERIODICAL}&filial=710104").content.decode()
    assert _value(again, "kontakt-userMail") == "anna.ny@example.dk"


def test_not_ticking_save_orders_with_the_typed_details_and_saves_nothing_R_PORTAL_15(
    anna: PortalBrowser,
) -> None:
    before = _saved()
    done = submit(anna, anna.client.get(VESTERBRO), **{"kontakt-userMail": "engang@example.dk"})
    assert done.status_code == 303
    assert Order.objects.get().email == "engang@example.dk"
    after = _saved()
    assert (after.email, after.phone, after.parameters_encrypted) == (
        before.email,
        before.phone,
        before.parameters_encrypted,
    )


@pytest.mark.parametrize(
    "field",
    [{"kontakt-userMail": "anna@"}, {"kontakt-userTelephone": "12"}],
    ids=["e-mail", "phone"],
)
def test_a_malformed_contact_value_gets_a_field_message_and_nothing_is_ordered_or_saved_R_PORTAL_15(
    anna: PortalBrowser, field: dict[str, str]
) -> None:
    before = _saved().email
    bad = submit(anna, anna.client.get(VESTERBRO), **field, **{"kontakt-keep": "on"})
    assert bad.status_code == 400
    text = text_of(bad)
    assert "Ret det, der er markeret" in text
    assert "Indtast en gyldig e-mail-adresse" in text or "8 cifre eller flere" in text
    assert 'aria-invalid="true"' in bad.content.decode()
    assert (
        not Order.objects.exists()
        and not SimReservation.objects.filter(material_id=c.AT_VESTERBRO).exists()
    )
    assert _saved().email == before


def test_the_contact_part_of_the_order_form_is_complete_in_english_R_PORTAL_15(
    anna: PortalBrowser,
) -> None:
    text = text_of(anna.client.get(VESTERBRO, HTTP_ACCEPT_LANGUAGE="en"))
    assert "Your contact details for Københavns Biblioteker" in text
    assert "Save these details for next time" in text
    assert "Filled in with what you saved for the library. You can change it here." in text
    data = form_of(anna.client.get(VESTERBRO, HTTP_ACCEPT_LANGUAGE="en"))
    data["kontakt-userMail"] = ["x@"]
    bad = anna.client.post("/bestil/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert "Enter a valid email address" in text_of(bad)


def test_a_session_user_has_contact_details_remembered_in_the_session_not_saved_R_PORTAL_15(
    user: PortalBrowser,
) -> None:
    agency = Agency.objects.get(agency_id="820099")
    OrderUserParameter.objects.create(agency=agency, parameter_type="userMail", position=1)
    OrderUserParameter.objects.create(agency=agency, parameter_type="userTelephone", position=2)
    user.library_login("820099", "CS-4711", "4711")
    user.choose("/tilknyt/", "not_now")
    page = user.client.get(f"/bestil/?pid={c.AT_CAMPUS_SYD}&filial=820099")
    html = page.content.decode()
    assert _value(html, "kontakt-userMail") == ""  # blank: nothing is saved for him anywhere
    assert "Husk til næste bestilling" in text_of(page)
    assert "Gem oplysningerne til næste gang" not in text_of(page)
    done = submit(user, page, **{"kontakt-userMail": "bo@example.dk", "kontakt-keep": "on"})
    assert done.status_code == 303
    assert Order.objects.get().email == "bo@example.dk"
    assert not SavedLibraryInfo.objects.exists() and not Profile.objects.exists()
    again = user.client.get(f"/bestil/?pid={c.AT_CAMPUS_SYD}&filial=820099&igen=1")
    assert _value(again.content.decode(), "kontakt-userMail") == "bo@example.dk"
    # Sealed in the session, never in clear (as the guest's details).
    engine = import_module(django_settings.SESSION_ENGINE)
    stored = engine.SessionStore(user.client.cookies[COOKIE_NAME].value)
    assert stored.get(CONTACT_DETAILS_KEY) and "bo@example.dk" not in str(dict(stored.items()))
    # Unticked next time: forgotten.
    user.client.post("/bestil/", {**form_of(again), "kontakt-userMail": "bo@example.dk"})
    html = user.client.get(f"/bestil/?pid={c.AT_CAMPUS_SYD}&filial=820099&igen=1").content
    assert _value(html.decode(), "kontakt-userMail") == ""


_ANY = st.text(max_size=40) | st.sampled_from(["", "\x00", "x" * 400, "a@b", "anna@", "+45 12"])


@settings(
    max_examples=int(os.environ.get("BIBLOGIN_FUZZ_EXAMPLES", "12")),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mail=_ANY, phone=_ANY, keep=_ANY)
def test_malformed_contact_details_never_give_a_500_nor_a_bad_saved_value_R_SEC_3_R_PORTAL_15(
    anna: PortalBrowser, mail: str, phone: str, keep: str
) -> None:
    anna.client.raise_request_exception = False
    data = form_of(anna.client.get(VESTERBRO + "&igen=1"))
    data.update({"kontakt-userMail": [mail], "kontakt-userTelephone": [phone]})
    data["kontakt-keep"] = [keep]
    response = anna.client.post("/bestil/", data)
    assert response.status_code in (303, 400), response.status_code
    saved = _saved()  # her saved name is not asked in the order form, so the record stays
    if saved.email:
        validate_email(saved.email)
    assert saved.phone in ("12345678", "") or re.fullmatch(r"\+?[0-9 ]{8,19}", saved.phone)

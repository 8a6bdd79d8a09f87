"""What the library receives of the borrower through the order pages (R-VIP-7, R-ORDER-4).

Handelshøjskolens Bibliotek (830099) asks guests for every data field here; Københavns
Biblioteker asks its demo parameters (userId, userName, userMail, userTelephone) of Anna, a
profile user with saved library info.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblogin.circulation.models import Order
from biblogin.integrations.library_systems.models import SimRequest
from biblogin.patrons.selectors import patron_get_by_cpr
from biblogin.registry.models import Agency, OrderUserParameter
from biblogin.userdata.models import Profile
from biblogin.userdata.saved_info import saved_library_info_save
from tests.circulation import catalogue as c
from tests.portal.driver import PortalBrowser
from tests.portal.test_order_views import submit

FUZZ = settings(
    max_examples=int(os.environ.get("BIBLOGIN_FUZZ_EXAMPLES", "25")),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HH_PAGE = f"/bestil/?pid={c.AT_HH}&filial=830099"
VESTERBRO = f"/bestil/?pid={c.AT_VESTERBRO}&filial=710104"
ANNA = "1503851234"
IDA = {
    "laaner-userId": "HH-1001",
    "laaner-userName": "Ida Iversen",
    "laaner-userMail": "ida@example.dk",
}
DATA_FIELDS = ("userName", "userAddress", "userTelephone", "userDateOfBirth")


@pytest.fixture(autouse=True)
def _catalogue(demo) -> None:
    c.order_catalogue()
    agency = Agency.objects.get(agency_id="830099")
    OrderUserParameter.objects.filter(agency=agency).delete()
    OrderUserParameter.objects.bulk_create(
        OrderUserParameter(agency=agency, position=position, parameter_type=kind, required=req)
        for position, (kind, req) in enumerate(
            [
                ("userId", True),
                ("userName", True),
                ("userMail", True),
                ("userAddress", False),
                ("userTelephone", False),
                ("userDateOfBirth", False),
            ]
        )
    )


def test_a_guests_order_form_reaches_the_library_as_its_user_parameters_R_VIP_7(
    user: PortalBrowser,
) -> None:
    """R-VIP-7 / R-ORDER-4: the fields the guest typed are what the library receives; the
    ID is not among them (it names the borrower), nor anything left empty."""
    done = submit(
        user,
        user.client.get(HH_PAGE),
        **IDA,
        **{"laaner-userAddress": "Porcelænshaven 1", "laaner-userDateOfBirth": "1995-03-03"},
    )
    assert done.status_code == 303
    assert SimRequest.objects.get(system_id="830099").borrower_data == {
        "userName": "Ida Iversen",
        "userMail": "ida@example.dk",
        "userAddress": "Porcelænshaven 1",
        "userDateOfBirth": "1995-03-03",
    }
    assert Order.objects.get().borrower_data == {}  # answered: the order keeps none of it


bad_value = st.one_of(
    st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=20), st.text(max_size=20)),
    st.builds(lambda tail: "x" * 301 + tail, st.text(max_size=40)),
)


@FUZZ
@given(field=st.sampled_from(DATA_FIELDS), value=bad_value)
def test_a_nul_byte_or_over_long_value_is_a_clear_form_error_never_a_500_R_ORDER_4(
    user: PortalBrowser, field: str, value: str
) -> None:
    """R-ORDER-4 / R-SEC-3: bad input in a borrower data field is a clear 400, never a 500,
    and orders nothing: an over-long value is that field's error on the form; a NUL byte is
    refused for the whole request, before any form, by the portal's input guard."""
    page = user.client.get(HH_PAGE)
    posted = submit(user, page, **{**IDA, f"laaner-{field}": value})
    assert posted.status_code == 400, posted.status_code
    html = posted.content.decode()
    if "\x00" in value:
        assert "Forespørgslen indeholder ugyldige tegn" in html
    else:
        assert f'href="#id_laaner-{field}"' in html  # the error summary names the field
    assert not Order.objects.exists() and not SimRequest.objects.exists()


@pytest.fixture
def anna(user: PortalBrowser) -> PortalBrowser:
    """Anna logged in as a profile user, with saved info for Københavns Biblioteker."""
    user.library_login("710100", ANNA, "1234")
    patron = patron_get_by_cpr(cpr=ANNA)
    assert patron is not None
    saved_library_info_save(
        profile=Profile.objects.get(patron_guid=patron.guid),
        agency_id="710100",
        email="anna@example.dk",
        phone="12345678",
        parameters={"userName": "Anna A."},
    )
    return user


def test_a_profile_users_order_carries_the_saved_and_typed_details_R_VIP_7(
    anna: PortalBrowser,
) -> None:
    """R-VIP-7 with R-PORTAL-15: the contact form's values (prefilled from the saved info)
    and, for what the form does not show, the saved info; never the CPR."""
    done = submit(anna, anna.client.get(VESTERBRO), **{"kontakt-userTelephone": "87654321"})
    assert done.status_code == 303
    got = SimRequest.objects.get(system_id="710100").borrower_data
    assert got == {
        "userName": "Anna A.",
        "userMail": "anna@example.dk",
        "userTelephone": "87654321",
    }
    assert ANNA not in str(got)


def test_a_contact_field_the_profile_user_empties_is_not_sent_R_VIP_7(
    anna: PortalBrowser,
) -> None:
    """R-VIP-7: the form is prefilled with the saved phone; emptied, it is not sent."""
    done = submit(anna, anna.client.get(VESTERBRO), **{"kontakt-userTelephone": ""})
    assert done.status_code == 303
    got = SimRequest.objects.get(system_id="710100").borrower_data
    assert got == {"userName": "Anna A.", "userMail": "anna@example.dk"}

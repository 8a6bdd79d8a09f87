"""Lån og reserveringer, Dine adgange and Gemte oplysninger as a user sees them (R-PORTAL-13…15)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import formats, timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblogin.integrations.library_systems.models import SimLoan, SimReservation, SimulatedSystem
from biblogin.userdata.models import SavedLibraryInfo
from tests.portal.builders import ANNA
from tests.portal.driver import PortalBrowser, text_of

pytestmark = pytest.mark.django_db

_ANY = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@pytest.fixture(autouse=True)
def _inline(settings: Any) -> None:
    settings.LIBRARY_FANOUT_INLINE = True


@pytest.fixture
def anna(user: PortalBrowser) -> PortalBrowser:
    user.library_login("710100", ANNA, "1234")
    return user


def _date(days: int) -> str:
    return formats.date_format(timezone.localdate() + dt.timedelta(days=days), "j. F Y")


def test_anna_sees_both_libraries_debts_first_overdue_marked_R_PORTAL_13(
    anna: PortalBrowser,
) -> None:
    page = text_of(anna.get("/laan-og-reserveringer/"))
    assert page.index("Mellemværender") < page.index("Lån (3)")
    assert "Overskredet lånetid: H.C. Andersen: Eventyr Gentofte Bibliotekerne 35,00 kr." in page
    eventyr = page.index("H.C. Andersen: Eventyr Gentofte")
    barndom = page.index("Tove Ditlevsen: Barndom")
    farm = page.index("Karen Blixen: Den afrikanske farm")
    assert eventyr < barndom < farm  # by due date
    assert "Overskredet med 9 dage" in page
    assert "Afleveres om 3 dage" in page
    assert "14 dage tilbage" in page
    assert f"Hent senest {_date(6)} på Vesterbro Bibliotek" in page
    assert "3 foran dig" in page
    assert page.index("Helle Helle: de") < page.index("Peter Høeg")  # ready first


def test_renewing_shows_the_new_due_date_R_PORTAL_13(anna: PortalBrowser) -> None:
    loan = SimLoan.objects.get(title="Tove Ditlevsen: Barndom")
    page = text_of(
        anna.post("/laan-og-reserveringer/forny/", {"agency_id": "710100", "loan_id": str(loan.pk)})
    )
    loan.refresh_from_db()
    new_date = formats.date_format(loan.due_date, "j. F Y")
    assert f"Tove Ditlevsen: Barndom er fornyet. Ny afleveringsdato: {new_date}." in page
    assert f"Afleveres senest {new_date}" in page


def test_a_refused_renewal_says_why_in_words_R_PORTAL_13(anna: PortalBrowser) -> None:
    loan = SimLoan.objects.get(title="Karen Blixen: Den afrikanske farm")
    loan.renewable = False
    loan.save(update_fields=["renewable"])
    page = text_of(
        anna.post("/laan-og-reserveringer/forny/", {"agency_id": "710100", "loan_id": str(loan.pk)})
    )
    assert "Københavns Biblioteker kan ikke forny lånet" in page
    assert "not_renewable" not in page


def test_renewing_another_libraries_or_someone_elses_loan_is_refused(anna: PortalBrowser) -> None:
    loan = SimLoan.objects.get(title="Pædagogisk psykologi")  # Clara's, at UCN
    page = text_of(
        anna.post("/laan-og-reserveringer/forny/", {"agency_id": "829000", "loan_id": str(loan.pk)})
    )
    assert "Biblioteket er ikke et af dine biblioteker." in page
    page = text_of(
        anna.post("/laan-og-reserveringer/forny/", {"agency_id": "710100", "loan_id": str(loan.pk)})
    )
    assert "kender ikke det lån" in page
    assert SimLoan.objects.get(pk=loan.pk).renewals == 0


def test_deleting_a_ready_reservation_asks_first_with_its_own_text_R_PORTAL_13(
    anna: PortalBrowser,
) -> None:
    ready = SimReservation.objects.get(title="Helle Helle: de")
    path = f"/laan-og-reserveringer/reservering/710100/{ready.pk}/slet/"
    page = text_of(anna.get(path))
    assert "Materialet ligger klar til dig hos Københavns Biblioteker" in page
    assert SimReservation.objects.filter(pk=ready.pk).exists()  # asking deletes nothing
    page = text_of(anna.post(path, {}))
    assert "Reserveringen af Helle Helle: de er slettet." in page
    assert not SimReservation.objects.filter(pk=ready.pk).exists()
    assert "Reserveringer (1)" in page


def test_deleting_a_queued_reservation_warns_of_the_lost_place_R_PORTAL_13(
    anna: PortalBrowser,
) -> None:
    queued = SimReservation.objects.get(title__startswith="Peter Høeg")
    page = text_of(anna.get(f"/laan-og-reserveringer/reservering/710100/{queued.pk}/slet/"))
    assert "Du mister din plads i køen hos Københavns Biblioteker" in page


def test_a_failing_library_is_named_and_the_others_show_R_PORTAL_13(anna: PortalBrowser) -> None:
    SimulatedSystem.objects.filter(agency_id="715700").update(down=True)
    page = text_of(anna.get("/laan-og-reserveringer/"))
    assert "Vi kunne ikke hente dine lån fra Gentofte Bibliotekerne lige nu" in page
    assert "Tove Ditlevsen: Barndom" in page
    assert "H.C. Andersen: Eventyr" not in page


def test_a_session_user_sees_their_login_librarys_loans_R_PORTAL_13(
    user: PortalBrowser,
) -> None:
    user.library_login("829000", "clara@ucn.example", "5555")
    page = text_of(user.get("/laan-og-reserveringer/"))
    assert "Pædagogisk psykologi UCN Biblioteket" in page


def test_a_guest_is_sent_to_log_in(user: PortalBrowser) -> None:
    for path in ("/laan-og-reserveringer/", "/adgange/", "/profil/gemte-oplysninger/"):
        response = user.client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/log-ind/")


def test_the_profile_menu_shows_the_counts_once_fetched_R_PORTAL_13(anna: PortalBrowser) -> None:
    assert "Lån og reserveringer (" not in text_of(anna.get("/profil/"))
    anna.get("/laan-og-reserveringer/")
    assert "Lån og reserveringer (3 lån, 2 reserveringer)" in text_of(anna.get("/profil/"))


def test_dine_adgange_names_the_granting_library_R_PORTAL_14(anna: PortalBrowser) -> None:
    page = text_of(anna.get("/adgange/"))
    assert "Infomedia" in page and "Adgang via Københavns Biblioteker" in page
    assert "Digital Artikelservice" in page
    assert "Central Ebook Plus" in page


def test_clara_has_infomedia_via_ucn_on_dine_adgange_R_PORTAL_14(user: PortalBrowser) -> None:
    user.library_login("829000", "clara@ucn.example", "5555")
    page = text_of(user.get("/adgange/"))
    assert "Adgang via UCN Biblioteket" in page
    assert "Digital Artikelservice" not in page


def test_saved_library_info_is_saved_per_library_and_editable_R_PORTAL_15(
    anna: PortalBrowser,
) -> None:
    page = anna.get("/profil/gemte-oplysninger/")
    assert "Københavns Biblioteker" in text_of(page) and "Gentofte Bibliotekerne" in text_of(page)
    fields = set(re.findall(r'name="(lib710100-[^"]+)"', page.content.decode()))
    assert {"lib710100-email", "lib710100-phone"} <= fields
    assert "lib710100-cpr" not in fields  # never kept (see userdata.saved_info)
    page = text_of(
        anna.post(
            "/profil/gemte-oplysninger/",
            {
                "agency_id": "710100",
                "lib710100-email": "anna@example.dk",
                "lib710100-phone": "+45 12 34 56 78",
            },
        )
    )
    assert "Dine oplysninger til Københavns Biblioteker er gemt." in page
    saved = SavedLibraryInfo.objects.get(agency_id="710100")
    assert (saved.email, saved.phone) == ("anna@example.dk", "+45 12 34 56 78")
    assert not SavedLibraryInfo.objects.filter(agency_id="715700").exists()
    page = anna.get("/profil/gemte-oplysninger/").content.decode()
    assert 'value="anna@example.dk"' in page


def test_saved_library_info_refuses_bad_input_and_changes_nothing_R_PORTAL_15(
    anna: PortalBrowser,
) -> None:
    response = anna.client.post(
        "/profil/gemte-oplysninger/", {"agency_id": "710100", "lib710100-email": "ikke en mail"}
    )
    assert response.status_code == 400
    assert not SavedLibraryInfo.objects.exists()
    response = anna.client.post("/profil/gemte-oplysninger/", {"agency_id": "829000"})
    assert response.status_code == 302
    assert not SavedLibraryInfo.objects.exists()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(agency_id=_ANY, item=_ANY, value=_ANY)
def test_no_malformed_circulation_request_gives_a_server_error(
    anna: PortalBrowser, agency_id: str, item: str, value: str
) -> None:
    """R-SEC-3: bad input to the circulation pages gets a message, never a 500."""
    browser: Client = anna.client
    browser.raise_request_exception = False
    safe = item.replace("/", "") or "x"
    responses = [
        browser.post("/laan-og-reserveringer/forny/", {"agency_id": agency_id, "loan_id": item}),
        browser.get(f"/laan-og-reserveringer/reservering/710100/{safe}/slet/"),
        browser.post(f"/laan-og-reserveringer/reservering/715700/{safe}/slet/", {}),
        browser.post(
            "/profil/gemte-oplysninger/",
            {"agency_id": agency_id, "lib710100-email": value, "lib710100-userName": value},
        ),
        browser.post(
            "/profil/gemte-oplysninger/",
            {"agency_id": "710100", "lib710100-phone": value, "lib710100-userAddress": item},
        ),
    ]
    assert all(r.status_code < 500 for r in responses), [r.status_code for r in responses]
    assert SimReservation.objects.count() == 2  # Anna's two, in København: none deleted


def test_the_circulation_pages_are_complete_in_english(anna: PortalBrowser) -> None:
    SimulatedSystem.objects.filter(agency_id="715700").update(down=True)
    loans = text_of(anna.client.get("/laan-og-reserveringer/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Loans and reservations" in loans
    assert "We could not fetch your loans from Gentofte Bibliotekerne just now" in loans
    assert "Pick up by" in loans and "3 ahead of you" in loans
    access = text_of(anna.client.get("/adgange/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Your access" in access and "Access through Københavns Biblioteker" in access

"""The seed's journeys through the portal and the real login platform (R-PORTAL-1…12, -19).

Each test walks the portal with Django's test client: portal → /login/ → back to the portal's
callback, whose token, userinfo and JWKS calls run in-process.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from biblogin.circulation.models import Order
from biblogin.patrons.selectors import account_get_local, patron_get_by_cpr
from biblogin.userdata.models import LinkOfferOptOut, Profile
from tests.portal.builders import ANNA, BO, DORTE, GITTE
from tests.portal.driver import PortalBrowser, text_of

pytestmark = pytest.mark.django_db

HH_BOOK = "870970-basis:00112000"  # in the demo catalogue, held by Handelshøjskolens Bibliotek


def header(browser: PortalBrowser) -> str:
    page = browser.get("/")
    html = page.content.decode()
    return html.split("<main", 1)[0]


def test_anna_logs_in_with_her_library_and_gets_her_profile(user: PortalBrowser) -> None:
    """R-PORTAL-2: library login at a culr_sync agency → profile, created on first login."""
    page = user.library_login("710100", ANNA, "1234")
    assert page.wsgi_request.path == "/profil/"
    assert "Min profil" in text_of(page)
    assert Profile.objects.filter(patron_guid=patron_get_by_cpr(cpr=ANNA).guid).exists()
    libraries = text_of(user.get("/profil/mine-biblioteker/"))
    assert "Københavns Biblioteker" in libraries and "Bopælskommune" in libraries
    assert "Gentofte Bibliotekerne" in libraries and "Hellerup Bibliotek" in libraries
    assert "Valby Bibliotek" in libraries and "Lukket for renovering" in libraries
    assert ">Profil<" in header(user) and "Log ud" in header(user)


def test_anna_logs_in_with_mitid_and_gets_the_same_profile(user: PortalBrowser) -> None:
    """R-PORTAL-2, R-PORTAL-9: MitID reveals the same CULR guid."""
    user.library_login("710100", ANNA, "1234")
    user.post("/log-ud/", {})
    other = PortalBrowser(user.client.__class__(), broker=user.broker)
    page = other.mitid_login("anna")
    assert page.wsgi_request.path == "/profil/"
    assert Profile.objects.count() == 1
    assert "Københavns Biblioteker" in text_of(other.get("/profil/mine-biblioteker/"))


def test_a_library_without_login_offers_the_order_form_and_one_without_either_says_so(
    user: PortalBrowser,
) -> None:
    """R-PORTAL-1: the three outcomes; R-PORTAL-4: a guest may order where the library allows."""
    page = user.get("/log-ind/bibliotek/830099/")
    text = text_of(page)
    assert "Handelshøjskolens Bibliotek-login kan ikke bruges på Bibliotek.dk" in text
    assert "Bestil uden login" in text
    # R-ORDER-1: "Bestil uden login" leads into the one order flow's guest path at the library.
    start = user.get("/bestil-uden-login/830099/")
    assert start.wsgi_request.get_full_path() == "/bestil/?filial=830099"
    text = text_of(start)
    assert "Handelshøjskolens Bibliotek modtager bestillinger uden login" in text
    assert "Søg efter materialer" in text and "Til huskelisten" in text  # no dead end
    form = user.get(f"/bestil-uden-login/830099/?pid={HH_BOOK}")
    assert (
        form.wsgi_request.get_full_path()
        == f"/bestil/?pid={HH_BOOK.replace(':', '%3A')}&filial=830099"
    )
    assert "Dit lånernummer står på dit studiekort" in text_of(form)
    assert "Husk til næste bestilling" in text_of(form)
    key = re.search(r'name="key" value="([^"]+)"', form.content.decode())
    assert key
    bad = user.client.post(
        "/bestil/",
        {
            "pid": HH_BOOK,
            "filial": "830099",
            "key": key.group(1),
            "laaner-userId": "",
            "laaner-userMail": "nope",
        },
    )
    assert bad.status_code == 400 and not Order.objects.exists()
    page = user.get("/log-ind/bibliotek/850099/")
    text = text_of(page)
    assert "Arkitektskolens Bibliotek-login kan ikke bruges på Bibliotek.dk" in text
    assert "Bestil uden login" not in text and "modtager heller ikke bestillinger" in text
    ordering = user.get(
        "/log-ind/bibliotek/830099/?bestilling=1&next=" + quote(f"/bestil/?pid={HH_BOOK}")
    )
    assert ordering.wsgi_request.path == "/bestil/"
    assert ordering.wsgi_request.GET.getlist("pid") == [HH_BOOK]
    assert ordering.wsgi_request.GET["filial"] == "830099"


def test_the_old_order_without_login_address_never_dead_ends_R_ORDER_1(
    user: PortalBrowser,
) -> None:
    """Unknown library: the not-found page; one that takes no guest orders: the flow says so."""
    assert user.client.get("/bestil-uden-login/999999/").status_code == 404
    assert user.client.get("/bestil-uden-login/x/").status_code == 404
    assert user.client.post("/bestil-uden-login/830099/", {"userId": "x"}).status_code == 405
    page = user.get("/bestil-uden-login/850099/")
    assert page.wsgi_request.get_full_path() == "/bestil/?filial=850099"
    text = text_of(page)
    assert "Arkitektskolens Bibliotek modtager ikke bestillinger uden login" in text
    assert "Log ind for at bestille" in text


def test_bo_is_offered_linking_says_not_now_then_links_with_mitid(user: PortalBrowser) -> None:
    """R-PORTAL-5, R-PORTAL-3, R-PORTAL-6."""
    page = user.library_login("820099", "CS-4711", "4711")
    assert page.wsgi_request.path == "/tilknyt/"
    assert "Vil du knytte Campus Syd Bibliotek til en profil på Bibliotek.dk?" in text_of(page)
    page = user.choose("/tilknyt/", "not_now")
    assert "Log ud" in header(user) and ">Profil<" not in header(user)
    assert user.client.get("/profil/").status_code == 403
    # offered again at the next login
    user.post("/log-ud/", {})
    page = user.library_login("820099", "CS-4711", "4711")
    assert page.wsgi_request.path == "/tilknyt/"
    user.mitid_person = "bo"
    page = user.choose("/tilknyt/", "link")
    assert page.wsgi_request.path == "/profil/mine-biblioteker/"
    text = text_of(page)
    assert "Campus Syd Bibliotek" in text and "Københavns Biblioteker" in text
    account = account_get_local(agency_id="820099", local_id="CS-4711")
    assert account is not None and account.patron == patron_get_by_cpr(cpr=BO)


def test_a_linked_ffu_login_is_asked_for_mitid_then_can_unlink(user: PortalBrowser) -> None:
    """R-PORTAL-7: "knyttet til en profil, som kræver MitID" with its three choices."""
    user.library_login("820099", "CS-4711", "4711")
    user.mitid_person = "bo"
    user.choose("/tilknyt/", "link")
    user.post("/log-ud/", {})

    page = user.library_login("820099", "CS-4711", "4711")
    assert page.wsgi_request.path == "/tilknyttet/"
    assert "er knyttet til en profil, som kræver MitID" in text_of(page)
    user.choose("/tilknyttet/", "not_now")
    assert user.client.get("/profil/").status_code == 403
    user.post("/log-ud/", {})

    user.library_login("820099", "CS-4711", "4711")
    page = user.choose("/tilknyttet/", "unlink")
    assert "Tilknytningen til profilen er fjernet" in text_of(page)
    assert account_get_local(agency_id="820099", local_id="CS-4711") is None
    assert user.client.get("/profil/").status_code == 403

    user.post("/log-ud/", {})
    page = user.library_login("820099", "CS-4711", "4711")
    assert page.wsgi_request.path == "/tilknyt/"
    page = user.choose("/tilknyt/", "not_now")
    user.post("/log-ud/", {})
    # "Log ind med MitID" from the linked page leads to the profile
    user.library_login("820099", "CS-4711", "4711")
    user.mitid_person = "bo"
    user.choose("/tilknyt/", "link")
    user.post("/log-ud/", {})
    user.library_login("820099", "CS-4711", "4711")
    page = user.choose("/tilknyttet/", "mitid")
    assert page.wsgi_request.path == "/profil/"


def test_dont_ask_again_holds_in_another_browser(user: PortalBrowser) -> None:
    """R-PORTAL-5: kept server-side per (agency, user ID)."""
    page = user.library_login("829000", "clara@ucn.example", "5555")
    assert page.wsgi_request.path == "/tilknyt/"
    user.choose("/tilknyt/", "never")
    assert LinkOfferOptOut.objects.count() == 1
    fresh = PortalBrowser(user.client.__class__(), broker=user.broker)
    page = fresh.library_login("829000", "clara@ucn.example", "5555")
    assert page.wsgi_request.path == "/"
    assert "uden profil" in text_of(page)


def test_a_library_not_licensed_for_bibliotek_dk_is_not_available(user: PortalBrowser) -> None:
    """R-PORTAL-1 (service_not_licensed): decided before the login platform is asked."""
    page = user.get("/log-ind/bibliotek/840099/")
    assert page.status_code == 200 and page.wsgi_request.path == "/log-ind/bibliotek/840099/"
    assert "Ingeniørhøjskolens Bibliotek-login kan ikke bruges på Bibliotek.dk" in text_of(page)
    assert "ikke tilmeldt Bibliotek.dk" in text_of(page)


def test_dorte_adds_her_education_library_after_a_recent_mitid_login(user: PortalBrowser) -> None:
    """R-PORTAL-9, R-PORTAL-11: MitID within 15 minutes counts; no second MitID."""
    page = user.mitid_login("dorte")
    assert page.wsgi_request.path == "/profil/"
    libraries = text_of(user.get("/profil/mine-biblioteker/"))
    assert "Du er ikke tilknyttet et bibliotek" in libraries
    user.mitid_person = ""  # a second MitID would fail the driver
    page = user.post("/profil/mine-biblioteker/tilfoej/", {"agency_id": "820099"})
    page = user.type_pin(page, "CS-0815", "0815")
    assert page.wsgi_request.path == "/profil/mine-biblioteker/"
    assert "Campus Syd Bibliotek er tilføjet" in text_of(page)
    assert account_get_local(agency_id="820099", local_id="CS-0815").patron == patron_get_by_cpr(
        cpr=DORTE
    )


def test_adding_a_library_with_another_persons_mitid_is_a_cpr_mismatch(user: PortalBrowser) -> None:
    """R-PORTAL-11: CPR mismatch → a clear error, nothing linked."""
    user.library_login("710100", ANNA, "1234")
    page = user.post("/profil/mine-biblioteker/tilfoej/", {"agency_id": "820099"})
    user.mitid_person = "gitte"
    page = user.type_pin(page, "CS-4711", "4711")
    assert page.status_code == 409
    assert "MitID passer ikke til profilen" in text_of(page)
    assert account_get_local(agency_id="820099", local_id="CS-4711") is None
    assert patron_get_by_cpr(cpr=GITTE) is None or not account_get_local(
        agency_id="820099", local_id="CS-4711"
    )
    # still Anna's profile
    assert "Københavns Biblioteker" in text_of(user.get("/profil/mine-biblioteker/"))


def test_erik_is_told_that_his_library_has_blocked_him(user: PortalBrowser) -> None:
    """R-ORDER-3 (blocked) shown where ordering starts."""
    page = user.library_login("710100", "3012651239", "3333")
    assert page.wsgi_request.path == "/profil/"
    assert "Københavns Biblioteker har spærret dig som låner" in text_of(page)
    assert "har spærret dig" in text_of(user.get("/profil/mine-biblioteker/"))


def test_frederik_at_a_gymnasium_library_delivering_to_culr_gets_a_profile(
    user: PortalBrowser,
) -> None:
    """R-PORTAL-2: a culr_sync FFU library; R-PORTAL-5 does not apply."""
    page = user.library_login("872600", "0505054240", "6666")
    assert page.wsgi_request.path == "/profil/"
    assert "Roskilde Gymnasiums Bibliotek" in text_of(user.get("/profil/mine-biblioteker/"))


def test_delete_profile_then_login_gives_a_fresh_profile(user: PortalBrowser) -> None:
    """R-PORTAL-19."""
    user.library_login("710100", ANNA, "1234")
    first = Profile.objects.get()
    page = user.get("/profil/slet/")
    assert "Det sletter vi ikke" in text_of(page)
    page = user.post("/profil/slet/", {})
    assert "Din profil er slettet" in text_of(page)
    assert Profile.objects.count() == 0
    assert ">Log ind<" in header(user)
    user.library_login("710100", ANNA, "1234")
    assert Profile.objects.get().pk != first.pk
    assert patron_get_by_cpr(cpr=ANNA).accounts.filter(agency_id="710100").exists()


def test_profile_pages_send_a_guest_to_log_in(user: PortalBrowser) -> None:
    response = user.client.get("/profil/mine-biblioteker/")
    assert response.status_code == 302
    assert response["Location"].startswith("/log-ind/?next=")


def test_a_callback_without_a_known_state_is_a_clear_error(user: PortalBrowser) -> None:
    response = user.client.get("/auth/callback/?code=abc&state=unknown")
    assert response.status_code == 400
    assert "Login blev ikke gennemført" in text_of(response)

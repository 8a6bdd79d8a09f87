"""The seed's journeys, walked as a user in Chromium against the real server (R-PORTAL-0…12, -19).

Every page of our own on the way is checked with axe-core (no serious or critical violations);
screenshots of the main screens go to var/screenshots/.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from biblogin.patrons.models import Account
from biblogin.patrons.selectors import account_get_local, patron_get_by_cpr
from biblogin.userdata.models import LinkOfferOptOut, Profile
from tests.browser.conftest import LiveSite

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HH_BOOK = "870970-basis:00112000"  # held by Handelshøjskolens Bibliotek (demo catalogue)

ANNA, ERIK, FREDERIK, DORTE, BO = (
    "1503851234",
    "3012651239",
    "0505054240",
    "1111701237",
    "0207921235",
)


def test_1_anna_logs_in_with_koebenhavns_biblioteker_and_sees_her_libraries(new_user) -> None:
    """R-PORTAL-1, R-PORTAL-2, R-PORTAL-10: CPR + PIN → profile; Mine biblioteker."""
    anna = new_user()
    anna.goto("/")
    anna.shot("01-forside")
    anna.choose_library("København", "Københavns Biblioteker")
    assert anna.path.startswith("/login/bibliotek/710100/")
    anna.shot("02-bibliotekslogin")
    anna.type_pin(ANNA, "1234")
    assert anna.path == "/profil/"
    expect(anna.header().get_by_role("link", name="Profil")).to_be_visible()
    anna.shot("03-min-profil")
    anna.click("Mine biblioteker")
    assert anna.heading() == "Mine biblioteker"
    kbh = anna.page.locator(
        "article", has=anna.page.get_by_role("heading", name="Københavns Biblioteker")
    )
    expect(kbh).to_contain_text("Folkebibliotek")
    expect(kbh).to_contain_text("Bopælskommune")
    for branch in ["Hovedbiblioteket", "Vesterbro Bibliotek", "Valby Bibliotek", "Bogbussen"]:
        expect(kbh).to_contain_text(branch)
    expect(kbh).to_contain_text("Midlertidigt lukket: Lukket for renovering")
    expect(kbh).to_contain_text("Sundby Kirke")
    gentofte = anna.page.locator(
        "article", has=anna.page.get_by_role("heading", name="Gentofte Bibliotekerne")
    )
    expect(gentofte).to_contain_text("Hellerup Bibliotek")
    expect(gentofte).not_to_contain_text("Bopælskommune")
    # A favourite pickup branch among the open ones (the closed one cannot be chosen).
    expect(anna.page.get_by_label("Valby Bibliotek")).to_have_count(0)
    anna.page.get_by_label("Vesterbro Bibliotek").check()
    anna.press("Gem foretrukket afhentningssted")
    expect(anna.page.get_by_role("status")).to_contain_text(
        "Dit foretrukne afhentningssted er gemt"
    )
    expect(anna.page.get_by_label("Vesterbro Bibliotek")).to_be_checked()
    anna.shot("04-mine-biblioteker")


def test_2_anna_logs_in_with_mitid_and_gets_the_same_profile(new_user) -> None:
    """R-PORTAL-2: MitID reveals the same CULR patron, so the same profile."""
    first = new_user()
    first.library_login("København", "Københavns Biblioteker", ANNA, "1234")
    assert first.path == "/profil/"
    profile = Profile.objects.get()
    second = new_user()
    second.mitid_login("anna")
    assert second.path == "/profil/"
    assert list(Profile.objects.values_list("pk", flat=True)) == [profile.pk]
    expect(second.page.locator("main")).to_contain_text("MitID")
    second.click("Mine biblioteker")
    expect(second.page.locator("main")).to_contain_text("Københavns Biblioteker")
    expect(second.page.locator("main")).to_contain_text("Gentofte Bibliotekerne")


def test_3_a_guest_learns_where_login_and_ordering_are_possible(new_user) -> None:
    """R-PORTAL-1 outcomes 2 and 3, R-PORTAL-4 (order form without login, R-VIP-7)."""
    guest = new_user()
    guest.choose_library("Handelshøjskolen", "Handelshøjskolens Bibliotek")
    assert guest.heading() == "Handelshøjskolens Bibliotek-login kan ikke bruges på Bibliotek.dk"
    expect(guest.page.locator("main")).to_contain_text("Du kan stadig bestille uden login")
    guest.shot("05-login-kan-ikke-bruges-bestil-uden-login")
    # R-ORDER-1: "Bestil uden login" leads into the one order flow at the library; the guest
    # finds a material from there, and types the borrower data when approving the order.
    guest.click("Bestil uden login")
    assert guest.path == "/bestil/?filial=830099"
    main = guest.page.locator("main")
    expect(main).to_contain_text("Handelshøjskolens Bibliotek modtager bestillinger uden login")
    guest.click("Søg efter materialer")
    guest.goto(f"/materiale/{HH_BOOK}/")
    guest.click("Bestil")
    expect(main).to_contain_text("Handelshøjskolens Bibliotek")  # the pickup branch kept
    expect(guest.page.get_by_text("Dit lånernummer står på dit studiekort")).to_be_visible()
    guest.page.get_by_label("Bruger-id").fill("HH-1001")
    guest.page.get_by_label("Navn").fill("Ida Iversen")
    guest.page.get_by_label("E-mail").fill("ikke-en-mail")
    guest.press("Godkend")
    expect(main).to_contain_text("Indtast en gyldig e-mail-adresse")
    expect(guest.page.get_by_label("E-mail")).to_have_attribute("aria-invalid", "true")
    guest.page.get_by_label("E-mail").fill("ida@example.dk")
    guest.page.get_by_label("Husk til næste bestilling").check()
    guest.shot("06-bestil-uden-login")
    guest.press("Godkend")
    assert guest.heading() == "Kvittering for din bestilling"
    guest.goto(f"/bestil/?pid={HH_BOOK}&filial=830099&igen=1")
    expect(guest.page.get_by_label("Navn")).to_have_value("Ida Iversen")

    guest.choose_library("Arkitektskolen", "Arkitektskolens Bibliotek")
    assert guest.heading() == "Arkitektskolens Bibliotek-login kan ikke bruges på Bibliotek.dk"
    main = guest.page.locator("main")
    expect(main).to_contain_text("modtager heller ikke bestillinger uden login")
    expect(main.get_by_role("link", name="Bestil uden login")).to_have_count(0)
    guest.shot("07-login-og-bestilling-ikke-muligt")
    # The English switch works on every page (the English texts come with the .po file).
    guest.page.get_by_role("button", name="English").click()
    expect(guest.page.locator("html")).to_have_attribute("lang", "en")
    guest.page.get_by_role("button", name="Dansk").click()
    expect(guest.page.locator("html")).to_have_attribute("lang", "da")


def test_4_bo_is_offered_linking_declines_then_links_with_mitid(new_user) -> None:
    """R-PORTAL-5, R-PORTAL-3, R-PORTAL-6."""
    bo = new_user()
    bo.library_login("Campus Syd", "Campus Syd Bibliotek", "CS-4711", "4711")
    assert bo.path == "/tilknyt/"
    assert bo.heading() == "Vil du knytte Campus Syd Bibliotek til en profil på Bibliotek.dk?"
    bo.shot("08-tilbud-om-tilknytning")
    bo.press("Ikke nu")
    header = bo.header()
    expect(header.get_by_role("button", name="Log ud")).to_be_visible()
    expect(header.get_by_role("link", name="Profil")).to_have_count(0)
    expect(header).to_contain_text("uden profil")
    bo.shot("09-sessionsbruger")
    bo.goto("/profil/")
    assert bo.heading() == "Du er logget ind uden profil"
    bo.goto("/profil/mine-biblioteker/")
    assert bo.heading() == "Du er logget ind uden profil"
    bo.logout()
    expect(bo.header().get_by_role("link", name="Log ind")).to_be_visible()

    bo.library_login("Campus Syd", "Campus Syd Bibliotek", "CS-4711", "4711")
    assert bo.path == "/tilknyt/", "offered again at the next login"
    bo.press("Tilknyt med MitID")
    bo.at_mitid("bo")
    assert bo.path == "/profil/mine-biblioteker/"
    main = bo.page.locator("main")
    expect(main).to_contain_text("Campus Syd Bibliotek er nu knyttet til din profil")
    expect(main.get_by_role("heading", name="Campus Syd Bibliotek")).to_be_visible()
    expect(main.get_by_role("heading", name="Københavns Biblioteker")).to_be_visible()
    expect(bo.header().get_by_role("link", name="Profil")).to_be_visible()
    bo.shot("10-tilknyttet-mine-biblioteker")


def test_5_a_linked_login_asks_for_mitid_and_can_be_unlinked(new_user) -> None:
    """R-PORTAL-7: "knyttet til en profil, som kræver MitID"; Ikke nu; Fjern tilknytning."""
    bo = new_user()
    bo.library_login("Campus Syd", "Campus Syd Bibliotek", "CS-4711", "4711")
    bo.press("Tilknyt med MitID")
    bo.at_mitid("bo")
    bo.logout()

    bo.library_login("Campus Syd", "Campus Syd Bibliotek", "CS-4711", "4711")
    assert bo.path == "/tilknyttet/"
    assert "er knyttet til en profil, som kræver MitID" in bo.heading()
    bo.shot("11-login-er-tilknyttet")
    bo.press("Ikke nu")
    expect(bo.header().get_by_role("link", name="Profil")).to_have_count(0)
    expect(bo.header().get_by_role("button", name="Log ud")).to_be_visible()
    bo.logout()

    bo.library_login("Campus Syd", "Campus Syd Bibliotek", "CS-4711", "4711")
    assert bo.path == "/tilknyttet/"
    bo.press("Fjern tilknytning til profil")
    expect(bo.page.get_by_role("status")).to_contain_text("Tilknytningen til profilen er fjernet")
    expect(bo.header().get_by_role("link", name="Profil")).to_have_count(0)
    expect(bo.header()).to_contain_text("uden profil")
    assert account_get_local(agency_id="820099", local_id="CS-4711") is None


def test_6_clara_says_dont_ask_again_and_is_not_asked_in_a_new_browser(new_user) -> None:
    """R-PORTAL-5: "Spørg ikke igen" is kept server-side for 90 days."""
    clara = new_user()
    clara.library_login("UCN", "UCN Biblioteket", "clara@ucn.example", "5555")
    assert clara.path == "/tilknyt/"
    clara.press("Spørg ikke igen")
    expect(clara.page.get_by_role("status")).to_contain_text(
        "Vi spørger ikke igen de næste 90 dage"
    )
    assert LinkOfferOptOut.objects.count() == 1
    again = new_user()
    again.library_login("UCN", "UCN Biblioteket", "clara@ucn.example", "5555")
    assert again.path == "/"
    expect(again.header()).to_contain_text("Logget ind ved UCN Biblioteket uden profil")


def test_7_ingenioerhoejskolen_is_not_available_here_but_works_at_demo_app(
    new_user, portal_site: LiveSite
) -> None:
    """R-PORTAL-1, R-VIP-4 (service_not_licensed); the same borrower logs in to demo-app."""
    henrik = new_user()
    henrik.choose_library("Ingeniørhøjskolen", "Ingeniørhøjskolens Bibliotek")
    assert henrik.path == "/log-ind/bibliotek/840099/"
    assert henrik.heading() == "Ingeniørhøjskolens Bibliotek-login kan ikke bruges på Bibliotek.dk"
    expect(henrik.page.locator("main")).to_contain_text("ikke tilmeldt Bibliotek.dk")
    henrik.shot("12-ikke-tilmeldt-bibliotek-dk")

    # demo-app: a public client with PKCE. Nothing listens at its loopback redirect URI (the
    # browser shows a connection error there); the code is read from the request made to it.
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    state = secrets.token_urlsafe(12)
    redirect_uri = "http://127.0.0.1:8765/callback"
    query = urlencode(
        {
            "response_type": "code",
            "client_id": "demo-app",
            "redirect_uri": redirect_uri,
            "scope": "openid profile",
            "state": state,
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
            "agency": "840099",
        }
    )
    henrik.goto(f"/login/authorize/?{query}")
    assert henrik.path.startswith("/login/bibliotek/840099/")
    henrik.page.locator("input[name=user_id]").fill("IH-2001")
    henrik.page.get_by_label("Pinkode").fill("2001")
    with henrik.page.expect_request(lambda r: r.url.startswith(redirect_uri)) as back:
        henrik.page.locator("main form").get_by_role("button", name="Log ind").click()
    params = {k: v[0] for k, v in parse_qs(urlsplit(back.value.url).query).items()}
    assert params["state"] == state
    tokens = httpx.post(
        f"{portal_site.issuer}/token/",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": redirect_uri,
            "client_id": "demo-app",
            "code_verifier": verifier,
        },
        timeout=10,
    ).json()
    payload = tokens["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["loggedInAgencyId"] == "840099" and claims["userId"] == "IH-2001"


def test_8_dorte_logs_in_with_mitid_and_adds_her_education_library(new_user) -> None:
    """R-PORTAL-9, R-PORTAL-11 (a MitID login within 15 minutes counts), R-PORTAL-12."""
    dorte = new_user()
    dorte.mitid_login("dorte")
    assert dorte.path == "/profil/"
    dorte.click("Mine biblioteker")
    main = dorte.page.locator("main")
    expect(main).to_contain_text("Du er ikke tilknyttet et bibliotek")
    expect(main.locator("article")).to_have_count(0)
    dorte.shot("13-profil-uden-biblioteker")
    dorte.click("Tilføj uddannelsesbibliotek")
    assert dorte.heading() == "Tilføj uddannelsesbibliotek"
    dorte.shot("14-tilfoej-uddannelsesbibliotek")
    dorte.page.get_by_label("Campus Syd Bibliotek").check()
    dorte.press("Fortsæt til login ved biblioteket")
    assert dorte.path.startswith("/login/bibliotek/820099/")
    dorte.type_pin("CS-0815", "0815")
    assert dorte.path == "/profil/mine-biblioteker/", "no second MitID within 15 minutes"
    expect(main).to_contain_text("Campus Syd Bibliotek er tilføjet til dine biblioteker")
    expect(main.get_by_role("heading", name="Campus Syd Bibliotek")).to_be_visible()
    account = account_get_local(agency_id="820099", local_id="CS-0815")
    assert account is not None and account.patron == patron_get_by_cpr(cpr=DORTE)
    # R-PORTAL-12: a library not delivering to CULR can be removed, after confirmation.
    dorte.click("Fjern Campus Syd Bibliotek")
    assert dorte.heading() == "Fjern Campus Syd Bibliotek fra din profil?"
    dorte.press("Ja, fjern biblioteket")
    expect(main).to_contain_text("Campus Syd Bibliotek er fjernet fra din profil")
    expect(main.locator("article")).to_have_count(0)


def test_9_anna_verifying_with_gittes_mitid_gets_a_cpr_mismatch(new_user) -> None:
    """R-PORTAL-11: CPR mismatch between profile and MitID → clear error, nothing linked."""
    anna = new_user()
    anna.library_login("København", "Københavns Biblioteker", ANNA, "1234")
    anna.click("Mine biblioteker")
    anna.click("Tilføj uddannelsesbibliotek")
    anna.page.get_by_label("Campus Syd Bibliotek").check()
    anna.press("Fortsæt til login ved biblioteket")
    anna.type_pin("CS-4711", "4711")
    anna.at_mitid("gitte")
    assert anna.heading() == "MitID passer ikke til profilen"
    expect(anna.page.get_by_role("alert")).to_contain_text("tilhører en anden person")
    anna.shot("15-cpr-passer-ikke")
    assert account_get_local(agency_id="820099", local_id="CS-4711") is None
    anna.click("Mine biblioteker")
    expect(
        anna.page.locator("main").get_by_role("heading", name="Campus Syd Bibliotek")
    ).to_have_count(0)


def test_10_erik_is_told_his_library_has_blocked_him(new_user) -> None:
    """R-ORDER-3 "blocked": shown where ordering starts (profile and Mine biblioteker)."""
    erik = new_user()
    erik.library_login("København", "Københavns Biblioteker", ERIK, "3333")
    assert erik.path == "/profil/"
    blocked = "Københavns Biblioteker har spærret dig som låner"
    expect(erik.page.locator("main")).to_contain_text(blocked)
    erik.shot("16-spaerret")
    erik.click("Mine biblioteker")
    expect(erik.page.locator("main")).to_contain_text(blocked)


def test_11_frederik_at_a_gymnasium_library_delivering_to_culr_has_a_profile_at_once(
    new_user,
) -> None:
    """R-PORTAL-2, R-PORTAL-5 does not apply to a culr_sync library."""
    frederik = new_user()
    frederik.library_login("Roskilde", "Roskilde Gymnasiums Bibliotek", FREDERIK, "6666")
    assert frederik.path == "/profil/"
    expect(frederik.header().get_by_role("link", name="Profil")).to_be_visible()
    frederik.click("Mine biblioteker")
    expect(frederik.page.locator("main")).to_contain_text("Roskilde Gymnasiums Bibliotek")


def test_12_delete_profile_keeps_library_registrations_and_a_new_login_starts_afresh(
    new_user,
) -> None:
    """R-PORTAL-19: says what is and is not deleted; userdata gone; registrations untouched."""
    anna = new_user()
    anna.library_login("København", "Københavns Biblioteker", ANNA, "1234")
    first = Profile.objects.get()
    accounts_before = Account.objects.filter(patron__cpr_hash__isnull=False).count()
    anna.click("Slet profil")
    main = anna.page.locator("main")
    expect(main.get_by_role("heading", name="Det sletter vi", exact=True)).to_be_visible()
    expect(main.get_by_role("heading", name="Det sletter vi ikke")).to_be_visible()
    expect(main).to_contain_text("Du er stadig registreret som låner på dine biblioteker")
    anna.shot("17-slet-profil")
    anna.press("Slet min profil")
    expect(anna.page.get_by_role("status")).to_contain_text("Din profil er slettet")
    expect(anna.header().get_by_role("link", name="Log ind")).to_be_visible()
    assert Profile.objects.count() == 0
    assert Account.objects.filter(patron__cpr_hash__isnull=False).count() == accounts_before
    anna.library_login("København", "Københavns Biblioteker", ANNA, "1234")
    assert anna.path == "/profil/"
    assert Profile.objects.get().pk != first.pk


def test_the_accessibility_check_finds_serious_violations(chromium) -> None:
    """The axe-core check used above can fail: an image without text is a critical violation."""
    from tests.browser.axe import axe_violations_uncached
    from tests.browser.portal.user import SERIOUS

    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_content('<html lang="da"><body><main><img src="x.png"></main></body></html>')
        found = [v["id"] for v in axe_violations_uncached(page) if v["impact"] in SERIOUS]
        assert "image-alt" in found
    finally:
        context.close()

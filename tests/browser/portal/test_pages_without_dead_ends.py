"""Issue 10, item 9 in Chromium: one form layout, error pages, ways out, the idle timeout.

Every page of ours on the way is checked with axe-core (``User.check``). The form layout is
checked in the accessibility tree: a field is found by its label (``get_by_label``), its help
text and error are its accessible description, and the first field in error has the focus.
"""

from __future__ import annotations

import re
import time
from importlib import import_module

import pytest
from django.conf import settings
from playwright.sync_api import expect

from biblogin.login.journey import SESSION_PLANS
from biblogin.portal.session import COOKIE_NAME
from tests.browser.test_demo_app_login import DemoApp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANNA = "1503851234"


def _cookie(user, name: str) -> str:
    return next(c["value"] for c in user.context.cookies() if c["name"] == name)


def _session(user, name: str):
    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(_cookie(user, name))


# --- one form layout -------------------------------------------------------------------------


def test_the_order_form_has_labels_above_fields_marked_required_and_errors_tied_to_them(
    new_user,
) -> None:
    guest = new_user()
    # The guest's part of the one order flow (R-ORDER-1, R-VIP-7).
    guest.goto("/bestil/?pid=870970-basis:00112000&filial=830099")
    page = guest.page
    user_id, name, mail = (page.get_by_label(x) for x in ("Bruger-id", "Navn", "E-mail"))
    phone = page.get_by_label("Telefon")
    # The label sits above its own field (the old form put "Navn:" beside the user-ID box).
    for field in (user_id, name, mail, phone):
        label = page.locator(f'label[for="{field.get_attribute("id")}"]')
        assert (
            label.bounding_box()["y"] + label.bounding_box()["height"]
            <= field.bounding_box()["y"] + 1
        )
    # Required: marked for the eye (*) and for the accessibility tree (required).
    for field in (user_id, name, mail):
        expect(field).to_have_attribute("required", "")
    expect(phone).not_to_have_attribute("required", "")
    expect(page.locator("main")).to_contain_text("Felter markeret med * skal udfyldes")
    expect(mail).to_have_attribute("autocomplete", "email")
    expect(name).to_have_attribute("autocomplete", "name")
    expect(user_id).to_have_accessible_description("Dit lånernummer står på dit studiekort")
    guest.shot("item9-bestil-uden-login-formular")

    name.fill("Ida Iversen")
    mail.fill("ikke-en-mail")
    guest.press("Godkend")
    # The first field in error has the focus on arrival; the summary at the top links to each.
    expect(user_id).to_be_focused()
    expect(user_id).to_have_attribute("aria-invalid", "true")
    expect(user_id).to_have_accessible_description(re.compile("Dette felt er påkrævet"))
    expect(mail).to_have_attribute("aria-invalid", "true")
    expect(mail).to_have_accessible_description(re.compile("Indtast en gyldig e-mail-adresse"))
    expect(name).not_to_have_attribute("aria-invalid", "true")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Ret det, der er markeret")
    summary.get_by_role("link", name=re.compile("^E-mail")).click()
    expect(page).to_have_url(re.compile("#id_laaner-userMail$"))
    guest.shot("item9-bestil-uden-login-fejl")


def test_the_pin_form_ties_the_login_error_to_both_fields_and_takes_letters(new_user) -> None:
    anna = new_user()
    anna.choose_library("København", "Københavns Biblioteker")
    page = anna.page
    pin = page.get_by_label("Pinkode")
    expect(pin).to_have_attribute("type", "password")
    expect(pin).not_to_have_attribute("inputmode", re.compile(".*"))
    user_id = page.get_by_label("CPR- eller lånernummer")
    expect(user_id).to_have_attribute("aria-required", "true")
    anna.type_pin(ANNA, "forkert1")
    alert = page.get_by_role("alert")
    expect(alert).to_be_focused()
    for field in (page.get_by_label("CPR- eller lånernummer"), page.get_by_label("Pinkode")):
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_accessible_description(re.compile("Tjek CPR- eller lånernummer"))
    # A wrong PIN says what to do about a forgotten one.
    expect(page.get_by_role("heading", name="Har du glemt din pinkode?")).to_be_visible()
    anna.shot("item9-pinkode-forkert")


# --- error pages -----------------------------------------------------------------------------

ERRORS = {
    "da": {
        404: "Siden findes ikke",
        405: "Siden kan ikke bruges sådan",
        403: "Siden var for gammel",
    },
    "en": {
        404: "Page not found",
        405: "This page cannot be used like that",
        403: "The page was too old",
    },
}


@pytest.mark.parametrize("language", ["da", "en"])
def test_every_error_page_has_the_sites_look_in_both_languages(
    chromium, portal_site, a11y_log, language: str
) -> None:
    from tests.browser.portal.conftest import SCREENSHOTS
    from tests.browser.portal.user import User

    context = chromium.new_context(locale="da-DK" if language == "da" else "en-GB")
    user = User(
        context=context,
        base_url=portal_site.url,
        broker_url=portal_site.broker.issuer,
        a11y=a11y_log,
        screenshots=SCREENSHOTS,
    )
    try:
        titles = ERRORS[language]
        for path, brand in (("/ingen-side/", "Bibliotek.dk"), ("/login/ingen-side/", None)):
            response = user.page.goto(portal_site.url + path)
            assert response.status == 404
            user.check()
            assert user.heading() == titles[404]
            assert user.page.locator("html").get_attribute("lang") == language
            _look(user, brand)
        user.shot(f"item9-404-{language}")
        for path, brand in (("/log-ud/", "Bibliotek.dk"), ("/login/annuller/", None)):
            response = user.page.goto(portal_site.url + path)
            assert response.status == 405
            user.check()
            assert user.heading() == titles[405]
            _look(user, brand)
        # A form from a page whose CSRF cookie is gone (another tab logged out, cookies
        # cleared): refused, with the way back to the page it came from.
        for path, brand in (("/log-ind/", "Bibliotek.dk"), ("/login/ingen-side/", None)):
            user.page.goto(portal_site.url + path)
            context.clear_cookies()
            with user.page.expect_navigation():
                user.page.locator("form.lang-switch button").click()
            user.check()
            assert user.heading() == titles[403]
            _look(user, brand)
            with user.page.expect_navigation():
                user.page.get_by_role(
                    "link", name=re.compile("Hent siden igen|Load the page")
                ).click()
            assert user.path == path
        user.shot(f"item9-403-csrf-{language}")
        assert user.csp_violations == []
    finally:
        context.close()


def _look(user, brand: str | None) -> None:
    header = user.header()
    if brand:
        expect(header.locator(".brand")).to_have_text(brand)
    else:
        expect(header.locator(".site-name")).to_have_text(
            re.compile("Bibliotekslogin|Library login")
        )


# --- no dead ends ----------------------------------------------------------------------------


def test_the_back_button_after_a_login_goes_on_to_the_client_not_to_expired(new_user) -> None:
    anna = new_user()
    anna.library_login("København", "Københavns Biblioteker", ANNA, "1234")
    assert anna.path == "/profil/"
    anna.page.go_back()
    anna.page.wait_for_load_state()
    anna.check()
    assert "udløbet" not in anna.text()
    assert anna.path == "/profil/", anna.path
    expect(anna.header().get_by_role("button", name="Log ud")).to_be_visible()


def test_an_expired_login_offers_the_client_again_another_library_and_mitid(new_user) -> None:
    user = new_user()
    app = DemoApp(_site(user), user.page)
    user.page.goto(app.authorize_url())
    user.check()
    assert user.path.startswith("/login/?plan=")
    # Let the plan grow older than its 30 minutes.
    session = _session(user, settings.SESSION_COOKIE_NAME)
    plans = session[SESSION_PLANS]
    for plan in plans.values():
        plan["created"] -= 31 * 60
    session[SESSION_PLANS] = plans
    session.save()
    user.page.reload()
    user.check()
    assert user.heading() == "Dit login er udløbet"
    main = user.page.locator("main")
    expect(main.get_by_role("link", name="Gå tilbage til Demo-app")).to_have_attribute(
        "href", "http://127.0.0.1:8765/"
    )
    expect(main).to_contain_text("Har du glemt din pinkode?")
    user.shot("item9-login-udloebet")
    user.click("Log ind på Demo-app igen")
    assert user.path.startswith("/login/?plan=")
    expect(user.page.get_by_role("link", name="Log ind med MitID").first).to_be_visible()
    expect(user.page.get_by_label("Søg efter dit bibliotek")).to_be_visible()


def test_the_blocked_page_offers_mitid_another_library_and_help_with_the_pin(new_user) -> None:
    user = new_user()
    app = DemoApp(_site(user), user.page)
    user.page.goto(app.authorize_url())
    user.page.get_by_label("Søg efter dit bibliotek").fill("København")
    with user.page.expect_navigation():
        user.page.get_by_role("button", name="Søg").click()
    user.click("Københavns Biblioteker")
    for _attempt in range(6):
        user.page.get_by_label("CPR- eller lånernummer").fill("1000001")
        user.page.get_by_label("Pinkode").fill("0000")
        with user.page.expect_navigation():
            user.page.locator("main form").get_by_role("button", name="Log ind").click()
        if user.heading() == "Login er midlertidigt spærret":
            break
    user.check()
    assert user.heading() == "Login er midlertidigt spærret"
    main = user.page.locator("main")
    expect(main.get_by_role("link", name="Log ind med MitID")).to_be_visible()
    expect(main.get_by_role("link", name="Log ind med et andet bibliotek")).to_be_visible()
    expect(main).to_contain_text("Københavns Biblioteker kan give dig en ny pinkode")
    expect(main.get_by_role("link", name=re.compile("hjemmeside"))).to_have_attribute(
        "href", re.compile("^https://")
    )
    expect(main.get_by_role("button", name="Annuller og gå tilbage til Demo-app")).to_be_visible()
    user.shot("item9-login-spaerret")
    user.click("Log ind med et andet bibliotek")
    assert user.path.startswith("/login/?plan=")


def _site(user):
    from tests.browser.conftest import LiveSite

    return LiveSite(url=user.base_url, issuer=user.base_url + "/login", broker=None)  # type: ignore[arg-type]


# --- the idle timeout ------------------------------------------------------------------------


def test_a_portal_login_unused_for_30_minutes_ends(new_user) -> None:
    anna = new_user()
    anna.library_login("København", "Københavns Biblioteker", ANNA, "1234")
    assert anna.path == "/profil/"
    session = _session(anna, COOKIE_NAME)
    session["seen"] = int(time.time()) - 31 * 60
    session.save()
    anna.page.reload()
    anna.page.wait_for_load_state()
    anna.check()
    assert anna.path == "/"
    expect(anna.page.get_by_role("status")).to_contain_text(
        "Du er logget ud, fordi du ikke har brugt Bibliotek.dk i 30 minutter"
    )
    expect(anna.header().get_by_role("link", name="Log ind")).to_be_visible()
    anna.shot("item9-logget-ud-efter-30-minutter")
    # The login platform's session ended too: logging in again asks for the PIN.
    anna.choose_library("København", "Københavns Biblioteker")
    assert anna.path.startswith("/login/bibliotek/710100/")


def test_the_session_cookies_end_with_the_browser(new_user) -> None:
    anna = new_user()
    anna.library_login("København", "Københavns Biblioteker", ANNA, "1234")
    cookies = {c["name"]: c for c in anna.context.cookies()}
    for name in (COOKIE_NAME, settings.SESSION_COOKIE_NAME):
        assert cookies[name]["expires"] == -1, cookies[name]

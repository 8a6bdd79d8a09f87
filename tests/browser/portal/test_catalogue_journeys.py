"""Issue 11's journeys, walked as a user in Chromium: search, material page, huskeliste, saved
searches (R-PORTAL-16, R-PORTAL-17), in Danish and in English, axe-core on every page of ours,
and the search without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from biblogin.userdata.models import Bookmark, Profile, SavedSearch
from tests.browser.portal.conftest import SCREENSHOTS
from tests.browser.portal.user import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANNA = "1503851234"

LABELS: dict[str, dict[str, str]] = {
    "da": {
        "field": "Hvad leder du efter?",
        "search": "Søg",
        "ebook": "E-bog",
        "show": "Vis resultater",
        "where": "Hvor findes den?",
        "add": "Tilføj til huskeliste",
        "bookmarks": "Huskeliste",
        "saved": "Gemte søgninger",
        "save": "Gem søgning",
        "again": "Søg igen",
        "edit": "Omdøb eller slet",
        "rename": "Gem navn",
        "new_name": "Nyt navn",
        "delete": "Slet gemt søgning",
        "no_saved": "Du har ingen gemte søgninger",
        "needs_profile": "Gemte søgninger kræver en profil",
        "login_to_save": "Log ind for at gemme søgningen",
    },
    "en": {
        "field": "What are you looking for?",
        "search": "Search",
        "ebook": "E-book",
        "show": "Show results",
        "where": "Where can I find it?",
        "add": "Add to bookmarks",
        "bookmarks": "Bookmarks",
        "saved": "Saved searches",
        "save": "Save search",
        "again": "Search again",
        "edit": "Rename or delete",
        "rename": "Save name",
        "new_name": "New name",
        "delete": "Delete saved search",
        "no_saved": "You have no saved searches",
        "needs_profile": "Saved searches need a profile",
        "login_to_save": "Log in to save the search",
    },
}
LANGUAGES = pytest.mark.parametrize("lang", ["da", "en"])


def speak(user: User, lang: str) -> dict[str, str]:
    """Choose the portal's language with its own switch; return the labels to look for."""
    user.goto("/")
    if lang == "en":
        with user.page.expect_navigation():
            user.page.get_by_role("button", name="English").click()
        expect(user.page.locator("html")).to_have_attribute("lang", "en")
        user.check()
    return LABELS[lang]


def search(user: User, words: str, t: dict[str, str]) -> None:
    """Type into the search field at the top of the page and search."""
    field = (
        user.page.get_by_label(t["field"])
        if user.path == "/"
        else user.header().locator("input[name=q]")
    )
    field.fill(words)
    with user.page.expect_navigation():
        field.press("Enter")
    user.check()
    assert user.path.startswith("/soeg/?"), user.path


def hits(user: User) -> Any:
    return user.page.locator("main ol.hits > li")


def hit_titles(user: User, n: int = 5) -> list[str]:
    return [t.strip() for t in user.page.locator("main ol.hits h3").all_inner_texts()[:n]]


def library_login_anna(user: User) -> None:
    """Log in as Anna with Københavns Biblioteker (CPR + PIN): a profile user (R-PORTAL-2)."""
    user.goto("/log-ind/bibliotek/710100/")
    assert user.path.startswith("/login/bibliotek/710100/"), user.path
    user.page.locator("input[name=user_id]").fill(ANNA)
    user.page.locator("input[name=password]").fill("1234")
    with user.page.expect_navigation():
        user.page.locator("main form button[type=submit]").first.click()
    user.check()
    expect(user.header().locator("a[href='/profil/']")).to_be_visible()


def bo_session_login(user: User) -> None:
    """Log in as Bo at Campus Syd and decline linking: a session user (R-PORTAL-3)."""
    user.goto("/log-ind/bibliotek/820099/")
    user.page.locator("input[name=user_id]").fill("CS-4711")
    user.page.locator("input[name=password]").fill("4711")
    with user.page.expect_navigation():
        user.page.locator("main form button[type=submit]").first.click()
    user.check()
    assert user.path == "/tilknyt/", user.path
    with user.page.expect_navigation():
        user.page.locator("main button[value=not_now]").click()
    user.check()


def logout(user: User) -> None:
    with user.page.expect_navigation():
        user.header().locator("form[action='/log-ud/'] button").click()
    if user.path.startswith("/login/logout"):
        with user.page.expect_navigation():
            user.page.locator("main form button[type=submit]").first.click()
    user.check()


def open_huskeliste(user: User) -> None:
    """Follow the header's Huskeliste link (it shows the count)."""
    with user.page.expect_navigation():
        user.header().locator("a[href='/huskeliste/']").click()
    user.check()


def add_first_hits(user: User, n: int, t: dict[str, str]) -> list[str]:
    """Press "Tilføj til huskeliste" on the first n hits; return their titles."""
    titles = []
    for i in range(n):
        hit = hits(user).nth(i)
        titles.append(hit.locator("h3").inner_text().strip())
        with user.page.expect_navigation():
            hit.get_by_role("button", name=t["add"]).click()
        user.check()
    return titles


@LANGUAGES
def test_a_guest_searches_filters_to_e_books_and_sees_where_a_material_is(
    new_user: Callable[[], User], lang: str
) -> None:
    """Issue 11: search "Tove Ditlevsen", filter to e-bog, open a material, "Hvor findes den?"."""
    guest = new_user()
    t = speak(guest, lang)
    guest.shot(f"20-forside-{lang}")
    search(guest, "Tove Ditlevsen", t)
    expect(hits(guest).first).to_contain_text("Tove Ditlevsen")
    guest.shot(f"21-resultater-{lang}")
    guest.page.locator("form.filters").get_by_label(t["ebook"], exact=False).first.check()
    with guest.page.expect_navigation():
        guest.page.get_by_role("button", name=t["show"]).click()
    guest.check()
    assert "type=e-bog" in guest.path
    assert hits(guest).count() > 0
    for i in range(hits(guest).count()):
        expect(hits(guest).nth(i).locator(".chips")).to_contain_text(t["ebook"])
    guest.shot(f"22-resultater-e-bog-{lang}")
    first = hits(guest).first.locator("h3 a")
    title = first.inner_text().strip()
    with guest.page.expect_navigation():
        first.click()
    guest.check()
    assert guest.path.startswith("/materiale/")
    assert guest.heading() == title
    where = guest.page.locator("section", has=guest.page.get_by_role("heading", name=t["where"]))
    expect(where.locator("h3").first).to_be_visible()
    assert where.locator("h3").count() >= 1
    # The search field is on the material page too.
    expect(guest.header().locator("input[name=q]")).to_be_visible()
    guest.shot(f"23-materiale-{lang}")


@LANGUAGES
def test_a_guests_huskeliste_joins_annas_profile_once_R_PORTAL_16(
    new_user: Callable[[], User], lang: str
) -> None:
    """Two materials added as a guest are on Anna's profile huskeliste; twice: no duplicates."""
    anna = new_user()
    t = speak(anna, lang)
    search(anna, "Karen Blixen", t)
    titles = add_first_hits(anna, 2, t)
    expect(anna.header().get_by_role("link", name=t["bookmarks"])).to_contain_text("(2)")
    library_login_anna(anna)
    open_huskeliste(anna)
    listed = anna.page.locator("main ul.bookmarks .bookmark__title").all_inner_texts()
    assert sorted(listed) == sorted(titles)
    anna.shot(f"24-huskeliste-profil-{lang}")
    profile = Profile.objects.get()
    assert Bookmark.objects.filter(profile=profile).count() == 2

    # Again: log out, add the same two as a guest, log in: still two, no duplicates.
    logout(anna)
    search(anna, "Karen Blixen", t)
    assert add_first_hits(anna, 2, t) == titles
    library_login_anna(anna)
    open_huskeliste(anna)
    listed = anna.page.locator("main ul.bookmarks .bookmark__title").all_inner_texts()
    assert sorted(listed) == sorted(titles)
    assert Bookmark.objects.filter(profile=profile).count() == 2


@LANGUAGES
def test_anna_saves_reruns_renames_and_deletes_a_search_R_PORTAL_17(
    new_user: Callable[[], User], lang: str
) -> None:
    anna = new_user()
    t = speak(anna, lang)
    library_login_anna(anna)
    search(anna, "Karen Blixen", t)
    first_results = hit_titles(anna)
    assert first_results
    expect(anna.page.locator("#save-name")).to_have_value("Karen Blixen")
    anna.press(t["save"])
    expect(anna.page.get_by_role("status").first).to_contain_text("Karen Blixen")
    anna.goto("/profil/")
    anna.page.get_by_role(
        "navigation", name="Profilmenu" if lang == "da" else "Profile menu"
    ).get_by_role("link", name=t["saved"]).click()
    anna.page.wait_for_url("**/profil/gemte-soegninger/")
    anna.check()
    item = anna.page.locator("main li.saved-search")
    expect(item.get_by_role("heading")).to_have_text("Karen Blixen")
    anna.shot(f"25-gemte-soegninger-{lang}")
    with anna.page.expect_navigation():
        item.get_by_role("link", name=t["again"]).click()
    anna.check()
    assert hit_titles(anna) == first_results

    anna.goto("/profil/gemte-soegninger/")
    anna.click(t["edit"])
    anna.page.get_by_label(t["new_name"]).fill("Blixen til læsekredsen")
    anna.press(t["rename"])
    expect(anna.page.locator("main li.saved-search h2")).to_have_text("Blixen til læsekredsen")
    assert SavedSearch.objects.get().name == "Blixen til læsekredsen"
    anna.click(t["edit"])
    anna.press(t["delete"])
    expect(anna.page.locator("main")).to_contain_text(t["no_saved"])
    assert not SavedSearch.objects.exists()


@LANGUAGES
def test_bo_as_a_session_user_has_a_session_huskeliste_and_no_saved_searches_R_PORTAL_16(
    new_user: Callable[[], User], lang: str
) -> None:
    bo = new_user()
    t = speak(bo, lang)
    bo_session_login(bo)
    search(bo, "Tove Ditlevsen", t)
    expect(bo.page.locator("main")).to_contain_text(t["needs_profile"])
    expect(bo.page.get_by_role("button", name=t["save"])).to_have_count(0)
    titles = add_first_hits(bo, 1, t)
    open_huskeliste(bo)
    assert bo.page.locator("main .bookmark__title").all_inner_texts() == titles
    assert not Bookmark.objects.exists(), "a session user's huskeliste lives in the session"
    bo.goto("/profil/gemte-soegninger/")
    assert bo.page.locator("h1").inner_text().strip() in (
        "Du er logget ind uden profil",
        "You are logged in without a profile",
    )
    assert not SavedSearch.objects.exists()
    logout(bo)
    bo.goto("/huskeliste/")
    assert bo.page.locator("main .bookmark__title").count() == 0


def test_a_guest_is_asked_to_log_in_to_save_a_search_and_comes_back_R_PORTAL_17(
    new_user: Callable[[], User],
) -> None:
    guest = new_user()
    t = speak(guest, "da")
    search(guest, "Karen Blixen", t)
    guest.click(t["login_to_save"])
    assert guest.path.startswith("/log-ind/")
    guest.page.get_by_label("Søg efter dit bibliotek").fill("København")
    with guest.page.expect_navigation():
        guest.page.locator("main").get_by_role("button", name="Søg").click()
    guest.click("Københavns Biblioteker")
    guest.page.locator("input[name=user_id]").fill(ANNA)
    guest.page.locator("input[name=password]").fill("1234")
    with guest.page.expect_navigation():
        guest.page.locator("main form button[type=submit]").first.click()
    guest.check()
    assert guest.path.startswith("/soeg/?q=Karen+Blixen"), guest.path
    guest.press(t["save"])
    assert SavedSearch.objects.get().query == "Karen Blixen"


def test_search_and_huskeliste_work_without_javascript(
    chromium: Any, portal_site: Any, a11y_log: Any
) -> None:
    """Issue 11: pages work without JavaScript (filters, paging and forms are plain HTML)."""
    context = chromium.new_context(locale="da-DK", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(portal_site.url + "/")
        page.get_by_label("Hvad leder du efter?").fill("Tove Ditlevsen")
        with page.expect_navigation():
            page.get_by_label("Hvad leder du efter?").press("Enter")
        expect(page.locator("main ol.hits > li").first).to_contain_text("Tove Ditlevsen")
        page.locator("form.filters").get_by_label("E-bog").first.check()
        with page.expect_navigation():
            page.get_by_role("button", name="Vis resultater").click()
        assert "type=e-bog" in page.url
        with page.expect_navigation():
            page.locator("main ol.hits > li").first.get_by_role(
                "button", name="Tilføj til huskeliste"
            ).click()
        expect(page.get_by_role("status").first).to_contain_text("er tilføjet til din huskeliste")
        with page.expect_navigation():
            page.locator("main ol.hits h3 a").first.click()
        expect(page.get_by_role("heading", name="Hvor findes den?")).to_be_visible()
        page.goto(portal_site.url + "/huskeliste/")
        expect(page.locator("main .bookmark")).to_have_count(1)
        # "Vælg alle" without JavaScript: the page comes back with every box ticked.
        with page.expect_navigation():
            page.get_by_role("link", name="Vælg alle på siden").click()
        expect(page.locator("main input[name=pid]").first).to_be_checked()
        with page.expect_navigation():
            page.get_by_role("button", name="Fjern valgte").click()
        expect(page.locator("main .bookmark")).to_have_count(0)
    finally:
        context.close()


def test_the_portal_fits_a_320_px_screen(chromium: Any, portal_site: Any, a11y_log: Any) -> None:
    """Responsive from 320 px: no page scrolls sideways; axe-core clean at that width too."""
    context = chromium.new_context(locale="da-DK", viewport={"width": 320, "height": 640})
    context.set_default_timeout(15_000)
    user = User(
        context=context,
        base_url=portal_site.url,
        broker_url=portal_site.broker.issuer,
        a11y=a11y_log,
        screenshots=SCREENSHOTS,
    )
    try:
        user.goto("/")
        paths = ["/", "/soeg/?q=Karen+Blixen", "/huskeliste/"]
        user.goto(paths[1])
        material = user.page.locator("main ol.hits h3 a").first.get_attribute("href")
        assert material
        paths.append(material)
        for path in paths:
            user.goto(path)
            wide = user.page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert wide <= 0, f"{path} is {wide} px too wide at 320 px"
        user.shot("26-materiale-320px")
    finally:
        context.close()

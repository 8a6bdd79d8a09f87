"""The portal's search, material, huskeliste and saved-search pages through the test client.

R-PORTAL-16 (huskeliste), R-PORTAL-17 (saved searches), issue 11 items 4-7.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblogin.portal.menu import Audience, Section, profile_menu
from biblogin.userdata.models import Bookmark, Profile, SavedSearch
from tests.portal.builders import ANNA
from tests.portal.driver import PortalBrowser, text_of

pytestmark = pytest.mark.django_db

_ANY = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)


def pids_on(response: Any) -> list[str]:
    """The materials a result page links to, in order."""
    found = re.findall(r'href="/materiale/([^/"]+)/"', response.content.decode())
    return list(dict.fromkeys(found))


def anna(user: PortalBrowser) -> Any:
    page = user.library_login("710100", ANNA, "1234")
    assert page.wsgi_request.path == "/profil/"
    return page


def bo_session_user(user: PortalBrowser) -> None:
    """Bo at Campus Syd, not linked, says "Ikke nu": a session user (R-PORTAL-3)."""
    page = user.library_login("820099", "CS-4711", "4711")
    assert page.wsgi_request.path == "/tilknyt/"
    user.choose("/tilknyt/", "not_now")


def test_the_search_field_is_at_the_top_of_every_portal_page(user: PortalBrowser) -> None:
    hits = user.get("/soeg/?q=Karen+Blixen")
    pid = pids_on(hits)[0]
    for path in ["/", "/soeg/", "/log-ind/", "/huskeliste/", f"/materiale/{pid}/"]:
        html = user.get(path).content.decode()
        header = html.split("</header>")[0]
        assert 'role="search"' in header or (path == "/" and 'id="hero-q"' in html), path
        assert 'name="q"' in html, path


def test_a_result_page_shows_titles_creators_material_types_and_availability(
    user: PortalBrowser,
) -> None:
    page = user.get("/soeg/?q=Tove+Ditlevsen")
    assert page.status_code == 200
    text = text_of(page)
    assert "Resultater for “Tove Ditlevsen”" in text
    assert "Tove Ditlevsen" in text
    assert 'class="chip"' in page.content.decode()
    assert "Hjemme på mindst ét bibliotek" in text or "Ikke hjemme lige nu" in text
    assert "Materialetype" in text  # the facet to filter by


def test_the_material_type_filter_keeps_only_that_type(user: PortalBrowser) -> None:
    page = user.get("/soeg/?q=Tove+Ditlevsen&type=e-bog")
    html = page.content.decode()
    hits = html.split('<ol class="hits">')[1].split("</ol>")[0]
    for item in hits.split('<li class="hit">')[1:]:
        assert "E-bog" in item


def test_the_material_page_shows_facts_holdings_and_the_order_place_holder(
    user: PortalBrowser,
) -> None:
    pid = pids_on(user.get("/soeg/?q=Karen+Blixen"))[0]
    page = user.get(f"/materiale/{pid}/")
    assert page.status_code == 200
    text = text_of(page)
    assert "Hvor findes den?" in text and "Detaljer" in text
    try:
        reverse("portal:order")
    except NoReverseMatch:
        assert "Bestilling er ikke mulig her endnu" in text
    else:
        assert f'href="{reverse("portal:order")}?pid=' in page.content.decode()


def test_an_unknown_or_malformed_material_is_not_found(user: PortalBrowser) -> None:
    for pid in ["870970-basis:00000000", "nope", "a:b:c", "%3Cscript%3E"]:
        assert user.client.get(f"/materiale/{pid}/").status_code == 404


def test_suggestions_are_titles_as_json(user: PortalBrowser) -> None:
    page = user.client.get("/soeg/forslag/", {"q": "Karen"})
    assert page.status_code == 200
    data = json.loads(page.content)
    assert isinstance(data["suggestions"], list) and data["suggestions"]
    assert json.loads(user.client.get("/soeg/forslag/", {"q": "k"}).content) == {"suggestions": []}


def test_a_guests_huskeliste_is_merged_into_the_profile_once_R_PORTAL_16(
    user: PortalBrowser,
) -> None:
    pids = pids_on(user.get("/soeg/?q=Karen+Blixen"))[:2]
    for pid in pids:
        user.post("/huskeliste/tilfoej/", {"pid": pid, "next": "/soeg/?q=Karen+Blixen"})
    assert "(2)" in text_of(user.get("/"))
    assert not Bookmark.objects.exists()
    anna(user)
    assert sorted(Bookmark.objects.values_list("pid", flat=True)) == sorted(pids)
    user.post("/log-ud/", {})
    for pid in pids:
        user.post("/huskeliste/tilfoej/", {"pid": pid, "next": "/"})
    anna(user)
    assert sorted(Bookmark.objects.values_list("pid", flat=True)) == sorted(pids)
    listing = user.get("/huskeliste/")
    assert all(f"/materiale/{pid}/" in listing.content.decode() for pid in pids)


def test_a_session_users_huskeliste_stays_in_the_session_R_PORTAL_16(
    user: PortalBrowser,
) -> None:
    bo_session_user(user)
    pid = pids_on(user.get("/soeg/?q=Tove+Ditlevsen"))[0]
    user.post("/huskeliste/tilfoej/", {"pid": pid, "next": "/"})
    assert f"/materiale/{pid}/" in user.get("/huskeliste/").content.decode()
    assert not Bookmark.objects.exists()
    assert user.client.get("/profil/gemte-soegninger/").status_code == 403
    saved = user.client.post("/profil/gemte-soegninger/gem/", {"q": "Tove Ditlevsen"})
    assert saved.status_code == 403 and not SavedSearch.objects.exists()


def test_remove_selected_and_the_selection_bound_R_PORTAL_16(user: PortalBrowser) -> None:
    pids = pids_on(user.get("/soeg/?q=Karen+Blixen"))[:3]
    for pid in pids:
        user.post("/huskeliste/tilfoej/", {"pid": pid, "next": "/"})
    page = user.get("/huskeliste/?vaelg=alle")
    assert page.content.decode().count(" checked") == 3
    user.post("/huskeliste/", {"action": "remove", "pid": pids[:2]})  # type: ignore[dict-item]
    html = user.get("/huskeliste/").content.decode()
    assert f"/materiale/{pids[2]}/" in html and f"/materiale/{pids[0]}/" not in html
    too_many = user.post(
        "/huskeliste/", {"action": "remove", "pid": [f"870970-basis:{n:08d}" for n in range(30)]}
    )  # type: ignore[dict-item]
    assert "Vælg mindst ét materiale" in text_of(too_many)  # none of those is on the list


def test_saved_searches_save_rerun_rename_delete_R_PORTAL_17(user: PortalBrowser) -> None:
    anna(user)
    first = user.get("/soeg/?q=Karen+Blixen&sort=title")
    page = user.post(
        "/profil/gemte-soegninger/gem/", {"q": "Karen Blixen", "sort": "title", "name": ""}
    )
    assert "Søgningen er gemt som “Karen Blixen”" in text_of(page)
    saved = SavedSearch.objects.get()
    assert (saved.name, saved.query, saved.params) == (
        "Karen Blixen",
        "Karen Blixen",
        {"sort": ["title"]},
    )
    listing = user.get("/profil/gemte-soegninger/")
    rerun = re.search(r'href="(/soeg/\?q=Karen[^"]*)"', listing.content.decode())
    assert rerun
    again = user.get(rerun.group(1).replace("&amp;", "&"))
    assert pids_on(again)[:5] == pids_on(first)[:5]
    user.post(f"/profil/gemte-soegninger/{saved.pk}/", {"action": "rename", "name": "Blixen"})
    assert SavedSearch.objects.get().name == "Blixen"
    empty = user.client.post(f"/profil/gemte-soegninger/{saved.pk}/", {"action": "rename"})
    assert empty.status_code == 400 and SavedSearch.objects.get().name == "Blixen"
    user.post(f"/profil/gemte-soegninger/{saved.pk}/", {"action": "delete"})
    assert not SavedSearch.objects.exists()


def test_another_profiles_saved_search_cannot_be_renamed_or_deleted_R_PORTAL_17(
    user: PortalBrowser, mitid_settings: Any
) -> None:
    other = Profile.objects.create(patron_guid="00000000-0000-4000-8000-000000000001")
    theirs = SavedSearch.objects.create(profile=other, name="Deres", query="x")
    anna(user)
    user.post(f"/profil/gemte-soegninger/{theirs.pk}/", {"action": "delete"})
    user.post(f"/profil/gemte-soegninger/{theirs.pk}/", {"action": "rename", "name": "Mit"})
    assert SavedSearch.objects.get().name == "Deres"


def test_a_guest_saving_a_search_is_sent_to_log_in_and_back_R_PORTAL_17(
    user: PortalBrowser,
) -> None:
    page = user.get("/soeg/?q=Karen+Blixen")
    login = re.search(r'href="(/log-ind/\?next=[^"]+)"', page.content.decode())
    assert login and "gem%3D1" in login.group(1)
    assert user.client.post("/profil/gemte-soegninger/gem/", {"q": "x"}).status_code == 302
    assert not SavedSearch.objects.exists()


def test_the_profile_menu_lists_only_sections_whose_pages_exist(user: PortalBrowser) -> None:
    sections = (
        Section("portal:bookmarks", "Huskeliste", Audience.EVERYONE),
        Section("portal:not-built-yet", "Senere", Audience.EVERYONE),
        Section("portal:my-libraries", "Mine biblioteker", Audience.PROFILE),
    )
    guest = profile_menu(identity=None, sections=sections)
    assert [item.label for item in guest] == ["Huskeliste"]
    anna(user)
    identity = user.get("/profil/").wsgi_request.portal_identity  # type: ignore[attr-defined]
    items = profile_menu(
        identity=identity, current_url_name="portal:my-libraries", sections=sections
    )
    assert [(i.label, i.current) for i in items] == [
        ("Huskeliste", False),
        ("Mine biblioteker", True),
    ]
    # On a page of the menu the menu is shown, with that page marked.
    html = user.get("/profil/gemte-soegninger/").content.decode()
    assert 'aria-current="page">Gemte søgninger' in html
    assert "Lån og reserveringer" not in html or _exists("portal:loans")


def _exists(name: str) -> bool:
    try:
        reverse(name)
    except NoReverseMatch:
        return False
    return True


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=_ANY, kind=_ANY, year=_ANY, sort=_ANY, number=_ANY, pid=_ANY, name=_ANY)
def test_no_malformed_search_or_list_request_gives_a_server_error(
    demo: None, q: str, kind: str, year: str, sort: str, number: str, pid: str, name: str
) -> None:
    """R-SEC-3: bad input anywhere gets a page or a message, never a 500."""
    browser = Client(raise_request_exception=False)
    params = {"q": q, "type": kind, "lang": kind, "year_from": year, "year_to": number}
    responses = [
        browser.get("/soeg/", {**params, "sort": sort, "page": number, "lendable": name}),
        browser.get("/soeg/forslag/", {"q": q}),
        browser.get(f"/materiale/{pid.replace('/', '')}/"),
        browser.get("/huskeliste/", {"sortering": sort, "side": number, "vaelg": name}),
        browser.post("/huskeliste/", {"action": name, "pid": pid, "side": number}),
        browser.post("/huskeliste/tilfoej/", {"pid": pid, "next": name}),
        browser.post("/profil/gemte-soegninger/gem/", {**params, "name": name}),
        browser.post(f"/profil/gemte-soegninger/{number.replace('/', '')}/", {"action": q}),
    ]
    for response in responses:
        assert response.status_code < 500, response.status_code
    assert not SavedSearch.objects.exists()

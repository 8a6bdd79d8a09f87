"""The portal's pages with bad input, cancelled logins, logout and the last library used."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblogin.userdata.models import Profile
from tests.portal.builders import ANNA
from tests.portal.driver import PortalBrowser, text_of

pytestmark = pytest.mark.django_db

_ANY = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(agency_id=_ANY, query=_ANY, state=_ANY, code=_ANY, error=_ANY, next_path=_ANY)
def test_no_malformed_request_gives_a_server_error(
    demo: None, agency_id: str, query: str, state: str, code: str, error: str, next_path: str
) -> None:
    """R-SEC-3: bad input anywhere gets a clear message and changes nothing; never a 500."""
    browser = Client(raise_request_exception=False)
    responses = [
        browser.get("/log-ind/", {"q": query, "next": next_path}),
        browser.get(f"/log-ind/bibliotek/{agency_id.replace('/', '')}/", {"next": next_path}),
        browser.get("/auth/callback/", {"state": state, "code": code}),
        browser.get("/auth/callback/", {"state": state, "error": error}),
        browser.get(f"/bestil-uden-login/{agency_id.replace('/', '')}/", {"pid": query}),
        browser.post(
            "/bestil/",
            {
                "pid": "870970-basis:00112000",
                "filial": "830099",
                "key": "k" * 32,
                "laaner-userId": query,
                "laaner-userMail": code,
                "laaner-cpr": state,
            },
        ),
        browser.post("/tilknyt/", {"choice": query}),
        browser.post("/tilknyttet/", {"choice": query}),
    ]
    for response in responses:
        assert response.status_code < 500, response.status_code
        if response.status_code in (301, 302):
            location = response["Location"]
            assert location.startswith("/") or location.startswith("http://localhost:8000/login/")
    assert Profile.objects.count() == 0


def test_next_never_leads_away_from_the_portal(user: PortalBrowser) -> None:
    """No open redirect through ``next``: a login with a foreign ``next`` ends on the portal."""
    for evil in ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]:
        assert evil not in user.client.get("/log-ind/", {"next": evil}).content.decode()
    page = user.get("/log-ind/bibliotek/710100/?" + urlencode({"next": "https://evil.example/"}))
    page = user.type_pin(page, ANNA, "1234")
    assert page.wsgi_request.path == "/profil/"
    user.post("/log-ud/", {})
    page = user.get(
        "/log-ind/bibliotek/710100/?" + urlencode({"next": "/profil/mine-biblioteker/"})
    )
    page = user.type_pin(page, ANNA, "1234")
    assert page.wsgi_request.path == "/profil/mine-biblioteker/"


def test_the_last_library_used_is_offered_at_log_ind(user: PortalBrowser) -> None:
    """R-PORTAL-1: "Log ind" offers the last library used."""
    user.library_login("710100", ANNA, "1234")
    text = text_of(user.get("/log-ind/"))
    assert "Dit seneste bibliotek" in text and "Log ind med Københavns Biblioteker" in text


def test_a_login_cancelled_at_the_login_platform_is_said_plainly(user: PortalBrowser) -> None:
    page = user.get("/log-ind/bibliotek/710100/")
    plan = page.wsgi_request.GET["plan"]
    page = user.post("/login/annuller/", {"plan": plan})
    assert page.wsgi_request.path == "/auth/callback/"
    assert "Du blev ikke logget ind" in text_of(page)
    assert ">Log ind<" in user.get("/").content.decode()


def test_logout_ends_the_portal_and_the_login_platform_session(user: PortalBrowser) -> None:
    """R-LOGIN-12 via RP-initiated logout: the next library login asks for the PIN again."""
    user.library_login("710100", ANNA, "1234")
    response = user.client.post("/log-ud/")
    assert response.status_code == 302
    location = response["Location"]
    assert "/login/logout/" in location and "id_token_hint=" in location
    assert "post_logout_redirect_uri=" in location
    page = user.follow(response)
    assert page.wsgi_request.path == "/"
    assert "Du er logget ud" in text_of(page)
    assert user.client.get("/profil/").status_code == 302
    again = user.get("/log-ind/bibliotek/710100/")
    assert again.wsgi_request.path.startswith("/login/bibliotek/710100/"), "no SSO after logout"


def test_single_sign_on_returns_without_a_pin_while_the_login_platform_session_lasts(
    user: PortalBrowser,
) -> None:
    """R-LOGIN-11 as the portal sees it: a second portal session is logged in at once."""
    user.library_login("710100", ANNA, "1234")
    user.client.cookies.pop("bibdk_session")
    page = user.get("/log-ind/bibliotek/710100/")
    assert page.wsgi_request.path == "/profil/"


def test_a_profile_deleted_elsewhere_ends_this_login(user: PortalBrowser) -> None:
    """R-PORTAL-19 in another browser: this session's profile pages say so and log out."""
    user.library_login("710100", ANNA, "1234")
    Profile.objects.all().delete()
    response = user.client.get("/profil/")
    assert response.status_code == 410
    assert "Profilen findes ikke længere" in text_of(response)
    assert ">Log ind<" in user.get("/").content.decode()


def test_profile_pages_need_a_profile_and_say_why(user: PortalBrowser) -> None:
    """R-PORTAL-3: a session user has no profile pages."""
    user.library_login("829000", "clara@ucn.example", "5555")
    user.choose("/tilknyt/", "not_now")
    for path in [
        "/profil/",
        "/profil/mine-biblioteker/",
        "/profil/slet/",
        "/profil/mine-biblioteker/tilfoej/",
    ]:
        response = user.client.get(path)
        assert response.status_code == 403
        assert "Du er logget ind uden profil" in text_of(response)


def test_cancelling_while_adding_a_library_changes_nothing(user: PortalBrowser) -> None:
    """R-PORTAL-11: giving up at the library login leaves the profile as it was."""
    user.library_login("710100", ANNA, "1234")
    page = user.post("/profil/mine-biblioteker/tilfoej/", {"agency_id": "820099"})
    plan = page.wsgi_request.GET["plan"]
    page = user.post("/login/annuller/", {"plan": plan})
    assert page.wsgi_request.path == "/profil/mine-biblioteker/"
    assert "Du afbrød undervejs. Intet er ændret." in text_of(page)
    assert "Campus Syd" not in text_of(page).split("Tilføj uddannelsesbibliotek")[0]

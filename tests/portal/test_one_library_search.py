"""The portal and the login platform search and accept libraries by one rule (issue 10, item 5).

Both pages call the registry's one library search (R-LOGIN-3, R-PORTAL-1) and the registry's one
visibility rule (R-VIP-1): an invisible library is listed by neither, yet both accept it when it
is named by its ID (a library app's own link, the last library used); a deleted one is neither.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from biblogin.portal.constants import SERVICE_REQUESTER
from biblogin.portal.selectors import LoginEntry, agencies_search, login_entry_decide
from biblogin.registry import selectors as registry
from biblogin.registry import services as registry_services
from biblogin.registry.models import Agency, AgencyStatus
from tests.oidc_flow import OIDCFlow, path_of, query_of
from tests.portal.driver import PortalBrowser, text_of

_PORTAL_RESULT = re.compile(r'href="/log-ind/bibliotek/([0-9]{6})/')
_PICKER_RESULT = re.compile(r'href="/login/bibliotek/([0-9]{6})/\?plan=')


def portal_finds(user: PortalBrowser, query: str) -> list[str]:
    """The libraries the portal's "Log ind" page lists for the query, in page order."""
    page = user.client.get("/log-ind/", {"q": query})
    assert page.status_code == 200
    return _PORTAL_RESULT.findall(page.content.decode())


def picker_finds(portal: OIDCFlow, query: str) -> list[str]:
    """The libraries the login platform's picker lists for the portal's login, in page order."""
    started = portal.start()
    plan = query_of(started.response["Location"])["plan"]
    page = portal.browser.get("/login/", {"plan": plan, "q": query})
    assert page.status_code == 200
    return _PICKER_RESULT.findall(unescape(page.content.decode()))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Aarhus", ["775100"]),
        ("Århus", ["775100"]),
        ("ÅRHUS", ["775100"]),
        ("Arhus", ["775100"]),  # å without its ring
        ("kbh", ["710100"]),  # the common abbreviation of København
        ("Kbh.", ["710100"]),
        ("Kobenhavn", ["710100"]),  # ø without its stroke
        ("Koebenhavn", ["710100"]),  # ø written oe
        ("Valby", ["710100"]),  # a branch of Københavns Biblioteker
        ("Vesterbro", ["710100"]),
        ("Hellerup", ["715700"]),  # a branch of Gentofte Bibliotekerne
        ("710111", ["710100"]),  # a branch's ID
        ("Gentofte", ["715700"]),  # the municipality
    ],
)
def test_portal_and_login_platform_find_the_same_libraries_R_LOGIN_3_R_PORTAL_1(
    user: PortalBrowser, portal: OIDCFlow, query: str, expected: list[str]
) -> None:
    assert portal_finds(user, query) == expected
    assert picker_finds(portal, query) == expected


@given(
    words=st.lists(
        st.sampled_from(
            ["bibliotek", "Århus", "aarhus", "kbh", "Valby", "Hellerup", "UCN", "Campus",
             "syd", "8290", "101", "751", "Københavns", "hoejskolens", "høj", "gymnasium",
             "Roskilde", "Bogbussen", "dokk1", "æ", "ø", "oe"]
        ) | st.text(max_size=6),
        min_size=1,
        max_size=3,
    )
)  # fmt: skip
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_portal_lists_what_the_login_platform_lists_and_more_R_PORTAL_1(
    demo: None, words: list[str]
) -> None:
    """R-PORTAL-1, R-LOGIN-3: one search; the portal also lists libraries without login for it.

    The login platform's picker for Bibliotek.dk is exactly the portal's list less the libraries
    that choosing at the portal does not lead to a library login at.
    """
    query = " ".join(words)
    assume(query.strip())
    portal_ids = [a.agency_id for group in agencies_search(query=query) for a in group.agencies]
    picker_ids = {
        a.agency_id
        for a in registry.agencies_search(query=query, service_requester=SERVICE_REQUESTER)
    }
    loginable = {
        agency_id
        for agency_id in portal_ids
        if login_entry_decide(agency_id=agency_id).entry == LoginEntry.LIBRARY_LOGIN
    }
    assert picker_ids == loginable


def _set_status(agency_id: str, status: str) -> None:
    registry_services.agency_update(
        agency=Agency.objects.get(agency_id=agency_id), status=status, actor="test"
    )


def test_an_invisible_library_is_listed_by_neither_but_accepted_by_both_R_VIP_1(
    user: PortalBrowser, portal: OIDCFlow
) -> None:
    """R-VIP-1: invisible hides UCN from both searches; named by its ID it works on both."""
    assert portal_finds(user, "UCN") == picker_finds(portal, "UCN") == ["829000"]
    _set_status("829000", AgencyStatus.INVISIBLE)
    assert portal_finds(user, "UCN") == picker_finds(portal, "UCN") == []

    # The login platform: a client naming the library goes to its login form.
    started = portal.start(agency="829000")
    assert started.response["Location"].startswith("/login/bibliotek/829000/")
    form = portal.browser.get(path_of(started.response["Location"]))
    assert 'name="password"' in form.content.decode()
    # The portal: choosing it by its ID leads there too, and the login succeeds.
    page = user.library_login("829000", "clara@ucn.example", "5555")
    assert page.wsgi_request.path == "/tilknyt/"  # logged in; the link offer of R-PORTAL-5


def test_a_deleted_library_is_neither_listed_nor_accepted_by_either_R_VIP_1(
    user: PortalBrowser, portal: OIDCFlow
) -> None:
    _set_status("829000", AgencyStatus.DELETED)
    assert portal_finds(user, "UCN") == picker_finds(portal, "UCN") == []
    assert user.client.get("/log-ind/bibliotek/829000/").status_code == 404
    started = portal.start(agency="829000")
    page = portal.browser.get(path_of(started.response["Location"]))
    assert 'data-status="library_not_found"' in page.content.decode()
    assert "Biblioteket findes ikke" in text_of(user.client.get("/log-ind/bibliotek/829000/"))

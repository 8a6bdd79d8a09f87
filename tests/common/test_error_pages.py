"""The 403 (also a refused form), 404 and 405 pages: the site's own look, Danish and English.

A path of the login platform gets its look ("Bibliotekslogin"), every other path the portal's
("Bibliotek.dk"); the language is the user's (cookie or browser). They never read the body.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblogin.common import error_pages

pytestmark = pytest.mark.django_db

PORTAL, LOGIN = "Bibliotek.dk", "Bibliotekslogin"


def _title(response: Any) -> str:
    found = re.search(r"<h1>(.*?)</h1>", response.content.decode(), re.S)
    assert found is not None, response.content.decode()[:500]
    return found[1].strip()


def _site(response: Any) -> str:
    text = response.content.decode()
    return PORTAL if 'class="brand"' in text else LOGIN if "site-name" in text else "?"


@pytest.mark.parametrize(
    ("path", "site"),
    [
        ("/ingen-side/", PORTAL),
        ("/profil/ingen-side/", PORTAL),
        ("/login/ingen-side/", LOGIN),
        ("/.well-known/ingen-side", LOGIN),
    ],
)
@pytest.mark.parametrize(
    ("language", "title"), [("da", "Siden findes ikke"), ("en", "Page not found")]
)
def test_an_unknown_address_gets_a_404_page_in_the_look_of_its_part_of_the_site(
    path: str, site: str, language: str, title: str
) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get(path)
    assert response.status_code == 404
    assert _title(response) == title
    assert _site(response) == site
    assert f'<html lang="{language}">' in response.content.decode()


@pytest.mark.parametrize(
    ("path", "site", "allowed"),
    [("/log-ud/", PORTAL, "POST"), ("/login/annuller/", LOGIN, "POST")],
)
@pytest.mark.parametrize(
    ("language", "title"),
    [("da", "Siden kan ikke bruges sådan"), ("en", "This page cannot be used like that")],
)
def test_a_form_address_opened_as_a_link_gets_a_405_page(
    path: str, site: str, allowed: str, language: str, title: str
) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get(path)
    assert response.status_code == 405
    assert response["Allow"] == allowed
    assert _title(response) == title
    assert _site(response) == site


def test_a_405_to_head_stays_bare() -> None:
    response = Client().head("/log-ud/")
    assert response.status_code == 405 and response.content == b""


@pytest.mark.parametrize(
    ("path", "referer", "site"),
    [
        ("/log-ud/", "/profil/", PORTAL),
        ("/login/annuller/", "/login/?plan=" + "p" * 24, LOGIN),
    ],
)
@pytest.mark.parametrize(
    ("language", "title"), [("da", "Siden var for gammel"), ("en", "The page was too old")]
)
def test_a_form_refused_by_the_csrf_check_gets_a_page_back_to_where_it_was(
    path: str, referer: str, site: str, language: str, title: str
) -> None:
    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=language)
    response = browser.post(path, {"x": "1"}, HTTP_REFERER="http://testserver" + referer)
    assert response.status_code == 403
    assert _title(response) == title
    assert _site(response) == site
    # The way on: the page the form was on, fetched again (a fresh token).
    assert f'href="{referer}"' in response.content.decode()


def test_a_refused_form_from_another_site_is_not_sent_back_there() -> None:
    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/log-ud/", HTTP_REFERER="https://evil.example/x")
    assert response.status_code == 403
    assert "evil.example" not in response.content.decode()
    assert 'href="/log-ud/"' in response.content.decode()


@pytest.mark.parametrize(("path", "site"), [("/profil/", PORTAL), ("/login/", LOGIN)])
@pytest.mark.parametrize(("language", "title"), [("da", "Adgang nægtet"), ("en", "Access denied")])
def test_the_403_page_has_the_look_of_its_part_of_the_site(
    path: str, site: str, language: str, title: str
) -> None:
    from django.utils import translation

    request = RequestFactory().get(path)
    with translation.override(language):
        response = error_pages.permission_denied(request)
    assert response.status_code == 403
    assert _title(response) == title
    assert _site(response) == site


def test_an_error_page_that_cannot_be_rendered_falls_back_to_the_plain_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An error page never becomes a 500: the plain, template-free page answers instead."""

    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("template engine down")

    monkeypatch.setattr(error_pages, "render_to_string", broken)
    response = error_pages.page_not_found(RequestFactory().get("/x/"))
    assert response.status_code == 404
    assert "Siden findes ikke" in response.content.decode()
    assert 'lang="en"' in response.content.decode()


@given(referer=st.text(max_size=300))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_whatever_the_referer_the_refused_form_page_links_only_to_a_page_of_ours(
    referer: str,
) -> None:
    """R-SEC-3: the way back is a local path, never another site, never a 500."""
    request = RequestFactory().post("/log-ud/", HTTP_REFERER=referer)
    path = error_pages._page_of_form(request)
    assert path.startswith("/") and not path.startswith(("//", "/\\"))


def test_a_referer_that_a_browser_reads_as_another_site_is_not_linked() -> None:
    request = RequestFactory().post("/log-ud/", HTTP_REFERER="http://testserver/\\evil.example/")
    assert error_pages._page_of_form(request) == "/log-ud/"

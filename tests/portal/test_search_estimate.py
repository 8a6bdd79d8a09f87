"""The result page says when its counts are estimated (issue 11: a large result is ranked
among candidates, its total and facet counts estimated), in Danish and in English."""

from __future__ import annotations

import re

import pytest

from biblogin.catalogue.search import engine
from tests.portal.driver import PortalBrowser, text_of

pytestmark = pytest.mark.django_db


def test_an_exact_result_shows_its_count_without_ca(user: PortalBrowser) -> None:
    text = text_of(user.get("/soeg/?q=romaner"))
    assert re.search(r"Viser 1\u2013\d+ af \d+ resultater", text)
    assert "ca." not in text and "anslået" not in text


def test_an_estimated_result_says_so_in_danish_and_english(
    user: PortalBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "CANDIDATES", 8)
    monkeypatch.setattr(engine, "EXACT", 0)
    page = user.get("/soeg/?q=romaner")
    assert page.status_code == 200
    text = text_of(page)
    assert re.search(r"Viser 1\u2013\d+ af ca\. \d+ resultater", text)
    assert "er anslået ud fra en del af træffene" in text
    assert re.search(r"\(ca\. \d+\)", text)  # the facet counts too
    english = text_of(user.client.get("/soeg/?q=romaner", HTTP_ACCEPT_LANGUAGE="en"))
    assert re.search(r"Showing 1\u2013\d+ of about \d+ results", english)
    assert "are estimated from part of the matches" in english
    assert re.search(r"\(about \d+\)", english)
    # Paging offers only the pages that hold ranked works: here at most 8, one page of 20.
    assert 'class="pager"' not in page.content.decode()

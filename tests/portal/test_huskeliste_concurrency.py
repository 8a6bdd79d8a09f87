"""R-PORTAL-16 / R-ORDER-1 with real parallel requests: the huskeliste's bounds hold when 20
requests of one user add to it, or order a selection from it, at the same moment.

A live server (one thread per request, like the threaded workers) and real HTTP; the requests
start together at a barrier. tests/userdata proves the same bounds with threads on the services;
this proves them through the views, the session and the middleware, where nothing may 500.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client

from biblogin.catalogue.models import Manifestation, MaterialType, Work
from biblogin.catalogue.services import manifestation_save
from biblogin.portal.session import COOKIE_NAME
from biblogin.userdata import services
from biblogin.userdata.models import Bookmark, Profile
from biblogin.userdata.selectors import BOOKMARKS_SELECTION_MAX
from tests.portal.builders import ANNA
from tests.portal.driver import PortalBrowser

PARALLEL = 20
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_ENTRY = re.compile(r'href="/materiale/([^/"]+)/"')


@pytest.fixture
def site(live_server: Any, transactional_db: None, settings: Any) -> str:
    from django.core.cache import cache

    from biblogin.demo.services import demo_load

    cache.clear()
    # BASE_URL stays the deployment's own: the login (over the test client, in-process to the
    # login platform like the portal tests) must find the portal where its settings say.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    demo_load()
    return str(live_server.url)


def materials(count: int) -> list[str]:
    """``count`` materials in the catalogue, each one a work of its own."""
    pids = []
    for n in range(count):
        pid = f"870970-basis:9200{n:04d}"
        work = Work.objects.create(work_id=f"work-{pid}", title=f"Bog {n}", creators=[])
        manifestation_save(
            manifestation=Manifestation(
                pid=pid,
                work=work,
                title=f"Bog {n}",
                creators=[],
                year=2020,
                material_type=MaterialType.BOG,
            )
        )
        pids.append(pid)
    return pids


def anna_over_http(site: str) -> requests.Session:
    """Anna logged in at the portal with her library (a profile user), as an HTTP session."""
    browser = PortalBrowser(Client())
    page = browser.library_login("710100", ANNA, "1234")
    assert page.wsgi_request.path == "/profil/"
    http = requests.Session()
    http.cookies.set(COOKIE_NAME, browser.client.cookies[COOKIE_NAME].value)
    return http


def csrf_token(http: requests.Session, site: str) -> str:
    page = http.get(f"{site}/huskeliste/", timeout=60)
    assert page.status_code == 200
    found = _CSRF.search(page.text)
    assert found is not None, page.text[:300]
    return found.group(1)


def together(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Send the requests from their own threads, released at the same moment."""
    start = threading.Barrier(len(calls))

    def send(call: Callable[[], requests.Response]) -> requests.Response:
        start.wait(60)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(send, calls))


def adding(http: requests.Session, site: str, token: str, pid: str) -> Callable[[], Any]:
    def add() -> requests.Response:
        return http.post(
            f"{site}/huskeliste/tilfoej/",
            data={"csrfmiddlewaretoken": token, "pid": pid, "next": "/huskeliste/"},
            headers={"Referer": f"{site}/huskeliste/"},
            allow_redirects=False,
            timeout=120,
        )

    return add


def assert_all_redirected(answers: list[requests.Response]) -> None:
    # Every request got its answer: a redirect back, full list or not; never an error page.
    assert [a.status_code for a in answers] == [302] * len(answers), [
        (a.status_code, a.text[:200]) for a in answers if a.status_code != 302
    ]


def test_parallel_adds_over_http_stop_at_the_profiles_bound_R_PORTAL_16(
    site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The live server runs in this process: a small bound makes 20 requests cross it.
    monkeypatch.setattr(services, "BOOKMARKS_PROFILE_MAX", 5)
    pids = materials(PARALLEL)
    http = anna_over_http(site)
    token = csrf_token(http, site)
    answers = together([adding(http, site, token, pid) for pid in pids])
    assert_all_redirected(answers)
    profile = Profile.objects.get()
    assert Bookmark.objects.filter(profile=profile).count() == 5
    # The list shows what is kept, and says it is full to those who came too late.
    listing = http.get(f"{site}/huskeliste/", timeout=60)
    assert listing.status_code == 200
    assert len(set(_ENTRY.findall(listing.text))) == 5


def test_parallel_adds_of_one_material_over_http_keep_it_once_R_PORTAL_16(site: str) -> None:
    (pid,) = materials(1)
    http = anna_over_http(site)
    token = csrf_token(http, site)
    answers = together([adding(http, site, token, pid) for _ in range(PARALLEL)])
    assert_all_redirected(answers)
    assert list(Bookmark.objects.values_list("pid", flat=True)) == [pid]


def test_parallel_adds_over_http_never_pass_the_sessions_bound_R_PORTAL_16(
    site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A guest's huskeliste lives in the portal session; parallel writes of one session may
    # overwrite each other (the last save wins), but none may take it past its bound.
    monkeypatch.setattr(services, "BOOKMARKS_SESSION_MAX", 5)
    pids = materials(PARALLEL)
    http = requests.Session()
    token = csrf_token(http, site)
    first = adding(http, site, token, pids[0])()  # the session exists before the rush
    assert first.status_code == 302
    answers = together([adding(http, site, token, pid) for pid in pids[1:]])
    assert_all_redirected(answers)
    listing = http.get(f"{site}/huskeliste/", timeout=60)
    assert listing.status_code == 200
    kept = set(_ENTRY.findall(listing.text))
    assert 1 <= len(kept) <= 5 and kept <= set(pids)
    assert not Bookmark.objects.exists()  # a guest's list is not a profile's


def test_parallel_orders_from_the_huskeliste_take_at_most_25_R_PORTAL_16_R_ORDER_1(
    site: str,
) -> None:
    pids = materials(BOOKMARKS_SELECTION_MAX + 1)
    http = anna_over_http(site)
    profile = Profile.objects.get()
    for pid in pids:
        services.bookmark_add(profile=profile, pid=pid, title="Bog")
    token = csrf_token(http, site)

    def ordering(chosen: list[str]) -> Callable[[], requests.Response]:
        def order() -> requests.Response:
            return http.post(
                f"{site}/huskeliste/",
                data={"csrfmiddlewaretoken": token, "action": "order", "pid": chosen},
                headers={"Referer": f"{site}/huskeliste/"},
                allow_redirects=False,
                timeout=120,
            )

        return order

    fits, too_many = pids[:BOOKMARKS_SELECTION_MAX], pids
    answers = together([ordering(fits if n % 2 else too_many) for n in range(PARALLEL)])
    assert_all_redirected(answers)
    for n, answer in enumerate(answers):
        target = urlsplit(answer.headers["Location"])
        if n % 2:
            # 25: on to the order form with exactly those (R-ORDER-1).
            assert target.path == "/bestil/"
            assert parse_qs(target.query)["pid"] == fits
        else:
            # 26: back to the list, nothing ordered.
            assert target.path == "/huskeliste/"
    assert Bookmark.objects.filter(profile=profile).count() == len(pids)

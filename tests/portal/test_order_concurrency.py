"""R-ORDER-5 with real parallel requests: two submits of one order form at the same moment,
on two request threads of a live server, make one order and one hold at the library."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from biblogin.circulation.models import Order
from biblogin.integrations.library_systems.models import SimReservation
from tests.circulation import catalogue as c

_INPUT = re.compile(r"<input[^>]*>")


def _form(html: str) -> list[tuple[str, str]]:
    form = re.search(r'<form method="post" action="/bestil/".*?</form>', html, re.S)
    assert form, html[:500]
    pairs = []
    for tag in _INPUT.findall(form.group(0)):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="checkbox"' not in tag:
            pairs.append((name.group(1), value.group(1) if value else ""))
    return pairs


@pytest.fixture
def site(live_server: Any, transactional_db: None, settings: Any) -> str:
    from django.core.cache import cache

    from biblogin.demo.services import demo_load

    cache.clear()
    url = str(live_server.url)
    settings.BASE_URL = url
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    demo_load(base_url=url)
    c.order_catalogue()
    return url


@pytest.mark.parametrize("round_", range(3))
def test_two_simultaneous_submits_of_the_same_form_make_one_order_R_ORDER_5(
    site: str, round_: int
) -> None:
    browser = requests.Session()
    page = browser.get(f"{site}/bestil/?pid={c.AT_HH}&filial=830099", timeout=30)
    assert page.status_code == 200
    data = dict(_form(page.text))
    data.update(
        {
            "laaner-userId": "HH-1001",
            "laaner-userName": "Ida Iversen",
            "laaner-userMail": "ida@example.dk",
        }
    )
    start = threading.Barrier(2)

    def submit(_index: int) -> requests.Response:
        start.wait()
        return browser.post(
            f"{site}/bestil/",
            data=data,
            headers={"Referer": f"{site}/bestil/"},
            allow_redirects=False,
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(submit, range(2)))
    assert [a.status_code for a in answers] == [303, 303], [a.text[:300] for a in answers]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    assert Order.objects.count() == 1
    assert SimReservation.objects.filter(material_id=c.AT_HH).count() == 1

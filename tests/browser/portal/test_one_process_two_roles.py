"""DESIGN.md "One process, two roles": the portal's back-channel calls to the login platform of
the same deployment never wait on the worker pool serving the request.

Run on the production server (``biblogin serve``: granian) as its own process. With one worker
and one thread the portal's callback would deadlock if its token call went out over HTTP to the
same server; in-process it completes. Then several users log in at once on the demo's server shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from html import unescape

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def library_login_over_http(base_url: str, agency_id: str, user_id: str, pin: str) -> str:
    """Log in at the portal with a library, as a browser without JavaScript; return the end path."""
    with httpx.Client(base_url=base_url, timeout=20, follow_redirects=True) as browser:
        page = browser.get(f"/log-ind/bibliotek/{agency_id}/")
        assert page.url.path.startswith(f"/login/bibliotek/{agency_id}/"), page.url
        match = _CSRF.search(page.text)
        assert match is not None
        done = browser.post(
            str(page.url),
            data={
                "csrfmiddlewaretoken": unescape(match.group(1)),
                "plan": page.url.params["plan"],
                "user_id": user_id,
                "password": pin,
            },
            headers={"Referer": str(page.url)},
        )
        assert done.status_code == 200, done.text[:500]
        return done.url.path


def test_a_login_completes_on_a_server_with_a_single_worker_thread(
    production_site: Callable[..., str],
) -> None:
    """The callback's token, userinfo and JWKS calls run in-process: no self-deadlock."""
    base_url = production_site(workers=1, threads=1)
    assert library_login_over_http(base_url, "710100", "1503851234", "1234") == "/profil/"


def test_several_users_log_in_at_once(production_site: Callable[..., str]) -> None:
    """Concurrent logins on the demo's server shape (3 workers, 8 threads) all end right."""
    base_url = production_site(workers=3, threads=8)
    people = [
        ("710100", "1503851234", "1234", "/profil/"),
        ("710100", "0207921235", "2222", "/profil/"),
        ("872600", "0505054240", "6666", "/profil/"),
        ("820099", "CS-0815", "0815", "/tilknyt/"),
        ("829000", "clara@ucn.example", "5555", "/tilknyt/"),
        ("710100", "3012651239", "3333", "/profil/"),
        ("715700", "2000001", "1234", "/profil/"),
        ("820099", "CS-4711", "4711", "/tilknyt/"),
    ]
    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        ends = list(pool.map(lambda p: library_login_over_http(base_url, *p[:3]), people))
    assert ends == [p[3] for p in people]

"""R-LOGIN-5 under concurrency: real parallel requests against a live server.

The library system is counted at its boundary (``SimulatedLibrarySystem.authenticate``, which
the live server's request threads call in this process). Each test runs on whatever the
environment gives: SQLite + the database cache, or PostgreSQL + Redis (CI's second run).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import pytest
import requests
from django.db import connections

from biblogin.borrowercheck import throttling
from biblogin.integrations.library_systems.simulated import SimulatedLibrarySystem
from tests.oidc_flow import APP_ID, APP_REDIRECT, Pkce

AGENCY = "710100"
# Anna Andersen at 710100 (the demo data): one borrower, known by her CPR and a borrower number.
ANNA_CPR, ANNA_NUMBER, ANNA_PIN = "1503851234", "1000001", "1234"
BURST = 20
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class LibraryCalls:
    """Counts the PIN checks that reach the library systems, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self) -> None:
        with self._lock:
            self.count += 1


@pytest.fixture
def library_calls(monkeypatch: pytest.MonkeyPatch) -> LibraryCalls:
    calls = LibraryCalls()
    original = SimulatedLibrarySystem.authenticate

    def counting(self: SimulatedLibrarySystem, *, user_id: str, password: str, timeout: float):
        calls.add()
        return original(self, user_id=user_id, password=password, timeout=timeout)

    monkeypatch.setattr(SimulatedLibrarySystem, "authenticate", counting)
    return calls


@pytest.fixture
def site(live_server: Any, transactional_db: None, settings: Any) -> str:
    """The demo platform on a live server; returns its URL."""
    from django.core.cache import cache

    from biblogin.demo.services import demo_load
    from biblogin.oidc.policy import oauth2_provider_settings

    # A transactional test empties the tables, not the cache: no counters from an earlier test.
    cache.clear()
    url = str(live_server.url)
    settings.BASE_URL = url
    settings.OIDC_ISSUER = url + "/login"
    settings.OAUTH2_PROVIDER = oauth2_provider_settings(issuer=url + "/login")
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    # The throttle alone holds the limit here: the per-agency bulkhead (R-BC-6) would refuse
    # part of a burst without asking the library, which gives those attempts back.
    settings.BORROWER_CHECK_BULKHEAD_SIZE = 64
    demo_load(base_url=url)
    return url


def _login_form(url: str) -> Callable[[str, str], requests.Response]:
    """A browser at the library's login page (its own session); returns its 'post the form'."""
    session = requests.Session()
    params = {
        "response_type": "code",
        "client_id": APP_ID,
        "redirect_uri": APP_REDIRECT,
        "scope": "openid profile",
        "state": "s",
        "nonce": "n",
        "code_challenge": Pkce().challenge,
        "code_challenge_method": "S256",
        "agency": AGENCY,
        "prompt": "login",
    }
    page = session.get(f"{url}/login/authorize/?{urlencode(params)}", timeout=30)
    assert page.status_code == 200 and f"/login/bibliotek/{AGENCY}/" in page.url, page.url
    token = _CSRF.search(page.text)
    assert token, "no CSRF token on the login page"
    plan = page.url.split("plan=", 1)[1]

    def post(user_id: str, pin: str) -> requests.Response:
        data = {
            "csrfmiddlewaretoken": token.group(1),
            "plan": plan,
            "user_id": user_id,
            "password": pin,
        }
        return session.post(page.url, data=data, allow_redirects=False, timeout=60)

    return post


def _burst(url: str, user_ids: list[str], pin: str) -> list[int]:
    """Open one login page per attempt, then post them all at the same moment."""
    forms = [_login_form(url) for _ in user_ids]
    start = threading.Barrier(len(forms))

    def one(index: int) -> int:
        start.wait()
        return forms[index](user_ids[index], pin).status_code

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        return list(pool.map(one, range(len(forms))))


def test_twenty_simultaneous_wrong_pins_reach_the_library_at_most_five_times(
    site: str, library_calls: LibraryCalls
) -> None:
    """R-LOGIN-5: an attempt is reserved before the library is asked, whatever the concurrency.

    20 wrong PINs for one (agency, user ID) at once: at most 5 reach the library system, every
    answer is a wrong-PIN page or the block (never a 500), and the pair is blocked afterwards.
    """
    statuses = _burst(site, [ANNA_NUMBER] * BURST, "0000")
    print(f"R-LOGIN-5 burst: {library_calls.count} of {BURST} reached the library system")
    assert library_calls.count <= throttling.PAIR_MAX_FAILURES, (
        f"{library_calls.count} of {BURST} reached the library system"
    )
    assert set(statuses) <= {200, 429}, statuses
    assert statuses.count(429) >= BURST - throttling.PAIR_MAX_FAILURES
    # Blocked now, even with the right PIN, and the library is not asked.
    calls = library_calls.count
    assert _login_form(site)(ANNA_NUMBER, ANNA_PIN).status_code == 429
    assert library_calls.count == calls


def test_one_burst_raises_the_doubling_level_once(site: str, library_calls: LibraryCalls) -> None:
    """R-LOGIN-5: a burst of 20 wrong PINs blocks for 15 minutes; the next block lasts 30.

    The doubling counts blocks, not the failures of one burst that raced past the check.
    """
    _burst(site, [ANNA_NUMBER] * BURST, "0000")
    first = throttling.throttle_check(agency_id=AGENCY, user_id=ANNA_NUMBER, ip="")
    assert first.blocked
    assert first.retry_after <= throttling.PAIR_BLOCK_SECONDS + 1, first.retry_after
    # The block ends; five more failures block again, for twice as long (not 4-32 times).
    later = time.time() + throttling.PAIR_BLOCK_SECONDS + 60
    with mock.patch.object(throttling.time, "time", return_value=later):
        for _ in range(throttling.PAIR_MAX_FAILURES):
            throttling.throttle_failure(agency_id=AGENCY, user_id=ANNA_NUMBER, ip="")
        second = throttling.throttle_check(agency_id=AGENCY, user_id=ANNA_NUMBER, ip="")
    assert second.blocked
    # +1: retry_after is rounded up to whole seconds; doubling twice would be 3600 s.
    assert second.retry_after <= 2 * throttling.PAIR_BLOCK_SECONDS + 1, second.retry_after


def test_cpr_and_borrower_number_of_one_borrower_share_one_budget_under_a_burst(
    site: str, library_calls: LibraryCalls
) -> None:
    """R-LOGIN-5: once the library said whose IDs these are, the budget is the borrower's.

    Anna logs in once (the library tells her CPR and borrower number); then 20 wrong PINs at
    once, half under each ID, reach the library at most 5 times in all.
    """
    assert _login_form(site)(ANNA_NUMBER, ANNA_PIN).status_code == 302
    calls = library_calls.count
    _burst(site, [ANNA_CPR, ANNA_NUMBER] * (BURST // 2), "0000")
    assert library_calls.count - calls <= throttling.PAIR_MAX_FAILURES, (
        f"{library_calls.count - calls} of {BURST} reached the library system"
    )
    for user_id in (ANNA_CPR, ANNA_NUMBER):
        assert throttling.throttle_check(agency_id=AGENCY, user_id=user_id, ip="").blocked
    calls = library_calls.count
    # However it is typed, and with the right PIN: refused without asking the library.
    assert _login_form(site)("150385-1234", ANNA_PIN).status_code == 429
    assert library_calls.count == calls


@pytest.mark.django_db(transaction=True)
def test_the_ip_counter_is_exact_under_concurrency(demo: None) -> None:
    """R-LOGIN-5: 71 simultaneous failures from one IP count 71 (100 an hour block the IP).

    Threads count failures of 71 different pairs at once; 28 more leave the IP open, the 29th
    (the 100th failure in the hour) blocks it. The clock stands still mid-hour, so the sliding
    window's previous hour weighs nothing.
    """
    ip = "198.51.100.71"
    now = (time.time() // 3600) * 3600 + 1800
    start = threading.Barrier(71)

    def fail(n: int) -> None:
        start.wait()
        try:
            throttling.throttle_failure(agency_id=AGENCY, user_id=f"71{n:05d}", ip=ip)
        finally:
            connections.close_all()

    with mock.patch.object(throttling.time, "time", return_value=now):
        with ThreadPoolExecutor(max_workers=71) as pool:
            list(pool.map(fail, range(71)))
        for n in range(28):
            state = throttling.throttle_failure(agency_id=AGENCY, user_id=f"72{n:05d}", ip=ip)
            assert not state.blocked, f"blocked after {71 + n + 1} failures"
        assert throttling.throttle_failure(agency_id=AGENCY, user_id="7300000", ip=ip).blocked

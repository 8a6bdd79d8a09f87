"""R-LOGIN-1, RFC 9700 §4.14.2 under real concurrency: twenty rotations of one refresh token sent
at the same moment to the production server (``biblogin serve``: two worker processes, the lean
token path, the test database, and Redis in CI's second run).

The in-process test (tests/oidc/test_hotpath_entry.py) races two threads of one process; here the
requests come through sockets and land on two processes, as an attacker's would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from django.test import Client

from tests.oidc_flow import APP_ID, APP_REDIRECT, OIDCFlow, query_of

pytestmark = pytest.mark.django_db(transaction=True)

Site = Callable[..., str]
BURST = 20
# Anna Andersen at 710100, from the demo data.
AGENCY, ANNA_NUMBER, ANNA_PIN = "710100", "1000001", "1234"


def _login(url: str) -> dict[str, Any]:
    """A whole code flow as a browser and a public client do it; return the token response."""
    browser = requests.Session()
    params, started = OIDCFlow(Client()).authorize_params(agency=AGENCY)
    page = browser.get(f"{url}/login/authorize/?{urlencode(params)}", timeout=30)
    assert page.status_code == 200 and f"/login/bibliotek/{AGENCY}/" in page.url, page.url
    form = {
        "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        "plan": page.url.split("plan=", 1)[1],
        "user_id": ANNA_NUMBER,
        "password": ANNA_PIN,
    }
    answer = browser.post(page.url, data=form, allow_redirects=False, timeout=30)
    # Follow the platform's redirects up to the client's redirect URI (nothing listens there).
    while answer.status_code == 302 and not answer.headers["Location"].startswith(APP_REDIRECT):
        location = requests.compat.urljoin(url, answer.headers["Location"])
        answer = browser.get(location, allow_redirects=False, timeout=30)
    assert answer.status_code == 302, (answer.status_code, answer.text[:300])
    code = query_of(answer.headers["Location"])["code"]
    tokens = requests.post(
        f"{url}/login/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": APP_REDIRECT,
            "code_verifier": started.pkce.verifier,
            "client_id": APP_ID,
        },
        timeout=30,
    )
    assert tokens.status_code == 200, tokens.text
    return dict(tokens.json())


def _refresh(url: str, refresh_token: str) -> requests.Response:
    return requests.post(
        f"{url}/login/token/",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": APP_ID},
        timeout=60,
    )


def test_twenty_simultaneous_rotations_of_one_refresh_token_give_one_new_token(
    production_site: Site,
) -> None:
    """R-LOGIN-1, RFC 9700 §4.14.2: of twenty parallel rotations exactly one wins, the others are
    a reuse (invalid_grant, never a 500), and the reuse revokes the family, the winner's included.
    """
    url = production_site(workers=2, threads=8)
    tokens = _login(url)
    start = threading.Barrier(BURST)

    def rotate(_: int) -> requests.Response:
        start.wait()
        return _refresh(url, tokens["refresh_token"])

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        answers = list(pool.map(rotate, range(BURST)))

    statuses = sorted(a.status_code for a in answers)
    print(f"RFC 9700 rotation burst: statuses {statuses}")
    winners = [a.json() for a in answers if a.status_code == 200]
    assert len(winners) == 1, statuses
    assert statuses.count(400) == BURST - len(winners), statuses
    assert all(a.json()["error"] == "invalid_grant" for a in answers if a.status_code == 400)
    # Every token of the family is dead now: the original pair and any winner's new one.
    for refresh_token in [tokens["refresh_token"], *(w["refresh_token"] for w in winners)]:
        assert _refresh(url, refresh_token).status_code == 400
    for access_token in [tokens["access_token"], *(w["access_token"] for w in winners)]:
        userinfo = requests.get(
            f"{url}/login/userinfo/",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=30,
        )
        assert userinfo.status_code == 401, userinfo.text

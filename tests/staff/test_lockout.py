"""R-SEC-4: staff logins to the admin are locked after repeated wrong passwords (django-axes)."""

from __future__ import annotations

import re
import threading

import httpx
import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client

from biblogin.common.models import User

PASSWORD = "Rigtig-Adgangskode-42"


def staff(username: str = "medarbejder") -> User:
    return get_user_model().objects.create_user(username=username, password=PASSWORD, is_staff=True)


def admin_login(client: Client, password: str, username: str = "medarbejder", **extra):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        **extra,
    )


def is_in_admin(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_account_and_then_the_right_one_is_refused(settings):
    """R-SEC-4: after AXES_FAILURE_LIMIT wrong passwords even the right one is refused."""
    staff()
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert admin_login(client, "forkert").status_code == 200
    fifth = admin_login(client, "forkert")
    assert fifth.status_code == 429

    refused = admin_login(client, PASSWORD)
    assert refused.status_code == 429
    text = refused.content.decode()
    assert "Kontoen er midlertidigt låst" in text
    assert "Prøv igen om 30 minutter" in text
    assert not is_in_admin(client)


@pytest.mark.django_db
def test_the_lockout_message_is_in_english_for_an_english_browser(settings):
    """R-SEC-4: the lockout page says what happened in English too."""
    staff()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        admin_login(client, "wrong")
    refused = admin_login(client, PASSWORD)
    assert refused.status_code == 429
    text = refused.content.decode()
    assert "The account is temporarily locked" in text
    assert "Try again in 30 minutes" in text


@pytest.mark.django_db
def test_the_lockout_is_per_account_and_ip_pair(settings):
    """R-SEC-4: a locked pair does not lock the same account from another address."""
    staff()
    attacker = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        admin_login(attacker, "forkert", REMOTE_ADDR="198.51.100.7")
    assert admin_login(attacker, PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 429

    colleague = Client()
    assert admin_login(colleague, PASSWORD).status_code == 302
    assert is_in_admin(colleague)


@pytest.mark.django_db
def test_a_right_password_before_the_limit_resets_the_count(settings):
    """R-SEC-4: typos spread over a working day do not add up to a lockout."""
    staff()
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        admin_login(client, "forkert")
    assert admin_login(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert admin_login(client, "forkert").status_code == 200
    assert admin_login(client, PASSWORD).status_code == 302


def test_patron_pin_logins_are_not_throttled_by_the_staff_lockout(app, settings):
    """R-SEC-4 / R-LOGIN-5: axes counts only /admin/; PIN logins have their own throttle."""
    staff()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        admin_login(Client(), "forkert")
    assert admin_login(Client(), PASSWORD).status_code == 429  # this IP's staff pair is locked
    attempts = AccessAttempt.objects.count()

    started = app.start(prompt="login")
    page = app.follow(started.response)
    plan = page.wsgi_request.GET["plan"]
    wrong = app.browser.post(
        f"/login/bibliotek/710100/?plan={plan}",
        {"plan": plan, "user_id": "1000001", "password": "0000"},
    )
    assert wrong.status_code == 200
    assert AccessAttempt.objects.count() == attempts, "a wrong PIN was counted by axes"

    tokens = app.login_library(agency_id="710100", user_id="1000001", pin="1234")
    assert "id_token" in tokens  # same IP as the locked staff pair, yet the patron logs in


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_wrong_passwords_reach_the_password_check_at_most_five_times(
    live_server, settings, monkeypatch
):
    """R-SEC-4: the lockout holds under concurrency; then the right password is refused.

    Twenty clients post a wrong password at the same moment to a live (threaded) server.
    """
    settings.CSRF_COOKIE_SECURE = settings.SESSION_COOKIE_SECURE = False  # plain-HTTP loopback
    staff()
    checks: list[str] = []
    original = User.check_password

    def counting(self: User, raw_password: str | None) -> bool:
        checks.append(raw_password or "")
        return original(self, raw_password)

    monkeypatch.setattr(User, "check_password", counting)
    url = f"{live_server.url}/admin/login/"
    clients = [httpx.Client(timeout=60) for _ in range(20)]
    tokens = []
    for c in clients:
        page = c.get(url)
        tokens.append(re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1])
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def wrong(c: httpx.Client, token: str) -> None:
        barrier.wait()
        r = c.post(
            url,
            data={"csrfmiddlewaretoken": token, "username": "medarbejder", "password": "forkert"},
            headers={"Referer": url},
        )
        statuses.append(r.status_code)

    threads = [threading.Thread(target=wrong, args=(c, t)) for c, t in zip(clients, tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(statuses)) in ([200, 429], [429]), statuses
    assert len(checks) <= settings.AXES_FAILURE_LIMIT, len(checks)

    right = clients[0].post(
        url,
        data={"csrfmiddlewaretoken": tokens[0], "username": "medarbejder", "password": PASSWORD},
        headers={"Referer": url},
    )
    assert right.status_code == 429
    assert clients[0].get(f"{live_server.url}/admin/", follow_redirects=False).status_code == 302
    for c in clients:
        c.close()

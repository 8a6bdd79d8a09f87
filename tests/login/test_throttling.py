"""R-LOGIN-5: throttling of library logins, checked before the borrower check is called."""

from __future__ import annotations

import time

import pytest

from biblogin.audit.models import AuditEvent
from biblogin.borrowercheck import throttling
from biblogin.integrations.library_systems.simulated import SimulatedLibrarySystem
from tests.clock import clock_moved
from tests.oidc_flow import OIDCFlow

pytestmark = pytest.mark.django_db


@pytest.fixture
def library_calls(monkeypatch):
    """Count calls to the library systems (the integration boundary), letting them through."""
    calls: list[str] = []
    original = SimulatedLibrarySystem.authenticate

    def counting(self, *, user_id, password, timeout):
        calls.append(self.agency_id)
        return original(self, user_id=user_id, password=password, timeout=timeout)

    monkeypatch.setattr(SimulatedLibrarySystem, "authenticate", counting)
    return calls


def attempt(
    flow: OIDCFlow, user_id: str, pin: str, agency_id: str = "710100", ip: str = "203.0.113.9"
):
    started = flow.start(prompt="login")  # never answered from an earlier login (SSO)
    page = flow.follow(started.response)
    plan = page.wsgi_request.GET["plan"]
    response = flow.browser.post(
        f"/login/bibliotek/{agency_id}/?plan={plan}",
        {"plan": plan, "user_id": user_id, "password": pin},
        REMOTE_ADDR=ip,
    )
    return started, response


def test_the_sixth_wrong_pin_is_refused_without_calling_the_library_system(app, library_calls):
    """R-LOGIN-5: after 5 failures in a row the pair is blocked; the 6th never reaches the ILS."""
    for attempt_no in range(1, 5):
        _, page = attempt(app, "1000001", "0000")
        assert page.status_code == 200
        left = 5 - attempt_no
        assert f"Du har {left} forsøg tilbage" in page.content.decode()
    _, fifth = attempt(app, "1000001", "0000")
    assert fifth.status_code == 429  # the fifth failure blocks the pair
    assert len(library_calls) == 5

    _, sixth = attempt(app, "1000001", "1234")  # even the right PIN
    assert sixth.status_code == 429
    assert len(library_calls) == 5, "the library system was called while blocked"
    assert int(sixth["Retry-After"]) > 14 * 60
    assert "Login er midlertidigt spærret" in sixth.content.decode()
    assert AuditEvent.objects.filter(action="login_lockout", outcome="pair").count() == 1
    assert AuditEvent.objects.filter(action="login_throttled").count() == 1


def test_the_same_borrower_typed_differently_is_one_pair(app, library_calls):
    """R-BC-4, R-LOGIN-5: the pair is keyed by the normalised user ID."""
    for typed in ("1503851234", "150385-1234", " 150385 1234", "1503851234", "150385-1234"):
        attempt(app, typed, "0000")
    _, blocked = attempt(app, "1503851234", "1234")
    assert blocked.status_code == 429


def test_another_pair_is_not_blocked(app, library_calls):
    """R-LOGIN-5: the block is per (agency, user ID)."""
    for _ in range(5):
        attempt(app, "1000001", "0000")
    _started, response = attempt(app, "0207921235", "2222")
    assert app.follow(response).status_code == 302


def test_success_resets_the_pairs_counter(app):
    """R-LOGIN-5: success resets the pair's counter (4 failures, success, 4 failures: no block)."""
    for _ in range(4):
        attempt(app, "1000001", "0000")
    started, response = attempt(app, "1000001", "1234")
    app.code_from(app.follow(response), started)
    for _ in range(4):
        _, page = attempt(app, "1000001", "0000")
        assert page.status_code == 200
    assert "Du har 1 forsøg tilbage" in page.content.decode()


def test_a_repeated_block_lasts_twice_as_long(app, library_calls):
    """R-LOGIN-5: 15 minutes, doubling on repeat."""
    for _ in range(5):
        attempt(app, "1000001", "0000")
    first = throttling.throttle_check(agency_id="710100", user_id="1000001", ip="")
    assert 14 * 60 < first.retry_after <= 15 * 60 + 1  # whole seconds, rounded up
    # The block ends; five more failures block again, for 30 minutes.
    with clock_moved(throttling, seconds=16 * 60):
        for _ in range(5):
            throttling.throttle_failure(agency_id="710100", user_id="1000001", ip="")
        second = throttling.throttle_check(agency_id="710100", user_id="1000001", ip="")
    assert 29 * 60 < second.retry_after <= 30 * 60 + 1


def test_the_ip_is_blocked_after_100_failures_in_an_hour(app, library_calls):
    """R-LOGIN-5: 100 failures per hour from one IP block the IP, whatever the user IDs."""
    ip = "198.51.100.7"
    for n in range(99):
        throttling.throttle_failure(agency_id="710100", user_id=f"99{n:05d}", ip=ip)
    _, page = attempt(app, "1000009", "0000", ip=ip)  # the 100th failure
    assert page.status_code == 429
    calls = len(library_calls)
    _, refused = attempt(app, "1000001", "1234", ip=ip)
    assert refused.status_code == 429 and len(library_calls) == calls
    assert "netværksforbindelse" in refused.content.decode()
    # Another address is not affected.
    started, response = attempt(app, "1000001", "1234", ip="198.51.100.8")
    app.code_from(app.follow(response), started)


def test_the_client_ip_comes_from_trusted_proxies_only(rf, settings):
    """R-LOGIN-5: X-Forwarded-For counts only as far as our own proxies wrote it."""
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    settings.LOGIN_TRUSTED_PROXY_COUNT = 0
    assert throttling.client_ip(request) == "10.0.0.1"
    settings.LOGIN_TRUSTED_PROXY_COUNT = 1
    assert throttling.client_ip(request) == "203.0.113.5"


def test_cpr_and_borrower_number_of_one_borrower_share_one_budget(app, library_calls):
    """R-LOGIN-5: once the library said whose IDs these are, failures under any share a budget.

    Anna logs in with her CPR; then 3 wrong PINs under the CPR and 2 under her borrower number
    block her (the 5th failure), under both IDs, without asking the library again.
    """
    started, response = attempt(app, "1503851234", "1234")
    app.code_from(app.follow(response), started)
    for _ in range(3):
        assert attempt(app, "150385-1234", "0000")[1].status_code == 200
    _, fourth = attempt(app, "1000001", "0000")
    assert "Du har 1 forsøg tilbage" in fourth.content.decode()
    assert attempt(app, "1000001", "0000")[1].status_code == 429
    assert len(library_calls) == 6
    for user_id in ("1503851234", "1000001"):
        assert attempt(app, user_id, "1234")[1].status_code == 429
    assert len(library_calls) == 6, "the library system was called while blocked"


def test_a_library_that_does_not_answer_uses_up_no_attempt(app, library_calls):
    """R-LOGIN-5, R-BC-3: the attempt reserved before the check is given back without an answer."""
    from biblogin.integrations.library_systems.models import SimulatedSystem

    SimulatedSystem.objects.filter(agency_id="710100").update(down=True)
    for _ in range(6):
        assert attempt(app, "1000001", "0000")[1].status_code == 200
    state = throttling.throttle_check(agency_id="710100", user_id="1000001", ip="")
    assert not state.blocked and state.attempts_left == 5


def test_the_cleanup_command_deletes_expired_counters_only(app):
    """R-LOGIN-5: counters past their memory are deleted by the daily cleanup; live ones stay."""
    from io import StringIO

    from django.core.management import call_command

    from biblogin.borrowercheck.models import ThrottleRow

    ThrottleRow.objects.create(key="pair:old", failures=3, expires=time.time() - 1)
    throttling.throttle_failure(agency_id="710100", user_id="1000001", ip="203.0.113.9")
    out = StringIO()
    call_command("logincleanup", stdout=out)
    assert "1 expired throttling counters deleted" in out.getvalue()
    assert not ThrottleRow.objects.filter(key="pair:old").exists()
    left = throttling.throttle_check(agency_id="710100", user_id="1000001", ip="203.0.113.9")
    assert left.attempts_left == 4

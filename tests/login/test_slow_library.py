"""R-BC-6: one library's slow system does not slow a login at another library (live server).

The server is a live server with a bounded pool of worker threads, as in production (gunicorn's
threaded workers: ``biblogin serve --threads 8``). pytest-django's ``live_server`` starts a thread
per connection without limit, so a slow library could never exhaust it: it would hide the very
defect this proves gone. Requests are real HTTP over loopback, many at once from threads.

Nothing is timed against a bound (a busy machine made a "< 6 s" flaky): what is proven is an
order of events and a count of calls. The slow library's calls are held by the test until the
healthy login is over, or the breaker is open and the slow library asked no more. Without the
bulkhead the held calls take all 8 threads and the login cannot finish while they are held;
without the breaker it never opens.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import WSGIServer
from django.db import connections
from django.test.testcases import LiveServerThread

from biblogin.demo.services import demo_load
from biblogin.integrations.library_systems.services import simulated_system_configure
from biblogin.integrations.library_systems.simulated import SimulatedLibrarySystem
from tests.oidc_flow import APP_ID, APP_REDIRECT, AUTHORIZE

SERVER_THREADS = 8  # ``biblogin serve``'s default threads per worker
HAMMERS = 24
BULKHEAD = 4  # settings.BORROWER_CHECK_BULKHEAD_SIZE
# Only ends a run that is stuck (the defect this proves gone); nothing here is timed against it.
SAFETY_SECONDS = 60
SLOW, SLOW_USER, SLOW_PIN = "715700", "2000001", "1234"
HEALTHY, HEALTHY_USER, HEALTHY_PIN = "710100", "1000001", "1234"
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_STATUS = re.compile(r'data-status="([a-z_]*)"')


class PooledWSGIServer(WSGIServer):
    """Django's WSGI server answering from a fixed pool of threads, like a threaded worker."""

    def __init__(self, *args: Any, connections_override: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = ThreadPoolExecutor(max_workers=SERVER_THREADS, thread_name_prefix="worker")

    def process_request(self, request: Any, client_address: Any) -> None:
        # Queued when every thread is busy: a request waits for a free worker thread.
        self.pool.submit(self._answer, request, client_address)

    def _answer(self, request: Any, client_address: Any) -> None:
        # Each thread keeps its database connection between requests, as a production worker
        # does (CONN_MAX_AGE); Django closes it at request end only when it has grown too old.
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        # Close every thread's connection in that thread (one task each, held at a barrier so
        # that no thread takes two): the test database can then be flushed and dropped.
        barrier = threading.Barrier(SERVER_THREADS)

        def close() -> None:
            barrier.wait(10)
            connections.close_all()

        for _ in range(SERVER_THREADS):
            self.pool.submit(close)
        self.pool.shutdown(wait=True, cancel_futures=False)


class PooledLiveServerThread(LiveServerThread):
    server_class = PooledWSGIServer


@pytest.fixture
def pooled_server(transactional_db: None, settings: Any) -> Iterator[str]:
    # Each simulated user comes from their own address through our one trusted proxy, so the
    # per-IP throttling (R-LOGIN-5) sees many users, as it would in production.
    settings.LOGIN_TRUSTED_PROXY_COUNT = 1
    demo_load()
    thread = PooledLiveServerThread(
        "127.0.0.1", static_handler=StaticFilesHandler, connections_override={}, port=0
    )
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


@dataclass
class Browser:
    """One user's cookies (set by hand: the test server's cookies are Secure, the URL is http)."""

    base_url: str
    ip: str
    cookies: dict[str, str] = field(default_factory=dict)

    def send(self, client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "X-Forwarded-For": self.ip,
        }
        response = client.request(method, self.base_url + url, headers=headers, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            name, _, value = header.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value
        return response

    def login_page(self, client: httpx.Client, agency_id: str) -> tuple[str, str, str]:
        """Start a code flow locked to the library; return its form URL, plan and CSRF token."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = urlencode(
            {
                "response_type": "code",
                "client_id": APP_ID,
                "redirect_uri": APP_REDIRECT,
                "scope": "openid",
                "state": secrets.token_urlsafe(8),
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
                "agency": agency_id,
                "prompt": "login",
            }
        )
        response = self.send(client, "GET", f"{AUTHORIZE}?{query}")
        assert response.status_code == 302, response.text[:300]
        form_url = response.headers["location"]
        assert form_url.startswith(f"/login/bibliotek/{agency_id}/"), form_url
        page = self.send(client, "GET", form_url)
        assert page.status_code == 200
        csrf = _CSRF.search(page.text)
        assert csrf is not None
        return form_url, parse_qs(urlsplit(form_url).query)["plan"][0], csrf.group(1)

    def post_pin(
        self, client: httpx.Client, form: tuple[str, str, str], user_id: str, pin: str
    ) -> httpx.Response:
        form_url, plan, csrf = form
        data = {"csrfmiddlewaretoken": csrf, "plan": plan, "user_id": user_id, "password": pin}
        return self.send(client, "POST", form_url, data=data)


def healthy_login(base_url: str) -> None:
    """A whole library login at the healthy library, up to the code."""
    browser = Browser(base_url, ip="203.0.113.200")
    with httpx.Client(timeout=120) as client:
        form = browser.login_page(client, HEALTHY)
        response = browser.post_pin(client, form, HEALTHY_USER, HEALTHY_PIN)
        assert response.status_code == 302, _STATUS.findall(response.text)
        resumed = browser.send(client, "GET", response.headers["location"])
        assert resumed.status_code == 302
        assert resumed.headers["location"].startswith(APP_REDIRECT + "?code=")


def hammer(
    base_url: str, number: int, stop: threading.Event, seen: list[str], errors: list[str]
) -> None:
    """An anonymous user trying the slow library over and over, as fast as it answers."""
    browser = Browser(base_url, ip=f"198.51.100.{number + 1}")
    try:
        with httpx.Client(timeout=300) as client:
            form = browser.login_page(client, SLOW)
            while not stop.is_set():
                # A new unknown user each time: the pair throttling (R-LOGIN-5) never answers for
                # the library; the system has to be asked (and is slow to say "not found").
                response = browser.post_pin(client, form, f"X{secrets.randbelow(10**9)}", "0000")
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:200]!r}")
                seen.extend(_STATUS.findall(response.text))
                if "kan ikke svare lige nu" in response.text:  # R-LOGIN-4: its clear message
                    seen.append("message shown")
    except Exception as exc:  # a thread's failure must fail the test, not vanish
        errors.append(repr(exc))


class SlowLibrary:
    """The slow library's system as the test sees it: every call to it, counted as it happens.

    ``held``: each call waits until the test lets go (``release``), then answers "not found" as
    the library would; a library answering inside its timeout, only as late as the test wants.
    Otherwise each call waits its full timeout and times out (the configured 10 s latency).
    """

    def __init__(self, *, held: bool) -> None:
        self.held = held
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.started = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.opened = threading.Event()  # the breaker opened (R-BC-6)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = SimulatedLibrarySystem._cross_the_wire
        library = self

        def cross(system: SimulatedLibrarySystem, timeout: float) -> None:
            if system.agency_id != SLOW:
                return original(system, timeout)
            with library.lock:
                library.started += 1
                library.in_flight += 1
                library.most_in_flight = max(library.most_in_flight, library.in_flight)
            try:
                if library.held:
                    # Safety only: a test that failed must not leave the server's threads stuck.
                    library.release.wait(SAFETY_SECONDS * 2)
                    return None
                return original(system, timeout)
            finally:
                with library.lock:
                    library.in_flight -= 1

        monkeypatch.setattr(SimulatedLibrarySystem, "_cross_the_wire", cross)

        class Opened(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if (
                    "breaker=open" in record.getMessage()
                    and f"agency={SLOW}" in record.getMessage()
                ):
                    library.opened.set()

        handler = Opened()
        guard_logger = logging.getLogger("biblogin.borrowercheck.guard")
        guard_logger.addHandler(handler)
        self.remove_handler = lambda: guard_logger.removeHandler(handler)

    def snapshot(self) -> tuple[int, int]:
        with self.lock:
            return self.started, self.in_flight


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Wait for a state of the run (not a time bound: the safety limit only ends a stuck run)."""
    deadline = time.monotonic() + SAFETY_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"never reached: {what}"
        time.sleep(0.05)


def login_beside(
    library: SlowLibrary, base_url: str
) -> tuple[bool, tuple[int, int], tuple[int, int]]:
    """Log in at the healthy library in a thread; return whether it finished while the slow
    library was still held, and the slow library's (started, in flight) before and after."""
    before = library.snapshot()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            healthy_login(base_url)
        except BaseException as exc:  # reported by the test
            failure.append(exc)

    login = threading.Thread(target=run, daemon=True)
    login.start()
    login.join(SAFETY_SECONDS)
    finished_while_held = not login.is_alive() and not library.release.is_set()
    after = library.snapshot()
    library.release.set()  # let the held calls answer; a stuck login can now finish
    login.join(SAFETY_SECONDS)
    assert not failure, failure
    return finished_while_held, before, after


@contextmanager
def hammering(base_url: str) -> Iterator[tuple[list[str], list[str]]]:
    """24 users hammering the slow library until the block ends; what they saw, what failed."""
    stop = threading.Event()
    seen: list[str] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=hammer, args=(base_url, n, stop, seen, errors), daemon=True)
        for n in range(HAMMERS)
    ]
    for thread in threads:
        thread.start()
    try:
        yield seen, errors
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)


@pytest.fixture
def slow_library_held(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[SlowLibrary]:
    # The slow library answers inside its timeout, however long the test holds it: the breaker
    # cannot help (nothing fails), only the bulkhead can.
    settings.BORROWER_CHECK_TIMEOUT_SECONDS = SAFETY_SECONDS * 3
    library = SlowLibrary(held=True)
    library.install(monkeypatch)
    yield library
    library.release.set()
    library.remove_handler()


@pytest.fixture
def slow_library_timing_out(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> Iterator[SlowLibrary]:
    # Never answers within the 3 s timeout; the breaker, once open, stays open for the test.
    settings.BORROWER_CHECK_BREAKER_COOLDOWN_SECONDS = 3600
    simulated_system_configure(agency_id=SLOW, latency_ms=10_000)
    library = SlowLibrary(held=False)
    library.install(monkeypatch)
    yield library
    library.remove_handler()


def test_a_login_at_a_healthy_library_finishes_while_a_slow_library_holds_its_calls_R_BC_6(
    pooled_server, slow_library_held, caplog
):
    """R-BC-6: a library that answers, but only when the test lets it, ties up at most its
    bulkhead's 4 of the server's 8 threads; a login at another library finishes meanwhile.

    No time is measured: the slow library's calls are held until the healthy login is over, so
    without the bulkhead all 8 threads wait in it and the login cannot finish until released.
    """
    library = slow_library_held
    healthy_login(pooled_server)  # alone: the login works
    with hammering(pooled_server) as (seen, errors):
        try:
            # The slow library holds as many calls as its bulkhead lets in (all 8 threads, were
            # there none); the next users are refused at once.
            wait_for(lambda: library.snapshot()[1] >= BULKHEAD, "the slow library's bulkhead full")
            finished_while_held, before, after = login_beside(library, pooled_server)
        finally:
            library.release.set()  # before the hammers are joined: theirs may be held
    print(f"slow library: {before} before the login, {after} after (started, in flight)")
    assert finished_while_held, "the healthy login waited for the slow library"
    # It really was held all along: the bulkhead's calls in flight before and after the login.
    assert before[1] == after[1] == BULKHEAD
    assert library.most_in_flight == BULKHEAD  # never more than the bulkhead (R-BC-6)
    assert errors == []
    # The users of the slow library were told at once that it is not answering (R-LOGIN-4).
    assert "service_unavailable" in seen
    assert "message shown" in seen
    refusals = [r.getMessage() for r in caplog.records if "library system not asked" in r.msg]
    assert any("reason=bulkhead_full" in message for message in refusals)


def test_a_login_at_a_healthy_library_asks_nothing_of_a_library_whose_breaker_opened_R_BC_3(
    pooled_server, slow_library_timing_out, caplog
):
    """R-BC-3, R-BC-6: a library that never answers within the timeout gives
    ``service_unavailable``; after 3 timeouts its breaker opens and it is not asked at all, so
    a login at another library finds every server thread free of it.

    No time is measured: what is counted is that no call to the slow library started while the
    healthy login ran, and none was left in flight by then.
    """
    library = slow_library_timing_out
    healthy_login(pooled_server)
    with hammering(pooled_server) as (seen, errors):
        wait_for(library.opened.is_set, "the slow library's breaker open")
        # The calls that were under way when it opened end at their timeout.
        wait_for(lambda: library.snapshot()[1] == 0, "the slow library's last calls timed out")
        wait_for(lambda: "service_unavailable" in seen, "a user of the slow library refused")
        finished, before, after = login_beside(library, pooled_server)
    print(f"slow library: {before} before the login, {after} after (started, in flight)")
    assert finished
    assert after == before, "the slow library was asked while its breaker was open"
    assert library.most_in_flight <= BULKHEAD
    assert errors == []
    assert "message shown" in seen
    refusals = [r.getMessage() for r in caplog.records if "library system not asked" in r.msg]
    assert any("reason=circuit_open" in message for message in refusals)

"""The production server (``biblogin serve``): slow clients, incomplete and oversized bodies, the
access log, and the WSGI environ it builds (README "Production").

The servers here are real processes started as the demo starts them, on loopback ports of their
own. The only timing bound is "answers within 5 s where it used to never answer" (gunicorn, and
granian's own WSGI mode, gave no answer in 15 s under the same load).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from biblogin.common.server import BufferedWSGI, Pool, run_wsgi, wsgi_environ
from tests.server.slow_clients import get_root, slow_clients

pytestmark = pytest.mark.django_db(transaction=True)

Site = Callable[..., str]
T = TypeVar("T")


def _address(base_url: str) -> tuple[str, int]:
    url = urllib.parse.urlsplit(base_url)
    return str(url.hostname), int(url.port or 80)


def _exchange(host: str, port: int, data: bytes, *, half_close: bool = False) -> bytes:
    """Send raw bytes, optionally stop sending (EOF mid-body), and return what the server says."""
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and not half_close:
                break
        return answer


def test_forty_slow_clients_do_not_stop_get_root_for_everyone(production_site: Site) -> None:
    """Hardening item 4: 40 sockets that sent half a POST body and 20 that sent half their headers
    (slowloris) hold no thread: ``GET /`` still answers, on a server of 1 worker x 2 threads."""
    host, port = _address(production_site(workers=1, threads=2))
    with slow_clients(host, port, half_bodies=40, half_headers=20):
        status, seconds = get_root(host, port, timeout=5)
        assert status == 200, f"GET / gave no answer within {seconds:.1f} s"
        # And again, while they still hang: the server is not merely between two of them.
        assert get_root(host, port, timeout=5)[0] == 200


def test_a_post_whose_body_never_completes_is_not_run(production_site: Site) -> None:
    """R-SEC-3: a client that stops halfway through its body gets 400; the view never sees the
    truncated form (before, Django ran it on half a body and answered 403 for the CSRF check)."""
    host, port = _address(production_site(workers=1, threads=1))
    half = (
        b"POST /log-ind/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n"
        + b"user_id=1&password="
    )
    answer = _exchange(host, port, half, half_close=True)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]


def test_a_body_larger_than_ten_megabytes_is_refused_before_it_is_read(
    production_site: Site,
) -> None:
    """R-SEC-3: an announced 20 MB body gets 413 at once; nothing of it needs to be sent."""
    host, port = _address(production_site(workers=1, threads=1))
    head = (
        b"POST /login/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20000000\r\n\r\n"
    )
    assert _exchange(host, port, head).startswith(b"HTTP/1.1 413")


def test_access_lines_pass_the_logging_config_and_leave_out_the_query_string(
    production_site: Site, tmp_path: Path
) -> None:
    """R-SEC-2: access lines come from the ``biblogin.access`` logger through LOGGING (the CPR
    mask); codes and state in query strings are not written at all."""
    log = tmp_path / "server.log"
    base_url = production_site(workers=1, threads=1, env={"BIBLOGIN_LOG_LEVEL": "INFO"}, log=log)
    host, port = _address(base_url)
    request = (
        b"GET /profil/0101701234/?code=SECRET-CODE&state=SECRET-STATE HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert _exchange(host, port, request).startswith(b"HTTP/1.1 404")
    # The server writes the access line after the answer is sent: wait for it to arrive.
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in log.read_text().splitlines() if '"GET /profil/' in line]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert lines == [lines[0]] and lines[0].startswith('127.0.0.1 - "GET /profil/010170-XXXX/ ')
    assert '" 404 ' in lines[0]
    assert "SECRET" not in log.read_text() and "0101701234" not in log.read_text()


def _scope(headers: list[tuple[str, str]]) -> SimpleNamespace:
    """An RSGI scope as granian gives it (the attributes wsgi_environ reads)."""
    return SimpleNamespace(
        proto="http", http_version="1.1", scheme="http", method="POST",
        path="/log-ind/æ/", query_string="next=%2Fprofil%2F", server="127.0.0.1:8000",
        client="10.0.0.7:51234", headers=SimpleNamespace(items=lambda: headers),
    )  # fmt: skip


def test_the_environ_keeps_forwarded_for_as_the_proxies_wrote_it() -> None:
    """R-LOGIN-5: the trusted-proxy count reads X-Forwarded-For from the right; a header that
    only looks like it (``X_Forwarded_For``) is dropped, not merged into it."""
    scope = _scope(
        [
            ("x-forwarded-for", "203.0.113.9, 198.51.100.4"),
            ("x_forwarded_for", "6.6.6.6"),
            ("content-type", "text/plain"),
            ("content-length", "999"),
        ]
    )
    environ = wsgi_environ(scope, b"abc")
    assert environ["HTTP_X_FORWARDED_FOR"] == "203.0.113.9, 198.51.100.4"
    assert environ["REMOTE_ADDR"] == "10.0.0.7"
    assert environ["CONTENT_TYPE"] == "text/plain" and environ["CONTENT_LENGTH"] == "3"
    assert environ["PATH_INFO"].encode("latin-1").decode() == "/log-ind/æ/"
    assert environ["QUERY_STRING"] == "next=%2Fprofil%2F"
    assert environ["wsgi.input"].read() == b"abc"


def test_a_repeated_header_is_joined_as_one_list() -> None:
    """Two X-Forwarded-For lines (a proxy that adds its own) read as one comma list."""
    scope = _scope([("x-forwarded-for", "203.0.113.9"), ("x-forwarded-for", "198.51.100.4")])
    assert wsgi_environ(scope, b"")["HTTP_X_FORWARDED_FOR"] == "203.0.113.9,198.51.100.4"


_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_", min_size=1, max_size=20)


@given(
    headers=st.lists(st.tuples(_NAMES, st.text(max_size=30)), max_size=8),
    path=st.text(min_size=1, max_size=40).map(lambda p: "/" + p),
    body=st.binary(max_size=64),
)
def test_any_request_maps_to_an_environ_django_reads_back(
    headers: list[tuple[str, str]], path: str, body: bytes
) -> None:
    """No header with an underscore gets in, the length is what was read, the path survives."""
    scope = _scope(headers)
    scope.path = path
    environ = wsgi_environ(scope, body)
    assert environ["CONTENT_LENGTH"] == str(len(body)) and environ["wsgi.input"].read() == body
    assert environ["PATH_INFO"].encode("latin-1") == path.encode("utf-8", "surrogateescape")
    forwarded = {n.upper().replace("-", "_") for n, _ in headers if "_" not in n}
    for key in environ:
        if key.startswith("HTTP_"):
            assert key[5:] in forwarded


def test_the_application_runs_in_the_calling_thread_and_is_closed() -> None:
    """run_wsgi collects the whole body and calls close() (Django's request_finished)."""
    closed: list[bool] = []

    class Body(list[bytes]):
        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> Body:
        start_response("201 Created", [("X-A", "1")])
        return Body([b"a", b"b"])

    assert run_wsgi(app, {}) == (201, [("X-A", "1")], b"ab")
    assert closed == [True]


class _Headers(dict[str, str]):
    pass


def _request_scope(method: str, path: str) -> SimpleNamespace:
    return SimpleNamespace(
        proto="http", method=method, path=path, query_string="", server="127.0.0.1:8000",
        client="127.0.0.1:5555", http_version="1.1", scheme="http", headers=_Headers(),
    )  # fmt: skip


def _run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(main())`` on a thread of its own, as granian runs the server's loop: the
    browser tests' Playwright (sync API) keeps an event loop running in pytest's thread for the
    rest of the session, where ``asyncio.run`` would refuse to start."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, main()).result()


class _Protocol:
    def __init__(self) -> None:
        self.answers: list[tuple[int, list[tuple[str, str]], bytes]] = []

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.answers.append((status, headers, body))


def _serve(server: BufferedWSGI, requests: list[tuple[str, str]]) -> list[tuple[int, bytes]]:
    async def main() -> list[tuple[int, bytes]]:
        server.__rsgi_init__(asyncio.get_running_loop())
        try:
            answers = []
            for method, path in requests:
                protocol = _Protocol()
                await server.__rsgi__(_request_scope(method, path), protocol)
                status, _, body = protocol.answers[0]
                answers.append((status, body))
            return answers
        finally:
            server.__rsgi_del__(asyncio.get_running_loop())

    return _run(main)


def _thread_name_app() -> Callable[..., list[bytes]]:
    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        if environ["PATH_INFO"] == "/boom/":
            raise RuntimeError("boom")
        start_response("200 OK", [])
        return [threading.current_thread().name.encode()]

    app.hot_routes = frozenset({("GET", "/hot/")})  # type: ignore[attr-defined]
    return app


def test_the_hot_routes_run_on_their_own_threads_and_the_rest_on_the_pool() -> None:
    """Issue 14: the lean path's requests (the app's ``hot_routes``) never queue behind the
    threads that wait on Argon2 or a library; every other request runs on the main pool."""
    server = BufferedWSGI(load=_thread_name_app, threads=2, lean_threads=1)
    answers = _serve(server, [("GET", "/hot/"), ("POST", "/hot/"), ("GET", "/other/")])
    assert answers[0][0] == 200 and answers[0][1].startswith(b"biblogin_lean_")
    assert answers[1][1].startswith(b"biblogin_") and not answers[1][1].startswith(b"biblogin_l")
    assert answers[2][1].startswith(b"biblogin_") and not answers[2][1].startswith(b"biblogin_l")
    # Without lean threads every request goes to the pool.
    plain = BufferedWSGI(load=_thread_name_app, threads=1, lean_threads=0)
    assert not _serve(plain, [("GET", "/hot/")])[0][1].startswith(b"biblogin_lean_")


def test_an_application_error_is_a_500_and_the_pool_serves_on() -> None:
    server = BufferedWSGI(load=_thread_name_app, threads=1, lean_threads=1)
    answers = _serve(server, [("GET", "/boom/"), ("GET", "/hot/"), ("GET", "/other/")])
    assert answers[0] == (500, b"Internal server error.\n")
    assert answers[1][0] == 200 and answers[2][0] == 200


def test_the_pool_answers_each_call_on_its_own_loop() -> None:
    pool = Pool(2, "t")

    async def main() -> list[int]:
        loop = asyncio.get_running_loop()
        return list(await asyncio.gather(*(pool.call(loop, lambda n=n: n * n) for n in range(20))))

    try:
        assert _run(main) == [n * n for n in range(20)]
    finally:
        pool.shutdown()


def test_the_production_server_refuses_a_hostile_charset_with_400_not_500(
    production_site: Site,
) -> None:
    """R-SEC-3: ``biblogin serve`` runs the project's WSGI entry (config.wsgi), whose request
    survives ``charset=rot13`` with a query string; Django's own handler answers 500 to it."""
    host, port = _address(production_site(workers=1, threads=1))
    body = b"user_id=1"
    request = (
        b"POST /log-ind/?q=a HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: application/x-www-form-urlencoded; charset=rot13\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    answer = _exchange(host, port, request)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]


def _os_thread_name_app() -> Callable[..., list[bytes]]:
    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        start_response("200 OK", [])
        return [Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_bytes().strip()]

    app.hot_routes = frozenset({("GET", "/hot/")})  # type: ignore[attr-defined]
    return app


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="Linux /proc")
def test_the_pool_threads_carry_their_names_in_the_os() -> None:
    """Issue 14: ``top -H`` and ``/proc/PID/task`` tell the lean path's threads from Django's
    (bench.hot splits a worker's CPU by them)."""
    server = BufferedWSGI(load=_os_thread_name_app, threads=1, lean_threads=1)
    answers = _serve(server, [("GET", "/hot/"), ("GET", "/other/")])
    assert answers == [(200, b"biblogin_lean_0"), (200, b"biblogin_0")]


def test_serve_starts_one_worker_process_per_core_unless_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 14: one granian worker per core (not 2 x cores + 1): see serve.default_workers."""
    from django.core.management import call_command

    from biblogin.common.management.commands import serve

    started: list[list[str]] = []
    monkeypatch.setattr(serve.os, "execve", lambda path, argv, env: started.append(argv))
    monkeypatch.delenv("BIBLOGIN_WORKERS", raising=False)
    port = _free_port()
    call_command("serve", "--port", str(port))
    call_command("serve", "--port", str(port), "--workers", "3")
    workers = [argv[argv.index("--workers") + 1] for argv in started]
    assert workers == [str(len(os.sched_getaffinity(0))), "3"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

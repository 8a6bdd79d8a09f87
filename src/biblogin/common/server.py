"""The production server's application: granian reads each request whole, then a thread runs Django.

Granian's own WSGI mode hands a request to a Python thread as soon as its headers are in and lets
the thread read the body from the socket: 40 clients that send half a POST body hold 40 threads
for as long as they like, and ``GET /`` waits behind them (measured, see README "Production").
Here granian serves RSGI: headers and body are read on its event loop (a slow client costs a
coroutine, not a thread), with a size cap and a deadline, and only a complete request goes to the
pool of threads that runs the WSGI application. A buffering reverse proxy in front does the same
job at the edge; this keeps the demo and a bare ``biblogin serve`` from being stopped by idle
sockets.

Access lines go to the ``biblogin.access`` logger, so they pass the project's LOGGING config (the
CPR mask) like every other line; the query string is left out (codes, state, tokens).
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

# Larger bodies are refused (413) before they are read: nothing here takes uploads.
MAX_BODY_BYTES = 10 * 1024 * 1024
# A client gets this long to send its whole body once the headers are in (408 after that).
BODY_TIMEOUT_SECONDS = 30.0

access_log = logging.getLogger("biblogin.access")
log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_TEXT = [("content-type", "text/plain; charset=utf-8")]


class BodyTooLarge(Exception):
    pass


async def read_body(protocol: Any, *, limit: int) -> bytes:
    """Read the request body from granian's protocol object, at most ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in protocol:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def wsgi_environ(scope: Any, body: bytes) -> dict[str, Any]:
    """The PEP 3333 environ of an RSGI request scope whose body has been read."""
    server_host, _, server_port = str(scope.server).rpartition(":")
    client_host, _, client_port = str(scope.client).rpartition(":")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        # RSGI gives the percent-decoded path as text; WSGI wants its bytes as latin-1.
        "PATH_INFO": scope.path.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": server_host.strip("[]"),
        "SERVER_PORT": server_port,
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": client_host.strip("[]"),
        "REMOTE_PORT": client_port,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in scope.headers.items():
        if "_" in name:
            # As gunicorn and nginx do: X_Forwarded_For must not pass for X-Forwarded-For.
            continue
        key = name.upper().replace("-", "_")
        if key == "CONTENT_LENGTH":
            continue  # the length of what was read, set above
        if key != "CONTENT_TYPE":
            key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def run_wsgi(app: WSGIApp, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Call the WSGI application in this thread; return status, headers and the whole body."""
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, headers]
        return written.append

    result = app(environ, start_response)
    try:
        body = b"".join([*written, *result])
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()  # Django's request_finished: this thread's database connection
    status, headers = started
    return int(status.split(" ", 1)[0]), [(str(k), str(v)) for k, v in headers], body


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _name_os_thread(name: str) -> None:
    """Give this thread its name in the OS too (top -H, /proc/PID/task/TID/comm), if it can."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.pthread_setname_np(ctypes.c_ulong(threading.get_ident()), name.encode()[:15])
    except (OSError, AttributeError):
        pass


class Pool:
    """Threads that take calls from one queue; each answer goes back to its event loop.

    What ``loop.run_in_executor`` does with a ThreadPoolExecutor, with less on the way: no
    concurrent future chained to the asyncio one, one ``call_soon_threadsafe`` per call.
    """

    def __init__(self, threads: int, name: str) -> None:
        self._calls: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}_{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def call(
        self, loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any
    ) -> asyncio.Future[Any]:
        future = loop.create_future()
        self._calls.put((loop, future, fn, args))
        return future

    def _work(self) -> None:
        _name_os_thread(threading.current_thread().name)
        get = self._calls.get
        while (item := get()) is not None:
            loop, future, fn, args = item
            result: Any = None
            error: BaseException | None = None
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the awaiting coroutine
                error = exc
            loop.call_soon_threadsafe(_settle, future, result, error)
            # No reference to the last request's answer (or error) while waiting for the next.
            del item, future, result, error

    def shutdown(self) -> None:
        for _ in self._threads:
            self._calls.put(None)
        for thread in self._threads:
            thread.join()


class BufferedWSGI:
    """An RSGI application that runs a WSGI application on complete requests in a thread pool.

    The application's ``hot_routes`` (method, path) pairs, the lean path's (issue 14), have
    their own small pool (``lean_threads``): they never wait on an Argon2 verify or a library
    call, and fewer threads taking the GIL in turns costs less per request.
    """

    def __init__(self, *, load: Callable[[], WSGIApp], threads: int, lean_threads: int = 0) -> None:
        self._load = load
        self.threads = threads
        self.lean_threads = lean_threads
        self.app: WSGIApp | None = None
        self.pool: Pool | None = None
        self.lean_pool: Pool | None = None
        self.hot_routes: frozenset[tuple[str, str]] = frozenset()

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # In each worker process, before it serves: Django set-up happens here, not per request.
        self.app = self._load()
        self.pool = Pool(self.threads, "biblogin")
        if self.lean_threads > 0:
            self.hot_routes = frozenset(getattr(self.app, "hot_routes", ()))
            self.lean_pool = Pool(self.lean_threads, "biblogin_lean")

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        for pool in (self.pool, self.lean_pool):
            if pool is not None:
                pool.shutdown()

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return
        if self.app is None or self.pool is None:
            self.__rsgi_init__(asyncio.get_running_loop())
        assert self.app is not None and self.pool is not None
        start = time.monotonic()
        status, headers, body = await self._respond(scope, protocol)
        protocol.response_bytes(status, headers, body)
        if access_log.isEnabledFor(logging.INFO):
            client = str(scope.client).rpartition(":")[0].strip("[]")
            # The record made here, not by ``Logger.info``: no walk up the stack for the
            # caller's file and line (a fixed place), the same filters and handlers after.
            access_log.handle(
                logging.LogRecord(
                    access_log.name, logging.INFO, __file__, 0,
                    '%s - "%s %s HTTP/%s" %d %d %.1fms',
                    (client, scope.method, scope.path, scope.http_version, status, len(body),
                     (time.monotonic() - start) * 1000),
                    None,
                )
            )  # fmt: skip

    async def _respond(self, scope: Any, protocol: Any) -> tuple[int, list[tuple[str, str]], bytes]:
        declared = scope.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            return 413, _TEXT, b"Request body too large.\n"
        try:
            if declared in (None, "0") and scope.headers.get("transfer-encoding") is None:
                body = b""  # HTTP/1.1 without a length or chunks: no body to wait for
            else:
                # A deadline on this task, not a task of its own (as wait_for would make).
                async with asyncio.timeout(BODY_TIMEOUT_SECONDS):
                    body = await read_body(protocol, limit=MAX_BODY_BYTES)
        except BodyTooLarge:
            return 413, _TEXT, b"Request body too large.\n"
        except TimeoutError:
            return 408, _TEXT, b"Request body not received in time.\n"
        except Exception:  # the client went away mid-body (granian's protocol error)
            return 400, _TEXT, b"Request body incomplete.\n"
        if declared is not None and len(body) < int(declared):
            return 400, _TEXT, b"Request body incomplete.\n"  # never run a truncated request
        environ = wsgi_environ(scope, body)
        assert self.app is not None and self.pool is not None
        pool = self.pool
        if self.lean_pool is not None and (scope.method, scope.path) in self.hot_routes:
            pool = self.lean_pool
        try:
            return await pool.call(asyncio.get_running_loop(), run_wsgi, self.app, environ)
        except Exception:
            log.exception("The application failed on %s %s", scope.method, scope.path)
            return 500, _TEXT, b"Internal server error.\n"


def _django() -> WSGIApp:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # The project's WSGI entry (config.wsgi), whose request survives a hostile charset (R-SEC-3).
    from config.wsgi import application as django_application

    return django_application


# The target of ``biblogin serve`` (granian --interface rsgi); threads per worker process.
application = BufferedWSGI(
    load=_django,
    threads=int(os.environ.get("BIBLOGIN_THREADS", "8")),
    # Two, not one: on PostgreSQL a lean request waits on round trips, and the second thread
    # runs meanwhile (issue 14; 0 puts the hot routes back on the main pool).
    lean_threads=int(os.environ.get("BIBLOGIN_LEAN_THREADS", "2")),
)

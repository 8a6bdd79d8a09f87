"""Let the test suite drive the real WSGI entry: the lean path in front of Django.

Django's test ``Client`` calls Django's handler directly and the live server builds its own
handler, so neither would pass ``config.wsgi``'s lean path. ``route_through_entry()`` puts
the lean path in front of both for the whole test session (tests/conftest.py), so every
protocol, interop and RFC 9700 test that uses them exercises it unchanged. ``LEAN_SERVED``
counts the requests the lean path answered, so a test can prove it was used.
``BIBLOGIN_TEST_LEAN_PATH=0`` runs the suite against django-oauth-toolkit's views instead.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

LEAN_SERVED: Counter[str] = Counter()
_django_only = False


@contextmanager
def django_only() -> Iterator[None]:
    """Within the block the test client skips the lean path (DOT's views answer)."""
    global _django_only
    _django_only = True
    try:
        yield
    finally:
        _django_only = False


def enabled() -> bool:
    return os.environ.get("BIBLOGIN_TEST_LEAN_PATH", "1") != "0"


def _response(status: str, headers: list[tuple[str, str]], body: bytes, environ: Any) -> Any:
    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpResponse

    response = HttpResponse(content=body, status=int(status.split(" ", 1)[0]))
    for name, value in headers:
        if name.lower() != "content-length":
            response[name] = value
    response.wsgi_request = WSGIRequest(environ)  # type: ignore[attr-defined]
    return response


@contextmanager
def route_through_entry() -> Iterator[None]:
    """Send the test client's and the live server's requests through the lean path first."""
    from django.core import signals
    from django.db import close_old_connections
    from django.test import client as test_client
    from django.test import testcases

    from biblogin.oidc.hotpath.entry import lean_entry, lean_response

    original_call = test_client.ClientHandler.__call__
    original_init = testcases.LiveServerThread.__init__

    def client_call(self: Any, environ: dict[str, Any]) -> Any:
        if _django_only:
            return original_call(self, environ)
        # As Django's ClientHandler: the test's database connection must stay open.
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            answer = lean_response(environ)
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)
        if answer is None:
            return original_call(self, environ)
        LEAN_SERVED[environ["PATH_INFO"]] += 1
        return _response(*answer, environ)

    def live_init(self: Any, host: str, static_handler: Any, *args: Any, **kwargs: Any) -> None:
        def wrapped(app: Any) -> Any:
            return lean_entry(static_handler(app))

        original_init(self, host, wrapped, *args, **kwargs)  # type: ignore[arg-type]

    test_client.ClientHandler.__call__ = client_call  # type: ignore[method-assign]
    testcases.LiveServerThread.__init__ = live_init  # type: ignore[method-assign]
    try:
        yield
    finally:
        test_client.ClientHandler.__call__ = original_call  # type: ignore[method-assign]
        testcases.LiveServerThread.__init__ = original_init  # type: ignore[method-assign]

"""Serve the portal's back-channel calls to a login platform in this same deployment in-process.

DESIGN.md "One process, two roles": a call from a request to the server serving that request
must not wait on the worker pool. Here the call runs the WSGI application in the calling thread:
the same entry as the server's (issue 14), the lean path for token and userinfo in front of
Django's handler, both without the request signals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import httpx
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.urls import get_script_prefix, get_urlconf, set_script_prefix, set_urlconf
from django.utils import translation
from django.utils.module_loading import import_string


class InProcessHandler(WSGIHandler):
    """Django's WSGI handler without the request signals, leaving the caller's state as it was.

    ``request_started``/``request_finished`` close "old" database connections: the inner request
    shares the calling thread's connection, which must stay open (and inside any transaction)
    for the outer request. The active language and URL prefix are thread-local and restored.
    """

    def __call__(  # type: ignore[override]
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        language = translation.get_language()
        prefix = get_script_prefix()
        urlconf = get_urlconf()
        try:
            request = self.request_class(environ)
            response = self.get_response(request)
            body = (
                b"".join(response.streaming_content)  # type: ignore[attr-defined]
                if response.streaming
                else response.content  # type: ignore[attr-defined]
            )
            status = f"{response.status_code} {response.reason_phrase}"
            headers = [
                *response.items(),
                *(("Set-Cookie", c.OutputString()) for c in response.cookies.values()),
            ]
            start_response(status, headers)
            # Deliberately no response.close(): it sends request_finished (see above).
            return [body]
        finally:
            if language:
                translation.activate(language)
            else:
                translation.deactivate()
            set_script_prefix(prefix)
            set_urlconf(urlconf)


@lru_cache(maxsize=1)
def _handler() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    # The server's own entry (settings.BIBLOGIN_WSGI_ENTRY, as config.wsgi builds it), named in
    # settings: the portal never imports the login platform (.importlinter), it only calls it.
    entry = import_string(settings.BIBLOGIN_WSGI_ENTRY)
    return entry(InProcessHandler(), request_signals=False)


def in_process_transport() -> httpx.BaseTransport:
    """Return an httpx transport that serves requests with this deployment's application."""
    return httpx.WSGITransport(app=_handler())

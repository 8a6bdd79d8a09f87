"""The WSGI entry point, with a request that survives any charset a client names (R-SEC-3).

Django applies the ``charset`` of ``Content-Type`` while it builds the request, and decodes the
query string with it on the spot: ``charset=rot13`` (a codec, but not a text encoding) or
``charset=idna`` then raise inside the request's constructor, before any middleware, and the
server answers 500. Here a charset that cannot decode arbitrary bytes is not applied;
``RejectHostileInputMiddleware`` then refuses the request with a clear 400.
"""

from __future__ import annotations

import codecs
from typing import Any

from django.core.handlers import wsgi
from django.utils.http import parse_header_parameters


def usable_charset(name: str) -> bool:
    """Tell whether ``name`` is a text encoding that decodes any bytes (with replacement)."""
    try:
        codec = codecs.lookup(name)
        if not codec._is_text_encoding:
            return False
        b"a\xff\x00=%".decode(codec.name, "replace")
    except (LookupError, ValueError, UnicodeError, TypeError):
        return False
    return True


class WSGIRequest(wsgi.WSGIRequest):
    # Set when Content-Type could not be parsed; the middleware refuses such a request.
    unreadable_content_type = False

    def _set_content_type_params(self, meta: Any) -> None:
        # Django's own, but a charset is applied only when it can decode the query string.
        line = str(meta.get("CONTENT_TYPE", ""))
        try:
            self.content_type, self.content_params = parse_header_parameters(line)
        except (ValueError, LookupError, UnicodeError):
            # An RFC 2231 parameter in an unknown or non-text charset (charset*=rot13''x).
            self.content_type, self.content_params = line.split(";")[0].strip().lower(), {}
            self.unreadable_content_type = True
            return
        charset = self.content_params.get("charset")
        if charset is not None and usable_charset(charset):
            self.encoding = charset


class WSGIHandler(wsgi.WSGIHandler):
    request_class = WSGIRequest


def get_wsgi_application() -> WSGIHandler:
    """Return the project's WSGI application (as ``django.core.wsgi.get_wsgi_application``)."""
    import django

    django.setup(set_prefix=False)
    return WSGIHandler()

"""Security headers that Django 5.2 does not set itself (R-SEC-1)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/admin/"):
            response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


_FORBIDDEN_CHARACTERS = ("\x00",)
_BAD_REQUEST_TEXT = (
    "Forespørgslen indeholder ugyldige tegn og blev afvist. "
    "/ The request contains invalid characters and was refused."
)


class RejectHostileInputMiddleware:
    """Refuse NUL characters in the URL or form data before any view or query sees them.

    PostgreSQL cannot store or compare NUL in text; left through, such input ends as a 500
    (R-SEC-3: bad input gets a clear message and changes nothing).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_forbidden(request.path) or any(
            _has_forbidden(k) or any(_has_forbidden(v) for v in values)
            for k, values in request.GET.lists()
        ):
            return _bad_request()
        if request.method == "POST" and request.content_type in _FORM_TYPES:
            items = list(request.POST.lists())
            if any(_has_forbidden(k) or any(_has_forbidden(v) for v in vs) for k, vs in items):
                return _bad_request()
        return self.get_response(request)


_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def _has_forbidden(value: str) -> bool:
    return any(c in value for c in _FORBIDDEN_CHARACTERS)


def _bad_request() -> HttpResponse:
    return HttpResponseBadRequest(_BAD_REQUEST_TEXT, content_type="text/plain; charset=utf-8")

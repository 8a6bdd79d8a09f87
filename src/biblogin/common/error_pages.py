"""Error pages that never read the request body again (R-SEC-3), in the site's own look.

Django's own 400 and 403 views run the CSRF check (``requires_csrf_token``), which parses the
form: a body that failed to parse the first time fails again there, and the 400 became a 500.
The 400 page reads nothing of the request and needs no template, so nothing can fail on it.
The 403 (also a failed CSRF check), 404 and 405 pages are rendered in the look of the part of
the site the path belongs to, the login platform's or the portal's, in the user's language;
they read the path and the cookies, never the body, and fall back to the plain page should
rendering fail.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)

# Paths of the login platform (and the staff UI); everything else is the portal's.
LOGIN_PLATFORM_PREFIXES = ("/login", "/.well-known/", "/admin", "/i18n/")
_LOCAL_PATH = re.compile(r"/[\x21-\x5b\x5d-\x7e]*")

_PAGE = """<!doctype html>
<html lang="da">
<head><meta charset="utf-8"><title>{title_da}</title></head>
<body>
<main>
<h1>{title_da}</h1>
<p>{text_da}</p>
<div lang="en"><h2>{title_en}</h2><p>{text_en}</p></div>
</main>
</body>
</html>
"""


def _page(*, status: int, title_da: str, text_da: str, title_en: str, text_en: str) -> HttpResponse:
    html = _PAGE.format(
        title_da=escape(title_da),
        text_da=escape(text_da),
        title_en=escape(title_en),
        text_en=escape(text_en),
    )
    return HttpResponse(html, status=status, content_type="text/html; charset=utf-8")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Answer 400 without looking at what made the request fail."""
    return _page(
        status=400,
        title_da="Ugyldig forespørgsel",
        text_da="Forespørgslen kunne ikke behandles. Gå tilbage og prøv igen.",
        title_en="Bad request",
        text_en="The request could not be processed. Go back and try again.",
    )


def _template(path: str) -> str:
    return "login/error.html" if path.startswith(LOGIN_PLATFORM_PREFIXES) else "portal/error.html"


def _rendered(
    request: HttpRequest,
    *,
    status: int,
    context: dict[str, Any],
    plain: Callable[[], HttpResponse],
    look_of: str | None = None,
) -> HttpResponse:
    """The page in the look of the path's part of the site; the plain page should that fail."""
    try:
        template = _template(look_of or request.path or "/")
        html = render_to_string(template, {"status": status, **context}, request)
    except Exception:  # an error page must never become a 500
        log.exception("error page %s could not be rendered", status)
        return plain()
    return HttpResponse(html, status=status, content_type="text/html; charset=utf-8")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Answer 403 without looking at what made the request fail."""
    return _rendered(
        request,
        status=403,
        context={
            "title": _("Adgang nægtet"),
            "message": _("Du har ikke adgang til denne side."),
        },
        plain=lambda: _page(
            status=403,
            title_da="Adgang nægtet",
            text_da="Du har ikke adgang til denne side.",
            title_en="Access denied",
            text_en="You do not have access to this page.",
        ),
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form from an old page (or another site) was refused."""
    page_of_form = _page_of_form(request)
    return _rendered(
        request,
        status=403,
        context={
            "title": _("Siden var for gammel"),
            "message": _(
                "Formularen kunne ikke sendes, fordi siden var for gammel eller ikke kom fra "
                "os. Der er ikke sket noget. Hent siden igen, og prøv en gang til."
            ),
            # The page the form was on (else the form's address): again, with a fresh token.
            "retry_url": page_of_form,
        },
        # The look of the page the form was on (the language switch posts to /i18n/).
        look_of=page_of_form,
        plain=lambda: _page(
            status=403,
            title_da="Siden var for gammel",
            text_da="Formularen kunne ikke sendes. Hent siden igen, og prøv en gang til.",
            title_en="The page was too old",
            text_en="The form could not be sent. Load the page again and try once more.",
        ),
    )


def _page_of_form(request: HttpRequest) -> str:
    """The page of ours the refused form was sent from, as a local path."""
    referer = request.META.get("HTTP_REFERER", "")
    try:
        if isinstance(referer, str) and url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            parts = urlsplit(referer)
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            # Printable ASCII without backslash only: a browser reads "/\\x" or "/<tab>/x"
            # as "//x", another site.
            if _LOCAL_PATH.fullmatch(local) and not local.startswith("//"):
                return local
    except Exception:  # a host we do not serve, a malformed referer: the form's own address
        log.info("refused form: referer not usable")
    return request.get_full_path()


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Answer 404 in the look of the part of the site the path belongs to."""
    return _rendered(
        request,
        status=404,
        context={
            "title": _("Siden findes ikke"),
            "message": _(
                "Vi kan ikke finde den side. Måske er adressen skrevet forkert, eller siden "
                "er flyttet."
            ),
        },
        plain=lambda: _page(
            status=404,
            title_da="Siden findes ikke",
            text_da="Vi kan ikke finde den side.",
            title_en="Page not found",
            text_en="We cannot find that page.",
        ),
    )


def method_not_allowed(request: HttpRequest, allowed: list[str]) -> HttpResponse:
    """Answer 405 (keeping ``Allow``), e.g. a form address opened as a link."""
    response = _rendered(
        request,
        status=405,
        context={
            "title": _("Siden kan ikke bruges sådan"),
            "message": _(
                "Adressen hører til en formular og kan ikke åbnes direkte. Gå tilbage, og "
                "brug knappen på siden."
            ),
        },
        plain=lambda: _page(
            status=405,
            title_da="Siden kan ikke bruges sådan",
            text_da="Adressen hører til en formular og kan ikke åbnes direkte.",
            title_en="Method not allowed",
            text_en="The address belongs to a form and cannot be opened directly.",
        ),
    )
    response["Allow"] = ", ".join(allowed)
    return response


class MethodNotAllowedPageMiddleware:
    """Give Django's bare ``HttpResponseNotAllowed`` (an empty body) a page of ours."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            isinstance(response, HttpResponseNotAllowed)
            and not response.content
            and request.method != "HEAD"
        ):
            allowed = [m.strip() for m in response.get("Allow", "").split(",") if m.strip()]
            return method_not_allowed(request, allowed)
        return response

"""Error pages that never read the request body again (R-SEC-3).

Django's own 400 and 403 views run the CSRF check (``requires_csrf_token``), which parses the
form: a body that failed to parse the first time fails again there, and the 400 became a 500.
These pages read nothing of the request and need no template, so nothing can fail on them.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.html import escape

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


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Answer 403 without looking at what made the request fail."""
    return _page(
        status=403,
        title_da="Adgang nægtet",
        text_da="Du har ikke adgang til denne side.",
        title_en="Access denied",
        text_en="You do not have access to this page.",
    )

"""Security headers that Django 5.2 does not set itself (R-SEC-1)."""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Callable
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError

from biblogin.common.wsgi import usable_charset


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/admin/"):
            response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


_BAD_REQUEST_TEXT = (
    "Forespørgslen indeholder ugyldige tegn og blev afvist. "
    "/ The request contains invalid characters and was refused."
)
_BAD_ENCODING_TEXT = (
    "Formularen skal sendes i UTF-8 og blev afvist. "
    "/ The form must be sent in UTF-8 and was refused."
)
_UNREADABLE_TEXT = (
    "Forespørgslens indhold kunne ikke læses og blev afvist. "
    "/ The body of the request could not be read and was refused."
)
_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
# A browser keeps at most 4096 bytes per cookie (RFC 6265 §6.1); more is not ours.
_MAX_COOKIE_LENGTH = 4096
# Printable ASCII only: what our own cookies consist of (session keys, agency IDs, tokens).
_COOKIE_VALUE = re.compile(r"[\x20-\x7e]*")
# django-oauth-toolkit's Application.client_id and client_secret columns.
_MAX_CLIENT_ID_LENGTH = 100
_MAX_CLIENT_SECRET_LENGTH = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RejectHostileInputMiddleware:
    """Refuse what no view or query can handle, before any view or query sees it (R-SEC-3).

    PostgreSQL cannot store or compare NUL in text; Django refuses a form body in another
    charset than UTF-8 each time it is read, also from the error page. Left through, such
    input ends as a 500; here it gets a clear 400 (or RFC 6749's ``invalid_client``) and
    changes nothing. Cookies the user cannot remove themselves are dropped instead, so a
    garbage cookie means "no cookie", never a page that keeps failing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = _refusal(request)
        if refusal is not None:
            return refusal
        return self.get_response(request)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    meta = request.META
    if _has_forbidden(request.path) or any(
        _has_forbidden(str(v))
        for k, v in meta.items()
        if k == "CONTENT_TYPE" or (k.startswith("HTTP_") and k != "HTTP_COOKIE")
    ):
        return _bad_request()
    # Django reads CONTENT_LENGTH again with a bare int() when the body is read.
    if not str(meta.get("CONTENT_LENGTH") or "0").isdigit():
        return _bad_request(_UNREADABLE_TEXT)
    request.COOKIES = _acceptable_cookies(request.COOKIES)
    encoding_refusal = _check_charset(request)
    if encoding_refusal is not None:
        return encoding_refusal
    if any(
        _has_forbidden(k) or any(_has_forbidden(v) for v in values)
        for k, values in request.GET.lists()
    ):
        return _bad_request()
    if _hostile_basic_credentials(str(meta.get("HTTP_AUTHORIZATION", ""))):
        return _invalid_client()
    if request.method == "POST" and request.content_type in _FORM_TYPES:
        return _check_form(request)
    return None


def _check_charset(request: HttpRequest) -> HttpResponse | None:
    """Accept only a text charset, and only UTF-8 for a urlencoded form (as Django)."""
    if getattr(request, "unreadable_content_type", False):
        return _bad_request(_BAD_ENCODING_TEXT)
    charset = request.content_params.get("charset") if request.content_params else None
    if charset is None:
        return None
    try:
        codec = codecs.lookup(charset)
    except (LookupError, ValueError):
        return None  # Django ignores a charset it does not know
    if not usable_charset(charset):  # rot13, base64, idna: decoding a query with them fails
        return _bad_request(_BAD_ENCODING_TEXT)
    if codec.name == "utf-8":
        request.encoding = "utf-8"  # "utf8", "UTF8": Django itself refuses all but "utf-8"
    elif request.content_type == "application/x-www-form-urlencoded":
        return _bad_request(_BAD_ENCODING_TEXT)
    return None


def _check_form(request: HttpRequest) -> HttpResponse | None:
    """Read the form once here; a body that cannot be read is refused and never read again."""
    try:
        # The body first, so that a view may still read it after a multipart form was parsed
        # (no endpoint takes file uploads: a form is at most DATA_UPLOAD_MAX_MEMORY_SIZE).
        request.body  # noqa: B018
        items = list(request.POST.lists())
        names = list(request.FILES)
    except RequestDataTooBig:
        _forget_body(request)
        return _bad_request(_UNREADABLE_TEXT, status=413)
    except (SuspiciousOperation, BadRequest, MultiPartParserError, UnreadablePostError, ValueError):
        _forget_body(request)
        return _bad_request(_UNREADABLE_TEXT)
    if any(_has_forbidden(k) or any(_has_forbidden(v) for v in vs) for k, vs in items):
        return _bad_request()
    if any(_has_forbidden(n) for n in names):
        return _bad_request()
    return None


def _forget_body(request: HttpRequest) -> None:
    # What Django does itself after a multipart error: an empty form from now on, so that the
    # error page (CSRF check included) does not parse the body again and fail with a 500.
    request._mark_post_parse_error()  # type: ignore[attr-defined]


def _acceptable_cookies(cookies: dict[str, str]) -> dict[str, str]:
    return {
        name: value
        for name, value in cookies.items()
        if len(value) <= _MAX_COOKIE_LENGTH
        and _COOKIE_VALUE.fullmatch(value)
        and _COOKIE_VALUE.fullmatch(name)
    }


def _hostile_basic_credentials(authorization: str) -> bool:
    """Tell whether HTTP Basic credentials carry what no client ID can (RFC 6749 §2.3.1).

    Credentials that are merely wrong or not Base64 are left to django-oauth-toolkit,
    which answers ``invalid_client`` itself; NUL (also percent-encoded), control characters
    and over-long IDs would reach the client look-up and fail there on PostgreSQL.
    """
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    client_id, _, secret = decoded.partition(":")
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    return (
        bool(_CONTROL.search(client_id) or _CONTROL.search(secret))
        or len(client_id) > _MAX_CLIENT_ID_LENGTH
        or len(secret) > _MAX_CLIENT_SECRET_LENGTH
    )


def _has_forbidden(value: str) -> bool:
    return "\x00" in value


def _bad_request(text: str = _BAD_REQUEST_TEXT, *, status: int = 400) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _invalid_client() -> HttpResponse:
    # RFC 6749 §5.2: 401 with a WWW-Authenticate challenge when the client used Basic.
    response = JsonResponse({"error": "invalid_client"}, status=401)
    response["WWW-Authenticate"] = 'Basic realm="biblogin"'
    response["Cache-Control"] = "no-store"
    return response

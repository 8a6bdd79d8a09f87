"""The WSGI entry of the lean path: pick off the hot requests by path, before Django.

``lean_entry(django_app)`` returns a WSGI application that answers ``POST /login/token/`` and
``GET /login/userinfo/`` itself when the request is one the lean path understands completely,
and hands every other request (and every request it does not understand) to ``django_app``
untouched. Nothing is read from the database before that decision.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from django.conf import settings
from django.core import signals
from django.http.request import split_domain_port, validate_host

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

TOKEN_PATH = "/login/token/"
USERINFO_PATH = "/login/userinfo/"

# The lean path takes nothing longer: a longer value goes to Django, whose rules answer it.
MAX_BODY = 4096
MAX_VALUE = 512
# Printable ASCII without space: what every value of these requests consists of.
_VALUE = re.compile(r"[\x21-\x7e]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CODE_PARAMS = {"grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_secret"}
_REFRESH_PARAMS = {"grant_type", "refresh_token", "client_id", "client_secret"}


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class TokenRequest:
    params: dict[str, str]
    basic: tuple[str, str] | None  # (client_id, client_secret) from HTTP Basic


@dataclass(frozen=True)
class UserinfoRequest:
    token: str


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden"}


def _security_headers(secure: bool) -> list[tuple[str, str]]:
    """What Django's middleware adds to these answers (SecurityMiddleware and ours)."""
    headers = [
        ("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
        ("X-Frame-Options", settings.X_FRAME_OPTIONS),
    ]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append(("Referrer-Policy", str(settings.SECURE_REFERRER_POLICY)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    if secure and settings.SECURE_HSTS_SECONDS:
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append(("Strict-Transport-Security", value))
    return headers


def _is_secure(environ: dict[str, Any]) -> bool:
    header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if header:
        name, value = header
        forwarded = environ.get(name)
        if forwarded is not None:
            return bool(forwarded.split(",", 1)[0].strip() == value)
    return bool(environ.get("wsgi.url_scheme") == "https")


def _host_allowed(environ: dict[str, Any]) -> bool:
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
        return False  # Django's own rules for a forwarded host
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


def _headers_plain(environ: dict[str, Any]) -> bool:
    """No control character in any header (Django's middleware refuses those with a 400)."""
    for key, value in environ.items():
        if (
            (key.startswith("HTTP_") or key == "CONTENT_TYPE")
            and isinstance(value, str)
            and _CONTROL.search(value)
        ):
            return False
    return True


_URLENCODED = (
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded;charset=utf-8",
)
_MULTIPART = re.compile(r"multipart/form-data;boundary=([0-9A-Za-z'()+_,./:=?-]{1,70})")
_PART = re.compile(r'Content-Disposition: form-data; name="([a-z_]{1,32})"\r\n\r\n(.*)', re.S)


def _form(environ: dict[str, Any]) -> dict[str, str] | None:
    """The form body as single values, or None when it is anything unusual."""
    content_type = str(environ.get("CONTENT_TYPE", "")).replace(" ", "")
    multipart = _MULTIPART.fullmatch(content_type)
    if content_type.lower() not in _URLENCODED and multipart is None:
        return None
    length = str(environ.get("CONTENT_LENGTH") or "0")
    if not length.isdigit() or int(length) > MAX_BODY:
        return None
    stream = environ["wsgi.input"]
    raw = stream.read(int(length)) if int(length) else b""
    # Django reads the body again if the request goes there after all.
    environ["wsgi.input"] = _Replay(raw)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    pairs = _multipart_pairs(text, multipart.group(1)) if multipart else _urlencoded_pairs(text)
    if pairs is None:
        return None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params or len(value) > MAX_VALUE or not _VALUE.fullmatch(value):
            return None
        params[name] = value
    return params


def _urlencoded_pairs(text: str) -> list[tuple[str, str]] | None:
    pairs = []
    for pair in text.split("&") if text else []:
        name, sep, value = pair.partition("=")
        if not sep:
            return None
        pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


def _multipart_pairs(text: str, boundary: str) -> list[tuple[str, str]] | None:
    """Plain text fields of a multipart form (no files, no part headers but the name)."""
    delimiter = f"--{boundary}"
    if not text.startswith(delimiter + "\r\n") or not text.endswith(f"\r\n{delimiter}--\r\n"):
        return None
    inner = text[len(delimiter) + 2 : -(len(delimiter) + 6)]
    pairs = []
    for part in inner.split(f"\r\n{delimiter}\r\n"):
        match = _PART.fullmatch(part)
        if match is None or "\r" in match.group(2) or "\n" in match.group(2):
            return None
        pairs.append((match.group(1), match.group(2)))
    return pairs


class _Replay:
    """A read-once body given back to Django's handler when the lean path declines."""

    def __init__(self, data: bytes) -> None:
        import io

        self._stream = io.BytesIO(data)

    def read(self, *args: Any) -> bytes:
        return self._stream.read(*args)

    def readline(self, *args: Any) -> bytes:
        return self._stream.readline(*args)

    def __iter__(self) -> Any:
        return iter(self._stream)


def _basic(environ: dict[str, Any]) -> tuple[str, str] | bool | None:
    """(client_id, secret) from HTTP Basic; None without the header; False when unusual."""
    auth = environ.get("HTTP_AUTHORIZATION")
    if auth is None:
        return None
    scheme, _, value = str(auth).partition(" ")
    if scheme != "Basic" or not value:
        return False
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return False
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    for part in (client_id, secret):
        if len(part) > MAX_VALUE or not _VALUE.fullmatch(part):
            return False
    return client_id, secret


def token_request_parse(environ: dict[str, Any]) -> TokenRequest | None:
    """A token request the lean path answers itself, or None (Django's handler answers)."""
    if environ.get("QUERY_STRING"):
        return None
    params = _form(environ)
    if params is None:
        return None
    grant = params.get("grant_type")
    allowed = (
        _CODE_PARAMS
        if grant == "authorization_code"
        else _REFRESH_PARAMS
        if grant == "refresh_token"
        else None
    )
    if allowed is None or not set(params) <= allowed:
        return None
    basic = _basic(environ)
    if basic is False:
        return None
    # One way of client authentication at a time: HTTP Basic, or client_id (+ secret) in the body.
    if basic is not None and ("client_id" in params or "client_secret" in params):
        return None
    if basic is None and "client_id" not in params:
        return None
    if grant == "authorization_code" and "code" not in params:
        return None
    if grant == "refresh_token" and "refresh_token" not in params:
        return None
    assert basic is not True
    return TokenRequest(params=params, basic=basic)


def userinfo_request_parse(environ: dict[str, Any]) -> UserinfoRequest | None:
    if environ.get("QUERY_STRING") or str(environ.get("CONTENT_LENGTH") or "0") not in ("", "0"):
        return None
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    scheme, _, token = auth.partition(" ")
    if scheme != "Bearer" or not token or len(token) > MAX_VALUE or not _VALUE.fullmatch(token):
        return None
    return UserinfoRequest(token=token)


def lean_response(
    environ: dict[str, Any], *, request_signals: bool = True
) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """The lean path's answer to this request (status, headers, body), or None: Django's.

    ``request_signals=False`` for a request served inside another one (the portal's in-process
    back channel): ``request_started``/``request_finished`` would close the caller's connection.
    """
    path = environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "")
    if not (
        (path == TOKEN_PATH and method == "POST") or (path == USERINFO_PATH and method == "GET")
    ):
        return None
    if (
        not _host_allowed(environ)
        or not _headers_plain(environ)
        or (settings.SECURE_SSL_REDIRECT and not _is_secure(environ))
    ):
        return None
    request: TokenRequest | UserinfoRequest | None = (
        token_request_parse(environ) if path == TOKEN_PATH else userinfo_request_parse(environ)
    )
    if request is None:
        return None
    from biblogin.oidc.hotpath import handlers

    if request_signals:
        signals.request_started.send(sender=lean_response, environ=environ)
    try:
        answer = (
            handlers.token_answer(request)
            if isinstance(request, TokenRequest)
            else handlers.userinfo_answer(request)
        )
    finally:
        if request_signals:
            signals.request_finished.send(sender=lean_response)
    if answer is None:  # declined before anything was written
        return None
    body = json.dumps(answer.body).encode("utf-8")
    headers = [
        ("Content-Type", "application/json"),
        *answer.headers,
        ("Content-Length", str(len(body))),
        *_security_headers(_is_secure(environ)),
    ]
    return f"{answer.status} {_REASONS.get(answer.status, 'Error')}", headers, body


def lean_entry(django_app: WSGIApp, *, request_signals: bool = True) -> WSGIApp:
    """The project's WSGI application: the lean path in front of Django's handler.

    ``request_signals=False``: as ``lean_response``'s, for an entry served in-process.
    """

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        answer = lean_response(environ, request_signals=request_signals)
        if answer is None:
            return django_app(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return [body]

    # What the server may run on threads of their own (``biblogin.common.server``).
    application.hot_routes = frozenset({("POST", TOKEN_PATH), ("GET", USERINFO_PATH)})  # type: ignore[attr-defined]
    return application

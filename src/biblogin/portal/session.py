"""The portal's own session, apart from the login platform's (a relying party keeps its own).

Both are served by one deployment in the embedded set-up, yet they must not share state: a new
login at the login platform flushes its session, which must not lose the portal's pending login
(state, nonce, PKCE verifier), and logging out of one must be a deliberate act on the other.
Stored with Django's session engine (database or Redis) under its own cookie.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from importlib import import_module
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_vary_headers

from biblogin.portal.identity import Identity, seal, unseal

COOKIE_NAME = "bibdk_session"
_IDENTITY = "identity"
_ID_TOKEN = "id_token"
_MITID = "mitid"
_PENDING = "pending"
_PENDING_MAX = 5
_PENDING_SECONDS = 30 * 60

View = TypeVar("View", bound=Callable[..., HttpResponse])


def portal_session(request: HttpRequest) -> SessionBase:
    """Return the portal session of this request, loading it on first use."""
    session = getattr(request, "_portal_session", None)
    if session is None:
        engine = import_module(settings.SESSION_ENGINE)
        session = engine.SessionStore(request.COOKIES.get(COOKIE_NAME))
        request._portal_session = session  # type: ignore[attr-defined]
    return cast(SessionBase, session)


def _finish(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    session: SessionBase | None = getattr(request, "_portal_session", None)
    if session is None:
        return response
    if session.accessed:
        patch_vary_headers(response, ("Cookie",))
    if COOKIE_NAME in request.COOKIES and session.is_empty():
        response.delete_cookie(COOKIE_NAME, path="/", samesite="Lax")
        return response
    if session.modified and not session.is_empty():
        session.save()
        response.set_cookie(
            COOKIE_NAME,
            session.session_key or "",
            max_age=settings.SESSION_COOKIE_AGE,
            path="/",
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    return response


def portal_view(view: View) -> View:
    """Give a view the portal session and the current identity; save the session afterwards."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        request.portal_identity = identity_get(request)  # type: ignore[attr-defined]
        response = view(request, *args, **kwargs)
        response = _finish(request, response)
        if request.portal_identity is not None:  # type: ignore[attr-defined]
            # Pages for a logged-in user are personal: never cached by browsers or proxies.
            add_never_cache_headers(response)
        return response

    return cast(View, wrapper)


def identity_get(request: HttpRequest) -> Identity | None:
    """Return the portal's logged-in identity, or None for a guest (R-PORTAL-4)."""
    data = portal_session(request).get(_IDENTITY)
    if not isinstance(data, dict):
        return None
    try:
        return Identity.from_session(data)
    except (TypeError, ValueError):
        return None


def identity_login(request: HttpRequest, *, identity: Identity, id_token: str) -> None:
    """Make this identity the portal's user; a new session key (R-SEC-1) keeps pending logins."""
    session = portal_session(request)
    session.cycle_key()
    session[_IDENTITY] = identity.to_session()
    # An ID token may carry a CPR: kept only encrypted, for the logout hint.
    session[_ID_TOKEN] = seal(id_token)
    request.portal_identity = identity  # type: ignore[attr-defined]


def identity_update(request: HttpRequest, *, identity: Identity) -> None:
    """Change what the portal knows of the current login (e.g. its link was removed)."""
    portal_session(request)[_IDENTITY] = identity.to_session()
    request.portal_identity = identity  # type: ignore[attr-defined]


def id_token_store(request: HttpRequest, *, id_token: str) -> None:
    """Keep the latest ID token: it names the login platform's current session at logout."""
    portal_session(request)[_ID_TOKEN] = seal(id_token)


def id_token_hint(request: HttpRequest) -> str:
    return unseal(portal_session(request).get(_ID_TOKEN) or "")


def portal_logout(request: HttpRequest) -> str:
    """End the portal session; return the ID token to hint the provider's logout with."""
    hint = id_token_hint(request)
    portal_session(request).flush()
    request.portal_identity = None  # type: ignore[attr-defined]
    return hint


def mitid_remember(request: HttpRequest, *, auth_time: int | None, cpr: str | None) -> None:
    """Remember this session's latest MitID verification (R-PORTAL-11), the CPR encrypted."""
    if auth_time is None or not cpr:
        return
    portal_session(request)[_MITID] = {"at": auth_time, "cpr": seal(cpr)}


def mitid_recent(request: HttpRequest) -> tuple[int, str] | None:
    """Return (auth_time, CPR) of this session's latest MitID verification, if any."""
    data = portal_session(request).get(_MITID)
    if not isinstance(data, dict) or not isinstance(data.get("at"), int):
        return None
    cpr = unseal(data.get("cpr") or "")
    return (data["at"], cpr) if cpr else None


def pending_put(request: HttpRequest, *, state: str, data: dict[str, Any]) -> None:
    """Keep what a login request needs at its callback, under its state (a few at a time)."""
    session = portal_session(request)
    pending = dict(session.get(_PENDING) or {})
    now = int(time.time())
    pending = {
        k: v
        for k, v in pending.items()
        if isinstance(v, dict) and now - int(v.get("created", 0)) < _PENDING_SECONDS
    }
    while len(pending) >= _PENDING_MAX:
        oldest = min(pending, key=lambda k: int(pending[k].get("created", 0)))
        del pending[oldest]
    pending[state] = {**data, "created": now}
    session[_PENDING] = pending


def pending_pop(request: HttpRequest, *, state: str) -> dict[str, Any] | None:
    """Take the pending login of this state (single use); None if unknown or expired."""
    session = portal_session(request)
    pending = dict(session.get(_PENDING) or {})
    data = pending.pop(state, None) if state else None
    session[_PENDING] = pending
    if not isinstance(data, dict):
        return None
    if int(time.time()) - int(data.get("created", 0)) >= _PENDING_SECONDS:
        return None
    return data


def session_put(request: HttpRequest, key: str, value: Any) -> None:
    portal_session(request)[key] = value


def session_get(request: HttpRequest, key: str) -> Any:
    return portal_session(request).get(key)


def session_pop(request: HttpRequest, key: str) -> Any:
    return portal_session(request).pop(key, None)

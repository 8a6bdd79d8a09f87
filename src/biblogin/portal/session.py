"""The portal's own session, apart from the login platform's (a relying party keeps its own).

Both are served by one deployment in the embedded set-up, yet they must not share state: a new
login at the login platform flushes its session, which must not lose the portal's pending login
(state, nonce, PKCE verifier), and logging out of one must be a deliberate act on the other.
Stored with Django's session engine (database or Redis) under its own cookie.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from importlib import import_module
from typing import Any, TypeGuard, TypeVar, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext as _

from biblogin.portal import oidc_client
from biblogin.portal.identity import Identity, seal, unseal

COOKIE_NAME = "bibdk_session"
_IDENTITY = "identity"
_ID_TOKEN = "id_token"
_MITID = "mitid"
_PENDING = "pending"
_SEEN = "seen"
# The idle clock is written at most this often (a session save per page would be a write per page).
_SEEN_RESOLUTION_SECONDS = 60
_PENDING_MAX = 5
_PENDING_SECONDS = 30 * 60
_CALLBACK_PREFIX = "portal:callback:"
_CALLBACK_WAIT_SECONDS = 25.0  # longer than one code exchange may take (its calls time out)
_CALLBACK_POLL_SECONDS = 0.05

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
        _cookie_set(response, session.session_key or "")
    return response


def _cookie_set(response: HttpResponse, session_key: str) -> None:
    # A browser-session cookie by default: closing the browser of a shared PC ends the login.
    response.set_cookie(
        COOKIE_NAME,
        session_key,
        max_age=None if settings.SESSION_EXPIRE_AT_BROWSER_CLOSE else settings.SESSION_COOKIE_AGE,
        path="/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def portal_view(view: View) -> View:
    """Give a view the portal session and the current identity; save the session afterwards."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        identity = identity_get(request)
        if identity is not None and session_idle_ended(request):
            return _idle_logout(request)
        request.portal_identity = identity  # type: ignore[attr-defined]
        response = view(request, *args, **kwargs)
        response = _finish(request, response)
        if request.portal_identity is not None:  # type: ignore[attr-defined]
            # Pages for a logged-in user are personal: never cached by browsers or proxies.
            add_never_cache_headers(response)
        return response

    return cast(View, wrapper)


def _idle_logout(request: HttpRequest) -> HttpResponse:
    """End an idle login here and at the login platform (else its single sign-on would let
    the next person at the PC straight back in), then say why on the front page."""
    hint = portal_logout(request)
    messages.info(
        request,
        _(
            "Du er logget ud, fordi du ikke har brugt Bibliotek.dk i %(minutes)d minutter. "
            "Log ind igen for at fortsætte."
        )
        % {"minutes": settings.PORTAL_SESSION_IDLE_SECONDS // 60},
    )
    url = oidc_client.end_session_url(id_token_hint=hint or None)
    response = HttpResponseRedirect(url or reverse("portal:home"))
    add_never_cache_headers(response)
    return _finish(request, response)


def session_idle_ended(request: HttpRequest, *, now: float | None = None) -> bool:
    """Tell whether the login has gone unused too long; else restart its idle clock (sliding).

    PORTAL_SESSION_IDLE_SECONDS after the last page of the portal, the login is over (a shared
    library PC, a browser left open). The clock is kept in the session, so every worker and
    every tab of the browser share it.
    """
    session = portal_session(request)
    now = time.time() if now is None else now
    seen = session.get(_SEEN)
    if isinstance(seen, int | float) and not isinstance(seen, bool):
        if now - seen >= settings.PORTAL_SESSION_IDLE_SECONDS:
            return True
        if now - seen < _SEEN_RESOLUTION_SECONDS:
            return False
    session[_SEEN] = int(now)
    return False


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
    session[_SEEN] = int(time.time())
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


def pending_peek(request: HttpRequest, *, state: str) -> bool:
    """Tell whether this session has a pending login of this state (without taking it)."""
    pending = portal_session(request).get(_PENDING)
    return bool(state) and isinstance(pending, dict) and isinstance(pending.get(state), dict)


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


# --- A repeated callback (double click, reload) -------------------------------------------------
#
# The first callback of a state redeems the code; a second redemption would be refused and, per
# RFC 9700 §4.2.4, revoke what the first got. So the first claims the state in the shared cache
# (atomic add: one winner across threads and processes), and records where it led and which
# session it left; a repeat from the same browser waits for that and lands there too.


@dataclass(frozen=True)
class CallbackOutcome:
    target: str
    session_key: str


def _callback_key(state: str) -> str:
    return _CALLBACK_PREFIX + hashlib.sha256(state.encode()).hexdigest()


def _cookie_digest(request: HttpRequest) -> str:
    key = request.COOKIES.get(COOKIE_NAME) or ""
    return hashlib.sha256(key.encode()).hexdigest() if key else ""


def callback_claim(request: HttpRequest, *, state: str) -> bool:
    """Make this request the one that redeems the callback of this state; False if one did."""
    record = {"status": "running", "browser": _cookie_digest(request)}
    return bool(cache.add(_callback_key(state), record, timeout=_PENDING_SECONDS))


def callback_commit(request: HttpRequest, response: HttpResponse, *, state: str) -> HttpResponse:
    """Save the session now, then record where this callback led, for its repeats."""
    response = _finish(request, response)
    session: SessionBase | None = getattr(request, "_portal_session", None)
    if session is not None:
        session.modified = False  # saved: portal_view need not save it again
    location = response.get("Location") if response.status_code in (301, 302, 303) else None
    key = _callback_key(state)
    record = cache.get(key)
    if not isinstance(record, dict):
        record = {"browser": _cookie_digest(request)}
    if location and session is not None and session.session_key:
        record.update(status="done", target=location, session_key=session.session_key)
    else:
        record.update(status="failed")
    cache.set(key, record, timeout=_PENDING_SECONDS)
    return response


def callback_abandon(*, state: str) -> None:
    """The redeeming request failed unexpectedly: let its repeats stop waiting."""
    cache.set(_callback_key(state), {"status": "failed"}, timeout=_PENDING_SECONDS)


def callback_outcome(request: HttpRequest, *, state: str) -> CallbackOutcome | None:
    """Wait for the first callback of this state; return where it led, for this browser only.

    None when no callback of this state ran, it failed, or this browser is not the one it
    ran for (a state alone does not give anyone the session it made).
    """
    cookie = request.COOKIES.get(COOKIE_NAME) or ""
    if not state or not cookie:
        return None
    key = _callback_key(state)
    deadline = time.monotonic() + _CALLBACK_WAIT_SECONDS
    record = cache.get(key)
    while _same_browser(request, record) and record.get("status") == "running":
        if time.monotonic() >= deadline:
            return None
        time.sleep(_CALLBACK_POLL_SECONDS)
        record = cache.get(key)
    if not _same_browser(request, record) or record.get("status") != "done":
        return None
    session_key = str(record.get("session_key") or "")
    if not session_key:
        return None
    return CallbackOutcome(target=str(record.get("target") or "/"), session_key=session_key)


def _same_browser(request: HttpRequest, record: Any) -> TypeGuard[dict[str, Any]]:
    """The browser the first callback ran for: its cookie then, or the session it left."""
    if not isinstance(record, dict):
        return False
    cookie = request.COOKIES.get(COOKIE_NAME) or ""
    return bool(cookie) and (
        _cookie_digest(request) == record.get("browser") or cookie == record.get("session_key")
    )


def callback_session_adopt(
    request: HttpRequest, response: HttpResponse, *, outcome: CallbackOutcome
) -> HttpResponse:
    """Give this browser the session the first callback left (whichever response it keeps)."""
    engine = import_module(settings.SESSION_ENGINE)
    request._portal_session = engine.SessionStore(outcome.session_key)  # type: ignore[attr-defined]
    _cookie_set(response, outcome.session_key)
    return response

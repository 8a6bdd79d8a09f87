"""Helpers every portal page shares: rendering with the user's state, guards, safe redirects."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from biblogin.circulation.selectors import CirculationUser, circulation_counts_for
from biblogin.portal.identity import Identity
from biblogin.portal.menu import profile_menu
from biblogin.portal.session import portal_logout
from biblogin.portal.userlists import huskeliste_count
from biblogin.registry.selectors import agency_get
from biblogin.userdata.models import Profile
from biblogin.userdata.selectors import profile_get

View = TypeVar("View", bound=Callable[..., HttpResponse])

LAST_LIBRARY_COOKIE = "bibdk_last_library"


def identity_of(request: HttpRequest) -> Identity | None:
    return cast(Identity | None, getattr(request, "portal_identity", None))


def circulation_user(identity: Identity) -> CirculationUser:
    """Whom circulation asks about: the profile's patron, or the session user's login."""
    if identity.is_profile and identity.guid:
        return CirculationUser.profile(identity.guid)
    return CirculationUser.session(agency_id=identity.agency_id, user_id=identity.user_id)


def agency_name(agency_id: str) -> str:
    agency = agency_get(agency_id=agency_id)
    return agency.name if agency else agency_id


def page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    """Render a portal page with the user's state for the header (R-PORTAL-2…4).

    The profile menu is shown beside the pages it lists, to a logged-in user.
    """
    identity = identity_of(request)
    match = request.resolver_match
    current = match.view_name if match else ""
    bookmarks = huskeliste_count(request)
    menu = profile_menu(
        identity=identity, current_url_name=current, counts={"portal:bookmarks": bookmarks}
    )
    in_menu = identity is not None and any(item.current for item in menu)
    base: dict[str, Any] = {
        "portal_user": identity,
        "portal_user_library": agency_name(identity.agency_id) if identity else "",
        "portal_menu": menu if in_menu else [],
        "bookmark_count": bookmarks,
        # The profile menu's counts (R-PORTAL-13), as last fetched: never asks a library.
        "circulation_counts": circulation_counts_for(user=circulation_user(identity))
        if identity
        else None,
    }
    return render(request, template, {**base, **(context or {})}, status=status)


def safe_next(request: HttpRequest, value: str | None) -> str | None:
    """Return a local path to continue at, or None: never an open redirect."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if not url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}):
        return None
    return value


def login_url(next_path: str | None = None) -> str:
    url = reverse("portal:login")
    return f"{url}?{urlencode({'next': next_path})}" if next_path else url


def profile_required(view: View) -> View:
    """Let only a profile user in (R-PORTAL-3: a session user has no profile pages)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        identity = identity_of(request)
        if identity is None:
            return HttpResponseRedirect(login_url(request.get_full_path()))
        if not identity.is_profile or not identity.guid:
            return page(request, "portal/profile_unavailable.html", status=403)
        profile = profile_get(patron_guid=identity.guid)
        if profile is None:
            # Deleted meanwhile (R-PORTAL-19, e.g. in another browser): this login is over.
            portal_logout(request)
            return page(request, "portal/profile_gone.html", status=410)
        request.portal_profile = profile  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


def profile_of(request: HttpRequest) -> Profile:
    return cast(Profile, request.portal_profile)  # type: ignore[attr-defined]

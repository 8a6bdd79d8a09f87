"""The current user's huskeliste and searches, wherever they live (R-PORTAL-16, -17).

Guests and session users keep their huskeliste in the portal session; a profile user keeps it in
the profile, and a profile login merges the session's into it. The last searches of the session
are kept for everyone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.http import HttpRequest

from biblogin.portal.identity import Identity
from biblogin.portal.search import SearchRequest, search_request_parse
from biblogin.portal.session import session_get, session_pop, session_put
from biblogin.userdata.models import Profile
from biblogin.userdata.selectors import (
    BookmarkPage,
    BookmarkSort,
    RecentSearch,
    bookmark_pids_for_profile,
    bookmarks_page_for_profile,
    bookmarks_page_for_session,
    profile_get,
    session_bookmarks_parse,
    session_recent_searches_parse,
)
from biblogin.userdata.services import (
    bookmark_add,
    bookmarks_merge_from_session,
    bookmarks_remove,
    recent_search_record,
    session_bookmark_add,
    session_bookmarks_remove,
)

_BOOKMARKS = "bookmarks"
_RECENT = "recent_searches"


def _identity(request: HttpRequest) -> Identity | None:
    identity = getattr(request, "portal_identity", None)
    return identity if isinstance(identity, Identity) else None


def list_profile(request: HttpRequest) -> Profile | None:
    """Return the profile whose huskeliste this is, or None: it lives in the session."""
    if hasattr(request, "_portal_list_profile"):
        cached: Profile | None = request._portal_list_profile
        return cached
    identity = _identity(request)
    found = None
    if identity is not None and identity.is_profile and identity.guid:
        found = profile_get(patron_guid=identity.guid)
    request._portal_list_profile = found  # type: ignore[attr-defined]
    return found


def huskeliste_page(
    request: HttpRequest, *, sort: BookmarkSort = BookmarkSort.LATEST, page: int = 1
) -> BookmarkPage:
    profile = list_profile(request)
    if profile is not None:
        return bookmarks_page_for_profile(profile=profile, sort=sort, page=page)
    return bookmarks_page_for_session(items=session_get(request, _BOOKMARKS), sort=sort, page=page)


def huskeliste_pids(request: HttpRequest) -> set[str]:
    """Return the PIDs on the user's huskeliste (to mark them in results)."""
    profile = list_profile(request)
    if profile is not None:
        return bookmark_pids_for_profile(profile=profile)
    return {e.pid for e in session_bookmarks_parse(items=session_get(request, _BOOKMARKS))}


def huskeliste_add(request: HttpRequest, *, pid: str, title: str) -> bool:
    """Put a material on the user's huskeliste; False when it was there already."""
    profile = list_profile(request)
    if profile is not None:
        return bookmark_add(profile=profile, pid=pid, title=title)
    items, new = session_bookmark_add(items=session_get(request, _BOOKMARKS), pid=pid, title=title)
    session_put(request, _BOOKMARKS, items)
    return new


def huskeliste_remove(request: HttpRequest, *, pids: Iterable[str]) -> int:
    """Take these materials off the user's huskeliste; return how many were on it."""
    wanted = list(pids)
    profile = list_profile(request)
    if profile is not None:
        return bookmarks_remove(profile=profile, pids=wanted)
    before = session_bookmarks_parse(items=session_get(request, _BOOKMARKS))
    after = session_bookmarks_remove(items=session_get(request, _BOOKMARKS), pids=wanted)
    session_put(request, _BOOKMARKS, after)
    return len(before) - len(after)


def huskeliste_merge_on_login(request: HttpRequest, *, profile: Profile) -> int:
    """Move the session's huskeliste into the profile just logged in (R-PORTAL-16)."""
    items = session_pop(request, _BOOKMARKS)
    request._portal_list_profile = profile  # type: ignore[attr-defined]
    return bookmarks_merge_from_session(profile=profile, items=items) if items else 0


def recent_searches(request: HttpRequest) -> list[RecentSearch]:
    return session_recent_searches_parse(items=session_get(request, _RECENT))


def recent_search_remember(
    request: HttpRequest, *, query: str, params: Mapping[str, Sequence[str]]
) -> None:
    """Keep this search among the session's last 10 (everyone, R-PORTAL-17)."""
    items = recent_search_record(
        items=session_get(request, _RECENT),
        query=query,
        params={k: list(v) for k, v in params.items()},
    )
    session_put(request, _RECENT, items)


def huskeliste_count(request: HttpRequest) -> int:
    """Return how many materials are on the user's huskeliste (for the header)."""
    profile = list_profile(request)
    if profile is not None:
        return profile.bookmarks.count()
    return len(session_bookmarks_parse(items=session_get(request, _BOOKMARKS)))


def recent_search_links(
    request: HttpRequest, *, skip: SearchRequest | None = None
) -> list[tuple[str, bool, str]]:
    """Return the session's last searches as (query, has filters, URL), without ``skip``."""
    links = []
    for search in recent_searches(request):
        again = search_request_parse({"q": search.query, **search.params})
        if skip is not None and (again.query, again.params()) == (skip.query, skip.params()):
            continue
        links.append((again.query, bool(search.params), again.url()))
    return links

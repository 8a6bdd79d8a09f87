"""Read Bibliotek.dk's user data: profiles, links, the huskeliste and searches."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.utils import timezone
from django.utils.translation import gettext as _

from biblogin.common.errors import ApplicationError
from biblogin.userdata.keys import (
    link_user_key,
    local_id_key,
    parse_guid,
    parse_pid,
    parse_search_params,
    parse_search_query,
    parse_title,
)
from biblogin.userdata.models import Bookmark, LinkOfferOptOut, PortalLink, Profile, SavedSearch

# R-PORTAL-16: the huskeliste pages by 25; an order takes at most 25 materials (R-ORDER-1).
BOOKMARKS_PAGE_SIZE = 25
BOOKMARKS_SELECTION_MAX = 25
# Bounds on what one user can make us keep: a session stays small, a profile finite.
BOOKMARKS_SESSION_MAX = 100
BOOKMARKS_PROFILE_MAX = 1000
SAVED_SEARCHES_MAX = 100
SAVED_SEARCH_NAME_MAX = 100
# R-PORTAL-17 (issue 11): the last 10 searches of the session are shown to everyone.
RECENT_SEARCHES_MAX = 10


def profile_get(*, patron_guid: uuid.UUID | str) -> Profile | None:
    """Return the profile of this CULR patron, if it exists."""
    try:
        guid = parse_guid(patron_guid)
    except ApplicationError:
        return None
    return Profile.objects.filter(patron_guid=guid).first()


def link_offer_opted_out(*, agency_id: str, user_id: str, now: dt.datetime | None = None) -> bool:
    """Return whether (agency, user ID) chose "don't ask again" within 90 days (R-PORTAL-5)."""
    try:
        key = link_user_key(agency_id=agency_id, user_id=user_id)
    except ApplicationError:
        return False
    return LinkOfferOptOut.objects.filter(
        agency_id=agency_id.strip(), user_key=key, expires_at__gt=now or timezone.now()
    ).exists()


def portal_link_agency_ids(*, profile: Profile) -> list[str]:
    """Return the agencies whose link this profile made through the portal."""
    return sorted(set(profile.portal_links.values_list("agency_id", flat=True)))


def portal_link_exists(*, profile: Profile, agency_id: str, local_id: str) -> bool:
    """Return whether this profile made the link (agency, local ID) through the portal."""
    try:
        key = local_id_key(agency_id=agency_id, local_id=local_id)
    except ApplicationError:
        return False
    return PortalLink.objects.filter(
        profile=profile, agency_id=agency_id.strip(), local_id_hash=key
    ).exists()


# --- Huskeliste (R-PORTAL-16) -------------------------------------------------------------------


class BookmarkSort(StrEnum):
    LATEST = "latest"
    TITLE = "title"


@dataclass(frozen=True)
class BookmarkEntry:
    pid: str
    title: str
    added_at: dt.datetime


@dataclass(frozen=True)
class BookmarkPage:
    """One page of a huskeliste, sorted; ``total`` counts the whole list."""

    entries: list[BookmarkEntry]
    total: int
    page: int
    page_size: int
    sort: BookmarkSort

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def bookmark_sort_parse(value: object) -> BookmarkSort:
    """Return the sort asked for; anything unknown sorts by latest added."""
    try:
        return BookmarkSort(value) if isinstance(value, str) else BookmarkSort.LATEST
    except ValueError:
        return BookmarkSort.LATEST


def page_number_parse(value: object) -> int:
    """Return a page number from user input: 1 for anything that is not a positive number."""
    text = value.strip() if isinstance(value, str) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        return 1
    return max(1, int(text))


_DANISH_LAST = str.maketrans({"æ": "{", "ø": "|", "å": "}"})


def title_sort_key(title: str) -> str:
    """Sort titles as a Danish reader expects: case-insensitive, æ ø å after z."""
    return title.casefold().replace("aa", "å").translate(_DANISH_LAST)


def _paged(entries: Iterable[BookmarkEntry], *, sort: BookmarkSort, page: int) -> BookmarkPage:
    if sort == BookmarkSort.TITLE:
        ordered = sorted(entries, key=lambda e: (title_sort_key(e.title), e.pid))
    else:
        ordered = sorted(entries, key=lambda e: (-e.added_at.timestamp(), e.pid))
    pages = max(1, math.ceil(len(ordered) / BOOKMARKS_PAGE_SIZE))
    number = min(max(1, page), pages)
    start = (number - 1) * BOOKMARKS_PAGE_SIZE
    return BookmarkPage(
        entries=ordered[start : start + BOOKMARKS_PAGE_SIZE],
        total=len(ordered),
        page=number,
        page_size=BOOKMARKS_PAGE_SIZE,
        sort=sort,
    )


def bookmarks_for_profile(*, profile: Profile) -> list[BookmarkEntry]:
    """Return the whole huskeliste of a profile (bounded by BOOKMARKS_PROFILE_MAX)."""
    rows = Bookmark.objects.filter(profile=profile).values_list("pid", "title", "created_at")
    return [BookmarkEntry(pid=pid, title=title, added_at=at) for pid, title, at in rows]


def bookmarks_page_for_profile(
    *, profile: Profile, sort: BookmarkSort = BookmarkSort.LATEST, page: int = 1
) -> BookmarkPage:
    """Return one page of a profile's huskeliste (R-PORTAL-16)."""
    return _paged(bookmarks_for_profile(profile=profile), sort=sort, page=page)


def session_bookmarks_parse(*, items: object) -> list[BookmarkEntry]:
    """Return the bookmarks a session keeps; whatever does not parse is left out."""
    entries: list[BookmarkEntry] = []
    seen: set[str] = set()
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        try:
            pid = parse_pid(item.get("pid"))
            at = dt.datetime.fromtimestamp(float(item.get("at", 0)), tz=dt.UTC)
        except (ApplicationError, TypeError, ValueError, OverflowError, OSError):
            continue
        if pid in seen:
            continue
        seen.add(pid)
        entries.append(BookmarkEntry(pid=pid, title=parse_title(item.get("title")), added_at=at))
    return entries[:BOOKMARKS_SESSION_MAX]


def bookmarks_page_for_session(
    *, items: object, sort: BookmarkSort = BookmarkSort.LATEST, page: int = 1
) -> BookmarkPage:
    """Return one page of a session's huskeliste (guests and session users, R-PORTAL-16)."""
    return _paged(session_bookmarks_parse(items=items), sort=sort, page=page)


def bookmark_pids_for_profile(*, profile: Profile) -> set[str]:
    return set(Bookmark.objects.filter(profile=profile).values_list("pid", flat=True))


def bookmark_selection_parse(*, pids: Sequence[object], on_list: Collection[str]) -> list[str]:
    """Return the chosen materials that are on the list, in order; at most 25 (R-ORDER-1)."""
    chosen: list[str] = []
    for value in pids:
        try:
            pid = parse_pid(value)
        except ApplicationError:
            continue
        if pid in on_list and pid not in chosen:
            chosen.append(pid)
    if len(chosen) > BOOKMARKS_SELECTION_MAX:
        raise ApplicationError(
            _("Vælg højst %(count)d materialer ad gangen.") % {"count": BOOKMARKS_SELECTION_MAX},
            code="selection_too_large",
        )
    return chosen


# --- Searches (R-PORTAL-17) ---------------------------------------------------------------------


@dataclass(frozen=True)
class RecentSearch:
    query: str
    params: dict[str, list[str]]
    at: dt.datetime


def session_recent_searches_parse(*, items: object) -> list[RecentSearch]:
    """Return the session's last searches, latest first; whatever does not parse is left out."""
    searches: list[RecentSearch] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        try:
            searches.append(
                RecentSearch(
                    query=parse_search_query(item.get("q")),
                    params=parse_search_params(item.get("params") or {}),
                    at=dt.datetime.fromtimestamp(float(item.get("at", 0)), tz=dt.UTC),
                )
            )
        except (ApplicationError, TypeError, ValueError, OverflowError, OSError):
            continue
    return searches[:RECENT_SEARCHES_MAX]


def saved_searches_list(*, profile: Profile) -> list[SavedSearch]:
    """Return a profile's saved searches, the latest saved first."""
    return list(SavedSearch.objects.filter(profile=profile).order_by("-created_at", "-id"))


def saved_search_get(*, profile: Profile, saved_search_id: object) -> SavedSearch | None:
    """Return this profile's saved search of that ID; None for another profile's or junk."""
    text = str(saved_search_id).strip() if isinstance(saved_search_id, (str, int)) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return SavedSearch.objects.filter(profile=profile, pk=int(text)).first()

"""Write Bibliotek.dk's user data: profiles, FFU links, "don't ask again", lists and searches."""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.common.errors import ApplicationError
from biblogin.patrons.models import AccountIdType
from biblogin.patrons.selectors import accounts_for_patron, patron_get_by_guid
from biblogin.patrons.services import account_delete
from biblogin.registry.models import Agency
from biblogin.userdata.keys import (
    link_user_key,
    local_id_key,
    parse_agency_id,
    parse_guid,
    parse_pid,
    parse_search_params,
    parse_search_query,
    parse_title,
)
from biblogin.userdata.models import Bookmark, LinkOfferOptOut, PortalLink, Profile, SavedSearch
from biblogin.userdata.selectors import (
    BOOKMARKS_PROFILE_MAX,
    BOOKMARKS_SESSION_MAX,
    RECENT_SEARCHES_MAX,
    SAVED_SEARCH_NAME_MAX,
    SAVED_SEARCHES_MAX,
    session_bookmarks_parse,
    session_recent_searches_parse,
)

logger = logging.getLogger(__name__)

# R-PORTAL-5: "Spørg ikke igen" lasts 90 days.
LINK_OFFER_OPT_OUT_DAYS = 90
_BRANCH_ID = re.compile(r"[0-9]{6}")


@dataclass(frozen=True)
class ProfileLogin:
    profile: Profile
    created: bool


@dataclass(frozen=True)
class ProfileDeletion:
    """What deleting a profile removed: the agencies whose portal-made links were removed."""

    patron_guid: uuid.UUID
    links_removed: tuple[str, ...]


@transaction.atomic
def profile_login_record(
    *, patron_guid: uuid.UUID | str, now: dt.datetime | None = None
) -> ProfileLogin:
    """Return the patron's profile, creating it on the first login (R-PORTAL-2: no sign-up)."""
    guid = parse_guid(patron_guid)
    at = now or timezone.now()
    profile, created = Profile.objects.get_or_create(
        patron_guid=guid, defaults={"last_login_at": at}
    )
    if not created:
        Profile.objects.filter(pk=profile.pk).update(last_login_at=at)
        profile.last_login_at = at
    else:
        audit_event_record(action=AuditAction.PROFILE_CREATE, outcome="ok", subject=str(guid))
    return ProfileLogin(profile=profile, created=created)


@transaction.atomic
def profile_favourite_pickup_set(*, profile: Profile, branch_id: str | None) -> Profile:
    """Store the favourite pickup branch (None clears it); the caller has checked it is allowed."""
    value = (branch_id or "").strip()
    if value and not _BRANCH_ID.fullmatch(value):
        raise ApplicationError(_("Ugyldigt afhentningssted."), code="invalid_branch")
    Profile.objects.filter(pk=profile.pk).update(
        favourite_pickup_branch_id=value, updated_at=timezone.now()
    )
    profile.favourite_pickup_branch_id = value
    return profile


@transaction.atomic
def portal_link_record(*, profile: Profile, agency_id: str, local_id: str) -> PortalLink:
    """Remember that this profile linked (agency, local ID) through the portal (R-PORTAL-19)."""
    agency = parse_agency_id(agency_id)
    key = local_id_key(agency_id=agency, local_id=local_id)
    # The account now belongs to this profile's patron only: a link recorded by another
    # profile (the account was moved, R-PORTAL-6) is no longer that profile's to delete.
    PortalLink.objects.filter(agency_id=agency, local_id_hash=key).exclude(profile=profile).delete()
    link, _created = PortalLink.objects.get_or_create(
        profile=profile, agency_id=agency, local_id_hash=key
    )
    return link


@transaction.atomic
def portal_links_forget(*, agency_id: str, local_id: str) -> int:
    """Forget every profile's record of the link (agency, local ID), e.g. after an unlink."""
    agency = parse_agency_id(agency_id)
    key = local_id_key(agency_id=agency, local_id=local_id)
    deleted, _rows = PortalLink.objects.filter(agency_id=agency, local_id_hash=key).delete()
    return deleted


@transaction.atomic
def link_offer_opt_out(
    *, agency_id: str, user_id: str, now: dt.datetime | None = None
) -> LinkOfferOptOut:
    """Do not offer linking to (agency, user ID) for 90 days, in any browser (R-PORTAL-5)."""
    agency = parse_agency_id(agency_id)
    at = now or timezone.now()
    opt_out, _created = LinkOfferOptOut.objects.update_or_create(
        agency_id=agency,
        user_key=link_user_key(agency_id=agency, user_id=user_id),
        defaults={"expires_at": at + dt.timedelta(days=LINK_OFFER_OPT_OUT_DAYS)},
    )
    return opt_out


@transaction.atomic
def link_offer_opt_outs_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the "don't ask again" choices that have expired."""
    deleted, _rows = LinkOfferOptOut.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


@transaction.atomic
def profile_delete(*, profile: Profile) -> ProfileDeletion:
    """Delete the profile's data and the FFU links made through the portal (R-PORTAL-19).

    The user stays registered at their libraries: accounts delivered by the libraries
    themselves (every account at a ``culr_sync`` agency) are never touched.
    """
    guid = profile.patron_guid
    made = {(link.agency_id, link.local_id_hash) for link in profile.portal_links.all()}
    removed: list[str] = []
    patron = patron_get_by_guid(guid=guid, include_inactive=True)
    if patron is not None and made:
        delivering = set(
            Agency.objects.filter(
                agency_id__in={agency for agency, _key in made}, culr_sync=True
            ).values_list("agency_id", flat=True)
        )
        for account in accounts_for_patron(patron=patron):
            if account.id_type != AccountIdType.LOCAL or account.agency_id in delivering:
                continue
            key = (
                account.agency_id,
                local_id_key(agency_id=account.agency_id, local_id=account.local_id),
            )
            if key in made:
                account_delete(account=account, actor="bibliotek.dk")
                removed.append(account.agency_id)
    profile.delete()
    audit_event_record(
        action=AuditAction.PROFILE_DELETE,
        outcome="ok",
        subject=str(guid),
        details={"links_removed": removed},
    )
    logger.info("Profile deleted: patron=%s links_removed=%s", guid, removed)
    return ProfileDeletion(patron_guid=guid, links_removed=tuple(removed))


# --- Huskeliste (R-PORTAL-16) -------------------------------------------------------------------


def _profile_lock(profile: Profile) -> None:
    """Take the profile's row lock first, so a limit counted next holds under parallel writers.

    PostgreSQL: the UPDATE holds the row until commit, and the COUNT after it sees what the
    writer before committed. SQLite: transactions are IMMEDIATE (one writer at a time).
    """
    Profile.objects.filter(pk=profile.pk).update(updated_at=timezone.now())


def _bookmarks_full() -> ApplicationError:
    return ApplicationError(
        _("Din huskeliste er fuld (højst %(count)d materialer). Fjern nogle først.")
        % {"count": BOOKMARKS_PROFILE_MAX},
        code="bookmarks_full",
    )


@transaction.atomic
def bookmark_add(*, profile: Profile, pid: str, title: str, now: dt.datetime | None = None) -> bool:
    """Put a material on a profile's huskeliste; False when it was there already."""
    pid = parse_pid(pid)
    _profile_lock(profile)
    if Bookmark.objects.filter(profile=profile, pid=pid).exists():
        return False
    if Bookmark.objects.filter(profile=profile).count() >= BOOKMARKS_PROFILE_MAX:
        raise _bookmarks_full()
    Bookmark.objects.create(
        profile=profile, pid=pid, title=parse_title(title), created_at=now or timezone.now()
    )
    return True


@transaction.atomic
def bookmarks_remove(*, profile: Profile, pids: Iterable[str]) -> int:
    """Take these materials off a profile's huskeliste; return how many were on it."""
    wanted = _valid_pids(pids)
    deleted, _rows = Bookmark.objects.filter(profile=profile, pid__in=wanted).delete()
    return deleted


@transaction.atomic
def bookmarks_merge_from_session(*, profile: Profile, items: object) -> int:
    """Merge a session's huskeliste into the profile's, without duplicates (R-PORTAL-16).

    Returns how many were added; a material on both keeps the profile's entry. What does not
    fit under the profile's bound is left out.
    """
    entries = session_bookmarks_parse(items=items)
    if not entries:
        return 0
    _profile_lock(profile)
    have = set(Bookmark.objects.filter(profile=profile).values_list("pid", flat=True))
    room = max(0, BOOKMARKS_PROFILE_MAX - len(have))
    new = [e for e in entries if e.pid not in have][:room]
    Bookmark.objects.bulk_create(
        [Bookmark(profile=profile, pid=e.pid, title=e.title, created_at=e.added_at) for e in new],
        ignore_conflicts=True,
    )
    return len(new)


def _valid_pids(pids: Iterable[object]) -> list[str]:
    valid: list[str] = []
    for value in pids:
        try:
            valid.append(parse_pid(value))
        except ApplicationError:
            continue
    return valid


def session_bookmark_add(
    *, items: object, pid: str, title: str, now: dt.datetime | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """Return a session's huskeliste with the material added, and whether it was new.

    The list is what the session stores (JSON): guests and session users (R-PORTAL-16).
    """
    pid = parse_pid(pid)
    entries = session_bookmarks_parse(items=items)
    if any(e.pid == pid for e in entries):
        return _session_bookmarks_dump(entries), False
    if len(entries) >= BOOKMARKS_SESSION_MAX:
        raise ApplicationError(
            _("Din huskeliste er fuld (højst %(count)d materialer). Fjern nogle først.")
            % {"count": BOOKMARKS_SESSION_MAX},
            code="bookmarks_full",
        )
    at = now or timezone.now()
    dumped = _session_bookmarks_dump(entries)
    dumped.append({"pid": pid, "title": parse_title(title), "at": at.timestamp()})
    return dumped, True


def session_bookmarks_remove(*, items: object, pids: Iterable[str]) -> list[dict[str, Any]]:
    """Return a session's huskeliste without these materials."""
    wanted = set(_valid_pids(pids))
    return _session_bookmarks_dump(
        [e for e in session_bookmarks_parse(items=items) if e.pid not in wanted]
    )


def _session_bookmarks_dump(entries: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"pid": e.pid, "title": e.title, "at": e.added_at.timestamp()} for e in entries]


# --- Searches (R-PORTAL-17) ---------------------------------------------------------------------


def recent_search_record(
    *, items: object, query: str, params: Mapping[str, Any], now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Return a session's last searches with this one first (a repeat moves up), at most 10."""
    query = parse_search_query(query)
    clean = parse_search_params(params)
    at = (now or timezone.now()).timestamp()
    kept = [
        {"q": s.query, "params": s.params, "at": s.at.timestamp()}
        for s in session_recent_searches_parse(items=items)
        if (s.query, s.params) != (query, clean)
    ]
    return [{"q": query, "params": clean, "at": at}, *kept][:RECENT_SEARCHES_MAX]


def _saved_search_name(value: object, *, default: str) -> str:
    name = " ".join(parse_title(value).split()) if isinstance(value, str) else ""
    name = name or default
    return name[:SAVED_SEARCH_NAME_MAX]


@transaction.atomic
def saved_search_create(
    *, profile: Profile, query: str, params: Mapping[str, Any] | None = None, name: str = ""
) -> SavedSearch:
    """Save a search for a profile; the name defaults to the query (R-PORTAL-17)."""
    query = parse_search_query(query)
    clean = parse_search_params(params or {})
    _profile_lock(profile)
    if SavedSearch.objects.filter(profile=profile).count() >= SAVED_SEARCHES_MAX:
        raise ApplicationError(
            _("Du har gemt %(count)d søgninger, som er det højeste antal. Slet nogle først.")
            % {"count": SAVED_SEARCHES_MAX},
            code="saved_searches_full",
        )
    return SavedSearch.objects.create(
        profile=profile, name=_saved_search_name(name, default=query), query=query, params=clean
    )


@transaction.atomic
def saved_search_rename(*, saved_search: SavedSearch, name: str) -> SavedSearch:
    """Give a saved search a new name; an empty name is refused."""
    new = _saved_search_name(name, default="")
    if not new:
        raise ApplicationError(_("Skriv et navn til søgningen."), code="empty_name")
    saved_search.name = new
    saved_search.save(update_fields=["name", "updated_at"])
    return saved_search


@transaction.atomic
def saved_search_delete(*, saved_search: SavedSearch) -> None:
    """Delete a saved search."""
    saved_search.delete()

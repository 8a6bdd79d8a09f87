"""The profile menu: Bibliotek.dk's sections, each shown only where its page exists.

Data, not template code: a section whose URL name does not resolve (its app is not installed
or not merged yet) is left out, so the pages of circulation and ordering appear when they come.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from biblogin.portal.identity import Identity


class Audience(IntEnum):
    """Who sees a section: everyone, anyone logged in, or profile users only (R-PORTAL-3)."""

    EVERYONE = 0
    LOGGED_IN = 1
    PROFILE = 2


@dataclass(frozen=True)
class Section:
    url_name: str
    label: str | Promise
    audience: Audience


# The order of the real Bibliotek.dk's profile menu.
PROFILE_MENU: tuple[Section, ...] = (
    Section("portal:loans", _("Lån og reserveringer"), Audience.LOGGED_IN),
    Section("portal:bookmarks", _("Huskeliste"), Audience.EVERYONE),
    Section("portal:order-history", _("Bestillingshistorik"), Audience.PROFILE),
    Section("portal:my-libraries", _("Mine biblioteker"), Audience.PROFILE),
    Section("portal:access", _("Dine adgange"), Audience.LOGGED_IN),
    Section("portal:saved-library-info", _("Gemte oplysninger"), Audience.PROFILE),
    Section("portal:profile", _("Min profil"), Audience.PROFILE),
    Section("portal:saved-searches", _("Gemte søgninger"), Audience.PROFILE),
)


@dataclass(frozen=True)
class MenuItem:
    url_name: str
    url: str
    label: str
    current: bool
    count: int | None


def _audience_of(identity: Identity | None) -> Audience:
    if identity is None:
        return Audience.EVERYONE
    return Audience.PROFILE if identity.is_profile else Audience.LOGGED_IN


def profile_menu(
    *,
    identity: Identity | None,
    current_url_name: str = "",
    counts: Mapping[str, int] | None = None,
    sections: tuple[Section, ...] = PROFILE_MENU,
) -> list[MenuItem]:
    """Return the sections this user may see whose pages exist, the current one marked."""
    audience = _audience_of(identity)
    items: list[MenuItem] = []
    for section in sections:
        if section.audience > audience:
            continue
        try:
            url = reverse(section.url_name)
        except NoReverseMatch:
            continue
        items.append(
            MenuItem(
                url_name=section.url_name,
                url=url,
                label=str(section.label),
                current=section.url_name == current_url_name,
                count=(counts or {}).get(section.url_name),
            )
        )
    return items

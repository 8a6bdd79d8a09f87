"""Read Bibliotek.dk's user data."""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone

from biblogin.common.errors import ApplicationError
from biblogin.userdata.keys import link_user_key, local_id_key, parse_guid
from biblogin.userdata.models import LinkOfferOptOut, PortalLink, Profile


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

"""Write Bibliotek.dk's user data: profiles, their portal-made FFU links, "don't ask again"."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.common.agency_ids import agency_id_parse, branch_id_parse
from biblogin.patrons.models import AccountIdType
from biblogin.patrons.selectors import accounts_for_patron, patron_get_by_guid
from biblogin.patrons.services import account_delete
from biblogin.registry.selectors import agency_ids_delivering_to_culr
from biblogin.userdata.keys import link_user_key, local_id_key, parse_guid
from biblogin.userdata.models import LinkOfferOptOut, PortalLink, Profile

logger = logging.getLogger(__name__)

# R-PORTAL-5: "Spørg ikke igen" lasts 90 days.
LINK_OFFER_OPT_OUT_DAYS = 90


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
    value = branch_id_parse(branch_id) if (branch_id or "").strip() else ""
    Profile.objects.filter(pk=profile.pk).update(
        favourite_pickup_branch_id=value, updated_at=timezone.now()
    )
    profile.favourite_pickup_branch_id = value
    return profile


@transaction.atomic
def portal_link_record(*, profile: Profile, agency_id: str, local_id: str) -> PortalLink:
    """Remember that this profile linked (agency, local ID) through the portal (R-PORTAL-19)."""
    agency = agency_id_parse(agency_id)
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
    agency = agency_id_parse(agency_id)
    key = local_id_key(agency_id=agency, local_id=local_id)
    deleted, _rows = PortalLink.objects.filter(agency_id=agency, local_id_hash=key).delete()
    return deleted


@transaction.atomic
def link_offer_opt_out(
    *, agency_id: str, user_id: str, now: dt.datetime | None = None
) -> LinkOfferOptOut:
    """Do not offer linking to (agency, user ID) for 90 days, in any browser (R-PORTAL-5)."""
    agency = agency_id_parse(agency_id)
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
        delivering = agency_ids_delivering_to_culr(agency_ids={agency for agency, _key in made})
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

"""The portal's writes: linking and unlinking FFU libraries, Mine biblioteker, profile deletion.

Every link and unlink is audited (R-LOGIN-13) with the CPR masked and no PIN.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.common.cpr import normalise_cpr
from biblogin.common.errors import ApplicationError
from biblogin.patrons.models import AccountIdType
from biblogin.patrons.selectors import (
    account_get_local,
    accounts_for_patron,
    patron_get_by_guid,
)
from biblogin.patrons.services import account_delete, account_link
from biblogin.portal.constants import PROFILE_ONLY_AGENCY_ID
from biblogin.portal.selectors import (
    addable_libraries,
    agency_is_linkable_ffu,
    pickup_branch_selectable,
)
from biblogin.registry.models import Agency
from biblogin.registry.selectors import agency_get, agency_ids_delivering_to_culr
from biblogin.userdata.models import Profile
from biblogin.userdata.selectors import profile_get
from biblogin.userdata.services import (
    portal_link_record,
    portal_links_forget,
    profile_favourite_pickup_set,
    profile_login_record,
)

logger = logging.getLogger(__name__)


class CprMismatch(ApplicationError):
    """The MitID that verified the user is another person's than the profile's (R-PORTAL-11)."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "Det MitID, du bekræftede med, tilhører en anden person end den, der ejer "
                "profilen. Biblioteket er ikke tilknyttet. Log ind med dit eget MitID for at "
                "tilknytte biblioteket."
            ),
            code="cpr_mismatch",
        )


@dataclass(frozen=True)
class LinkOutcome:
    """A linked FFU account: the profile it now belongs to, and whether it was moved there."""

    profile: Profile
    agency_id: str
    created: bool
    moved: bool


def _linkable_agency(agency_id: str) -> Agency:
    agency = agency_get(agency_id=agency_id)
    if agency is None or not agency_is_linkable_ffu(agency=agency):
        raise ApplicationError(
            _("Biblioteket kan ikke knyttes til en profil på Bibliotek.dk."),
            code="agency_not_linkable",
        )
    return agency


def _cpr(value: str | None) -> str | None:
    return normalise_cpr(value) if value else None


@transaction.atomic
def _link(*, agency: Agency, cpr: str, local_id: str, action: AuditAction) -> LinkOutcome:
    result = account_link(
        agency_id=agency.agency_id, cpr=cpr, local_id=local_id, actor="bibliotek.dk"
    )
    account = result.account
    profile = profile_login_record(patron_guid=account.patron.guid).profile
    if account.id_type == AccountIdType.LOCAL:
        portal_link_record(profile=profile, agency_id=agency.agency_id, local_id=account.local_id)
    audit_event_record(
        action=action,
        outcome="moved" if result.account_moved else "linked",
        actor="bibliotek.dk",
        agency_id=agency.agency_id,
        subject=str(account.patron.guid),
    )
    logger.info(
        "FFU account linked via the portal: agency=%s patron=%s moved=%s",
        agency.agency_id,
        account.patron.guid,
        result.account_moved,
    )
    return LinkOutcome(
        profile=profile,
        agency_id=agency.agency_id,
        created=result.account_created,
        moved=result.account_moved,
    )


def ffu_link_with_mitid(
    *, agency_id: str, library_user_id: str, library_cpr: str | None, mitid_cpr: str | None
) -> LinkOutcome:
    """Link a library login's FFU account to the MitID person's profile (R-PORTAL-6).

    The local account is created under the patron with the MitID CPR (created if absent); if
    another patron held it, it is moved. A CPR the library itself gave that differs from the
    MitID CPR is refused: the two logins are not the same person. Not atomic itself: a refusal
    is audited and stays audited; the link is one transaction.
    """
    agency = _linkable_agency(agency_id)
    cpr = _cpr(mitid_cpr)
    if cpr is None:
        raise ApplicationError(
            _("MitID-login gav ikke et CPR-nummer. Prøv igen."), code="mitid_without_cpr"
        )
    library = _cpr(library_cpr)
    if library is not None and library != cpr:
        audit_event_record(
            action=AuditAction.FFU_LINK,
            outcome="cpr_mismatch",
            actor="bibliotek.dk",
            agency_id=agency_id,
        )
        raise CprMismatch()
    return _link(agency=agency, cpr=cpr, local_id=library_user_id, action=AuditAction.FFU_LINK)


@transaction.atomic
def ffu_unlink(*, agency_id: str, library_user_id: str) -> bool:
    """Remove the CULR link of an FFU library login (R-PORTAL-7); True if there was one."""
    agency = _linkable_agency(agency_id)
    account = account_get_local(agency_id=agency.agency_id, local_id=library_user_id)
    if account is None:
        return False
    guid = account.patron.guid
    portal_links_forget(agency_id=agency.agency_id, local_id=account.local_id)
    account_delete(account=account, actor="bibliotek.dk")
    audit_event_record(
        action=AuditAction.FFU_UNLINK,
        outcome="ok",
        actor="bibliotek.dk",
        agency_id=agency.agency_id,
        subject=str(guid),
    )
    return True


def library_add_complete(
    *,
    patron_guid: uuid.UUID | str,
    agency_id: str,
    library_user_id: str,
    library_cpr: str | None,
    mitid_cpr: str | None,
) -> LinkOutcome:
    """Add an FFU library to a CPR-verified profile after library login + MitID (R-PORTAL-11).

    CPR mismatch between the profile and the MitID (or the library's own CPR) links nothing;
    the refusal is audited (outside the link's transaction, so it stays).
    """
    patron = patron_get_by_guid(guid=patron_guid)
    profile_cpr = patron.cpr if patron is not None else None
    if patron is None or profile_cpr is None:
        raise ApplicationError(
            _(
                "Kun en profil, der er bekræftet med MitID eller CPR-nummer, kan tilføje "
                "biblioteker."
            ),
            code="profile_not_cpr_verified",
        )
    if agency_id not in {a.agency_id for a in addable_libraries(patron_guid=patron.guid)}:
        raise ApplicationError(
            _("Biblioteket kan ikke tilføjes til din profil."), code="agency_not_addable"
        )
    agency = _linkable_agency(agency_id)
    mitid = _cpr(mitid_cpr)
    library = _cpr(library_cpr)
    if mitid != profile_cpr or (library is not None and library != profile_cpr):
        audit_event_record(
            action=AuditAction.LIBRARY_ADD,
            outcome="cpr_mismatch",
            actor="bibliotek.dk",
            agency_id=agency_id,
            subject=str(patron.guid),
        )
        raise CprMismatch()
    return _link(
        agency=agency, cpr=profile_cpr, local_id=library_user_id, action=AuditAction.LIBRARY_ADD
    )


@transaction.atomic
def library_remove(*, patron_guid: uuid.UUID | str, agency_id: str) -> int:
    """Remove a library that does not deliver to CULR from the profile (R-PORTAL-12)."""
    patron = patron_get_by_guid(guid=patron_guid)
    if patron is None:
        raise ApplicationError(_("Profilen findes ikke."), code="profile_not_found")
    if agency_id == PROFILE_ONLY_AGENCY_ID or agency_ids_delivering_to_culr(agency_ids=[agency_id]):
        raise ApplicationError(
            _(
                "Biblioteket leverer selv dine oplysninger til Bibliotek.dk og kan ikke fjernes "
                "her. Kontakt biblioteket, hvis du vil afmeldes."
            ),
            code="library_not_removable",
        )
    accounts = [a for a in accounts_for_patron(patron=patron) if a.agency_id == agency_id]
    if not accounts:
        raise ApplicationError(
            _("Biblioteket er ikke knyttet til din profil."), code="library_not_linked"
        )
    for account in accounts:
        if account.id_type == AccountIdType.LOCAL:
            portal_links_forget(agency_id=agency_id, local_id=account.local_id)
        account_delete(account=account, actor="bibliotek.dk")
    audit_event_record(
        action=AuditAction.LIBRARY_REMOVE,
        outcome="ok",
        actor="bibliotek.dk",
        agency_id=agency_id,
        subject=str(patron.guid),
        details={"accounts": len(accounts)},
    )
    return len(accounts)


@transaction.atomic
def favourite_pickup_choose(*, patron_guid: uuid.UUID | str, branch_id: str | None) -> Profile:
    """Choose the favourite pickup branch among the profile's open pickup branches (R-PORTAL-10)."""
    profile = profile_get(patron_guid=patron_guid)
    if profile is None:
        raise ApplicationError(_("Profilen findes ikke."), code="profile_not_found")
    value = (branch_id or "").strip()
    if value and not pickup_branch_selectable(patron_guid=patron_guid, branch_id=value):
        raise ApplicationError(
            _("Vælg et åbent afhentningssted hos et af dine biblioteker."),
            code="branch_not_selectable",
        )
    return profile_favourite_pickup_set(profile=profile, branch_id=value or None)

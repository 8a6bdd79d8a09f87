"""Deliver the borrowers of ``culr_sync`` agencies from their library systems to CULR (R-CULR-2).

A delivery is a full export: afterwards CULR holds, at that agency, exactly the accounts of the
exported borrowers who have a CPR. Each borrower is applied in its own transaction (through the
patrons services, which are safe against concurrent logins), so a delivery of a large library
never holds locks for long and an interrupted one leaves only whole borrowers behind. Accounts are
removed only after a complete export, and never on an empty one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.common.cpr import normalise_cpr
from biblogin.common.cpr_crypto import cpr_hash
from biblogin.common.errors import ApplicationError
from biblogin.integrations.library_systems.protocol import (
    Borrower,
    BorrowerExport,
    LibrarySystemError,
)
from biblogin.patrons.inputs import parse_agency_id, parse_local_id
from biblogin.patrons.models import Account, AccountIdType
from biblogin.patrons.selectors import accounts_at_agency
from biblogin.patrons.services import account_delete, account_link
from biblogin.registry.models import Agency, AgencyStatus, AgencyType
from biblogin.registry.selectors import agency_get_any_status, agency_ids_syncing_to_culr

logger = logging.getLogger(__name__)


@dataclass
class SyncReport:
    """What one delivery of an agency's borrowers did."""

    agency_id: str
    borrowers_read: int = 0
    borrowers_unchanged: int = 0
    skipped_without_cpr: int = 0
    skipped_invalid_cpr: int = 0
    skipped_local_ids: int = 0
    borrowers_failed: int = 0
    # distinct patrons (CPRs) this delivery put in place, changed or not
    patrons_touched: int = 0
    patrons_created: int = 0
    patrons_updated: int = 0
    accounts_created: int = 0
    accounts_moved: int = 0
    accounts_removed: int = 0
    removal_skipped: bool = False
    error: str = ""

    @property
    def changes(self) -> int:
        return (
            self.patrons_created
            + self.patrons_updated
            + self.accounts_created
            + self.accounts_moved
            + self.accounts_removed
        )

    def summary(self) -> str:
        """Return one line for an operator (no personal data)."""
        if self.error:
            return f"{self.agency_id}: {self.error}"
        return _(
            "%(agency)s: %(read)d lånere læst, %(unchanged)d uændrede; "
            "%(no_cpr)d uden CPR og %(bad_cpr)d med ugyldigt CPR sprunget over; "
            "%(patrons_created)d lånere oprettet, %(patrons_updated)d opdateret; "
            "%(created)d konti oprettet, %(moved)d flyttet, %(removed)d fjernet; "
            "%(bad_ids)d lånernumre afvist, %(failed)d fejl."
        ) % {
            "agency": self.agency_id,
            "read": self.borrowers_read,
            "unchanged": self.borrowers_unchanged,
            "no_cpr": self.skipped_without_cpr,
            "bad_cpr": self.skipped_invalid_cpr,
            "patrons_created": self.patrons_created,
            "patrons_updated": self.patrons_updated,
            "created": self.accounts_created,
            "moved": self.accounts_moved,
            "removed": self.accounts_removed,
            "bad_ids": self.skipped_local_ids,
            "failed": self.borrowers_failed,
        }


def _library_system_for(agency_id: str) -> BorrowerExport:
    # Imported here: the library-system selectors pull in the simulated backend, which only the
    # default (non-injected) path needs.
    from biblogin.integrations.library_systems.selectors import library_system_for

    return library_system_for(agency_id)


def _syncing_agency(agency_id: str) -> Agency:
    """Return the registry agency if it delivers to CULR (R-VIP-2), else raise."""
    agency = agency_get_any_status(agency_id=parse_agency_id(agency_id))
    if agency is None:
        raise ApplicationError(
            _("Biblioteket %(agency)s findes ikke i biblioteksregistret.")
            % {"agency": agency_id.strip()},
            code="library_not_found",
        )
    if agency.status == AgencyStatus.DELETED:
        raise ApplicationError(
            _("Biblioteket %(agency)s er slettet og leverer ikke lånere til CULR.")
            % {"agency": agency.agency_id},
            code="agency_deleted",
        )
    if not agency.culr_sync:
        raise ApplicationError(
            _("Biblioteket %(agency)s leverer ikke lånere til CULR (culr_sync er slået fra).")
            % {"agency": agency.agency_id},
            code="culr_sync_not_enabled",
        )
    return agency


class _Delivery:
    """The state of one delivery: what CULR held before, and what this export claimed."""

    def __init__(self, *, agency: Agency, report: SyncReport) -> None:
        self.agency_id = agency.agency_id
        self.is_public = agency.agency_type == AgencyType.FOLKEBIBLIOTEK
        self.report = report
        held = accounts_at_agency(agency_id=agency.agency_id)
        self.held_cpr: dict[str, Account] = {
            a.patron.cpr_hash: a
            for a in held
            if a.id_type == AccountIdType.CPR and a.patron.cpr_hash
        }
        self.held_local: dict[str, Account] = {
            a.local_id: a for a in held if a.id_type == AccountIdType.LOCAL
        }
        self.seen_cpr_hashes: set[str] = set()
        self.touched: set[str] = set()
        # local ID -> CPR hash of the borrower that claimed it first in this export
        self.claimed_local: dict[str, str] = {}

    def _unchanged(self, digest: str, local_ids: list[str], municipality: int | None) -> bool:
        account = self.held_cpr.get(digest)
        if account is None or not account.patron.is_active:
            return False
        if municipality is not None and account.patron.municipality_no != municipality:
            return False
        return all(
            (held := self.held_local.get(local)) is not None and held.patron_id == account.patron_id
            for local in local_ids
        )

    def _touched(self, digest: str) -> None:
        if digest not in self.touched:
            self.touched.add(digest)
            self.report.patrons_touched += 1

    def apply(self, borrower: Borrower) -> None:
        """Apply one exported borrower (R-CULR-2)."""
        report = self.report
        report.borrowers_read += 1
        if not borrower.cpr:
            report.skipped_without_cpr += 1
            return
        cpr = normalise_cpr(borrower.cpr)
        if cpr is None:
            report.skipped_invalid_cpr += 1
            return
        digest = cpr_hash(cpr)
        self.seen_cpr_hashes.add(digest)
        local_ids: list[str] = []
        for number in borrower.borrower_numbers:
            try:
                local = parse_local_id(number)
            except ApplicationError:
                report.skipped_local_ids += 1
                continue
            if normalise_cpr(local) == cpr:
                continue  # the CPR itself: that is the CPR account (and never plain text)
            owner = self.claimed_local.setdefault(local, digest)
            if owner != digest:
                # Two borrowers with one number: the first keeps it, so that a second
                # delivery of the same export changes nothing.
                report.skipped_local_ids += 1
                continue
            if local not in local_ids:
                local_ids.append(local)
        municipality = borrower.municipality_no if self.is_public else None
        if municipality is not None and not 100 <= municipality <= 999:
            municipality = None  # a library system's garbage never overwrites a good value
        if self._unchanged(digest, local_ids, municipality):
            report.borrowers_unchanged += 1
            self._touched(digest)
            return
        try:
            with transaction.atomic():  # the borrower's accounts arrive together or not at all
                results = [
                    account_link(
                        agency_id=self.agency_id,
                        cpr=cpr,
                        local_id=local,
                        municipality_no=municipality,
                        actor="culrsync",
                    )
                    for local in [None, *local_ids]
                ]
        except (ApplicationError, DatabaseError) as exc:
            # One borrower (e.g. a deadlock with a concurrent login, or a busy register) must
            # not stop the delivery; its accounts count as seen, so none are removed for it.
            report.borrowers_failed += 1
            logger.warning(
                "CULR delivery %s: a borrower was not applied (%s)",
                self.agency_id,
                getattr(exc, "code", type(exc).__name__),
            )
            return
        self._touched(digest)
        report.patrons_created += any(r.patron_created for r in results)
        report.patrons_updated += any(r.patron_changed for r in results)
        report.accounts_created += sum(r.account_created for r in results)
        report.accounts_moved += sum(r.account_moved for r in results)

    def remove_missing(self, *, started: dt.datetime) -> None:
        """Remove the accounts of borrowers the library no longer has (after a full export)."""
        report = self.report
        if report.borrowers_read == 0:
            # An empty export is far likelier a broken library system than a library without
            # borrowers: it never wipes CULR's accounts.
            report.removal_skipped = bool(self.held_cpr or self.held_local)
            return
        for account in accounts_at_agency(agency_id=self.agency_id):
            if account.created_at >= started:
                continue  # created meanwhile (e.g. by a login): not this export's to judge
            if account.id_type == AccountIdType.CPR:
                keep = account.patron.cpr_hash in self.seen_cpr_hashes
            else:
                keep = account.local_id in self.claimed_local
            if not keep:
                account_delete(account=account, actor="culrsync")
                report.accounts_removed += 1


def culr_sync_agency(*, agency_id: str, system: BorrowerExport | None = None) -> SyncReport:
    """Deliver every borrower of one ``culr_sync`` agency to CULR (R-CULR-2); idempotent.

    ``system`` replaces the agency's library system (the integration boundary), e.g. in tests.
    """
    agency = _syncing_agency(agency_id)
    report = SyncReport(agency_id=agency.agency_id)
    started = timezone.now()
    delivery = _Delivery(agency=agency, report=report)
    try:
        library = system if system is not None else _library_system_for(agency.agency_id)
        for borrower in library.borrowers_export():
            delivery.apply(borrower)
    except LibrarySystemError as exc:
        report.error = _(
            "Bibliotekssystemet for %(agency)s svarede ikke; leveringen blev afbrudt, "
            "og ingen konti er fjernet."
        ) % {"agency": agency.agency_id}
        _record(report, outcome="failed")
        logger.warning("CULR delivery %s interrupted: %s", agency.agency_id, type(exc).__name__)
        raise ApplicationError(report.error, code="service_unavailable") from exc
    delivery.remove_missing(started=started)
    _record(report, outcome="ok")
    logger.info("CULR delivery %s", report.summary())
    return report


def _record(report: SyncReport, *, outcome: str) -> None:
    details = {k: v for k, v in asdict(report).items() if k not in {"agency_id", "error"}}
    audit_event_record(
        action=AuditAction.CULR_SYNC,
        outcome=outcome,
        actor="culrsync",
        agency_id=report.agency_id,
        details=details,
    )


def culr_sync_all(*, system_for: Callable[[str], BorrowerExport] | None = None) -> list[SyncReport]:
    """Deliver every ``culr_sync`` agency in turn; one failing library does not stop the rest."""
    reports: list[SyncReport] = []
    for agency_id in agency_ids_syncing_to_culr():
        try:
            system = system_for(agency_id) if system_for is not None else None
            reports.append(culr_sync_agency(agency_id=agency_id, system=system))
        except ApplicationError as exc:
            reports.append(SyncReport(agency_id=agency_id, error=exc.message))
    return reports

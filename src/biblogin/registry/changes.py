"""What a registry change did: before/after for the audit log, and what patrons lose.

The registry's services call these around each write (DESIGN convention 9): one audit event per
kind of change (settings, licences, branches, order parameters), with the changed values
before and after, and one per consequence for patrons (R-SEC-4), which the admin also shows
on its confirmation page before saving.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.registry.models import Agency, AgencyStatus, Branch, ServiceRequester

AGENCY_M2M = {"borrower_check_services", "licensed_resources"}
AGENCY_FIELDS = {
    "agency_id",
    "name",
    "aliases",
    "agency_type",
    "municipality_no",
    "status",
    "culr_sync",
    "borrower_check",
    "user_id_kinds",
    "accepts_orders_without_login",
    "provides_user_status",
    "infomedia",
    "digital_article_service",
}
# A branch's own data besides its ID (the admin's form shows the same, in this order).
BRANCH_DATA_FIELDS = (
    "name",
    "address",
    "postal_code",
    "city",
    "opening_hours",
    "website",
    "email",
    "pickup_allowed",
    "temporarily_closed",
    "temporarily_closed_reason",
    "is_mobile",
)
BRANCH_FIELDS = {"branch_id", *BRANCH_DATA_FIELDS}


# --- Audit (DESIGN convention 9) -------------------------------------------------------------

_PATRON_IMPACT_ACTIONS = {
    "borrower_check_off": AuditAction.REGISTRY_BORROWER_CHECK_OFF,
    "service_removed": AuditAction.REGISTRY_SERVICE_REMOVED,
    "status_invisible": AuditAction.REGISTRY_STATUS_INVISIBLE,
    "status_deleted": AuditAction.REGISTRY_STATUS_DELETED,
}


def audit_change(
    action: AuditAction,
    *,
    agency_id: str,
    actor: str,
    ip: str | None,
    subject: str = "",
    details: dict[str, Any],
) -> None:
    audit_event_record(
        action=action,
        outcome="ok",
        actor=actor,
        agency_id=agency_id,
        subject=subject,
        ip=ip,
        details=details,
    )


def agency_settings(agency: Agency) -> dict[str, Any]:
    return {name: getattr(agency, name) for name in sorted(AGENCY_FIELDS)}


def agency_licences(agency: Agency) -> dict[str, list[str]]:
    """The agency's service opt-ins (R-VIP-4) and licensed e-resources (R-VIP-9), by name."""
    if agency.pk is None:
        return {name: [] for name in sorted(AGENCY_M2M)}
    return {
        "borrower_check_services": sorted(
            agency.borrower_check_services.values_list("name", flat=True)
        ),
        "licensed_resources": sorted(agency.licensed_resources.values_list("name", flat=True)),
    }


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Return ``{field: [before, after]}`` for the fields whose value differs."""
    return {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}


def _set_changes(
    before: Mapping[str, list[str]], after: Mapping[str, list[str]]
) -> dict[str, dict[str, list[str]]]:
    changes: dict[str, dict[str, list[str]]] = {}
    for name, names in after.items():
        added = sorted(set(names) - set(before.get(name, [])))
        removed = sorted(set(before.get(name, [])) - set(names))
        if added or removed:
            changes[name] = {"added": added, "removed": removed}
    return changes


def audit_agency_change(
    *,
    agency: Agency,
    settings_before: Mapping[str, Any],
    licences_before: Mapping[str, list[str]],
    impacts: Iterable[PatronImpact],
    actor: str,
    ip: str | None,
    confirmed: bool,
) -> None:
    """Record what a saved change did: settings, licences, and each R-SEC-4 patron impact."""
    settings_changed = _changes(settings_before, agency_settings(agency))
    if settings_changed:
        audit_change(
            AuditAction.REGISTRY_AGENCY_CHANGED,
            agency_id=agency.agency_id,
            actor=actor,
            ip=ip,
            details={"changed": settings_changed},
        )
    licences_changed = _set_changes(licences_before, agency_licences(agency))
    if licences_changed:
        audit_change(
            AuditAction.REGISTRY_LICENCES_CHANGED,
            agency_id=agency.agency_id,
            actor=actor,
            ip=ip,
            details={"changed": licences_changed},
        )
    # R-SEC-4: a change that stops patrons is audited as such, however it was made.
    for impact in impacts:
        audit_change(
            _PATRON_IMPACT_ACTIONS[impact.code],
            agency_id=agency.agency_id,
            actor=actor,
            ip=ip,
            details={"agency": agency.name, "service": impact.service, "confirmed": confirmed},
        )


def branch_data(branch: Branch) -> dict[str, Any]:
    return {name: getattr(branch, name) for name in ("branch_id", *BRANCH_DATA_FIELDS)}


def audit_branch_change(
    *, branch: Branch, before: Mapping[str, Any], actor: str, ip: str | None
) -> None:
    changed = _changes(before, branch_data(branch))
    if changed:
        audit_change(
            AuditAction.REGISTRY_BRANCH_CHANGED,
            agency_id=branch.agency.agency_id,
            actor=actor,
            ip=ip,
            subject=branch.branch_id,
            details={"changed": changed},
        )


def mobile_stops_of(branch: Branch) -> list[list[str]]:
    return [
        list(s)
        for s in branch.mobile_stops.order_by("position", "id").values_list("name", "schedule")
    ]


def order_parameters_of(agency: Agency) -> list[list[Any]]:
    return [
        list(p)
        for p in agency.order_user_parameters.order_by("position", "id").values_list(
            "parameter_type", "required", "help_text_da", "help_text_en"
        )
    ]


def audit_order_parameters(
    *, agency: Agency, before: list[list[Any]], actor: str, ip: str | None
) -> None:
    after = order_parameters_of(agency)
    if after != before:
        audit_change(
            AuditAction.REGISTRY_ORDER_PARAMETERS_CHANGED,
            agency_id=agency.agency_id,
            actor=actor,
            ip=ip,
            details={"changed": {"order_user_parameters": [before, after]}},
        )


# --- Changes that stop patrons (R-SEC-4) ------------------------------------------------------


@dataclass(frozen=True)
class PatronImpact:
    """One consequence for patrons of a registry change, for staff to confirm first."""

    code: str  # borrower_check_off | service_removed | status_invisible | status_deleted
    message: str
    service: str = ""


def agency_change_patron_impacts(
    *,
    agency_pk: int,
    borrower_check: bool,
    borrower_check_services: Iterable[str | ServiceRequester],
    status: str,
) -> list[PatronImpact]:
    """Return what patrons lose if the stored agency gets these values (nothing: empty list).

    R-SEC-4: turning off the borrower check (R-VIP-3), dropping a service from the shared
    borrower check (R-VIP-4) or making the agency invisible or deleted changes, for every
    patron of the library, whether they can log in, find it or order.
    """
    before = Agency.objects.filter(pk=agency_pk).first()
    if before is None:
        return []
    name = before.name
    impacts: list[PatronImpact] = []
    if before.borrower_check and not borrower_check:
        impacts.append(
            PatronImpact(
                "borrower_check_off",
                _("Lånere hos %(name)s kan ikke længere logge ind med bibliotekslogin.")
                % {"name": name},
            )
        )
    elif borrower_check:
        after = {
            r.name if isinstance(r, ServiceRequester) else str(r) for r in borrower_check_services
        }
        removed = sorted(set(before.borrower_check_services.values_list("name", flat=True)) - after)
        impacts.extend(
            PatronImpact(
                "service_removed",
                _(
                    "Lånere hos %(name)s kan ikke længere logge ind med bibliotekslogin på "
                    "%(service)s."
                )
                % {"name": name, "service": service},
                service=service,
            )
            for service in removed
        )
    if status != before.status and status == AgencyStatus.INVISIBLE:
        impacts.append(
            PatronImpact(
                "status_invisible",
                _("Lånere kan ikke længere finde %(name)s i bibliotekssøgningen på login-siden.")
                % {"name": name},
            )
        )
    if status != before.status and status == AgencyStatus.DELETED:
        impacts.append(
            PatronImpact(
                "status_deleted",
                _(
                    "%(name)s findes ikke længere for lånerne: de kan hverken finde biblioteket, "
                    "logge ind med bibliotekslogin eller bestille til det."
                )
                % {"name": name},
            )
        )
    return impacts

"""Writes to the library registry (VIP): agencies, branches, order parameters, staff binding.

Every write validates with ``full_clean`` (the model's ``clean`` and its database constraints)
before saving, so a bad value is a ``ValidationError`` with a message for staff, never a 500.
R-VIP-11: nothing is cached; the next read after a commit sees the change.
Every write that changes something records an audit event in the same transaction, with what
changed (before and after; see ``changes``); the admin saves through these services (DESIGN
convention 9).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from biblogin.audit.models import AuditAction
from biblogin.common.models import User
from biblogin.registry.changes import (
    AGENCY_FIELDS,
    AGENCY_M2M,
    BRANCH_FIELDS,
    PatronImpact,
    agency_change_patron_impacts,
    agency_licences,
    agency_settings,
    audit_agency_change,
    audit_branch_change,
    audit_change,
    audit_order_parameters,
    branch_data,
    mobile_stops_of,
    order_parameters_of,
)
from biblogin.registry.models import (
    Agency,
    AgencyStatus,
    AgencyType,
    Branch,
    LicensedResource,
    MobileStop,
    OrderUserParameter,
    ServiceRequester,
    StaffAgency,
    UserIdKind,
)

logger = logging.getLogger("biblogin.registry")

# What a staff account bound to one agency may do in the admin (scoped to that agency there).
STAFF_PERMISSION_CODENAMES = (
    "view_agency",
    "change_agency",
    "view_branch",
    "change_branch",
    "add_branch",
    "view_orderuserparameter",
    "change_orderuserparameter",
    "add_orderuserparameter",
    "delete_orderuserparameter",
    "view_mobilestop",
    "change_mobilestop",
    "add_mobilestop",
    "delete_mobilestop",
    "view_servicerequester",
    "view_licensedresource",
)


def canonical_user_id_kinds(kinds: Iterable[str]) -> list[str]:
    """Return the kinds in the registry's fixed order, duplicates dropped; unknown ones kept.

    Unknown kinds are kept so that ``full_clean`` rejects them with a message (R-VIP-5).
    """
    given = list(dict.fromkeys(kinds))
    known = [k for k in UserIdKind.values if k in given]
    return known + [k for k in given if k not in UserIdKind.values]


def _save_validated(instance: Agency | Branch, *, update_fields: list[str] | None = None) -> None:
    instance.full_clean()
    try:
        # A savepoint: a constraint that lost a race surfaces as a message, not a 500.
        with transaction.atomic():
            instance.save(update_fields=update_fields)
    except IntegrityError as exc:
        raise ValidationError(
            _("Ændringen strider mod registrets regler (en anden har måske lige ændret det).")
        ) from exc


def _requesters(values: Iterable[str | ServiceRequester]) -> list[ServiceRequester]:
    objects = [v for v in values if isinstance(v, ServiceRequester)]
    names = [v for v in values if isinstance(v, str)]
    found = {r.name: r for r in ServiceRequester.objects.filter(name__in=names)}
    unknown = [n for n in names if n not in found]
    if unknown:
        raise ValidationError(
            {
                "borrower_check_services": _("Ukendt tjenesteanvender: %(names)s")
                % {"names": ", ".join(unknown)}
            }
        )
    return objects + [found[n] for n in names]


def _resources(values: Iterable[str | LicensedResource]) -> list[LicensedResource]:
    objects = [v for v in values if isinstance(v, LicensedResource)]
    names = [v for v in values if isinstance(v, str)]
    found = {r.name: r for r in LicensedResource.objects.filter(name__in=names)}
    unknown = [n for n in names if n not in found]
    if unknown:
        raise ValidationError(
            {
                "licensed_resources": _("Ukendt e-ressource: %(names)s")
                % {"names": ", ".join(unknown)}
            }
        )
    return objects + [found[n] for n in names]


@transaction.atomic
def agency_create(
    *,
    agency_id: str,
    name: str,
    agency_type: str,
    municipality_no: int | None = None,
    aliases: str = "",
    status: str = AgencyStatus.ACTIVE,
    culr_sync: bool | None = None,
    borrower_check: bool = False,
    borrower_check_services: Iterable[str | ServiceRequester] = (),
    user_id_kinds: Iterable[str] | None = None,
    accepts_orders_without_login: bool = False,
    provides_user_status: bool = False,
    infomedia: bool = False,
    digital_article_service: bool = False,
    licensed_resources: Iterable[str | LicensedResource] = (),
    actor: str = "",
) -> Agency:
    """Create an agency after validating it; ``culr_sync`` defaults to True for public libraries.

    ``user_id_kinds`` defaults to CPR and borrower number when borrower check is on, else none.
    """
    if culr_sync is None:
        culr_sync = agency_type == AgencyType.FOLKEBIBLIOTEK  # R-VIP-2
    if user_id_kinds is None:
        user_id_kinds = (
            [UserIdKind.CPR.value, UserIdKind.BORROWER_NUMBER.value] if borrower_check else []
        )
    agency = Agency(
        agency_id=agency_id,
        name=name,
        aliases=aliases,
        agency_type=agency_type,
        municipality_no=municipality_no,
        status=status,
        culr_sync=culr_sync,
        borrower_check=borrower_check,
        user_id_kinds=canonical_user_id_kinds(user_id_kinds),
        accepts_orders_without_login=accepts_orders_without_login,
        provides_user_status=provides_user_status,
        infomedia=infomedia,
        digital_article_service=digital_article_service,
    )
    requesters = _requesters(borrower_check_services)
    resources = _resources(licensed_resources)
    _save_validated(agency)
    agency.borrower_check_services.set(requesters)
    agency.licensed_resources.set(resources)
    audit_change(
        AuditAction.REGISTRY_AGENCY_CREATED,
        agency_id=agency.agency_id,
        actor=actor,
        ip=None,
        details={"settings": agency_settings(agency), "licences": agency_licences(agency)},
    )
    logger.info("registry: agency %s created by %s", agency.agency_id, actor or "-")
    return agency


@transaction.atomic
def agency_update(
    *, agency: Agency, actor: str = "", ip: str | None = None, **fields: Any
) -> Agency:
    """Change the given fields of an agency after validating the result; saves only those."""
    unknown = set(fields) - AGENCY_FIELDS - AGENCY_M2M
    if unknown:
        raise ValueError(f"not agency fields: {sorted(unknown)}")
    plain = {k: v for k, v in fields.items() if k in AGENCY_FIELDS}
    if "user_id_kinds" in plain:
        plain["user_id_kinds"] = canonical_user_id_kinds(plain["user_id_kinds"])
    requesters = (
        _requesters(fields["borrower_check_services"])
        if "borrower_check_services" in fields
        else None
    )
    resources = _resources(fields["licensed_resources"]) if "licensed_resources" in fields else None
    stored = Agency.objects.get(pk=agency.pk)
    settings_before, licences_before = agency_settings(stored), agency_licences(stored)
    impacts = agency_change_patron_impacts(
        agency_pk=stored.pk,
        borrower_check=plain.get("borrower_check", stored.borrower_check),
        borrower_check_services=(
            requesters if requesters is not None else licences_before["borrower_check_services"]
        ),
        status=plain.get("status", stored.status),
    )
    for name, value in plain.items():
        setattr(agency, name, value)
    if plain:
        _save_validated(agency, update_fields=[*plain, "updated_at"])
    if requesters is not None:
        agency.borrower_check_services.set(requesters)
    if resources is not None:
        agency.licensed_resources.set(resources)
    audit_agency_change(
        agency=agency,
        settings_before=settings_before,
        licences_before=licences_before,
        impacts=impacts,
        actor=actor,
        ip=ip,
        confirmed=False,
    )
    logger.info(
        "registry: agency %s changed (%s) by %s",
        agency.agency_id,
        ", ".join(sorted(fields)),
        actor or "-",
    )
    return agency


@transaction.atomic
def agency_save(
    *,
    agency: Agency,
    borrower_check_services: Iterable[str | ServiceRequester] | None = None,
    licensed_resources: Iterable[str | LicensedResource] | None = None,
    actor: str = "",
    ip: str | None = None,
    confirmed: bool = False,
) -> Agency:
    """Validate and save an agency edited as a whole (the admin's form), with its licences.

    ``confirmed``: staff confirmed what the change does to patrons (R-SEC-4; the admin asks).
    """
    agency.user_id_kinds = canonical_user_id_kinds(agency.user_id_kinds or [])
    created = agency.pk is None
    stored = None if created else Agency.objects.filter(pk=agency.pk).first()
    requesters = None if borrower_check_services is None else _requesters(borrower_check_services)
    resources = None if licensed_resources is None else _resources(licensed_resources)
    impacts: list[PatronImpact] = []
    if stored is not None:
        settings_before, licences_before = agency_settings(stored), agency_licences(stored)
        impacts = agency_change_patron_impacts(
            agency_pk=stored.pk,
            borrower_check=agency.borrower_check,
            borrower_check_services=(
                requesters if requesters is not None else licences_before["borrower_check_services"]
            ),
            status=agency.status,
        )
    _save_validated(agency)
    if requesters is not None:
        agency.borrower_check_services.set(requesters)
    if resources is not None:
        agency.licensed_resources.set(resources)
    if stored is None:
        audit_change(
            AuditAction.REGISTRY_AGENCY_CREATED,
            agency_id=agency.agency_id,
            actor=actor,
            ip=ip,
            details={"settings": agency_settings(agency), "licences": agency_licences(agency)},
        )
    else:
        audit_agency_change(
            agency=agency,
            settings_before=settings_before,
            licences_before=licences_before,
            impacts=impacts,
            actor=actor,
            ip=ip,
            confirmed=confirmed,
        )
    logger.info(
        "registry: agency %s %s by %s",
        agency.agency_id,
        "created" if created else "changed",
        actor or "-",
    )
    return agency


@transaction.atomic
def agency_delete(*, agency: Agency, actor: str = "", ip: str | None = None) -> None:
    """Delete an agency with its branches and settings (the national registry only)."""
    details = {
        "name": agency.name,
        "branches": sorted(agency.branches.values_list("branch_id", flat=True)),
    }
    agency_id = agency.agency_id
    agency.delete()
    audit_change(
        AuditAction.REGISTRY_AGENCY_DELETED,
        agency_id=agency_id,
        actor=actor,
        ip=ip,
        details=details,
    )
    logger.info("registry: agency %s deleted by %s", agency_id, actor or "-")


@transaction.atomic
def branch_create(
    *,
    agency: Agency,
    branch_id: str,
    name: str,
    actor: str = "",
    ip: str | None = None,
    **fields: Any,
) -> Branch:
    """Create a branch of an agency after validating it (R-VIP-10)."""
    unknown = set(fields) - BRANCH_FIELDS
    if unknown:
        raise ValueError(f"not branch fields: {sorted(unknown)}")
    branch = Branch(agency=agency, branch_id=branch_id, name=name, **fields)
    _save_validated(branch)
    audit_change(
        AuditAction.REGISTRY_BRANCH_CREATED,
        agency_id=agency.agency_id,
        actor=actor,
        ip=ip,
        subject=branch.branch_id,
        details={"branch": branch_data(branch)},
    )
    logger.info("registry: branch %s of %s created", branch.branch_id, agency.agency_id)
    return branch


@transaction.atomic
def branch_update(
    *, branch: Branch, actor: str = "", ip: str | None = None, **fields: Any
) -> Branch:
    """Change the given fields of a branch after validating the result; saves only those."""
    unknown = set(fields) - BRANCH_FIELDS
    if unknown:
        raise ValueError(f"not branch fields: {sorted(unknown)}")
    before = branch_data(Branch.objects.get(pk=branch.pk))
    for name, value in fields.items():
        setattr(branch, name, value)
    if fields:
        _save_validated(branch, update_fields=[*fields, "updated_at"])
    audit_branch_change(branch=branch, before=before, actor=actor, ip=ip)
    logger.info(
        "registry: branch %s changed (%s) by %s",
        branch.branch_id,
        ", ".join(sorted(fields)),
        actor or "-",
    )
    return branch


@transaction.atomic
def branch_save(*, branch: Branch, actor: str = "", ip: str | None = None) -> Branch:
    """Validate and save a branch edited as a whole (the admin's form)."""
    stored = None if branch.pk is None else Branch.objects.filter(pk=branch.pk).first()
    _save_validated(branch)
    if stored is None:
        audit_change(
            AuditAction.REGISTRY_BRANCH_CREATED,
            agency_id=branch.agency.agency_id,
            actor=actor,
            ip=ip,
            subject=branch.branch_id,
            details={"branch": branch_data(branch)},
        )
    else:
        audit_branch_change(branch=branch, before=branch_data(stored), actor=actor, ip=ip)
    logger.info("registry: branch %s saved by %s", branch.branch_id, actor or "-")
    return branch


@transaction.atomic
def branch_delete(*, branch: Branch, actor: str = "", ip: str | None = None) -> None:
    """Delete a branch (the national registry only: orders refer to branch IDs)."""
    agency_id, branch_id, name = branch.agency.agency_id, branch.branch_id, branch.name
    branch.delete()
    audit_change(
        AuditAction.REGISTRY_BRANCH_DELETED,
        agency_id=agency_id,
        actor=actor,
        ip=ip,
        subject=branch_id,
        details={"name": name},
    )
    logger.info("registry: branch %s deleted by %s", branch_id, actor or "-")


@transaction.atomic
def mobile_stops_save(
    *,
    branch: Branch,
    saved: Sequence[MobileStop],
    deleted: Sequence[MobileStop],
    actor: str = "",
    ip: str | None = None,
) -> None:
    """Save and delete a mobile library's stops as edited in the admin (R-VIP-10)."""
    before = mobile_stops_of(branch)
    for stop in deleted:
        if stop.pk is not None and stop.branch_id == branch.pk:
            stop.delete()
    for stop in saved:
        stop.branch = branch
        stop.full_clean(exclude=["branch"])
        stop.save()
    after = mobile_stops_of(branch)
    if after != before:
        audit_change(
            AuditAction.REGISTRY_BRANCH_CHANGED,
            agency_id=branch.agency.agency_id,
            actor=actor,
            ip=ip,
            subject=branch.branch_id,
            details={"changed": {"mobile_stops": [before, after]}},
        )


@transaction.atomic
def order_user_parameters_save(
    *,
    agency: Agency,
    saved: Sequence[OrderUserParameter],
    deleted: Sequence[OrderUserParameter],
    actor: str = "",
    ip: str | None = None,
) -> None:
    """Save and delete order parameters (R-VIP-7) as edited in the admin (validated there)."""
    before = order_parameters_of(agency)
    for parameter in deleted:
        if parameter.pk is not None and parameter.agency_id == agency.pk:
            parameter.delete()
    for parameter in saved:
        parameter.agency = agency
        parameter.save()
    audit_order_parameters(agency=agency, before=before, actor=actor, ip=ip)


@transaction.atomic
def order_user_parameters_set(
    *,
    agency: Agency,
    parameters: Sequence[Mapping[str, Any]],
    actor: str = "",
    ip: str | None = None,
) -> list[OrderUserParameter]:
    """Replace the agency's order parameters (R-VIP-7) with these, in this order.

    Each item has ``type`` and optionally ``required``, ``help_text_da``, ``help_text_en``.
    """
    built: list[OrderUserParameter] = []
    for position, item in enumerate(parameters):
        parameter = OrderUserParameter(
            agency=agency,
            position=position,
            parameter_type=item["type"],
            required=bool(item.get("required", False)),
            help_text_da=item.get("help_text_da", ""),
            help_text_en=item.get("help_text_en", ""),
        )
        parameter.full_clean(exclude=["agency"], validate_unique=False)
        built.append(parameter)
    types = [p.parameter_type for p in built]
    if len(set(types)) != len(types):
        raise ValidationError(_("Hvert lånerdata-felt må kun optræde én gang."))
    before = order_parameters_of(agency)
    agency.order_user_parameters.all().delete()
    created = OrderUserParameter.objects.bulk_create(built)
    audit_order_parameters(agency=agency, before=before, actor=actor, ip=ip)
    return created


def service_requester_get_or_create(*, name: str) -> ServiceRequester:
    """Return the service requester with this name (R-VIP-4), creating it if absent."""
    name = name.strip()
    if not name:
        raise ValidationError(_("Skriv tjenesteanvenderens navn."))
    requester, _created = ServiceRequester.objects.get_or_create(name=name)
    return requester


def licensed_resource_get_or_create(*, name: str) -> LicensedResource:
    """Return the licensed e-resource with this name (R-VIP-9), creating it if absent."""
    name = name.strip()
    if not name:
        raise ValidationError(_("Skriv e-ressourcens navn."))
    resource, _created = LicensedResource.objects.get_or_create(name=name)
    return resource


@transaction.atomic
def staff_agency_bind(
    *, user: User, agency: Agency, actor: str = "", ip: str | None = None
) -> StaffAgency:
    """Bind a staff account to one agency: in the admin it then sees and edits only that one.

    The account becomes staff and gets the registry permissions the admin checks; what it
    can reach with them is limited to its agency by the admin's scoping.
    """
    was = StaffAgency.objects.filter(user=user).values_list("agency_id", flat=True).first()
    binding, _created = StaffAgency.objects.update_or_create(user=user, defaults={"agency": agency})
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="registry", codename__in=STAFF_PERMISSION_CODENAMES
        )
    )
    if was != agency.pk:
        audit_change(
            AuditAction.REGISTRY_STAFF_BOUND,
            agency_id=agency.agency_id,
            actor=actor,
            ip=ip,
            subject=user.get_username(),
            details={},
        )
    logger.info("registry: staff account %s bound to %s", user.pk, agency.agency_id)
    return binding


@transaction.atomic
def staff_agency_unbind(*, user: User, actor: str = "", ip: str | None = None) -> None:
    """Remove a staff account's agency binding and the registry permissions it gave."""
    bound = StaffAgency.objects.filter(user=user).values_list("agency__agency_id", flat=True)
    for agency_id in list(bound):
        audit_change(
            AuditAction.REGISTRY_STAFF_UNBOUND,
            agency_id=agency_id,
            actor=actor,
            ip=ip,
            subject=user.get_username(),
            details={},
        )
    StaffAgency.objects.filter(user=user).delete()
    user.user_permissions.remove(
        *Permission.objects.filter(
            content_type__app_label="registry", codename__in=STAFF_PERMISSION_CODENAMES
        )
    )
    logger.info("registry: staff account %s unbound", user.pk)

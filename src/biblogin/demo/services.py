"""Load the demo data set (fixtures/demo.json) idempotently: registry, libraries, CULR, staff."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from biblogin.culrsync.services import culr_sync_all
from biblogin.demo.catalogue.load import demo_catalogue_load
from biblogin.integrations.library_systems import services as simulated
from biblogin.oidc.services import demo_clients_ensure
from biblogin.patrons.models import Patron
from biblogin.registry.models import (
    Agency,
    Branch,
    LicensedResource,
    MobileStop,
    OrderUserParameter,
    ServiceRequester,
    StaffAgency,
)


@dataclass(frozen=True)
class DemoSummary:
    agencies: int
    branches: int
    borrowers: int
    patrons_in_culr: int
    manifestations: int = 0


def demo_data() -> dict[str, Any]:
    """Return the demo data set as stored in the fixture."""
    text = resources.files("biblogin.demo").joinpath("fixtures/demo.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@transaction.atomic
def demo_load(*, base_url: str | None = None) -> DemoSummary:
    """Load (or refresh) every part of the demo data set; running it twice changes nothing."""
    data = demo_data()
    requesters = {
        name: ServiceRequester.objects.get_or_create(name=name)[0]
        for name in data["service_requesters"]
    }
    branches = 0
    for row in data["agencies"]:
        agency = _agency_upsert(row, requesters, data["public_order_user_parameters"])
        branches += _branches_upsert(agency, row.get("branches", []))
    borrowers = _persons_load(data["persons"])
    _staff_ensure(data["staff"])
    demo_clients_ensure(base_url=base_url or settings.BASE_URL)
    culr_sync_all()
    manifestations = demo_catalogue_load()
    return DemoSummary(
        agencies=len(data["agencies"]),
        branches=branches,
        borrowers=borrowers,
        patrons_in_culr=Patron.objects.filter(is_active=True).count(),
        manifestations=manifestations,
    )


_AGENCY_FIELDS = (
    "name",
    "aliases",
    "agency_type",
    "municipality_no",
    "culr_sync",
    "borrower_check",
    "user_id_kinds",
    "accepts_orders_without_login",
    "provides_user_status",
    "infomedia",
    "digital_article_service",
)


def _agency_upsert(
    row: dict[str, Any],
    requesters: dict[str, ServiceRequester],
    public_parameters: list[dict[str, Any]],
) -> Agency:
    defaults = {f: row[f] for f in _AGENCY_FIELDS if f in row}
    defaults.setdefault("municipality_no", None)
    agency, _ = Agency.objects.update_or_create(agency_id=row["agency_id"], defaults=defaults)
    agency.full_clean()
    agency.borrower_check_services.set([requesters[name] for name in row["services"]])
    agency.licensed_resources.set(
        [
            LicensedResource.objects.get_or_create(name=n)[0]
            for n in row.get("licensed_resources", [])
        ]
    )
    parameters = row.get("order_user_parameters", [])
    if parameters == "public":
        parameters = public_parameters
    agency.order_user_parameters.all().delete()
    OrderUserParameter.objects.bulk_create(
        OrderUserParameter(
            agency=agency,
            position=position,
            parameter_type=p["type"],
            required=p["required"],
            help_text_da=p.get("help_text_da", ""),
            help_text_en=p.get("help_text_en", ""),
        )
        for position, p in enumerate(parameters)
    )
    return agency


def _branches_upsert(agency: Agency, rows: list[dict[str, Any]]) -> int:
    for row in rows:
        fields = {k: v for k, v in row.items() if k not in {"branch_id", "mobile_stops"}}
        branch, _ = Branch.objects.update_or_create(
            branch_id=row["branch_id"], defaults={"agency": agency, **fields}
        )
        branch.full_clean()
        branch.mobile_stops.all().delete()
        MobileStop.objects.bulk_create(
            MobileStop(branch=branch, position=i, **stop)
            for i, stop in enumerate(row.get("mobile_stops", []))
        )
    return len(rows)


def _persons_load(persons: list[dict[str, Any]]) -> int:
    today = timezone.localdate()
    count = 0
    for person in persons:
        for reg in person["registrations"]:
            borrower = simulated.simulated_borrower_create(
                agency_id=reg["agency_id"],
                name=person["name"],
                pin=reg["pin"],
                cpr=person["cpr"] if reg.get("cpr") else None,
                borrower_numbers=reg.get("borrower_numbers", ()),
                emails=reg.get("emails", ()),
                municipality_no=reg.get("municipality_no"),
                blocked=reg.get("blocked", False),
                email=person["email"],
            )
            simulated.simulated_user_status_clear(borrower=borrower)
            for loan in reg.get("loans", []):
                simulated.simulated_loan_add(
                    borrower=borrower,
                    title=loan["title"],
                    due_date=today + dt.timedelta(days=loan["due_in_days"]),
                    renewable=loan.get("renewable", True),
                    material_id=loan.get("material_id", ""),
                )
            for res in reg.get("reservations", []):
                expires = res.get("pickup_expires_in_days")
                simulated.simulated_reservation_add(
                    borrower=borrower,
                    title=res["title"],
                    queue_position=res.get("queue_position"),
                    ready_for_pickup=res.get("ready_for_pickup", False),
                    pickup_branch_id=res.get("pickup_branch_id", ""),
                    pickup_expires=today + dt.timedelta(days=expires) if expires else None,
                    material_id=res.get("material_id", ""),
                )
            for debt in reg.get("debts", []):
                simulated.simulated_debt_add(
                    borrower=borrower,
                    title=debt["title"],
                    amount_dkk=Decimal(debt["amount_dkk"]),
                    date=today - dt.timedelta(days=2),
                )
            count += 1
    return count


_STAFF_PERMISSIONS = [
    ("registry", "view_agency"),
    ("registry", "change_agency"),
    ("registry", "view_branch"),
    ("registry", "change_branch"),
    ("registry", "add_branch"),
    ("registry", "view_orderuserparameter"),
    ("registry", "change_orderuserparameter"),
    ("registry", "add_orderuserparameter"),
    ("registry", "delete_orderuserparameter"),
    ("registry", "view_mobilestop"),
    ("registry", "change_mobilestop"),
    ("registry", "add_mobilestop"),
    ("registry", "delete_mobilestop"),
    ("registry", "view_servicerequester"),
    ("registry", "view_licensedresource"),
    ("catalogue", "view_holding"),  # its own agency's holdings, read-only
]


def _staff_ensure(rows: list[dict[str, Any]]) -> None:
    user_model = get_user_model()
    for row in rows:
        user, created = user_model.objects.get_or_create(username=row["username"])
        user.is_staff = True
        user.is_superuser = bool(row.get("superuser"))
        if created or not user.has_usable_password():
            user.set_password(row["password"])
        user.save()
        if "agency_id" in row:
            StaffAgency.objects.update_or_create(
                user=user, defaults={"agency": Agency.objects.get(agency_id=row["agency_id"])}
            )
            user.user_permissions.set(
                Permission.objects.filter(
                    content_type__app_label__in={a for a, _ in _STAFF_PERMISSIONS},
                    codename__in=[c for _, c in _STAFF_PERMISSIONS],
                )
            )

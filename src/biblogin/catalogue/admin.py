"""The catalogue in the admin.

Superusers maintain works, manifestations, holdings and online access. A staff account bound to
an agency (the registry's StaffAgency) sees its own agency's holdings, read-only, given
``catalogue.view_holding``. The binding is reached through the relation names
(``agency__staff__user``), so the catalogue needs no import of the registry.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from biblogin.catalogue.models import Holding, Manifestation, OnlineAccess, Work
from biblogin.catalogue.services import manifestation_search_fields_set


class SuperuserEditsMixin:
    """Everyone with the view permission may look; only superusers change the catalogue."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)


class ManifestationInline(SuperuserEditsMixin, admin.TabularInline):
    model = Manifestation
    fields = ("pid", "material_type", "year", "publisher", "language")
    show_change_link = True
    extra = 0


@admin.register(Work)
class WorkAdmin(SuperuserEditsMixin, admin.ModelAdmin):
    list_display = ("work_id", "title", "first_year")
    search_fields = ("work_id", "title")
    inlines = [ManifestationInline]


class HoldingInline(SuperuserEditsMixin, admin.TabularInline):
    model = Holding
    fields = ("agency", "branch", "copies", "on_shelf", "expected_return", "lendable")
    raw_id_fields = ("agency", "branch")
    extra = 0


class OnlineAccessInline(SuperuserEditsMixin, admin.TabularInline):
    model = OnlineAccess
    extra = 0


@admin.register(Manifestation)
class ManifestationAdmin(SuperuserEditsMixin, admin.ModelAdmin):
    list_display = ("pid", "title", "material_type", "year", "language")
    list_filter = ("material_type", "language")
    search_fields = ("pid", "title", "isbn", "issn")
    raw_id_fields = ("work", "periodical")
    inlines = [HoldingInline, OnlineAccessInline]
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Manifestation, form: Any, change: bool) -> None:
        manifestation_search_fields_set(manifestation=obj)  # the search index follows in the DB
        super().save_model(request, obj, form, change)


@admin.register(Holding)
class HoldingAdmin(SuperuserEditsMixin, admin.ModelAdmin):
    """Holdings; a bound staff account sees only its own agency's, and changes nothing."""

    list_display = (
        "manifestation_pid",
        "manifestation_title",
        "agency_id",
        "branch_id",
        "copies",
        "on_shelf",
        "expected_return",
        "lendable",
    )
    list_filter = ("lendable", "own_users_only")
    search_fields = ("manifestation__pid", "manifestation__title", "branch__branch_id")
    list_select_related = ("manifestation",)
    raw_id_fields = ("manifestation", "agency", "branch")
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Holding]:
        qs = super().get_queryset(request)
        user = request.user
        if not user.is_active or not user.is_staff:
            return qs.none()
        if user.is_superuser:
            return qs
        if _is_bound(user.pk):
            return qs.filter(agency__staff__user_id=user.pk)
        return qs  # an unbound account given catalogue.view_holding sees all

    @admin.display(description=_("PID"), ordering="manifestation__pid")
    def manifestation_pid(self, obj: Holding) -> str:
        return obj.manifestation.pid

    @admin.display(description=_("titel"), ordering="manifestation__title")
    def manifestation_title(self, obj: Holding) -> str:
        return obj.manifestation.title


def _is_bound(user_pk: int) -> bool:
    from django.apps import apps

    staff_agency = apps.get_model("registry", "StaffAgency")
    return bool(staff_agency.objects.filter(user_id=user_pk).exists())

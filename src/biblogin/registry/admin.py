"""The registry's staff UI (VIP) in Django's admin.

Scoping: superusers (and holders of ``registry.edit_all_agencies``) see every agency. A staff
account bound to one agency (StaffAgency) sees and edits only that agency, its branches, order
parameters and mobile stops; what belongs to the national registry (the agency's ID, type and
CULR delivery) is read-only to it, and it cannot add or delete agencies. Any other staff account
sees nothing here. Saving and deleting go through the registry's services, which audit each
change (DESIGN convention 9); the audit log itself is shown read-only, scoped the same way.
"""

from __future__ import annotations

from typing import Any

from axes.helpers import get_client_ip_address
from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import Model, Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from biblogin.audit.admin import AuditEventAdmin
from biblogin.audit.models import AuditEvent
from biblogin.common.admin_inlines import LabelledTabularInline
from biblogin.registry import changes, selectors, services
from biblogin.registry.models import (
    Agency,
    Branch,
    LicensedResource,
    MobileStop,
    OrderUserParameter,
    ServiceRequester,
    StaffAgency,
    UserIdKind,
)

_ALL = "all"


def _scope(request: HttpRequest) -> str | int | None:
    """Return ``"all"``, the pk of the staff account's own agency, or None (nothing)."""
    cached = getattr(request, "_registry_scope", False)
    if cached is not False:
        return cached
    user = request.user
    scope: str | int | None
    if not user.is_active or not user.is_staff:
        scope = None
    elif user.is_superuser or user.has_perm("registry.edit_all_agencies"):
        scope = _ALL
    else:
        scope = (
            StaffAgency.objects.filter(user_id=user.pk).values_list("agency_id", flat=True).first()
        )
    request._registry_scope = scope  # type: ignore[attr-defined]
    return scope


def _sees_all(request: HttpRequest) -> bool:
    return _scope(request) == _ALL


def _who(request: HttpRequest) -> dict[str, Any]:
    """The staff account and its address, for the audit events the services write."""
    return {"actor": request.user.get_username(), "ip": get_client_ip_address(request)}


class RegistryModelForm(forms.ModelForm):
    """Show a model error for a field this form does not show as a form-wide error.

    Django raises ValueError (a 500) when ``Model.clean()`` names a field missing from the form,
    e.g. one that is read-only to a bound staff account.
    """

    def add_error(self, field: str | None, error: Any) -> None:
        if field is None and isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            remapped: dict[str, list[ValidationError]] = {}
            for name, errors in error.error_dict.items():
                key = name if name == NON_FIELD_ERRORS or name in self.fields else NON_FIELD_ERRORS
                remapped.setdefault(key, []).extend(errors)
            error = ValidationError(remapped)
        super().add_error(field, error)


class ScopedModelAdmin(admin.ModelAdmin):
    """Limit an admin to the objects of the staff account's agency."""

    # The lookup from this model to the Agency it belongs to.
    agency_path: str = "agency"

    def _in_scope_filter(self, scope: int) -> Q:
        return Q(**{f"{self.agency_path}__pk" if self.agency_path != "pk" else "pk": scope})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs: QuerySet[Any] = super().get_queryset(request)
        scope = _scope(request)
        if scope == _ALL:
            return qs
        if scope is None:
            return qs.none()
        return qs.filter(self._in_scope_filter(int(scope)))

    def _obj_in_scope(self, request: HttpRequest, obj: Model | None) -> bool:
        scope = _scope(request)
        if obj is None or scope == _ALL:
            return scope is not None
        if scope is None:
            return False
        return (
            type(obj)._default_manager.filter(self._in_scope_filter(int(scope)), pk=obj.pk).exists()
        )

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(super().has_view_permission(request, obj) and self._obj_in_scope(request, obj))

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(
            super().has_change_permission(request, obj) and self._obj_in_scope(request, obj)
        )

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(
            super().has_delete_permission(request, obj) and self._obj_in_scope(request, obj)
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(super().has_module_permission(request) and _scope(request) is not None)

    def _require_in_scope(self, request: HttpRequest, object_id: str | None) -> None:
        # Another agency's page is "not found" to a bound account, not a redirect that
        # tells it the object exists.
        if object_id is None or _sees_all(request):
            return
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404(_("Findes ikke."))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        self._require_in_scope(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._require_in_scope(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._require_in_scope(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        scope = _scope(request)
        if scope != _ALL:
            if db_field.related_model is Agency:
                kwargs["queryset"] = (
                    Agency.objects.filter(pk=scope) if scope else Agency.objects.none()
                )
            elif db_field.related_model is Branch:
                kwargs["queryset"] = (
                    Branch.objects.filter(agency_id=scope) if scope else Branch.objects.none()
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- Agency -------------------------------------------------------------------------------


class AgencyAdminForm(RegistryModelForm):
    # R-VIP-5: chosen with checkboxes, stored as a list in the registry's fixed order.
    user_id_kinds = forms.MultipleChoiceField(
        label=_("bruger-id-typer"),
        choices=UserIdKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_(
            "Hvad brugerne taster som bruger-id ved login: CPR-nummer, lånernummer og/eller "
            "e-mail. Styrer login-formularens felt."
        ),
    )

    class Meta:
        model = Agency
        fields = (
            "agency_id",
            "name",
            "aliases",
            "agency_type",
            "municipality_no",
            "status",
            "culr_sync",
            "borrower_check",
            "borrower_check_services",
            "user_id_kinds",
            "accepts_orders_without_login",
            "provides_user_status",
            "infomedia",
            "digital_article_service",
            "licensed_resources",
        )

    def clean_user_id_kinds(self) -> list[str]:
        return services.canonical_user_id_kinds(self.cleaned_data.get("user_id_kinds") or [])


class BranchInline(LabelledTabularInline):
    model = Branch
    extra = 0
    fields = (
        "branch_id",
        "name",
        "pickup_allowed",
        "temporarily_closed",
        "temporarily_closed_reason",
    )
    readonly_fields = ("branch_id",)
    show_change_link = True
    verbose_name_plural = _("filialer (nye filialer oprettes under Filialer)")

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # A new branch needs its national branch ID: created on the branch page.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return _sees_all(request) and super().has_delete_permission(request, obj)


class OrderUserParameterFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        seen: set[str] = set()
        for form in self.forms:
            if not form.has_changed() and not form.instance.pk:
                continue
            data = getattr(form, "cleaned_data", None) or {}
            if data.get("DELETE") or "parameter_type" not in data:
                continue
            if data["parameter_type"] in seen:
                raise ValidationError(_("Hvert lånerdata-felt må kun optræde én gang."))
            seen.add(data["parameter_type"])


class OrderUserParameterInline(LabelledTabularInline):
    model = OrderUserParameter
    formset = OrderUserParameterFormSet
    extra = 0
    fields = ("position", "parameter_type", "required", "help_text_da", "help_text_en")
    ordering = ("position", "id")
    verbose_name_plural = _(
        "Lånerdata (bestilling uden login). Bestillingsformularen viser netop disse felter. "
        "Id-feltet er det første påkrævede af CPR-nummer, stregkode, kortnummer og eget id, "
        "ellers bruger-id; det er altid påkrævet."
    )


@admin.register(Agency)
class AgencyAdmin(ScopedModelAdmin):
    agency_path = "pk"
    form = AgencyAdminForm
    list_display = (
        "agency_id",
        "name",
        "agency_type",
        "municipality_no",
        "status",
        "culr_sync",
        "borrower_check",
    )
    list_display_links = ("agency_id", "name")
    list_filter = (
        "agency_type",
        "status",
        "culr_sync",
        "borrower_check",
        "accepts_orders_without_login",
        "provides_user_status",
        "infomedia",
        "digital_article_service",
    )
    search_fields = ("agency_id", "name", "aliases", "municipality_no__exact")
    search_help_text = _("Søg på biblioteksnummer, navn, alternativt navn eller kommune.")
    # Checkboxes, not the filter widget: it needs JavaScript, and its help icons break ARIA.
    formfield_overrides = {
        models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple},
    }
    inlines = (BranchInline, OrderUserParameterInline)
    fieldsets = (
        (
            _("Bibliotek"),
            {
                "fields": (
                    "agency_id",
                    "name",
                    "aliases",
                    "agency_type",
                    "municipality_no",
                    "status",
                )
            },
        ),
        (
            _("Login og lånertjek"),
            {
                "fields": (
                    "culr_sync",
                    "borrower_check",
                    "borrower_check_services",
                    "user_id_kinds",
                ),
                "description": _(
                    "Uden »lånertjek og login via login.bib.dk« kan bibliotekets brugere ikke "
                    "logge ind med bibliotekslogin. En tjeneste (fx Bibliotek.dk) skal desuden "
                    "være tilmeldt under fælles lånertjekservice."
                ),
            },
        ),
        (
            _("Bestilling og lånerstatus"),
            {"fields": ("accepts_orders_without_login", "provides_user_status")},
        ),
        (
            _("Abonnementer"),
            {"fields": ("infomedia", "digital_article_service", "licensed_resources")},
        ),
    )

    # Set by the national registry, not by the library itself.
    national_fields = ("agency_id", "agency_type", "culr_sync")

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if obj is not None and not _sees_all(request):
            return self.national_fields
        return ()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _sees_all(request) and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return _sees_all(request) and super().has_delete_permission(request, obj)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            # Also by municipality name, and case-insensitive for æ, ø, å on SQLite too.
            results = results | queryset.filter(pk__in=selectors.agency_pks_matching(query=term))
        return results, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: Agency, form: Any, change: bool) -> None:
        data = form.cleaned_data
        services.agency_save(
            agency=obj,
            borrower_check_services=data.get("borrower_check_services"),
            licensed_resources=data.get("licensed_resources"),
            confirmed=self.confirm_field in request.POST,
            **_who(request),
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # No ``form.save_m2m()``: the licences were saved (and audited) by ``agency_save``.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        saved = formset.save(commit=False)  # collects deletions without deleting
        if formset.model is Branch:
            for branch in formset.deleted_objects:
                services.branch_delete(branch=branch, **_who(request))
            for branch in saved:
                services.branch_save(branch=branch, **_who(request))
        elif formset.model is OrderUserParameter:
            services.order_user_parameters_save(
                agency=form.instance,
                saved=saved,
                deleted=formset.deleted_objects,
                **_who(request),
            )
        else:  # pragma: no cover - every inline of this admin is handled above
            raise TypeError(f"no service saves {formset.model.__name__}")

    def delete_model(self, request: HttpRequest, obj: Agency) -> None:
        services.agency_delete(agency=obj, **_who(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for agency in queryset:
            services.agency_delete(agency=agency, **_who(request))

    # R-SEC-4: a change that stops patrons logging in, finding or ordering is shown on a page of
    # its own with what patrons will experience, and saved only once staff confirm it.
    confirm_field = "_confirm_patron_impact"

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST" and object_id is not None:
            impacts = self._patron_impacts(request, object_id)
            if impacts and self.confirm_field not in request.POST:
                return self._confirm_patron_impacts(request, object_id, impacts)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _patron_impacts(self, request: HttpRequest, object_id: str) -> list[changes.PatronImpact]:
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_change_permission(request, obj):
            return []
        form = self.get_form(request, obj, change=True)(request.POST, request.FILES, instance=obj)
        if not form.is_valid():
            return []  # the change form shows the errors; nothing is saved
        data = form.cleaned_data
        fresh = Agency.objects.get(pk=obj.pk)
        return changes.agency_change_patron_impacts(
            agency_pk=fresh.pk,
            borrower_check=data.get("borrower_check", fresh.borrower_check),
            borrower_check_services=data.get(
                "borrower_check_services", fresh.borrower_check_services.all()
            ),
            status=data.get("status", fresh.status),
        )

    def _confirm_patron_impacts(
        self, request: HttpRequest, object_id: str, impacts: list[changes.PatronImpact]
    ) -> HttpResponse:
        obj = Agency.objects.get(pk=unquote(object_id))
        resubmit = [
            (key, value)
            for key in request.POST
            if key not in {"csrfmiddlewaretoken", self.confirm_field}
            for value in request.POST.getlist(key)
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Bekræft ændringen"),
            "opts": self.model._meta,
            "object": obj,
            "impacts": impacts,
            "resubmit": resubmit,
            "confirm_field": self.confirm_field,
            "change_url": request.path,
        }
        return TemplateResponse(request, "registry/agency_confirm_patron_impact.html", context)


# --- Branch -------------------------------------------------------------------------------


class BranchAdminForm(RegistryModelForm):
    website = forms.URLField(
        label=_("hjemmeside"), required=False, max_length=200, assume_scheme="https"
    )

    class Meta:
        model = Branch
        fields = ("branch_id", "agency", *changes.BRANCH_DATA_FIELDS)


class MobileStopInline(LabelledTabularInline):
    model = MobileStop
    extra = 0
    fields = ("position", "name", "schedule")
    ordering = ("position", "id")


@admin.register(Branch)
class BranchAdmin(ScopedModelAdmin):
    form = BranchAdminForm
    list_display = (
        "branch_id",
        "name",
        "agency",
        "city",
        "pickup_allowed",
        "temporarily_closed",
        "is_mobile",
    )
    list_filter = ("pickup_allowed", "temporarily_closed", "is_mobile", "agency__agency_type")
    search_fields = ("branch_id", "name", "city", "agency__agency_id", "agency__name")
    list_select_related = ("agency",)
    inlines = (MobileStopInline,)
    fieldsets = (
        (None, {"fields": ("branch_id", "agency", "name")}),
        (
            _("Adresse og kontakt"),
            {"fields": ("address", "postal_code", "city", "opening_hours", "website", "email")},
        ),
        (
            _("Afhentning"),
            {
                "fields": (
                    "pickup_allowed",
                    "temporarily_closed",
                    "temporarily_closed_reason",
                    "is_mobile",
                ),
                "description": _(
                    "Brugerne kan kun vælge filialen som afhentningssted, når den er "
                    "afhentningssted og ikke midlertidigt lukket. En bogbus kræver et stoppested."
                ),
            },
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if obj is not None and not _sees_all(request):
            return ("branch_id", "agency")
        return ()

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial: dict[str, Any] = super().get_changeform_initial_data(request)
        scope = _scope(request)
        if scope not in (None, _ALL):
            initial.setdefault("agency", scope)
        return initial

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Orders and favourite pickup branches refer to branch IDs: only the national registry
        # deletes a branch; a library closes it or stops pickup instead.
        return _sees_all(request) and super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Branch, form: Any, change: bool) -> None:
        services.branch_save(branch=obj, **_who(request))

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        saved = formset.save(commit=False)  # collects deletions without deleting
        services.mobile_stops_save(
            branch=form.instance, saved=saved, deleted=formset.deleted_objects, **_who(request)
        )

    def delete_model(self, request: HttpRequest, obj: Branch) -> None:
        services.branch_delete(branch=obj, **_who(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for branch in queryset.select_related("agency"):
            services.branch_delete(branch=branch, **_who(request))


# --- National lists ------------------------------------------------------------------------


class NationalListAdmin(admin.ModelAdmin):
    """A list kept by the national registry: bound staff may only look at it."""

    search_fields = ("name",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _scope(request) is not None and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return _scope(request) is not None and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _sees_all(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return _sees_all(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return _sees_all(request) and super().has_delete_permission(request, obj)


@admin.register(ServiceRequester)
class ServiceRequesterAdmin(NationalListAdmin):
    pass


@admin.register(LicensedResource)
class LicensedResourceAdmin(NationalListAdmin):
    pass


# --- Staff binding ---------------------------------------------------------------------------


class SuperuserOnlyMixin:
    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)


@admin.register(StaffAgency)
class StaffAgencyAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    list_display = ("user", "agency")
    search_fields = ("user__username", "agency__agency_id", "agency__name")
    list_select_related = ("user", "agency")
    raw_id_fields = ("user",)
    autocomplete_fields = ("agency",)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        # Rebinding moves the account; a different account is a new binding.
        return ("user",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: StaffAgency, form: Any, change: bool) -> None:
        binding = services.staff_agency_bind(user=obj.user, agency=obj.agency, **_who(request))
        obj.pk = binding.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: StaffAgency) -> None:
        services.staff_agency_unbind(user=obj.user, **_who(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for binding in queryset.select_related("user"):
            services.staff_agency_unbind(user=binding.user, **_who(request))


# --- The audit log ---------------------------------------------------------------------------


@admin.register(AuditEvent)
class AgencyAuditEventAdmin(AuditEventAdmin):
    """The audit log, scoped like the registry: a bound account sees its own agency's events.

    Superusers see every event. An account bound to an agency sees that agency's events (the
    binding is the permission). An unbound staff account needs ``audit.view_auditevent`` and
    then sees all; any other account sees none.
    """

    def visible_agency_ids(self, request: HttpRequest) -> list[str] | None:
        user = request.user
        if not user.is_active or not user.is_staff:
            return []
        if user.is_superuser:
            return None
        bound = (
            StaffAgency.objects.filter(user_id=user.pk)
            .values_list("agency__agency_id", flat=True)
            .first()
        )
        if bound is not None:
            return [bound]
        return None if user.has_perm("audit.view_auditevent") else []

"""Staff UI for the simulated library systems: behaviour on the wire, and borrowers to look at.

PIN hashes and CPRs are never shown; a CPR only masked.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from biblogin.integrations.library_systems.models import (
    SimBorrower,
    SimBorrowerId,
    SimBorrowerIdKind,
    SimDebt,
    SimLoan,
    SimReservation,
    SimulatedSystem,
    Sip2Configuration,
)
from biblogin.integrations.library_systems.services import (
    simulated_system_configure,
    sip2_configuration_save,
)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SimulatedSystem)
class SimulatedSystemAdmin(admin.ModelAdmin):
    list_display = ["agency_id", "latency_ms", "latency_jitter_ms", "failure_rate", "down"]
    list_filter = ["down"]
    search_fields = ["agency_id"]
    fields = ["agency_id", "latency_ms", "latency_jitter_ms", "failure_rate", "down"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["agency_id"] if obj is not None else []

    def save_model(
        self,
        request: HttpRequest,
        obj: SimulatedSystem,
        form: ModelForm[SimulatedSystem],
        change: bool,
    ) -> None:
        # The form's field validators already hold the service's limits; the service saves.
        saved = simulated_system_configure(
            agency_id=obj.agency_id,
            latency_ms=obj.latency_ms,
            latency_jitter_ms=obj.latency_jitter_ms,
            failure_rate=obj.failure_rate,
            down=obj.down,
        )
        obj.pk = saved.pk


class SimBorrowerIdInline(_ReadOnlyInline):
    model = SimBorrowerId
    fields = ["kind", "shown_value"]
    readonly_fields = ["kind", "shown_value"]

    @admin.display(description=_("værdi"))
    def shown_value(self, obj: SimBorrowerId) -> str:
        return str(_("(skjult)")) if obj.kind == SimBorrowerIdKind.CPR else obj.value


class SimLoanInline(_ReadOnlyInline):
    model = SimLoan
    fields = readonly_fields = ("title", "due_date", "renewable", "renewals")


class SimReservationInline(_ReadOnlyInline):
    model = SimReservation
    fields = readonly_fields = (
        "title",
        "material_id",
        "queue_position",
        "ready_for_pickup",
        "pickup_branch_id",
        "pickup_expires",
    )


class SimDebtInline(_ReadOnlyInline):
    model = SimDebt
    fields = readonly_fields = ("title", "amount_dkk", "date")


@admin.register(SimBorrower)
class SimBorrowerAdmin(admin.ModelAdmin):
    """Borrowers to look at; they are created by the demo loader and the services, not here."""

    list_display = ["name", "system", "borrower_ref", "municipality_no", "blocked", "has_pin"]
    list_filter = ["blocked", "system"]
    search_fields = ["name", "borrower_ref", "email"]
    # R-BC-5: no PIN hash, no CPR in full; the CPR only masked.
    fields = readonly_fields = (
        "system",
        "borrower_ref",
        "name",
        "email",
        "municipality_no",
        "blocked",
        "cpr_masked",
        "has_pin",
    )
    inlines = [SimBorrowerIdInline, SimLoanInline, SimReservationInline, SimDebtInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("CPR-nummer"))
    def cpr_masked(self, obj: SimBorrower) -> str:
        return obj.cpr_masked

    @admin.display(description=_("har pinkode"), boolean=True)
    def has_pin(self, obj: SimBorrower) -> bool:
        return bool(obj.pin_hash)


class Sip2ConfigurationForm(forms.ModelForm):
    # Never shown back; blank keeps the stored one (it is kept only encrypted).
    login_password = forms.CharField(
        label=_("login-adgangskode (CO)"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Gemmes krypteret. Lad feltet stå tomt for at beholde den gemte."),
    )

    class Meta:
        model = Sip2Configuration
        fields = [
            "agency_id",
            "enabled",
            "host",
            "port",
            "institution_id",
            "login_user",
            "location_code",
            "encoding",
        ]


@admin.register(Sip2Configuration)
class Sip2ConfigurationAdmin(admin.ModelAdmin):
    """The registry's 'SIP2 at host:port, institution ID, login' per agency."""

    form = Sip2ConfigurationForm
    list_display = ["agency_id", "host", "port", "institution_id", "login_user", "enabled"]
    list_filter = ["enabled"]
    search_fields = ["agency_id", "host", "institution_id"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["agency_id"] if obj is not None else []

    def save_model(
        self,
        request: HttpRequest,
        obj: Sip2Configuration,
        form: ModelForm[Sip2Configuration],
        change: bool,
    ) -> None:
        password = form.cleaned_data.get("login_password") or None
        saved = sip2_configuration_save(
            agency_id=obj.agency_id,
            host=obj.host,
            port=obj.port,
            institution_id=obj.institution_id,
            login_user=obj.login_user,
            login_password=password,
            location_code=obj.location_code,
            encoding=obj.encoding,
            enabled=obj.enabled,
        )
        obj.pk = saved.pk

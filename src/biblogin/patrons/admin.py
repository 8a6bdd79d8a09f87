"""The CULR register in the staff admin: patrons and their accounts, the CPR always masked.

R-CULR-5: the CPR is never shown in full, never in a list, a change message or the history, and
never kept in a URL: a CPR typed into the search box is looked up by its keyed hash and the
browser is sent on to the patron's guid, so the CPR leaves neither the page nor the address bar.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ERROR_FLAG, SEARCH_VAR
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from biblogin.common.cpr_crypto import cpr_hash
from biblogin.common.errors import ApplicationError
from biblogin.patrons.inputs import parse_agency_id, parse_cpr, parse_local_id
from biblogin.patrons.models import Account, AccountIdType, Patron
from biblogin.patrons.selectors import account_get_local, patron_get_by_cpr
from biblogin.patrons.services import account_create, account_delete


def _cpr_or_none(term: str) -> str | None:
    try:
        return parse_cpr(term)
    except ApplicationError:
        return None


def _local_id_or_none(term: str) -> str | None:
    try:
        return parse_local_id(term)
    except ApplicationError:
        return None


def _uuid_or_none(term: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(term)
    except ValueError:
        return None


class CprSearchRedirectMixin:
    """Send a search for a CPR on to the patron's guid, so the CPR does not stay on screen."""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if any("\x00" in part for key, values in request.GET.lists() for part in (key, *values)):
            # R-SEC-3: PostgreSQL refuses NUL in text; answer like Django's invalid-filter case.
            return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
        term = request.GET.get(SEARCH_VAR, "")
        cpr = _cpr_or_none(term)
        if cpr is not None:
            params = request.GET.copy()
            patron = patron_get_by_cpr(cpr=cpr, include_inactive=True)
            if patron is None:
                del params[SEARCH_VAR]
                messages.info(request, gettext("Ingen låner med dette CPR-nummer."))
            else:
                params[SEARCH_VAR] = str(patron.guid)
            query = urlencode(sorted(params.items()))
            return HttpResponseRedirect(request.path + (f"?{query}" if query else ""))
        return super().changelist_view(request, extra_context)  # type: ignore[misc]


class AccountInline(admin.TabularInline):
    model = Account
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("agency_id", "id_type", "user_id_masked", "created_at")
    readonly_fields = fields

    @admin.display(description=_("bruger-id"))
    def user_id_masked(self, account: Account) -> str:
        if account.id_type == AccountIdType.CPR:
            return account.patron.cpr_masked
        return account.local_id

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Patron)
class PatronAdmin(CprSearchRedirectMixin, admin.ModelAdmin):
    """Patrons are read here; they are made by accounts (CULR delivery, logins, links)."""

    list_display = ("guid", "cpr_display", "municipality_no", "is_active", "account_count")
    list_filter = ("is_active",)
    search_fields = ("guid",)
    search_help_text = _(
        "Søg på CPR-nummer, guid eller et lokalt id (lånernummer). "
        "CPR-nummeret vises aldrig og gemmes ikke i adressen."
    )
    fields = ("guid", "cpr_display", "municipality_no", "is_active", "created_at", "updated_at")
    readonly_fields = fields
    inlines = (AccountInline,)
    ordering = ("-created_at",)

    @admin.display(description=_("CPR-nummer"))
    def cpr_display(self, patron: Patron) -> str:
        return patron.cpr_masked or "—"

    @admin.display(description=_("konti"), ordering="account_total")
    def account_count(self, patron: Patron) -> int:
        return int(getattr(patron, "account_total", 0))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Patron]:
        return super().get_queryset(request).annotate(account_total=Count("accounts"))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Patron], search_term: str
    ) -> tuple[QuerySet[Patron], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        # R-CULR-5: the typed CPR is hashed with the register's key and matched on the hash.
        cpr = _cpr_or_none(term)
        if cpr is not None:
            return queryset.filter(cpr_hash=cpr_hash(cpr)), False
        key = _uuid_or_none(term)
        if key is not None:
            return queryset.filter(guid=key), False
        local = _local_id_or_none(term)
        if local is None:
            return queryset.none(), False
        return queryset.filter(accounts__local_id=local).distinct(), True

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A patron ends by losing its accounts (deactivation, R-CULR-4), never by deletion.
        return False


class NoEchoTextInput(forms.TextInput):
    """A text input that never renders its value back: a CPR is not sent back to the browser."""

    def format_value(self, value: Any) -> str | None:
        return None


class AccountCreateForm(ModelForm):
    """Parse the fields of a new account; ``account_create`` makes it."""

    agency_id = forms.CharField(label=_("biblioteksnummer"), max_length=20)
    cpr = forms.CharField(
        label=_("CPR-nummer"),
        max_length=32,
        widget=NoEchoTextInput(attrs={"autocomplete": "off"}),
        help_text=_(
            "Kontoen knyttes til låneren med dette CPR-nummer; findes låneren ikke, oprettes den."
        ),
    )
    local_id = forms.CharField(
        label=_("lokalt id"),
        max_length=300,
        required=False,
        help_text=_("Lånernummer ved biblioteket. Tomt: en CPR-konto."),
    )

    class Meta:
        model = Account
        fields = ("agency_id", "local_id")

    def _clean_with(self, name: str, parse: Any) -> Any:
        try:
            return parse(self.cleaned_data.get(name, ""))
        except ApplicationError as exc:
            raise ValidationError(exc.message, code=exc.code) from exc

    def clean_agency_id(self) -> str:
        return str(self._clean_with("agency_id", parse_agency_id))

    def clean_cpr(self) -> str:
        return str(self._clean_with("cpr", parse_cpr))

    def clean_local_id(self) -> str | None:
        raw = self.cleaned_data.get("local_id", "")
        if not raw.strip():
            return None
        return str(self._clean_with("local_id", parse_local_id))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        agency, local, cpr = data.get("agency_id"), data.get("local_id"), data.get("cpr")
        if agency and local and cpr:
            held = account_get_local(agency_id=agency, local_id=local)
            if held is not None and held.patron.cpr_hash != cpr_hash(cpr):
                raise ValidationError(
                    gettext(
                        "Det lokale id er allerede knyttet til en anden låner ved dette bibliotek."
                    )
                )
        return data

    def _post_clean(self) -> None:
        # No half-built instance to validate: account_create checks and creates in one go.
        pass


@admin.register(Account)
class AccountAdmin(CprSearchRedirectMixin, admin.ModelAdmin):
    list_display = ("agency_id", "id_type", "user_id_masked", "patron_link", "created_at")
    list_filter = ("id_type",)
    search_fields = ("=agency_id", "=local_id")
    search_help_text = _("Søg på biblioteksnummer, lokalt id, guid eller CPR-nummer.")
    fields = ("agency_id", "id_type", "user_id_masked", "patron_link", "created_at", "updated_at")
    readonly_fields = fields
    add_form = AccountCreateForm
    add_fieldsets = ((None, {"fields": ("agency_id", "cpr", "local_id")}),)
    list_select_related = ("patron",)

    @admin.display(description=_("bruger-id"))
    def user_id_masked(self, account: Account) -> str:
        if account.id_type == AccountIdType.CPR:
            return account.patron.cpr_masked
        return account.local_id

    @admin.display(description=_("låner"))
    def patron_link(self, account: Account) -> str:
        url = reverse("admin:patrons_patron_change", args=[account.patron_id])
        return format_html('<a href="{}">{}</a>', url, account.patron.guid)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return self.add_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Account], search_term: str
    ) -> tuple[QuerySet[Account], bool]:
        term = search_term.strip()
        cpr = _cpr_or_none(term) if term else None
        if cpr is not None:
            # R-CULR-5: a typed CPR is matched through its keyed hash only.
            return queryset.filter(patron__cpr_hash=cpr_hash(cpr)), False
        key = _uuid_or_none(term) if term else None
        if key is not None:
            return queryset.filter(patron__guid=key), False
        if not term:
            return queryset, False
        local = _local_id_or_none(term)
        if local is None:  # e.g. control characters: nothing can match, and none reach SQL
            return queryset.none(), False
        return queryset.filter(Q(agency_id=local) | Q(local_id=local)), False

    # -- add and delete go through the services (R-CULR-4) ------------------------------------

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:  # a race the form could not foresee
            messages.error(request, exc.message)
            return HttpResponseRedirect(request.path)

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        if change:  # pragma: no cover - accounts are never edited here
            raise ApplicationError(gettext("En konto kan ikke ændres; slet den og opret en ny."))
        data = form.cleaned_data
        return account_create(
            agency_id=data["agency_id"],
            cpr=data["cpr"],
            local_id=data["local_id"],
            actor=request.user.get_username(),
        )

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        """Do nothing: ``save_form`` already created the account through the service."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Do nothing: an account has no related rows to save here."""

    def delete_model(self, request: HttpRequest, obj: Account) -> None:
        account_delete(account=obj, actor=request.user.get_username())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset:
            account_delete(account=account, actor=request.user.get_username())

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

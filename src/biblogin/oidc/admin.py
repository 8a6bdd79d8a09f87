"""Staff UI for clients and signing keys (django-oauth-toolkit registers the client admin)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from oauth2_provider.admin import ApplicationAdmin, GrantAdmin
from oauth2_provider.forms import ApplicationForm

from biblogin.login.constants import IdentityProvider
from biblogin.oidc import keys
from biblogin.oidc.models import Claim, Client, Scope, SigningKey
from biblogin.oidc.services import client_save


class ClientForm(ApplicationForm):
    allowed_idps = forms.MultipleChoiceField(
        label=_("Tilladte login-metoder"),
        choices=IdentityProvider.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    allowed_scopes = forms.MultipleChoiceField(
        label=_("Tilladte scopes"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple
    )
    allowed_claims = forms.MultipleChoiceField(
        label=_("Tilladte claims"),
        choices=Claim.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Kun disse oplysninger udleveres (R-SEC-2). 'cpr' kræver scopet 'cpr'."),
    )

    class Meta:
        model = Client
        fields = "__all__"


class ClientAdmin(ApplicationAdmin):
    form = ClientForm
    list_display = (
        "client_id",
        "display_name",
        "client_type",
        "service_requester",
        "create_culr_account_agency",
        "is_active",
    )
    list_filter = ("client_type", "is_active", "service_requester")
    search_fields = ("client_id", "name", "display_name")
    radio_fields = {"client_type": admin.HORIZONTAL}
    fieldsets = (
        (
            None,
            {"fields": ("client_id", "display_name", "name", "client_type", "is_active")},
        ),
        (
            _("Hemmelighed (kun fortrolige klienter)"),
            {"fields": ("client_secret", "hash_client_secret")},
        ),
        (
            _("Adresser"),
            {"fields": ("redirect_uris", "post_logout_redirect_uris", "allowed_origins")},
        ),
        (
            _("Biblioteksregler"),
            {
                "fields": (
                    "service_requester",
                    "allowed_idps",
                    "allowed_scopes",
                    "allowed_claims",
                    "create_culr_account_agency",
                    "introspection_allowed",
                    "introspects_tokens_of",
                )
            },
        ),
    )
    readonly_fields = ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        client_save(
            client=obj,
            actor=request.user.get_username() if request.user.is_authenticated else "",
            changed=list(form.changed_data),
        )


class AuthorizationCodeAdmin(GrantAdmin):
    list_display = ("pk", "masked_code", "application", "expires", "used_at")
    readonly_fields = ("authentication", "used_at", "token_family")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    list_display = ("kid", "state", "created_at", "retired_at")
    list_filter = ("state",)
    readonly_fields = ("kid", "state", "public_jwk", "created_at", "retired_at")
    exclude = ("private_key_encrypted",)
    actions = ("rotate",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Roter: lav en ny aktiv nøgle og udfas den nuværende"))
    def rotate(self, request: HttpRequest, queryset: QuerySet[SigningKey]) -> None:
        new = keys.signing_key_rotate(actor=request.user.get_username())
        self.message_user(
            request, _("Ny signeringsnøgle %(kid)s er aktiv.") % {"kid": new.kid}, messages.SUCCESS
        )

"""The admin's login form: password, then the TOTP code where the account needs one (R-SEC-4)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_otp.forms import OTPAuthenticationFormMixin

from biblogin.staff import services


class StaffAuthenticationForm(OTPAuthenticationFormMixin, AdminAuthenticationForm):
    otp_token = forms.CharField(
        label=_("Engangskode"),
        required=False,
        max_length=16,
        help_text=_("Seks cifre fra godkendelsesappen, hvis kontoen har en."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    otp_error_messages = {
        **OTPAuthenticationFormMixin.otp_error_messages,
        "token_required": _("Skriv engangskoden fra din godkendelsesapp."),
        "invalid_token": _("Forkert engangskode. Prøv igen."),
        "n_failed_attempts": _(
            "Engangskoden er midlertidigt spærret efter %(failure_count)d forkerte forsøg. "
            "Prøv igen om lidt."
        ),
        "verification_not_allowed": _("Engangskoden kan ikke kontrolleres lige nu."),
    }

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "otp_not_enrolled": _(
            "Superbrugere skal logge ind med en engangskode, og kontoen har ingen "
            "godkendelsesapp. Bed en anden administrator om at oprette en, eller kør "
            "»biblogin staff_totp_enrol %(username)s« på serveren."
        ),
    }

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()
        user = self.get_user()
        if user is None:
            return cleaned
        device = services.totp_device_for(user=user)
        if device is None:
            if services.staff_otp_required(user=user):
                raise ValidationError(
                    self.error_messages["otp_not_enrolled"],
                    code="otp_not_enrolled",
                    params={"username": user.get_username()},
                )
            return cleaned
        token = (cleaned.get("otp_token") or "").strip()
        if not token:
            raise ValidationError(self.otp_error_messages["token_required"], code="token_required")
        # One device per account: verify against it (no device picker on the form).
        user.otp_device = self._verify_token(user, token, device)  # type: ignore[attr-defined]
        return cleaned

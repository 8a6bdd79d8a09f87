"""Forms of the portal: library search, the order flow's borrower and contact details (R-VIP-7,
R-PORTAL-4, R-PORTAL-15), saved library info."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from biblogin.common.cpr import normalise_cpr
from biblogin.registry.models import Agency, OrderUserParameterType
from biblogin.registry.selectors import OrderUserField, agency_order_user_parameters

_ID_MAX_LENGTH = 100


class LibrarySearchForm(forms.Form):
    q = forms.CharField(
        label=_("Søg efter dit bibliotek"),
        max_length=100,
        required=False,
        help_text=_("Skriv bibliotekets navn, kommune eller biblioteksnummer."),
    )


def order_field(kind: str, *, label: Any, required: bool, help_text: str) -> forms.Field:
    """Return the form field of one VIP user parameter type (R-VIP-7), checked as it must be."""
    common: dict[str, Any] = {"label": label, "required": required, "help_text": help_text}
    if kind == "userMail":
        return forms.EmailField(
            max_length=254,
            widget=forms.EmailInput(attrs={"autocomplete": "email"}),
            **common,
        )
    if kind == "userDateOfBirth":
        return forms.DateField(
            widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
            error_messages={"invalid": _("Skriv datoen som ÅÅÅÅ-MM-DD.")},
            **common,
        )
    if kind == "userTelephone":
        return forms.CharField(
            max_length=20,
            validators=[
                RegexValidator(
                    r"^\+?[0-9 ]{8,19}$", _("Skriv et telefonnummer med 8 cifre eller flere.")
                )
            ],
            widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
            **common,
        )
    if kind == "userName":
        return forms.CharField(
            max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"}), **common
        )
    if kind == "userAddress":
        return forms.CharField(
            max_length=300,
            widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
            **common,
        )
    attrs = {"autocomplete": "off"}
    if kind == "cpr":
        attrs["inputmode"] = "numeric"
    return forms.CharField(max_length=_ID_MAX_LENGTH, widget=forms.TextInput(attrs=attrs), **common)


def _help_text(parameter: OrderUserField) -> str:
    english = (translation.get_language() or "da").startswith("en")
    return (parameter.help_text_en if english else "") or parameter.help_text_da


def _typed(cleaned: dict[str, Any], *, skip: str) -> dict[str, str]:
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else str(v))
        for k, v in cleaned.items()
        if k != skip and v not in (None, "")
    }


class OrderWithoutLoginForm(forms.Form):
    """The guest's part of the one order flow: exactly the library's user parameters (R-VIP-7).

    Built on the registry's ``agency_order_user_parameters`` (the one ID field first, always
    required; the other parameters as configured).
    """

    def __init__(self, *args: Any, agency: Agency, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for parameter in agency_order_user_parameters(agency=agency):
            self.fields[parameter.type] = order_field(
                parameter.type,
                label=OrderUserParameterType(parameter.type).label,
                required=parameter.required,
                help_text=_help_text(parameter),
            )
        self.fields["remember"] = forms.BooleanField(
            label=_("Husk til næste bestilling"),
            help_text=_("Så længe du bruger Bibliotek.dk i denne browser."),
            required=False,
        )

    def clean_cpr(self) -> str:
        value = self.cleaned_data.get("cpr", "")
        cpr = normalise_cpr(value) if value else None
        if value and cpr is None:
            raise forms.ValidationError(
                _("Skriv et gyldigt CPR-nummer med 10 cifre (DDMMÅÅ-SSSS).")
            )
        return cpr or ""

    def details(self) -> dict[str, str]:
        """Return the typed details, JSON-ready, without the "remember" choice."""
        return _typed(self.cleaned_data, skip="remember")


class OrderContactForm(forms.Form):
    """A logged-in user's contact details for the pickup library (R-PORTAL-15, R-VIP-7).

    The fields are the library's contact parameters (``order_flow.contact_fields``); none is
    required, since the login already tells the library who orders and it has its borrower's
    details; what is typed must be well-formed. ``keep``: a profile user saves the details for
    next time (userdata), a session user has them remembered in the session only.
    """

    def __init__(
        self, *args: Any, fields: list[OrderUserField], profile: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.types = [f.type for f in fields]
        for parameter in fields:
            help_text = _help_text(parameter)
            if parameter.type == "userMail" and not help_text:
                help_text = str(
                    _(
                        "Lader du feltet stå tomt, bruges den e-mail, biblioteket har "
                        "registreret om dig."
                    )
                )
            self.fields[parameter.type] = order_field(
                parameter.type,
                label=OrderUserParameterType(parameter.type).label,
                required=False,
                help_text=help_text,
            )
        self.fields["keep"] = forms.BooleanField(
            label=_("Gem oplysningerne til næste gang")
            if profile
            else _("Husk til næste bestilling"),
            help_text=_("De gemmes under Gemte oplysninger på din profil, hvor du kan rette dem.")
            if profile
            else _("Så længe du bruger Bibliotek.dk i denne browser."),
            required=False,
        )

    def values(self) -> dict[str, str]:
        """Return every contact field's value by VIP type, empty ones included (to clear)."""
        return {kind: str(self.cleaned_data.get(kind) or "").strip() for kind in self.types}


class SavedLibraryInfoForm(forms.Form):
    """Saved library info for one library: e-mail, phone, its order parameters (R-PORTAL-15)."""

    def __init__(self, *args: Any, agency: Agency, parameter_types: list[str], **kwargs: Any):
        kwargs.setdefault("prefix", f"lib{agency.agency_id}")
        super().__init__(*args, **kwargs)
        self.agency = agency
        english = (translation.get_language() or "da").startswith("en")
        self.fields["email"] = order_field(
            "userMail", label=_("E-mail"), required=False, help_text=""
        )
        self.fields["phone"] = order_field(
            "userTelephone", label=_("Telefon"), required=False, help_text=""
        )
        by_type = {p.parameter_type: p for p in agency.order_user_parameters.all()}
        for kind in parameter_types:
            parameter = by_type.get(kind)
            help_text = ""
            if parameter is not None:
                help_text = (parameter.help_text_en if english else "") or parameter.help_text_da
            self.fields[kind] = order_field(
                kind,
                label=OrderUserParameterType(kind).label,
                required=False,
                help_text=help_text,
            )

    def parameters(self) -> dict[str, str]:
        return {
            k: (v.isoformat() if hasattr(v, "isoformat") else str(v or ""))
            for k, v in self.cleaned_data.items()
            if k not in ("email", "phone")
        }

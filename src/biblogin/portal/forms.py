"""Forms of the portal: library search and the order form without login (R-VIP-7, R-PORTAL-4)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from biblogin.common.cpr import normalise_cpr
from biblogin.registry.models import Agency, OrderUserParameter, OrderUserParameterType

_ID_TYPES = ("cpr", "barcode", "cardno", "customId")
_ID_MAX_LENGTH = 100


class LibrarySearchForm(forms.Form):
    q = forms.CharField(
        label=_("Søg efter dit bibliotek"),
        max_length=100,
        required=False,
        help_text=_("Skriv bibliotekets navn, kommune eller biblioteksnummer."),
    )


def order_fields(*, agency: Agency) -> list[tuple[OrderUserParameter | None, str, bool]]:
    """Return (parameter, type, required) of the order form without login, in order (R-VIP-7).

    The ID field is the first required one of cpr/barcode/cardno/customId, else ``userId``,
    and it is always required; the other ID types are not shown.
    """
    parameters = list(agency.order_user_parameters.all())
    id_parameter = next(
        (p for p in parameters if p.parameter_type in _ID_TYPES and p.required), None
    )
    if id_parameter is None:
        id_parameter = next((p for p in parameters if p.parameter_type == "userId"), None)
    id_type = id_parameter.parameter_type if id_parameter else "userId"
    fields: list[tuple[OrderUserParameter | None, str, bool]] = [(id_parameter, id_type, True)]
    for parameter in parameters:
        if parameter.parameter_type in (*_ID_TYPES, "userId"):
            continue
        fields.append((parameter, parameter.parameter_type, parameter.required))
    return fields


class OrderWithoutLoginForm(forms.Form):
    """Exactly the user parameters the library asks for (R-VIP-7)."""

    def __init__(self, *args: Any, agency: Agency, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        english = (translation.get_language() or "da").startswith("en")
        for parameter, kind, required in order_fields(agency=agency):
            label = OrderUserParameterType(kind).label
            help_text = ""
            if parameter is not None:
                help_text = (parameter.help_text_en if english else "") or parameter.help_text_da
            self.fields[kind] = self._field(
                kind, label=label, required=required, help_text=help_text
            )
        self.fields["remember"] = forms.BooleanField(
            label=_("Husk mine oplysninger, så længe jeg bruger Bibliotek.dk i denne browser"),
            required=False,
        )

    @staticmethod
    def _field(kind: str, *, label: Any, required: bool, help_text: str) -> forms.Field:
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
        return forms.CharField(
            max_length=_ID_MAX_LENGTH, widget=forms.TextInput(attrs=attrs), **common
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
        return {
            k: (v.isoformat() if hasattr(v, "isoformat") else str(v))
            for k, v in self.cleaned_data.items()
            if k != "remember" and v not in (None, "")
        }


class SavedLibraryInfoForm(forms.Form):
    """Saved library info for one library: e-mail, phone, its order parameters (R-PORTAL-15)."""

    def __init__(self, *args: Any, agency: Agency, parameter_types: list[str], **kwargs: Any):
        kwargs.setdefault("prefix", f"lib{agency.agency_id}")
        super().__init__(*args, **kwargs)
        self.agency = agency
        english = (translation.get_language() or "da").startswith("en")
        self.fields["email"] = OrderWithoutLoginForm._field(
            "userMail", label=_("E-mail"), required=False, help_text=""
        )
        self.fields["phone"] = OrderWithoutLoginForm._field(
            "userTelephone", label=_("Telefon"), required=False, help_text=""
        )
        by_type = {p.parameter_type: p for p in agency.order_user_parameters.all()}
        for kind in parameter_types:
            parameter = by_type.get(kind)
            help_text = ""
            if parameter is not None:
                help_text = (parameter.help_text_en if english else "") or parameter.help_text_da
            self.fields[kind] = OrderWithoutLoginForm._field(
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

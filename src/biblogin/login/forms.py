"""Forms of the login pages. Required-ness is the borrower check's to judge (R-LOGIN-4)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import translation
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from biblogin.registry.models import UserIdKind

# R-VIP-5: the label of the user ID field says what users at this library type.
_LABELS: dict[frozenset[str], Any] = {
    frozenset({UserIdKind.CPR, UserIdKind.BORROWER_NUMBER}): _("CPR- eller lånernummer"),
    frozenset({UserIdKind.CPR}): _("CPR-nummer"),
    frozenset({UserIdKind.BORROWER_NUMBER}): _("Lånernummer"),
    frozenset({UserIdKind.EMAIL}): _("E-mail"),
    frozenset({UserIdKind.BORROWER_NUMBER, UserIdKind.EMAIL}): _("Lånernummer eller e-mail"),
    frozenset({UserIdKind.CPR, UserIdKind.EMAIL}): _("CPR-nummer eller e-mail"),
    frozenset(UserIdKind.values): _("CPR-, lånernummer eller e-mail"),
}


def user_id_label(kinds: list[str]) -> Any:
    return _LABELS.get(frozenset(kinds), _("Bruger-id"))


class LibraryLoginForm(forms.Form):
    user_id = forms.CharField(required=False, strip=False, max_length=1000)
    password = forms.CharField(
        label=_("Pinkode"),
        required=False,
        strip=False,
        max_length=1000,
        # No inputmode=numeric: many libraries' PINs have letters, and a phone would then
        # offer digits only.
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    remember = forms.BooleanField(label=_("Husk mit bibliotek på denne enhed"), required=False)

    def __init__(self, *args: Any, kinds: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["user_id"]
        field.label = user_id_label(kinds)
        attrs: dict[str, str] = {"autocomplete": "username", "autocapitalize": "none"}
        if kinds == [UserIdKind.EMAIL]:
            field.widget.input_type = "email"
        elif kinds == [UserIdKind.CPR]:
            attrs["inputmode"] = "numeric"
        field.widget.attrs.update(attrs)
        # The user must type both; whether what came is usable is the borrower check's to say.
        for name in ("user_id", "password"):
            self.fields[name].marked_required = True  # type: ignore[attr-defined]

    def problem_show(self, *, message_id: str) -> None:
        """Tie the page's login error to both fields (the error is about the pair)."""
        for name in ("user_id", "password"):
            self.fields[name].widget.attrs.update(
                {"aria-invalid": "true", "aria-describedby": message_id}
            )


# The blank login form's HTML by (language, user ID kinds, remembered): a few dozen at most.
_BLANK_FORMS: dict[tuple[str, tuple[str, ...], bool], SafeString] = {}


def library_login_form_blank(*, kinds: list[str], remember: bool) -> SafeString:
    """The login page's empty form, rendered once per language, user ID kinds and remember box.

    It is the same for every visitor: no value, no error (the CSRF token is the page's).
    Rendering its fields through the form templates was a third of the login page's CPU.
    """
    key = (translation.get_language() or "", tuple(kinds), remember)
    html = _BLANK_FORMS.get(key)
    if html is None:
        html = SafeString(LibraryLoginForm(kinds=kinds, initial={"remember": remember}))
        _BLANK_FORMS[key] = html
    return html


class LibrarySearchForm(forms.Form):
    q = forms.CharField(label=_("Søg efter dit bibliotek"), required=False, max_length=200)

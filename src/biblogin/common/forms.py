"""One form layout for every form of the portal and the login pages (issue 10, item 9).

Label above the field, required fields marked, help text and error tied to the field
(``aria-describedby``, ``aria-invalid``: Django's own), an error summary at the top whose links
lead to the fields, and focus on the first field in error when the page loads (``autofocus``:
no JavaScript needed).
"""

from __future__ import annotations

from typing import Any

from django.forms import BoundField, Widget
from django.forms.renderers import DjangoTemplates


class FieldWithLayout(BoundField):
    """A bound field that knows whether it is marked required and whether it gets the focus."""

    @property
    def marked_required(self) -> bool:
        """Required for the user, also where the form leaves the judging to a service."""
        return bool(self.field.required or getattr(self.field, "marked_required", False))

    @property
    def takes_focus(self) -> bool:
        """The first field in error, in the order of the form, gets the focus."""
        if not self.form.is_bound or not self.errors:
            return False
        for name in self.form.fields:
            if name in self.form.errors:
                return name == self.name
        return False

    def build_widget_attrs(self, attrs: Any, widget: Widget | None = None) -> Any:
        attrs = super().build_widget_attrs(attrs, widget)
        if self.takes_focus:
            attrs["autofocus"] = True
        if self.marked_required and not self.field.required:
            attrs["aria-required"] = "true"
        return attrs


class FormRenderer(DjangoTemplates):
    """FORM_RENDERER: the project's form and field templates (biblogin/forms/)."""

    form_template_name = "biblogin/forms/form.html"
    field_template_name = "biblogin/forms/field.html"
    bound_field_class = FieldWithLayout

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        if template_name == self.form_template_name and "fields" in context:
            fields = [field for field, _errors in context["fields"]]
            context = {
                **context,
                "has_field_errors": any(field.errors for field in fields),
                "has_marked_required": any(
                    getattr(field, "marked_required", False) for field in fields
                ),
            }
        return super().render(template_name, context, request)

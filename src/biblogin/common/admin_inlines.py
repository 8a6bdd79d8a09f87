"""Admin inlines whose inputs have labels (a tabular inline's inputs have only column heads).

axe-core (WCAG 2.1, 1.3.1/4.1.2) wants every input labelled; a screen reader user in a table
row would otherwise hear "edit text" four times. Each input gets ``aria-label`` "<column>
(<row>)", e.g. "Navn (Hovedbiblioteket)", or "(ny)" on a row still to be added.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.translation import gettext


class LabelledTabularInline(admin.TabularInline):
    def get_formset(self, request: Any, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        base_form = formset.form

        class LabelledForm(base_form):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **form_kwargs: Any) -> None:
                super().__init__(*args, **form_kwargs)
                instance = getattr(self, "instance", None)
                row = str(instance) if instance is not None and instance.pk else gettext("ny")
                for field in self.fields.values():
                    if not field.widget.is_hidden and field.label:
                        field.widget.attrs.setdefault("aria-label", f"{field.label} ({row})")

        LabelledForm.__name__ = base_form.__name__
        formset.form = LabelledForm
        return formset

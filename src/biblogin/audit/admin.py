"""The audit log in the admin: read-only, CPRs masked again on display, never a PIN.

The audit app does not know which agency a staff account belongs to (that is the registry's
staff binding, above audit), so it registers nothing itself: the registry's admin registers a
subclass that answers ``visible_agency_ids``.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from biblogin.audit.models import AuditEvent
from biblogin.common.cpr import mask_cprs_in_text

# Never shown, whatever an old row holds (R-LOGIN-13, R-BC-5).
_HIDDEN_KEYS = {"password", "pin", "pincode", "cpr", "secret", "token"}


def _masked(value: Any) -> Any:
    """Mask CPR-shaped text and leave out secret keys, also in rows written before a fix."""
    if isinstance(value, str):
        return mask_cprs_in_text(value)
    if isinstance(value, dict):
        return {
            mask_cprs_in_text(str(k)): _masked(v)
            for k, v in value.items()
            if str(k).lower() not in _HIDDEN_KEYS
        }
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


class AuditEventAdmin(admin.ModelAdmin):
    """Read-only audit events: no add, change or delete, for anyone (superusers too)."""

    list_display = ("at", "action", "shown_outcome", "agency_id", "shown_actor", "shown_subject")
    list_filter = ("action",)  # a filter on outcome would scan the whole log for its values
    search_fields = ("agency_id", "action", "outcome")
    search_help_text = _("Søg på biblioteksnummer, handling eller udfald.")
    fields = (
        "at",
        "action",
        "shown_outcome",
        "agency_id",
        "shown_actor",
        "shown_subject",
        "ip",
        "shown_details",
    )
    readonly_fields = fields
    list_per_page = 50
    show_full_result_count = False  # counting a large log on every page costs more than it tells

    def visible_agency_ids(self, request: HttpRequest) -> list[str] | None:
        """Return the agencies whose events this account sees; None: all of them."""
        user = request.user
        return None if user.is_active and user.is_staff and user.is_superuser else []

    def _visible(self, request: HttpRequest) -> list[str] | None:
        # Asked several times per page (menu, permissions, list): look it up once.
        if not hasattr(request, "_audit_agency_ids"):
            request._audit_agency_ids = self.visible_agency_ids(request)  # type: ignore[attr-defined]
        visible: list[str] | None = request._audit_agency_ids  # type: ignore[attr-defined]
        return visible

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs: QuerySet[Any] = super().get_queryset(request)
        agency_ids = self._visible(request)
        return qs if agency_ids is None else qs.filter(agency_id__in=agency_ids)

    def _sees_some(self, request: HttpRequest) -> bool:
        return self._visible(request) != []

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._sees_some(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if not self._sees_some(request):
            return False
        agency_ids = self._visible(request)
        if obj is None or agency_ids is None:
            return True
        return getattr(obj, "agency_id", None) in agency_ids

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description=_("udfald"), ordering="outcome")
    def shown_outcome(self, obj: AuditEvent) -> str:
        return str(_masked(obj.outcome))  # written unmasked: callers pass codes, but be sure

    @admin.display(description=_("aktør"), ordering="actor")
    def shown_actor(self, obj: AuditEvent) -> str:
        return str(_masked(obj.actor))

    @admin.display(description=_("hvem"), ordering="subject")
    def shown_subject(self, obj: AuditEvent) -> str:
        return str(_masked(obj.subject))

    @admin.display(description=_("detaljer"))
    def shown_details(self, obj: AuditEvent) -> str:
        text = json.dumps(_masked(obj.details or {}), ensure_ascii=False, indent=2, sort_keys=True)
        return format_html("<pre>{}</pre>", text)

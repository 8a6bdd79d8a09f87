"""The staff accounts' TOTP apps in the admin: who has one, and removing a lost one (R-SEC-4).

django-otp registers its own TOTPDevice here, whose add form stores a key in clear and which the
admin login no longer reads (staff devices are ``StaffTOTPDevice``, the key sealed): it is taken
out. Ours shows no key and adds none; an app is enrolled by its owner (``admin:staff_totp_enrol``)
or with ``biblogin staff_totp_enrol``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from biblogin.staff.models import StaffTOTPDevice

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(StaffTOTPDevice)
class StaffTOTPDeviceAdmin(admin.ModelAdmin):
    list_display = ["account", "app_name", "is_confirmed", "last_used"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]

    @admin.display(description=_("Konto"), ordering="user__username")
    def account(self, device: StaffTOTPDevice) -> str:
        return str(device.user.get_username())

    @admin.display(description=_("Navn"))
    def app_name(self, device: StaffTOTPDevice) -> str:
        return str(device.name)

    @admin.display(description=_("Bekræftet"), boolean=True)
    def is_confirmed(self, device: StaffTOTPDevice) -> bool:
        return bool(device.confirmed)

    @admin.display(description=_("Sidst brugt"))
    def last_used(self, device: StaffTOTPDevice) -> datetime | None:
        value: datetime | None = device.last_used_at
        return value

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

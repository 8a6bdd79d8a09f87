from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    """Staff accounts in the admin: lockout (django-axes) and a second factor (R-SEC-4)."""

    name = "biblogin.staff"
    label = "staff"
    default = True
    verbose_name = _("Medarbejderkonti")


class StaffAdminConfig(admin_apps.AdminConfig):
    """Django's admin with our site as ``admin.site``, so every ``@admin.register`` uses it."""

    default = False
    default_site = "biblogin.staff.site.StaffAdminSite"

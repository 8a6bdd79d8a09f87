from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CulrsyncConfig(AppConfig):
    name = "biblogin.culrsync"
    label = "culrsync"
    verbose_name = _("Levering til CULR")

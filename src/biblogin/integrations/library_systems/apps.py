from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LibrarySystemsConfig(AppConfig):
    name = "biblogin.integrations.library_systems"
    label = "library_systems"
    verbose_name = _("Bibliotekssystemer (simuleret)")

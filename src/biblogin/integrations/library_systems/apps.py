from django.apps import AppConfig


class LibrarySystemsConfig(AppConfig):
    name = "biblogin.integrations.library_systems"
    label = "library_systems"
    verbose_name = "Bibliotekssystemer (simuleret)"

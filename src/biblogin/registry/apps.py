from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "biblogin.registry"
    label = "registry"
    verbose_name = "Biblioteksregister (VIP)"

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "biblogin.portal"
    label = "portal"
    verbose_name = "Bibliotek.dk"

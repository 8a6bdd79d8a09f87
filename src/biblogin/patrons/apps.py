from django.apps import AppConfig


class PatronsConfig(AppConfig):
    name = "biblogin.patrons"
    label = "patrons"
    verbose_name = "Lånerregister (CULR)"

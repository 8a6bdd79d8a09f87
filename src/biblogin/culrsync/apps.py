from django.apps import AppConfig


class CulrsyncConfig(AppConfig):
    name = "biblogin.culrsync"
    label = "culrsync"
    verbose_name = "Levering til CULR"

from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "biblogin.common"
    label = "common"
    verbose_name = "Fælles"

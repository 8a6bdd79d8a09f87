from django.apps import AppConfig


class UserdataConfig(AppConfig):
    name = "biblogin.userdata"
    label = "userdata"
    verbose_name = "Brugerdata"

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UserdataConfig(AppConfig):
    name = "biblogin.userdata"
    label = "userdata"
    verbose_name = _("Brugerdata")

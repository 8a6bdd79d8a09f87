from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BorrowercheckConfig(AppConfig):
    name = "biblogin.borrowercheck"
    label = "borrowercheck"
    verbose_name = _("Lånertjek")

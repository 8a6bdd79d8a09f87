from django.apps import AppConfig


class BorrowercheckConfig(AppConfig):
    name = "biblogin.borrowercheck"
    label = "borrowercheck"
    verbose_name = "Lånertjek"

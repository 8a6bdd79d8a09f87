from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "biblogin.demo"
    label = "demo"
    verbose_name = "Demodata"

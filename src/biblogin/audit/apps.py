from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "biblogin.audit"
    label = "audit"
    verbose_name = "Revisionslog"

from django.apps import AppConfig


class OidcConfig(AppConfig):
    name = "biblogin.oidc"
    label = "oidc"
    verbose_name = "Loginplatform (OIDC)"

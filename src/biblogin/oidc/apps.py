from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OidcConfig(AppConfig):
    name = "biblogin.oidc"
    label = "oidc"
    verbose_name = _("Loginplatform (OIDC)")

    def ready(self) -> None:
        from biblogin.login.policy import client_policy_lookup_register
        from biblogin.oidc.selectors import client_policy_get

        # The login pages sit below this app and never import it: they read clients this way.
        client_policy_lookup_register(client_policy_get)

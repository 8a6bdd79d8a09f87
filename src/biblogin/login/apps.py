from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoginConfig(AppConfig):
    name = "biblogin.login"
    label = "login"
    verbose_name = _("Login-sider")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from biblogin.login.signals import last_login_update

        # django.contrib.auth (earlier in INSTALLED_APPS) connected its ORM receiver already.
        if user_logged_in.disconnect(dispatch_uid="update_last_login"):
            user_logged_in.connect(last_login_update, dispatch_uid="update_last_login")

from django.apps import AppConfig


class LoginConfig(AppConfig):
    name = "biblogin.login"
    label = "login"
    verbose_name = "Login-sider"

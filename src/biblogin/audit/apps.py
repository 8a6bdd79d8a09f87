from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _mask_failed_login(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
    from biblogin.audit.services import failed_login_credentials_mask

    failed_login_credentials_mask(credentials=credentials)


class AuditConfig(AppConfig):
    name = "biblogin.audit"
    label = "audit"
    verbose_name = _("Revisionslog")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        # Connected before the apps listed after this one (e.g. a staff lockout app): every
        # receiver of a failed login sees CPR-shaped user IDs masked (R-CULR-5).
        user_login_failed.connect(_mask_failed_login, dispatch_uid="biblogin.audit.mask_cpr")

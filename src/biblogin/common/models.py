"""The user model and the base model every app builds on."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from biblogin.common.cpr import mask_cpr
from biblogin.common.cpr_crypto import decrypt_cpr


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("oprettet"), auto_now_add=True)
    updated_at = models.DateTimeField(_("ændret"), auto_now=True)

    class Meta:
        abstract = True


class EncryptedCpr:
    """For a model with a ``cpr_encrypted`` field: the CPR decrypted on use, and masked."""

    cpr_encrypted: str

    @property
    def cpr(self) -> str | None:
        return decrypt_cpr(self.cpr_encrypted) if self.cpr_encrypted else None

    @property
    def cpr_masked(self) -> str:
        cpr = self.cpr
        return mask_cpr(cpr) if cpr else ""


# django-stubs cannot type the manager of staff's TOTP device, a subclass of django-otp's
# untyped Device: staff.StaffTOTPDevice.user -> stafftotpdevice_set.
class User(AbstractUser):  # type: ignore[django-manager-missing]
    """A Django login: library staff in the admin, or an identity logged in at the login platform.

    Identities of the login platform have no usable password; who they are lives in the
    login platform's own records, never in this table's names.
    """

    class Meta:
        db_table = "common_user"
        verbose_name = _("bruger")
        verbose_name_plural = _("brugere")

"""A staff account's TOTP app (R-SEC-4), its key sealed at rest.

django-otp's ``TOTPDevice`` keeps the shared key in clear (a hex ``CharField``): whoever reads
the database, or a backup of it, could mint every admin's codes. Its table cannot take the
project's sealed form (at most 80 characters; a sealed 20-byte key is 95), and a proxy model
would not help (django-otp's ``device_classes`` skips proxies, and the plain model would read the
sealed text as hex). So staff devices are this model: the key sealed with ``secret_crypto`` (the
AES-GCM of the CPRs and SIP2 passwords, a purpose of its own), every other field and the TOTP
logic taken from the installed django-otp, not copied: ``verify_token`` and ``config_url`` read
the key only through ``bin_key``. tests/staff/test_totp_at_rest.py fails if that changes.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from biblogin.common.secret_crypto import decrypt_secret, encrypt_secret

TOTP_KEY_PURPOSE = "staff-totp-key"


def totp_key_seal(hex_key: str) -> str:
    """Seal a hex-encoded TOTP key for the database."""
    return encrypt_secret(hex_key, purpose=TOTP_KEY_PURPOSE)


def totp_key_sealed_new() -> str:
    """A new random key (django-otp's default: 20 bytes), sealed."""
    return totp_key_seal(default_key())


def _same_as_django_otp(name: str) -> Any:
    """The field of django-otp's TOTPDevice, as installed (a fresh copy for this model)."""
    return TOTPDevice._meta.get_field(name).clone()


class StaffTOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP device whose key is stored sealed (``key_sealed``), never in clear."""

    key_sealed: models.TextField[str, str] = models.TextField(
        default=totp_key_sealed_new, editable=False
    )
    step = _same_as_django_otp("step")
    t0 = _same_as_django_otp("t0")
    digits = _same_as_django_otp("digits")
    tolerance = _same_as_django_otp("tolerance")
    drift = _same_as_django_otp("drift")
    last_t = _same_as_django_otp("last_t")

    class Meta(Device.Meta):
        verbose_name = _("Godkendelsesapp (TOTP)")
        verbose_name_plural = _("Godkendelsesapps (TOTP)")

    @property
    def bin_key(self) -> bytes:
        """The key, opened for the moment it is used."""
        return bytes.fromhex(decrypt_secret(self.key_sealed, purpose=TOTP_KEY_PURPOSE))

    # django-otp's TOTP, as installed.
    verify_token = TOTPDevice.verify_token
    get_throttle_factor = TOTPDevice.get_throttle_factor
    config_url = TOTPDevice.config_url
    _read_str_from_settings = TOTPDevice._read_str_from_settings

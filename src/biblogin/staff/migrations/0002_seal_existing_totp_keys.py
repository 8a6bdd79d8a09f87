"""Move every django-otp TOTP device into StaffTOTPDevice with its key sealed; none stays clear.

Same account, name, state and counters, so each app keeps working with its codes. A session
verified by an old device must verify again (its device ID names the old table). Reversible:
backwards opens the keys into django-otp's table again.
"""

from typing import Any

from django.db import migrations

from biblogin.common.secret_crypto import decrypt_secret, encrypt_secret

PURPOSE = "staff-totp-key"  # biblogin.staff.models.TOTP_KEY_PURPOSE, frozen here
_COPIED = [
    "user_id",
    "name",
    "confirmed",
    "throttling_failure_timestamp",
    "throttling_failure_count",
    "created_at",
    "last_used_at",
    "step",
    "t0",
    "digits",
    "tolerance",
    "drift",
    "last_t",
]


def seal(apps: Any, schema_editor: Any) -> None:
    clear = apps.get_model("otp_totp", "TOTPDevice")
    sealed = apps.get_model("staff", "StaffTOTPDevice")
    for device in clear.objects.order_by("pk"):
        moved = sealed.objects.create(
            key_sealed=encrypt_secret(device.key, purpose=PURPOSE),
            **{name: getattr(device, name) for name in _COPIED},
        )
        # auto_now_add set it anew: keep when the app was enrolled.
        sealed.objects.filter(pk=moved.pk).update(created_at=device.created_at)
        device.delete()


def unseal(apps: Any, schema_editor: Any) -> None:
    clear = apps.get_model("otp_totp", "TOTPDevice")
    sealed = apps.get_model("staff", "StaffTOTPDevice")
    for device in sealed.objects.order_by("pk"):
        moved = clear.objects.create(
            key=decrypt_secret(device.key_sealed, purpose=PURPOSE),
            **{name: getattr(device, name) for name in _COPIED},
        )
        # auto_now_add set it anew: keep when the app was enrolled.
        clear.objects.filter(pk=moved.pk).update(created_at=device.created_at)
        device.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0001_initial"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(seal, unseal)]

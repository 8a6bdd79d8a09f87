"""R-SEC-4 / R-SEC: a staff account's TOTP key is sealed at rest, and the codes still work.

django-otp's own TOTPDevice stores the key in clear; staff devices are StaffTOTPDevice, whose
key column holds only the AES-GCM sealed form (biblogin.common.secret_crypto). The data
migration moves devices enrolled before into it, sealed, without breaking their apps.
"""

from __future__ import annotations

import base64
import importlib

import pytest
from django.apps import apps as global_apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from biblogin.staff import services
from biblogin.staff.models import StaffTOTPDevice

pytestmark = pytest.mark.django_db

PASSWORD = "Rigtig-Adgangskode-42"

seal_migration = importlib.import_module("biblogin.staff.migrations.0002_seal_existing_totp_keys")


def account(username: str):
    return get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff=True, is_superuser=True
    )


def code(key: bytes, *, step: int = 30, t0: int = 0, digits: int = 6, drift: int = 0) -> str:
    value = totp(key, step=step, t0=t0, digits=digits, drift=drift)
    return f"{value:0{digits}d}"


def raw_column(device: StaffTOTPDevice) -> str:
    """What the database itself holds for the device's key (no model in between)."""
    table = connection.ops.quote_name(StaffTOTPDevice._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key_sealed FROM {table} WHERE id = %s", [device.pk])
        (value,) = cursor.fetchone()
    return str(value)


def clear_forms(key: bytes) -> list[str]:
    """Every way the key could be written out in clear."""
    b32 = base64.b32encode(key).decode()
    return [key.hex(), key.hex().upper(), b32, b32.rstrip("="), base64.b64encode(key).decode()]


def test_the_raw_key_column_holds_no_clear_key_and_codes_still_verify_R_SEC_4() -> None:
    staff = account("chef")
    device = services.totp_enrolment_start(user=staff)
    key = device.bin_key
    assert len(key) == 20  # django-otp's default: 160 bits
    stored = raw_column(device)
    assert stored.startswith("s1:")  # the project's sealed form
    assert not any(clear in stored for clear in clear_forms(key))
    # No column of the row holds it either (a field added later must not leak it).
    table = connection.ops.quote_name(StaffTOTPDevice._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [device.pk])
        row = " ".join(str(v) for v in cursor.fetchone())
    assert not any(clear in row for clear in clear_forms(key))
    # The app's codes verify through the sealed key: enrolment, then the admin login.
    assert services.totp_enrolment_confirm(user=staff, device=device, token=code(key))
    assert StaffTOTPDevice.objects.get(pk=device.pk).confirmed
    client = Client()
    answer = client.post(
        "/admin/login/?next=/admin/",
        {"username": "chef", "password": PASSWORD, "otp_token": code(key, drift=1)},
    )
    assert answer.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_sealed_key_does_not_open_for_another_purpose_R_SEC_4() -> None:
    from biblogin.common.secret_crypto import decrypt_secret

    device = services.totp_enrolment_start(user=account("chef"))
    with pytest.raises(ValueError):
        decrypt_secret(device.key_sealed, purpose="sip2-password")


def test_the_data_migration_seals_devices_enrolled_in_django_otps_table_R_SEC_4() -> None:
    staff = account("chef")
    old = TOTPDevice.objects.create(user=staff, name="Godkendelsesapp", confirmed=True, drift=1)
    key = old.bin_key
    seal_migration.seal(global_apps, None)
    assert not TOTPDevice.objects.exists()  # no clear key left behind
    moved = StaffTOTPDevice.objects.get()
    assert (moved.user_id, moved.name, moved.confirmed) == (staff.pk, old.name, True)
    assert moved.drift == 1
    assert moved.created_at == old.created_at
    assert moved.bin_key == key and not any(c in raw_column(moved) for c in clear_forms(key))
    assert services.totp_device_for(user=staff) == moved
    assert moved.verify_token(code(key, drift=1))  # the app enrolled before still works
    # And back: the migration is reversible.
    seal_migration.unseal(global_apps, None)
    assert TOTPDevice.objects.get().bin_key == key and not StaffTOTPDevice.objects.exists()


def test_the_staff_device_is_django_otps_totp_but_for_the_key() -> None:
    """A guard: the TOTP logic is django-otp's as installed, reading the key only as bin_key.

    Fails when an upgrade of django-otp adds or changes a field or starts reading ``key``.
    """
    import inspect

    theirs = {f.name: f.deconstruct()[1:] for f in TOTPDevice._meta.concrete_fields}
    ours = {f.name: f.deconstruct()[1:] for f in StaffTOTPDevice._meta.concrete_fields}
    # Our own key column, and our own primary key (the project's DEFAULT_AUTO_FIELD).
    del theirs["key"], ours["key_sealed"], theirs["id"], ours["id"]
    assert ours == theirs
    for name in ("verify_token", "get_throttle_factor", "_read_str_from_settings"):
        assert getattr(StaffTOTPDevice, name) is getattr(TOTPDevice, name), name
    assert StaffTOTPDevice.config_url is TOTPDevice.config_url
    for borrowed in (TOTPDevice.verify_token, TOTPDevice.config_url.fget):
        assert "self.key" not in inspect.getsource(borrowed), borrowed


def test_the_admin_lists_staff_apps_without_their_keys_and_adds_no_clear_device_R_SEC_4(
    admin_client: Client,
) -> None:
    staff = account("chef")
    device = services.totp_enrolment_start(user=staff)
    key = device.bin_key
    listing = admin_client.get("/admin/staff/stafftotpdevice/")
    assert listing.status_code == 200 and "chef" in listing.content.decode()
    detail = admin_client.get(f"/admin/staff/stafftotpdevice/{device.pk}/change/")
    assert detail.status_code == 200
    assert not any(clear in detail.content.decode() for clear in clear_forms(key))
    assert device.key_sealed not in detail.content.decode()
    assert admin_client.get("/admin/staff/stafftotpdevice/add/").status_code == 403
    # django-otp's own admin, whose form would store a key in clear, is not there.
    assert admin_client.get("/admin/otp_totp/totpdevice/add/").status_code == 404

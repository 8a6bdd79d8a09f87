"""Staff accounts in the admin (R-SEC-4): who needs a second factor, TOTP enrolment.

The lockout itself is django-axes (settings: ``AXES_*``); this module only serialises one
account's admin login attempts so axes' check-then-record holds under concurrency.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.common.models import User
from biblogin.registry.models import StaffAgency
from biblogin.staff.models import StaffTOTPDevice

TOTP_DEVICE_NAME = "Godkendelsesapp"


def staff_otp_required(*, user: User) -> bool:
    """Return whether the admin needs a verified second factor from this account.

    R-SEC-4: required for superusers when ``STAFF_OTP_REQUIRED`` is on (production); an
    account that has enrolled a device must use it, or the device would protect nothing.
    """
    if user.is_superuser and getattr(settings, "STAFF_OTP_REQUIRED", False):
        return True
    return totp_device_for(user=user) is not None


def totp_device_for(*, user: User) -> StaffTOTPDevice | None:
    """Return the account's confirmed TOTP device (the admin asks for its code), if any."""
    if user.pk is None:
        return None
    device: StaffTOTPDevice | None = (
        StaffTOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()
    )
    return device


@contextmanager
def staff_login_serialised(*, username: str) -> Iterator[None]:
    """Run one admin login attempt while holding the account's row lock.

    R-SEC-4: axes checks the failure count before the password check and records the failure
    after it, so parallel attempts would all pass the check. Locking the account row (one
    write transaction at a time on SQLite) makes check, password and record one step per
    account: at most ``AXES_FAILURE_LIMIT`` attempts reach the password check, on every worker.
    """
    with transaction.atomic():
        if username and "\x00" not in username and len(username) <= 150:
            field = get_user_model().USERNAME_FIELD
            list(
                get_user_model()
                .objects.select_for_update()
                .filter(**{field: username})
                .values_list("pk", flat=True)
            )
        yield


@transaction.atomic
def totp_enrolment_start(*, user: User) -> StaffTOTPDevice:
    """Return the account's pending (unconfirmed) TOTP device, creating one if needed."""
    device: StaffTOTPDevice | None = (
        StaffTOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    )
    if device is None:
        device = StaffTOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


@transaction.atomic
def totp_enrolment_confirm(
    *, user: User, device: StaffTOTPDevice, token: str, ip: str | None = None
) -> bool:
    """Confirm a pending device with a code from the app; False (no change) if it is wrong."""
    if device.user_id != user.pk or device.confirmed:
        return False
    if not token.strip().isdigit() or not device.verify_token(token.strip()):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # One app per account: the new one replaces any earlier device.
    StaffTOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    audit_event_record(
        action=AuditAction.STAFF_TOTP_ENROLLED,
        outcome="ok",
        actor=user.get_username(),
        agency_id=staff_agency_id_of(user=user),
        subject=user.get_username(),
        ip=ip,
        details={"device": device.persistent_id},
    )
    return True


def staff_agency_id_of(*, user: User) -> str:
    """Return the agency the account is bound to ("" if none): its audit events belong there."""
    bound = (
        StaffAgency.objects.filter(user_id=user.pk)
        .values_list("agency__agency_id", flat=True)
        .first()
    )
    return bound or ""


def totp_secret_base32(*, device: StaffTOTPDevice) -> str:
    """Return the device's key as apps show it for typing in by hand (RFC 4648 base32)."""
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


def totp_qr_svg_data_uri(*, device: StaffTOTPDevice) -> str:
    """Return the device's otpauth:// URL as a QR code (an SVG data URI: no JavaScript)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    out = io.BytesIO()
    image.save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")

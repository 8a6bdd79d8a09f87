"""Give a staff account a TOTP device from the server's shell (the first superuser's way in)."""

from __future__ import annotations

from typing import Any

import qrcode
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.staff import services
from biblogin.staff.models import StaffTOTPDevice


class Command(BaseCommand):
    help = "Enrol a TOTP authenticator app for a staff account and print its QR code (R-SEC-4)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="remove the account's existing TOTP devices",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"], is_staff=True).first()
        if user is None:
            raise CommandError(f"no staff account {options['username']!r}")
        if services.totp_device_for(user=user) is not None and not options["replace"]:
            raise CommandError("the account already has a TOTP device (use --replace)")
        StaffTOTPDevice.objects.filter(user=user).delete()
        # Confirmed at once: whoever runs this has the server; the first login proves the scan.
        device = StaffTOTPDevice.objects.create(
            user=user, name=services.TOTP_DEVICE_NAME, confirmed=True
        )
        audit_event_record(
            action=AuditAction.STAFF_TOTP_ENROLLED,
            outcome="ok",
            actor="cli",
            agency_id=services.staff_agency_id_of(user=user),
            subject=user.get_username(),
            details={"device": device.persistent_id},
        )
        qr = qrcode.QRCode(border=1)
        qr.add_data(device.config_url)
        qr.print_ascii(out=self.stdout, invert=True)
        self.stdout.write(f"{device.config_url}\n")
        self.stdout.write(f"key: {services.totp_secret_base32(device=device)}\n")

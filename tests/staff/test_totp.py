"""R-SEC-4: staff can use a second factor (TOTP); superusers must in production settings."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django_otp.oath import totp
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from biblogin.audit.models import AuditEvent
from biblogin.common.models import User
from biblogin.staff.models import StaffTOTPDevice

pytestmark = pytest.mark.django_db

PASSWORD = "Rigtig-Adgangskode-42"


def account(username: str, *, superuser: bool = False) -> User:
    return get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff=True, is_superuser=superuser
    )


def code(device: StaffTOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the authenticator app shows now (or ``steps_ahead`` 30-second steps later)."""
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits,
                 drift=device.drift + steps_ahead)  # fmt: skip
    return f"{value:0{device.digits}d}"


def login(client: Client, username: str, otp_token: str = "", **extra):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": PASSWORD, "otp_token": otp_token, "next": "/admin/"},
        **extra,
    )


def in_admin(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def test_a_superuser_without_a_device_cannot_use_the_admin_when_otp_is_required(settings):
    """R-SEC-4: with STAFF_OTP_REQUIRED a password alone does not open the admin."""
    settings.STAFF_OTP_REQUIRED = True
    admin = account("chef", superuser=True)
    client = Client()
    refused = login(client, "chef")
    assert refused.status_code == 200
    text = refused.content.decode()
    assert "Superbrugere skal logge ind med en engangskode" in text
    assert "biblogin staff_totp_enrol chef" in text
    assert not in_admin(client)

    already = Client()
    already.force_login(admin)  # a password-only session (e.g. from before the setting)
    assert already.get("/admin/").status_code == 302
    assert already.get("/admin/registry/agency/").status_code == 302


def test_a_superuser_with_a_correct_totp_code_uses_the_admin(settings):
    """R-SEC-4: password plus the app's current code opens the admin; a wrong code does not."""
    settings.STAFF_OTP_REQUIRED = True
    admin = account("chef", superuser=True)
    device = StaffTOTPDevice.objects.create(user=admin, name="app", confirmed=True)

    client = Client()
    wrong = login(client, "chef", otp_token="000000" if code(device) != "000000" else "111111")
    assert wrong.status_code == 200 and "Forkert engangskode" in wrong.content.decode()
    assert not in_admin(client)
    missing = login(client, "chef")
    assert "Skriv engangskoden fra din godkendelsesapp" in missing.content.decode()
    assert not in_admin(client)

    # django-otp slows down guessing after each wrong code (1 s, 2 s, …); with the tests' cheap
    # password hashing the next login comes within that window. A real user waits; we reset it.
    device.refresh_from_db()
    device.throttle_reset()
    assert login(client, "chef", otp_token=code(device)).status_code == 302
    assert in_admin(client)
    assert client.get("/admin/registry/agency/").status_code == 200


def test_the_otp_messages_are_in_english_for_an_english_browser(settings):
    """R-SEC-4: Danish first, English complete."""
    settings.STAFF_OTP_REQUIRED = True
    account("chef", superuser=True)
    page = login(Client(), "chef", HTTP_ACCEPT_LANGUAGE="en")
    assert "Superusers must log in with a one-time code" in page.content.decode()


def test_staff_enrol_a_totp_app_in_the_admin_and_must_use_it_from_then_on(settings):
    """R-SEC-4: scan the QR code, type one code; the next login asks for the app's code."""
    settings.STAFF_OTP_REQUIRED = True  # superusers only: a library's staff may opt in
    staff = account("campussyd")
    client = Client()
    assert login(client, "campussyd").status_code == 302
    assert 'href="/admin/totp/"' in client.get("/admin/").content.decode()
    page = client.get("/admin/totp/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in text
    secret = re.search(r"<code>([A-Z2-7]+)</code>", text)[1]
    device = StaffTOTPDevice.objects.get(user=staff, confirmed=False)
    assert len(secret) == 32

    bad = client.post("/admin/totp/", {"otp_token": "12345x"})
    assert bad.status_code == 400 and "Forkert engangskode" in bad.content.decode()
    assert not StaffTOTPDevice.objects.filter(user=staff, confirmed=True).exists()

    done = client.post("/admin/totp/", {"otp_token": code(device)})
    assert done.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action="staff_totp_enrolled", actor="campussyd").exists()
    assert in_admin(client)  # verified by the code just typed

    client.logout()
    assert login(client, "campussyd").status_code == 200  # password alone: no longer enough
    assert not in_admin(client)
    # The code just used cannot be replayed; the app's next one is accepted.
    assert login(client, "campussyd", otp_token=code(device, steps_ahead=1)).status_code == 302
    assert in_admin(client)


def test_the_demo_superuser_logs_in_with_a_password_when_otp_is_not_required(settings):
    """R-SEC-4: the demo (plain HTTP, STAFF_OTP_REQUIRED off) keeps its demo superuser usable."""
    settings.STAFF_OTP_REQUIRED = False
    account("admin", superuser=True)
    client = Client()
    assert login(client, "admin").status_code == 302
    assert in_admin(client)


def test_the_first_superuser_gets_a_device_from_the_command_line(settings):
    """R-SEC-4: ``biblogin staff_totp_enrol`` prints the QR code; the login then takes its code."""
    settings.STAFF_OTP_REQUIRED = True
    admin = account("chef", superuser=True)
    out = io.StringIO()
    call_command("staff_totp_enrol", "chef", stdout=out)
    assert "otpauth://totp/" in out.getvalue()
    device = StaffTOTPDevice.objects.get(user=admin)
    assert device.confirmed
    client = Client()
    assert login(client, "chef", otp_token=code(device)).status_code == 302
    assert in_admin(client)


@pytest.mark.parametrize(
    ("env", "required"),
    [
        ({}, True),  # production defaults: HTTPS, no debug
        ({"BIBLOGIN_SECURE_COOKIES": "0"}, False),  # `biblogin demo` on plain HTTP
        ({"BIBLOGIN_DEBUG": "1"}, False),
        ({"BIBLOGIN_SECURE_COOKIES": "0", "BIBLOGIN_STAFF_OTP_REQUIRED": "1"}, True),
    ],
)
def test_otp_is_required_for_superusers_by_default_only_in_production_settings(env, required):
    """R-SEC-4: STAFF_OTP_REQUIRED follows the deployment unless set explicitly."""
    root = Path(__file__).resolve().parents[2]
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"BIBLOGIN_SECURE_COOKIES", "BIBLOGIN_DEBUG", "BIBLOGIN_STAFF_OTP_REQUIRED"}
    }
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.STAFF_OTP_REQUIRED)"],
        env={**clean, **env},
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == str(required)


@given(
    username=st.text(max_size=40),
    password=st.text(max_size=40),
    otp_token=st.text(max_size=20),
)
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_input_to_the_admin_login_is_refused_or_accepted_never_a_500(
    settings, username, password, otp_token
):
    """R-SEC-4: whatever is typed, the login answers with a page, not a server error."""
    settings.STAFF_OTP_REQUIRED = True
    response = Client(raise_request_exception=False).post(
        "/admin/login/",
        {"username": username, "password": password, "otp_token": otp_token},
    )
    assert response.status_code in {200, 302, 400, 429}


@given(otp_token=st.text(max_size=30))
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_code_typed_at_enrolment_is_refused_without_confirming_the_device(otp_token):
    """R-SEC-4: a wrong or malformed code is a clear message and no device is confirmed."""
    staff = get_user_model().objects.get_or_create(username="hyp", defaults={"is_staff": True})[0]
    client = Client(raise_request_exception=False)
    client.force_login(staff)
    assert client.get("/admin/totp/").status_code == 200
    device = StaffTOTPDevice.objects.get(user=staff, confirmed=False)
    assume(otp_token.strip() != code(device))  # the one right answer: the enrolment test
    response = client.post("/admin/totp/", {"otp_token": otp_token})
    assert response.status_code == 400
    text = response.content.decode()
    # NUL and the like are refused before the view by the hostile-input middleware.
    assert "Forkert engangskode" in text or "ugyldige tegn" in text
    device.refresh_from_db()
    assert not device.confirmed

"""R-LOGIN-13 (audit without PINs, CPRs masked), R-BC-5 (PINs never stored), housekeeping."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from biblogin.audit.models import AuditAction, AuditEvent
from biblogin.login.models import Authentication, Identity
from biblogin.login.services import authentications_purge
from biblogin.oidc.models import SigningKey
from biblogin.oidc.selectors import authentications_in_use

pytestmark = pytest.mark.django_db

ANNA = "1503851234"


def test_logins_failures_and_lockouts_are_audited_without_pin_and_with_cpr_masked(app):
    """R-LOGIN-13: every login, failure and lockout is in the audit log; no PIN, CPR masked."""
    for _ in range(5):
        started = app.start(prompt="login")
        app.library_login(started, agency_id="710100", user_id="150385-1234", pin="7777")
    app.login_library(agency_id="829000", user_id="clara@ucn.example", pin="5555", prompt="login")
    actions = list(AuditEvent.objects.values_list("action", "outcome"))
    assert actions.count((AuditAction.LOGIN_FAILED, "borrower_not_found")) == 5
    assert (AuditAction.LOGIN_LOCKOUT, "pair") in actions
    assert (AuditAction.LOGIN, "ok") in actions
    fields = ("action", "outcome", "actor", "agency_id", "subject", "ip", "details")
    texts = list(_strings(list(AuditEvent.objects.values(*fields))))
    # Keyed-hash pseudonyms are hex and may contain any 4 digits by chance; all else may not.
    readable = [t for t in texts if not re.fullmatch(r"[0-9a-f]{16,}", t)]
    assert not [t for t in readable if "7777" in t or "5555" in t]
    dump = json.dumps(texts)
    assert ANNA not in dump and "150385-XXXX" in dump


def test_a_cpr_typed_with_spaces_where_cpr_is_no_user_id_is_masked_in_the_audit_R_CULR_5(app):
    """R-CULR-5, R-LOGIN-13: 840099 takes borrower numbers only; a CPR typed there is masked."""
    for typed in ("15 03 85 12 34", "1503 85 1234", "150385  1234"):
        started = app.start(prompt="login")
        app.library_login(started, agency_id="840099", user_id=typed, pin="0000")
    fields = ("action", "outcome", "actor", "agency_id", "subject", "ip", "details")
    events = list(AuditEvent.objects.filter(agency_id="840099").values(*fields))
    assert len(events) >= 3
    texts = list(_strings(events))
    assert not [t for t in texts if ANNA in re.sub(r"[\s\-]", "", t)]
    assert "840099:150385-XXXX" in texts


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def test_no_pin_and_no_cpr_in_clear_anywhere_in_the_database(app):
    """R-BC-5, R-CULR-5: after logins nothing in our tables holds the PIN or the CPR in clear."""
    app.login_library(agency_id="710100", user_id="1503851234", pin="1234")
    identity = Identity.objects.get()
    assert identity.cpr == ANNA and ANNA not in identity.cpr_encrypted
    assert identity.user.username.startswith("borchk-") and ANNA not in identity.user.username
    assert not identity.user.has_usable_password()
    tables = [
        "login_identity",
        "login_authentication",
        "oidc_authorizationcode",
        "oidc_tokenfamily",
        "audit_auditevent",
        "common_user",
        "django_session",
    ]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {table}")
            text = str(cursor.fetchall())
            assert ANNA not in text, table


def test_old_login_records_are_purged_unless_a_refresh_token_needs_them(app):
    tokens = app.login_library(agency_id="710100", user_id="1000001", pin="1234")
    app.login_library(agency_id="829000", user_id="clara@ucn.example", pin="5555", prompt="login")
    Authentication.objects.update(created_at=timezone.now() - dt.timedelta(days=2))
    app.browser.post("/login/revoke/", {"token": tokens["refresh_token"], "client_id": "demo-app"})
    purged = authentications_purge(older_than=dt.timedelta(days=1), in_use=authentications_in_use())
    assert purged >= 1
    remaining = list(Authentication.objects.values_list("agency_id", flat=True))
    assert remaining == ["829000"]  # Clara's refresh token is alive


def test_the_signing_key_command_rotates(db):
    out = StringIO()
    call_command("signingkey", stdout=out)
    call_command("signingkey", "--rotate", stdout=out)
    assert SigningKey.objects.count() == 2
    assert "active signing key" in out.getvalue()
    assert AuditEvent.objects.filter(action=AuditAction.OIDC_SIGNING_KEY_ROTATED).count() == 1


def test_the_cleanup_command_runs(app):
    app.login_library(agency_id="710100", user_id="1000001", pin="1234")
    out = StringIO()
    call_command("logincleanup", stdout=out)
    assert "old login records deleted" in out.getvalue()

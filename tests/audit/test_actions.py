"""Audit actions are an enum; the stored values of the actions that existed before are kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from biblogin.audit.models import AuditAction, AuditEvent
from biblogin.audit.services import audit_event_record

pytestmark = pytest.mark.django_db

# Every action written before the enum existed (rows in the log hold these strings).
STORED_BEFORE = {
    "login",
    "login_sso",
    "login_failed",
    "login_throttled",
    "login_lockout",
    "logout",
    "link",
    "ffu_link",
    "ffu_unlink",
    "library_add",
    "library_remove",
    "profile_create",
    "profile_delete",
    "culr_sync",
    "oidc_client_created",
    "oidc_client_updated",
    "oidc_code_replayed",
    "oidc_refresh_token_reused",
    "staff_totp_enrolled",
    "registry_borrower_check_off",
    "registry_service_removed",
    "registry_status_invisible",
    "registry_status_deleted",
}


def test_the_stored_values_of_earlier_actions_are_kept_so_old_rows_keep_their_meaning():
    """R-LOGIN-13: no rename; an old row's action is a member of the enum with a label."""
    assert not STORED_BEFORE - set(AuditAction.values)
    event = AuditEvent(action="login_lockout")
    assert event.get_action_display() == "Spærret efter forkerte forsøg"


def test_a_member_of_the_enum_is_stored_as_its_value():
    event = audit_event_record(action=AuditAction.LOGIN_LOCKOUT, outcome="pair")
    event.refresh_from_db()
    assert event.action == "login_lockout"


@given(st.text(max_size=80).filter(lambda s: s not in AuditAction.values))
def test_a_free_string_is_refused_as_an_action_and_nothing_is_written(text):
    """Actions are an enum, not free strings: anything else is a ValueError, no row."""
    with pytest.raises(ValueError):
        audit_event_record(action=text)  # type: ignore[arg-type]
    assert not AuditEvent.objects.exists()

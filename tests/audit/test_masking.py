"""R-CULR-5, R-LOGIN-13: the audit trail and failed-login signals never carry a CPR in clear."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed

from biblogin.audit.models import AuditEvent
from biblogin.audit.services import audit_event_record
from biblogin.integrations.mitid_broker.client import MitIDIdentity

CPR = "1503851234"


@pytest.mark.django_db
def test_every_caller_gets_cpr_shaped_user_ids_masked_R_CULR_5():
    audit_event_record(
        action="login_failed",
        actor="15 03 85 12 34",
        subject="840099:1503 85 1234",
        details={"typed": ["150385  1234"], "note": "user 15-03-85-12-34"},
    )
    event = AuditEvent.objects.get()
    assert (event.actor, event.subject) == ("150385-XXXX", "840099:150385-XXXX")
    assert event.details == {"typed": ["150385-XXXX"], "note": "user 150385-XXXX"}


@pytest.mark.django_db
def test_a_failed_login_signal_carries_no_cpr_R_CULR_5():
    """Django's user_login_failed cleanses only password-like keys; the user ID is ours to mask."""
    seen: list[dict[str, Any]] = []

    def record(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
        seen.append(dict(credentials))

    user_login_failed.connect(record)
    try:
        assert (
            authenticate(None, agency_id="840099", user_id="15 03 85 12 34", password="0000")
            is None
        )
        identity = MitIDIdentity(cpr=CPR, name="Anna", loa="low", subject="s", auth_time=0)
        assert authenticate(None, mitid_identity=identity) is None
    finally:
        user_login_failed.disconnect(record)
    assert len(seen) == 2
    text = repr(seen)
    assert CPR not in text.replace(" ", "") and "0000" not in text
    assert seen[0]["user_id"] == "150385-XXXX"

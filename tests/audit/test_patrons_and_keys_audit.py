"""CULR account writes and signing-key rotation write their own audit events.

DESIGN convention 9; R-CULR-5: no CPR in the event, and no local ID either (the patron's guid
and the account's key say which account it was).
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from biblogin.audit.models import AuditAction, AuditEvent
from biblogin.oidc import keys
from biblogin.oidc.models import SigningKey
from biblogin.patrons.models import Account
from biblogin.patrons.selectors import account_get_local
from biblogin.patrons.services import (
    account_create,
    account_delete,
    account_link,
    account_move,
    patron_get_or_create_by_cpr,
)
from tests.patrons.builders import CPR, OTHER_CPR
from tests.registry.builders import staff_otp_verified, staff_user

pytestmark = pytest.mark.django_db


def events(action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def assert_no_cpr_or_local_id(event: AuditEvent) -> None:
    text = json.dumps([event.actor, event.subject, event.details])
    assert CPR not in text and CPR[:6] not in text and OTHER_CPR not in text
    assert "s123" not in text


def test_creating_a_culr_account_is_audited_once(db):
    """R-CULR-4: the account and, with it, its patron; creating it again changes nothing."""
    account = account_create(agency_id="820010", cpr=CPR, local_id="s123", actor="admin")
    account_create(agency_id="820010", cpr=CPR, local_id="s123", actor="admin")
    (event,) = events(AuditAction.CULR_ACCOUNT_CREATED)
    assert (event.actor, event.agency_id, event.subject) == (
        "admin",
        "820010",
        str(account.patron.guid),
    )
    assert event.details == {"account": account.pk, "id_type": "LOCAL", "patron_created": True}
    assert_no_cpr_or_local_id(event)


def test_linking_moves_a_local_account_and_is_audited_as_a_move(db):
    """R-PORTAL-6: the local account goes to the MitID CPR's patron; the former is named."""
    first = account_create(agency_id="820010", cpr=OTHER_CPR, local_id="s123")
    result = account_link(agency_id="820010", cpr=CPR, local_id="s123", actor="bibliotek.dk")
    assert result.account_moved
    (event,) = events(AuditAction.CULR_ACCOUNT_MOVED)
    assert (event.actor, event.agency_id, event.subject) == (
        "bibliotek.dk",
        "820010",
        str(result.account.patron.guid),
    )
    assert event.details["from_patron"] == str(first.patron.guid)
    assert event.details["from_patron_deactivated"] is True
    assert_no_cpr_or_local_id(event)


def test_moving_and_deleting_an_account_are_audited(db):
    account = account_create(agency_id="820010", cpr=OTHER_CPR, local_id="s123")
    target = patron_get_or_create_by_cpr(cpr=CPR)
    account_move(account=account, to_patron=target, actor="admin")
    moved = account_get_local(agency_id="820010", local_id="s123")
    assert moved is not None
    account_delete(account=moved, actor="admin")
    account_delete(account=moved, actor="admin")  # idempotent: gone, nothing more to audit
    assert not Account.objects.filter(pk=account.pk).exists()
    (move,) = events(AuditAction.CULR_ACCOUNT_MOVED)
    (delete,) = events(AuditAction.CULR_ACCOUNT_DELETED)
    assert move.subject == delete.subject == str(target.guid)
    assert delete.details == {
        "account": account.pk,
        "id_type": "LOCAL",
        "patron_deactivated": True,
    }
    for event in (move, delete):
        assert_no_cpr_or_local_id(event)


def test_rotating_the_signing_key_from_the_command_line_is_audited(db):
    call_command("signingkey", stdout=StringIO())
    old = SigningKey.objects.get().kid
    call_command("signingkey", "--rotate", stdout=StringIO())
    (event,) = events(AuditAction.OIDC_SIGNING_KEY_ROTATED)
    new = SigningKey.objects.get(state="active").kid
    assert (event.actor, event.outcome, event.subject) == ("cli", "generated", new)
    assert event.details["retired"] == [old]
    assert "PRIVATE" not in json.dumps(event.details)


def test_rotating_the_signing_key_in_the_admin_is_audited_with_the_staff_account(db):
    user = staff_user("admin", superuser=True)
    client = Client()
    client.force_login(user)
    staff_otp_verified(client, user)
    first = keys.signing_key_active()
    response = client.post(
        "/admin/oidc/signingkey/",
        {"action": "rotate", "_selected_action": [SigningKey.objects.get().pk]},
    )
    assert response.status_code == 302
    (event,) = events(AuditAction.OIDC_SIGNING_KEY_ROTATED)
    assert (event.actor, event.details["retired"]) == ("admin", [first.kid])

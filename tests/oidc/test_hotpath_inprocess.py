"""Issue 14: the portal's in-process back channel goes through the server's own WSGI entry.

The portal calls the login platform in the calling thread when the issuer is local (DESIGN.md
"One process, two roles"). That call must take the same entry as the server's requests, the lean
path for token and userinfo in front of Django's handler, and still leave the caller's database
connection, transaction and language as they were.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from django.db import connection, transaction
from django.test import Client as Browser

from biblogin.oidc.hotpath import handlers
from biblogin.portal import inprocess
from biblogin.portal.inprocess import in_process_transport
from tests.oidc_flow import TOKEN, USERINFO, OIDCFlow

pytestmark = pytest.mark.django_db


@pytest.fixture
def lean_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every answer the lean path's handlers give, by endpoint."""
    calls: list[str] = []
    token_answer, userinfo_answer = handlers.token_answer, handlers.userinfo_answer

    def token_spy(request: Any) -> Any:
        calls.append("token")
        return token_answer(request)

    def userinfo_spy(request: Any) -> Any:
        calls.append("userinfo")
        return userinfo_answer(request)

    monkeypatch.setattr(handlers, "token_answer", token_spy)
    monkeypatch.setattr(handlers, "userinfo_answer", userinfo_spy)
    inprocess._handler.cache_clear()
    return calls


def test_the_portals_in_process_token_and_userinfo_calls_go_through_the_lean_path(demo, lean_calls):
    flow = OIDCFlow.portal(Browser())
    tokens = flow.login_library(agency_id="710100", user_id="1000001", pin="1234")
    lean_calls.clear()
    basic = base64.b64encode(f"{flow.client_id}:{flow.secret}".encode()).decode()
    with transaction.atomic():
        before = connection.connection
        with httpx.Client(transport=in_process_transport(), base_url="http://testserver") as c:
            refreshed = c.post(
                TOKEN,
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                headers={"Authorization": f"Basic {basic}"},
            )
            assert refreshed.status_code == 200, refreshed.text
            access = refreshed.json()["access_token"]
            info = c.get(USERINFO, headers={"Authorization": f"Bearer {access}"})
        # No request signals: the caller's connection and transaction are untouched.
        assert connection.in_atomic_block and connection.connection is before
        assert not connection.needs_rollback
    assert info.status_code == 200 and info.json()["sub"]
    assert lean_calls == ["token", "userinfo"]


def test_other_in_process_requests_still_reach_django(demo, lean_calls):
    with httpx.Client(transport=in_process_transport(), base_url="http://testserver") as c:
        response = c.get("/login/.well-known/openid-configuration")
    assert response.status_code == 200 and "token_endpoint" in response.json()
    assert lean_calls == []

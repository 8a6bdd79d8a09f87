"""Security baselines that hold for every page (R-SEC-1, R-SEC-3)."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

PAGES = ["/admin/login/", "/login/.well-known/openid-configuration"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_forbid_framing_sniffing_and_foreign_scripts_R_SEC_1(
    client: Client, path: str
) -> None:
    response = client.get(path)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    if not path.startswith("/admin/"):
        csp = response["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp


def test_nul_in_a_query_parameter_is_refused_with_a_clear_message_R_SEC_3(client: Client) -> None:
    response = client.get("/admin/login/", {"next": "/admin/\x00"})
    assert response.status_code == 400
    assert "ugyldige tegn" in response.content.decode()


def test_nul_in_a_form_field_is_refused_and_changes_nothing_R_SEC_3(client: Client) -> None:
    from biblogin.common.models import User

    response = client.post("/admin/login/", {"username": "a\x00", "password": "x"})
    assert response.status_code == 400
    assert User.objects.count() == 0


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=200))
def test_no_query_string_makes_the_admin_login_fail_R_SEC_3(text: str) -> None:
    response = Client().get("/admin/login/", {"next": text, text[:20] or "q": text})
    assert response.status_code in {200, 400}

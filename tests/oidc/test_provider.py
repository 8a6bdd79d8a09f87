"""The provider itself: discovery, keys and their rotation, clients and their admin."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client as Browser
from django.utils import timezone
from jwcrypto import jwk

from biblogin.audit.models import AuditEvent
from biblogin.common.errors import ApplicationError
from biblogin.oidc import keys
from biblogin.oidc.models import Client, SigningKey, SigningKeyState
from biblogin.oidc.services import client_upsert, demo_clients_ensure
from tests.registry.builders import staff_otp_verified

pytestmark = pytest.mark.django_db


# --- discovery -------------------------------------------------------------------------------


def test_discovery_describes_what_the_provider_does(browser):
    """R-LOGIN-1: discovery at <BASE_URL>/login/.well-known/openid-configuration."""
    doc = browser.get("/login/.well-known/openid-configuration").json()
    issuer = settings.BASE_URL + "/login"
    assert doc["issuer"] == issuer
    for name, path in [
        ("authorization_endpoint", "/login/authorize/"),
        ("token_endpoint", "/login/token/"),
        ("userinfo_endpoint", "/login/userinfo/"),
        ("jwks_uri", "/login/.well-known/jwks.json"),
        ("end_session_endpoint", "/login/logout/"),
        ("revocation_endpoint", "/login/revoke/"),
        ("introspection_endpoint", "/login/introspect/"),
    ]:
        assert doc[name] == settings.BASE_URL + path
    assert doc["response_types_supported"] == ["code"]
    assert doc["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert {"sub", "uniqueId", "agencies", "cpr", "acr"} <= set(doc["claims_supported"])
    assert "https://data.gov.dk/concept/core/nsis/loa/Substantial" in doc["acr_values_supported"]


def test_rfc8414_metadata_names_the_same_issuer(browser):
    doc = browser.get("/.well-known/oauth-authorization-server/login").json()
    assert doc["issuer"] == settings.OIDC_ISSUER
    assert "implicit" not in doc["grant_types_supported"]
    assert "password" not in doc["grant_types_supported"]


# --- keys ------------------------------------------------------------------------------------


def test_the_jwks_publishes_the_active_rs256_key(browser):
    data = browser.get("/login/.well-known/jwks.json").json()
    assert len(data["keys"]) == 1
    key = data["keys"][0]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert "d" not in key and "p" not in key  # public part only


def test_the_private_key_is_encrypted_at_rest(db):
    loaded = keys.signing_key_active()
    row = SigningKey.objects.get(kid=loaded.kid)
    pem = loaded.jwk.export_to_pem(private_key=True, password=None).decode()
    body = "".join(pem.splitlines()[1:-1])
    assert body[:40] not in row.private_key_encrypted
    assert row.private_key_encrypted.startswith("k1:")


def test_rotation_signs_with_the_new_key_and_still_verifies_the_old(app):
    """Keys rotate without restart; tokens signed before still verify (kid in the JWKS)."""
    before = app.login_library(agency_id="710100", user_id="1000001", pin="1234")
    old_kid = app.browser.get("/login/.well-known/jwks.json").json()["keys"][0]["kid"]
    new = keys.signing_key_rotate()
    assert new.kid != old_kid
    after = app.sso_tokens()
    assert app.id_token_claims(before["id_token"])  # old key still published
    header = json.loads(base64.urlsafe_b64decode(after["id_token"].split(".")[0] + "=="))
    assert header["kid"] == new.kid
    published = {k["kid"] for k in app.browser.get("/login/.well-known/jwks.json").json()["keys"]}
    assert published == {old_kid, new.kid}
    # Past its window the retired key is no longer published.
    SigningKey.objects.filter(kid=old_kid).update(
        retired_at=timezone.now() - dt.timedelta(seconds=keys.retired_key_publish_seconds() + 1)
    )
    keys.signing_keys_expire()
    assert SigningKey.objects.get(kid=old_kid).state == SigningKeyState.EXPIRED
    published = {k["kid"] for k in app.browser.get("/login/.well-known/jwks.json").json()["keys"]}
    assert published == {new.kid}


def test_an_imported_key_must_be_an_rsa_private_key(db):
    ec = jwk.JWK.generate(kty="EC", crv="P-256").export_to_pem(private_key=True, password=None)
    with pytest.raises(ValueError):
        keys.signing_key_rotate(pem=ec)
    rsa = jwk.JWK.generate(kty="RSA", size=2048)
    row = keys.signing_key_rotate(pem=rsa.export_to_pem(private_key=True, password=None))
    assert row.kid == rsa.thumbprint() and keys.signing_key_active().kid == row.kid


# --- clients ---------------------------------------------------------------------------------


def test_the_demo_clients_are_as_described(demo):
    portal = Client.objects.get(client_id="bibliotek-dk")
    assert portal.is_confidential and portal.service_requester.name == "bibliotek.dk"
    assert portal.create_culr_account_agency == "190101"
    assert portal.redirect_uris == settings.BASE_URL + "/auth/callback/"
    assert portal.post_logout_redirect_uris == settings.BASE_URL + "/"
    assert portal.client_secret.startswith("pbkdf2_sha256_client_secret$")  # hashed at rest
    app = Client.objects.get(client_id="demo-app")
    assert not app.is_confidential and app.client_secret == ""
    assert app.redirect_uris == "http://127.0.0.1:8765/callback"
    assert app.allowed_scopes == ["openid", "profile"] and "cpr" not in app.allowed_claims
    assert sorted(app.allowed_idps) == ["borchk", "mitid"]


def test_demo_clients_ensure_is_idempotent(demo):
    before = list(Client.objects.order_by("client_id").values())
    demo_clients_ensure(base_url=settings.BASE_URL)
    assert list(Client.objects.order_by("client_id").values()) == [
        {**row, "updated": after["updated"]}
        for row, after in zip(before, Client.objects.order_by("client_id").values(), strict=True)
    ]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"redirect_uris": ["http://evil.example/cb"]}, "http://"),
        ({"redirect_uris": ["https://*.example/cb"]}, "jokertegn"),
        ({"redirect_uris": ["https://app.example/cb#x"]}, "fragment"),
        ({"redirect_uris": []}, "mindst én"),
        ({"service_requester": "nobody"}, "findes ikke"),
        ({"allowed_idps": ["facebook"]}, "login-metode"),
        ({"allowed_claims": ["cpr"]}, "cpr"),
        ({"create_culr_account_agency": "999999"}, "findes ikke"),
        ({"allowed_scopes": ["profile"]}, "openid"),
    ],
)
def test_client_upsert_refuses_an_invalid_configuration(demo, change, problem):
    """Bad input gets a clear message and changes nothing (R-SEC-3)."""
    base = {
        "client_id": "new-app",
        "display_name": "Ny app",
        "client_type": "public",
        "redirect_uris": ["https://app.example/cb"],
        "service_requester": "demo-app",
    }
    with pytest.raises(ApplicationError) as error:
        client_upsert(**{**base, **change})
    assert problem in error.value.message
    assert not Client.objects.filter(client_id="new-app").exists()


def test_a_confidential_client_needs_a_secret(demo):
    with pytest.raises(ApplicationError):
        client_upsert(
            client_id="server-app",
            display_name="Server",
            client_type="confidential",
            redirect_uris=["https://server.example/cb"],
            service_requester="demo-app",
        )


@pytest.fixture
def staff_browser(demo) -> Browser:
    admin = get_user_model().objects.create_superuser("staff-login", password="x-not-used-x")
    browser = Browser()
    browser.force_login(admin)
    return staff_otp_verified(browser, admin)  # R-SEC-4: superusers use a second factor


def test_clients_are_edited_in_the_admin(staff_browser):
    portal = Client.objects.get(client_id="bibliotek-dk")
    listing = staff_browser.get("/admin/oidc/client/")
    assert listing.status_code == 200 and "Bibliotek.dk" in listing.content.decode()
    page = staff_browser.get(f"/admin/oidc/client/{portal.pk}/change/")
    text = page.content.decode()
    assert page.status_code == 200
    for field in (
        "service_requester",
        "allowed_idps",
        "allowed_claims",
        "create_culr_account_agency",
        "display_name",
    ):
        assert f'name="{field}"' in text
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        {
            "client_id": portal.client_id,
            "client_secret": portal.client_secret,
            "display_name": "Bibliotek.dk (ny)",
            "name": portal.name,
            "client_type": "confidential",
            "redirect_uris": portal.redirect_uris,
            "post_logout_redirect_uris": portal.post_logout_redirect_uris,
            "allowed_origins": "",
            "service_requester": portal.service_requester_id,
            "allowed_idps": ["borchk", "mitid"],
            "allowed_scopes": ["openid", "profile", "cpr"],
            "allowed_claims": ["uniqueId", "cpr"],
            "create_culr_account_agency": "190101",
            "is_active": "on",
            "hash_client_secret": "on",
        }
    )
    data = {k: v for k, v in data.items() if not isinstance(v, bool)}
    data["is_active"] = "on"
    data["hash_client_secret"] = "on"
    saved = staff_browser.post(f"/admin/oidc/client/{portal.pk}/change/", data)
    assert saved.status_code == 302, (
        saved.context["adminform"].form.errors if saved.context else saved
    )
    portal.refresh_from_db()
    assert portal.display_name == "Bibliotek.dk (ny)" and portal.allowed_claims == [
        "uniqueId",
        "cpr",
    ]
    assert AuditEvent.objects.filter(action="oidc_client_updated", actor="staff-login").exists()
    bad = dict(data, redirect_uris="http://evil.example/cb")
    refused = staff_browser.post(f"/admin/oidc/client/{portal.pk}/change/", bad)
    assert refused.status_code == 200 and "localhost" in refused.content.decode()


def test_signing_keys_rotate_from_the_admin(staff_browser):
    first = keys.signing_key_active()
    response = staff_browser.post(
        "/admin/oidc/signingkey/",
        {"action": "rotate", "_selected_action": [SigningKey.objects.get().pk]},
    )
    assert response.status_code == 302
    assert keys.signing_key_active().kid != first.kid
    page = staff_browser.get(f"/admin/oidc/signingkey/{SigningKey.objects.first().pk}/change/")
    assert "private_key_encrypted" not in page.content.decode()

"""MitID login through the test broker: R-LOGIN-6, R-LOGIN-7, R-LOGIN-10."""

from __future__ import annotations

import pytest

from biblogin.audit.models import AuditEvent
from biblogin.common.assurance import ACR_PIN, NSIS_LOW, NSIS_SUBSTANTIAL
from biblogin.integrations.mitid_broker.demo_identities import DemoMitIDIdentity
from biblogin.patrons.models import Account, Patron
from biblogin.patrons.selectors import patron_get_by_cpr
from tests.oidc_flow import path_of, query_of

pytestmark = pytest.mark.django_db

# R-LOGIN-6: the login agency of each demo person's MitID login at the portal.
LOGIN_AGENCY = [
    ("anna", "710100"),  # home municipality 101 -> Copenhagen
    ("bo", "710100"),
    ("clara", "190101"),  # only at UCN (outside CULR): the portal creates her at 190101
    ("dorte", "190101"),
    ("erik", "710100"),
    ("frederik", "872600"),  # lives in 265, which has no library here: first account
    ("gitte", "190101"),  # no library at all
    ("henrik", "190101"),
]


@pytest.mark.parametrize(("sub", "agency_id"), LOGIN_AGENCY)
def test_every_demo_person_logs_in_with_mitid_at_the_portal(portal, mitid_settings, sub, agency_id):
    """R-LOGIN-6, R-LOGIN-7: CULR is consulted; the login agency follows the rule."""
    tokens = portal.login_mitid(mitid_settings, sub=sub, scope="openid profile cpr")
    claims = portal.id_token_claims(tokens["id_token"], tokens["_started"])
    assert claims["idpUsed"] == "mitid"
    assert claims["acr"] == NSIS_SUBSTANTIAL
    assert claims["loggedInAgencyId"] == agency_id
    # Every MitID user of the portal has a CULR patron afterwards (profile key = sub).
    patron = patron_get_by_cpr(cpr=claims["cpr"])
    assert patron is not None and claims["sub"] == claims["uniqueId"] == str(patron.guid)
    assert claims["birthDate"] and claims["gender"] in {"male", "female"}
    info = portal.userinfo(tokens["access_token"]).json()
    assert info["sub"] == claims["sub"]


def test_a_mitid_user_unknown_to_culr_gets_a_patron_for_the_portal(portal, mitid_settings):
    """R-LOGIN-7: for a client with ``create_culr_account_agency`` a CPR account is created."""
    assert patron_get_by_cpr(cpr="0808801238") is None
    tokens = portal.login_mitid(mitid_settings, sub="gitte", scope="openid profile cpr")
    claims = portal.id_token_claims(tokens["id_token"])
    patron = Patron.objects.get(guid=claims["uniqueId"])
    assert list(Account.objects.filter(patron=patron).values_list("agency_id", "id_type")) == [
        ("190101", "CPR")
    ]
    assert claims["agencies"] == [
        {"agencyId": "190101", "userId": "0808801238", "userIdType": "CPR"}
    ]
    event = AuditEvent.objects.get(action="link", outcome="culr_account_created")
    assert "0808801238" not in str(event.details) + event.subject


def test_a_mitid_user_unknown_to_culr_gets_no_patron_for_a_third_party_app(app, mitid_settings):
    """R-LOGIN-7: only a client with ``create_culr_account_agency`` creates patrons."""
    tokens = app.login_mitid(mitid_settings, sub="gitte")
    claims = app.id_token_claims(tokens["id_token"])
    assert patron_get_by_cpr(cpr="0808801238") is None
    assert claims["uniqueId"] is None
    assert claims["loggedInAgencyId"] == "190101"
    assert claims["agencies"] == []
    assert len(claims["sub"]) == 64  # a stable pairwise ID, not a database key
    # R-SEC-2: no CPR for a client not allowed it, not even as user ID.
    assert "cpr" not in claims and claims["userId"] is None
    again = app.login_mitid(mitid_settings, sub="gitte", prompt="login")
    assert app.id_token_claims(again["id_token"])["sub"] == claims["sub"]


def test_step_up_to_mitid_inside_a_library_login_session(portal, mitid_settings):
    """R-LOGIN-10: acr_values Substantial gets MitID even when a library login is at hand."""
    first = portal.login_library(agency_id="710100", user_id="1000001", pin="1234")
    assert portal.id_token_claims(first["id_token"])["acr"] == ACR_PIN
    started = portal.start(acr_values=NSIS_SUBSTANTIAL)
    assert started.response["Location"].startswith("/login/mitid/")
    response = portal.mitid_login(started, mitid_settings, sub="anna")
    tokens = portal.exchange(portal.code_from(response, started), started)
    claims = portal.id_token_claims(tokens["id_token"])
    assert claims["acr"] == NSIS_SUBSTANTIAL and claims["idpUsed"] == "mitid"
    # And the MitID login now answers the next Substantial request without a login page.
    again = portal.start(acr_values="substantial")
    assert again.response["Location"].startswith(portal.redirect_uri)


def test_a_mitid_level_below_the_one_asked_for_is_refused(portal, mitid_settings):
    """R-LOGIN-10: a Low MitID login does not satisfy a Substantial request."""
    low = DemoMitIDIdentity(sub="lav", name="Lav Sikring", cpr="0101701239", loa=NSIS_LOW)
    mitid_settings.identity_put(low)
    started = portal.start(acr_values=NSIS_SUBSTANTIAL)
    response = portal.mitid_login(started, mitid_settings, sub="lav")
    assert response.status_code == 200
    assert "sikringsniveau" in response.content.decode()
    assert AuditEvent.objects.filter(action="login_failed", outcome="mitid_level_too_low").exists()


def test_cancelling_at_mitid_returns_to_the_picker_with_a_message(portal, mitid_settings):
    """A cancelled MitID login is a clear message, and the user may pick a library instead."""
    started = portal.start()
    page = portal.follow(started.response)
    plan = page.wsgi_request.GET["plan"]
    to_broker = portal.browser.get(f"/login/mitid/?plan={plan}")
    callback = mitid_settings.deny(to_broker["Location"])
    back = portal.browser.get(path_of(callback))
    assert back.status_code == 302 and back["Location"].startswith("/login/?plan=")
    picker = portal.browser.get(back["Location"])
    assert "Du afbrød login med MitID." in picker.content.decode()


def test_idp_narrows_to_mitid_and_nemlogin_is_its_alias(app):
    """R-LOGIN-2: ``idp=mitid`` (or the old name ``nemlogin``) goes straight to MitID."""
    for name in ("mitid", "nemlogin"):
        started = app.start(idp=name)
        assert started.response["Location"].startswith("/login/mitid/?plan=")


def test_idp_outside_the_clients_set_is_an_error_for_the_client(app):
    """R-LOGIN-2: the request can narrow the client's set, never widen it."""
    started = app.start(idp="facebook")
    params = query_of(started.response["Location"])
    assert params["error"] == "invalid_request" and params["state"] == started.state


def test_the_callback_without_a_login_under_way_is_a_clear_page(app):
    """R-SEC-3: a stray or replayed MitID callback explains itself."""
    response = app.browser.get("/login/mitid/callback?code=x&state=y")
    assert response.status_code == 400
    assert "Dit login er udløbet" in response.content.decode()


def test_an_unreachable_broker_is_a_clear_message(app, settings):
    """R-SEC-3: MitID down: the user is told, and may still use a library login."""
    from biblogin.integrations.mitid_broker.client import mitid_metadata_cache_clear

    settings.MITID_ISSUER = "http://127.0.0.1:9"  # nothing listens there
    mitid_metadata_cache_clear()
    started = app.start()
    plan = query_of(started.response["Location"])["plan"]
    response = app.browser.get(f"/login/mitid/?plan={plan}")
    assert response.status_code == 302 and response["Location"].startswith("/login/?plan=")
    page = app.browser.get(response["Location"])
    assert "MitID kan ikke nås lige nu" in page.content.decode()


@pytest.mark.parametrize(
    "forged", ["error=access_denied", "error=access_denied&state=not-the-state", "error=x&iss=y"]
)
def test_an_error_callback_without_the_login_state_does_not_cancel_the_mitid_login(
    portal, mitid_settings, forged
):
    """R-SEC-1 (RFC 9700 §4.7): anyone can send the browser to the callback; without the
    pending login's state an error answer cannot end the user's MitID login."""
    started = portal.start()
    page = portal.follow(started.response)
    plan = page.wsgi_request.GET["plan"]
    to_broker = portal.browser.get(f"/login/mitid/?plan={plan}")
    assert portal.browser.get(f"/login/mitid/callback?{forged}").status_code < 500
    callback = mitid_settings.login(to_broker["Location"], sub="anna")
    response = portal.follow(portal.browser.get(path_of(callback)))
    tokens = portal.exchange(portal.code_from(response, started), started)
    assert portal.id_token_claims(tokens["id_token"])["idpUsed"] == "mitid"

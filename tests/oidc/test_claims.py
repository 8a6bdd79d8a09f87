"""The claims of R-LOGIN-8, R-LOGIN-9 and R-SEC-2 after a library login."""

from __future__ import annotations

import pytest

from biblogin.oidc.models import Claim, Client
from biblogin.patrons.selectors import patron_get_by_cpr
from biblogin.patrons.services import account_link

pytestmark = pytest.mark.django_db

ANNA, BO, FREDERIK = "1503851234", "0207921235", "0505054240"


def guid(cpr: str) -> str:
    patron = patron_get_by_cpr(cpr=cpr)
    assert patron is not None
    return str(patron.guid)


def test_a_culr_library_login_reveals_the_patron(portal):
    """R-LOGIN-7, R-LOGIN-8: a PIN at a CULR library gives the guid, accounts and municipality."""
    tokens = portal.login_library(
        agency_id="710100", user_id="1000001", pin="1234", scope="openid profile cpr"
    )
    claims = portal.id_token_claims(tokens["id_token"])
    assert claims["sub"] == claims["uniqueId"] == guid(ANNA)
    assert claims["userId"] == "1000001"
    assert {"agencyId": "710100", "userId": "1000001", "userIdType": "LOCAL"} in claims["agencies"]
    assert {"agencyId": "710100", "userId": ANNA, "userIdType": "CPR"} in claims["agencies"]
    assert claims["municipality"] == "101" and claims["municipalityAgencyId"] == "710100"
    assert claims["loggedInAgencyId"] == "710100" and claims["loggedInBranchId"] == "710100"
    assert claims["cpr"] == ANNA
    assert (claims["birthYear"], claims["birthDate"], claims["gender"]) == (
        1985,
        "1985-03-15",
        "female",
    )
    assert claims["acr"] == "urn:dk:bibliotekslogin:acr:pin" and claims["amr"] == ["pin"]
    assert "culrDataOmitted" not in claims
    # userinfo says the same, with the same sub (OIDC Core 5.3.2).
    info = portal.userinfo(tokens["access_token"]).json()
    assert {k: v for k, v in claims.items() if k in info} == info


def test_a_gymnasium_library_delivering_to_culr_reveals_the_patron(portal):
    """R-VIP-2, R-LOGIN-9: culr_sync decides, not the agency type (Roskilde Gymnasium)."""
    tokens = portal.login_library(agency_id="872600", user_id=FREDERIK, pin="6666")
    claims = portal.id_token_claims(tokens["id_token"])
    assert claims["uniqueId"] == guid(FREDERIK)


def test_an_ffu_library_login_hides_culr(portal):
    """R-LOGIN-9: a PIN at a library outside CULR shows nothing of CULR."""
    tokens = portal.login_library(agency_id="820099", user_id="CS-4711", pin="4711")
    claims = portal.id_token_claims(tokens["id_token"])
    assert claims["uniqueId"] is None
    assert claims["agencies"] == [
        {"agencyId": "820099", "userId": "CS-4711", "userIdType": "LOCAL"}
    ]
    assert claims["municipality"] is None and claims["municipalityAgencyId"] is None
    assert claims["sub"] != guid(BO) and len(claims["sub"]) == 64
    assert "culrDataOmitted" not in claims  # CULR does not know this account (yet)


def test_an_ffu_login_linked_in_culr_says_culr_data_omitted(portal):
    """R-LOGIN-9: when CULR knows the account, ``culrDataOmitted`` is true, still no guid."""
    account_link(agency_id="820099", cpr=BO, local_id="CS-4711")
    tokens = portal.login_library(agency_id="820099", user_id="CS-4711", pin="4711")
    claims = portal.id_token_claims(tokens["id_token"])
    assert claims["culrDataOmitted"] is True
    assert claims["uniqueId"] is None and claims["municipality"] is None
    assert claims["agencies"] == [
        {"agencyId": "820099", "userId": "CS-4711", "userIdType": "LOCAL"}
    ]


def test_the_pairwise_subject_is_stable_and_per_agency_and_user(portal, app):
    """R-LOGIN-8: the same (agency, user ID) gives the same opaque sub; another gives another."""
    first = portal.login_library(agency_id="829000", user_id="clara@ucn.example", pin="5555")
    second = app.login_library(
        agency_id="829000", user_id="CLARA@ucn.example", pin="5555", prompt="login"
    )
    sub = portal.id_token_claims(first["id_token"])["sub"]
    assert app.id_token_claims(second["id_token"])["sub"] == sub
    dorte = portal.login_library(agency_id="820099", user_id="CS-0815", pin="0815", prompt="login")
    assert portal.id_token_claims(dorte["id_token"])["sub"] != sub


def test_the_cpr_claim_only_for_clients_allowed_it(portal, app):
    """R-CULR-5, R-SEC-2: cpr only with the client's permission and the ``cpr`` scope."""
    tokens = app.login_library(agency_id="710100", user_id="150385-1234", pin="1234")
    claims = app.id_token_claims(tokens["id_token"])
    assert "cpr" not in claims
    # A CPR typed as user ID is a CPR too: hidden from a client without the cpr claim.
    assert claims["userId"] is None
    assert all(a["userId"] is None for a in claims["agencies"] if a["userIdType"] == "CPR")
    assert ANNA not in str(claims)
    assert ANNA not in app.userinfo(tokens["access_token"]).content.decode()
    without_scope = portal.start(scope="openid profile")
    tokens = portal.exchange(portal.code_from(without_scope.response, without_scope), without_scope)
    assert "cpr" not in portal.id_token_claims(tokens["id_token"])


def test_a_client_asking_for_a_scope_it_was_not_given_is_refused(app):
    """R-SEC-2: demo-app was not given ``cpr``: asking for it is ``invalid_scope``."""
    started = app.start(scope="openid profile cpr")
    assert "error=invalid_scope" in started.response["Location"]


def test_claims_are_minimal_per_client(portal):
    """R-SEC-2: only the claims the client is allowed, whatever the scopes."""
    Client.objects.filter(client_id="bibliotek-dk").update(
        allowed_claims=[Claim.UNIQUE_ID, Claim.LOGGED_IN_AGENCY_ID]
    )
    tokens = portal.login_library(
        agency_id="710100", user_id="1000001", pin="1234", scope="openid profile cpr"
    )
    claims = portal.id_token_claims(tokens["id_token"])
    library_claims = set(claims) & set(Claim.values)
    assert library_claims == {"uniqueId", "loggedInAgencyId"}
    info = portal.userinfo(tokens["access_token"]).json()
    assert set(info) == {"sub", "acr", "amr", "auth_time", "uniqueId", "loggedInAgencyId"}


def test_only_openid_gives_only_the_login_claims(portal):
    """R-SEC-2: without ``profile`` no library data at all."""
    tokens = portal.login_library(agency_id="710100", user_id="1000001", pin="1234", scope="openid")
    claims = portal.id_token_claims(tokens["id_token"])
    assert not set(claims) & set(Claim.values)


MINIMAL = {"uniqueId", "agencies", "loggedInAgencyId", "idpUsed"}


def test_a_new_client_gets_the_minimal_claims_without_birth_date_or_gender(demo, browser):
    """R-SEC-2: by default no birthDate and gender (most of a CPR), no CPR, no municipality."""
    from biblogin.oidc.services import client_upsert
    from tests.oidc_flow import OIDCFlow

    assert set(Client().allowed_claims) == MINIMAL
    client_upsert(
        client_id="ny-app",
        display_name="Ny app",
        client_type="public",
        redirect_uris=["http://127.0.0.1:8766/callback"],
        service_requester="demo-app",
    )
    assert set(Client.objects.get(client_id="ny-app").allowed_claims) == MINIMAL
    new = OIDCFlow(browser, client_id="ny-app", redirect_uri="http://127.0.0.1:8766/callback")
    tokens = new.login_library(agency_id="710100", user_id="1000001", pin="1234")
    claims = new.id_token_claims(tokens["id_token"])
    assert set(claims) & set(Claim.values) == MINIMAL
    assert not {"birthDate", "gender", "birthYear", "cpr", "userId"} & set(claims)
    info = new.userinfo(tokens["access_token"]).json()
    assert set(info) == {"sub", "acr", "amr", "auth_time", *MINIMAL}


def test_birth_date_and_gender_only_for_a_client_allowed_them(portal):
    """R-SEC-2: like ``cpr``, given only when the client's allowed claims name them."""
    Client.objects.filter(client_id="bibliotek-dk").update(
        allowed_claims=[*sorted(MINIMAL), Claim.BIRTH_DATE, Claim.GENDER]
    )
    tokens = portal.login_library(agency_id="710100", user_id="1000001", pin="1234")
    claims = portal.id_token_claims(tokens["id_token"])
    assert (claims["birthDate"], claims["gender"]) == ("1985-03-15", "female")

"""Issue 14: the lean path reads the claims' CULR and registry facts in the token's own statement.

Userinfo reads the access token, its login, the CULR patron with its accounts and the registry
rows in one statement, and a refresh its refresh token with the same. These facts are used only
where they answer exactly the question the claims ask; any other question is read afresh. Here:
the claims the lean path gives are those of the ORM selectors (``claims.SELECTORS``) for every
kind of login, also when the facts do not apply (the fallback reads), and a registry or CULR
change is seen by the very next request (R-VIP-11: nothing is kept between requests).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from biblogin.login.models import Authentication, Identity
from biblogin.oidc import claims as oidc_claims
from biblogin.oidc.hotpath import testing
from biblogin.oidc.models import Client
from biblogin.patrons.services import account_link
from biblogin.registry import services as registry_services
from biblogin.registry.models import Agency
from tests.oidc_flow import OIDCFlow

pytestmark = pytest.mark.django_db

BO = "0207921235"


def _selector_claims(portal: OIDCFlow, sub: str) -> dict[str, Any]:
    """The claims of the latest login as the ORM selectors compute them (DOT's path)."""
    login = Authentication.objects.select_related("identity").latest("pk")
    client = Client.objects.get(client_id=portal.client_id)
    return oidc_claims.claims_for(
        authentication=login,
        client=client,
        scopes=["openid", "profile", "cpr"],
        subject=sub,
        reads=oidc_claims.SELECTORS,
    )


def _userinfo(portal: OIDCFlow, access_token: str) -> tuple[dict[str, Any], int]:
    before = testing.LEAN_SERVED["/login/userinfo/"]
    with CaptureQueriesContext(connection) as queries:
        response = portal.userinfo(access_token)
    assert response.status_code == 200, response.content
    assert testing.LEAN_SERVED["/login/userinfo/"] == before + 1
    return json.loads(response.content), len(queries)


def _login(portal: OIDCFlow, kind: str, mitid_settings: Any) -> dict[str, Any]:
    scope = "openid profile cpr"
    if kind == "culr_pin":
        return portal.login_library(agency_id="710100", user_id="1000001", pin="1234", scope=scope)
    if kind == "cpr_as_user_id":
        return portal.login_library(
            agency_id="710100", user_id="150385-1234", pin="1234", scope=scope
        )
    if kind == "mitid":
        return portal.login_mitid(mitid_settings, sub="anna", scope=scope)
    if kind == "local_outside_culr":
        return portal.login_library(agency_id="820099", user_id="CS-4711", pin="4711", scope=scope)
    assert kind == "local_linked"
    account_link(agency_id="820099", cpr=BO, local_id="CS-4711")
    return portal.login_library(agency_id="820099", user_id="CS-4711", pin="4711", scope=scope)


KINDS = ["culr_pin", "cpr_as_user_id", "mitid", "local_outside_culr", "local_linked"]


@pytest.mark.parametrize("kind", KINDS)
def test_userinfo_and_refresh_give_the_selectors_claims(
    portal: OIDCFlow, mitid_settings: Any, kind: str
) -> None:
    """R-LOGIN-8/9: the same claims as the selectors', in one statement where the facts apply."""
    tokens = _login(portal, kind, mitid_settings)
    sub = portal.id_token_claims(tokens["id_token"])["sub"]
    expected = _selector_claims(portal, sub)
    claims, queries = _userinfo(portal, tokens["access_token"])
    assert claims == expected
    if kind in ("culr_pin", "cpr_as_user_id", "mitid", "local_outside_culr"):
        assert queries == 1  # the facts answered every read of the claims
    refreshed = portal.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content
    body = json.loads(refreshed.content)
    id_token = portal.id_token_claims(body["id_token"])
    assert {k: v for k, v in id_token.items() if k in expected} == expected
    assert _userinfo(portal, body["access_token"])[0] == expected


@pytest.mark.parametrize("kind", ["culr_pin", "local_linked"])
def test_facts_that_do_not_answer_the_question_are_not_used(
    portal: OIDCFlow, mitid_settings: Any, kind: str
) -> None:
    """An identity whose stored CPR hash or user ID is not what the claims ask by: read afresh."""
    tokens = _login(portal, kind, mitid_settings)
    sub = portal.id_token_claims(tokens["id_token"])["sub"]
    expected = _selector_claims(portal, sub)
    identity = Authentication.objects.latest("pk").identity
    if kind == "culr_pin":
        # The statement finds the patron by this hash; the claims ask by the decrypted CPR.
        Identity.objects.filter(pk=identity.pk).update(cpr_hash="0" * 64)
    else:
        # The statement finds the account by the stored user ID; the claims parse it first.
        Identity.objects.filter(pk=identity.pk).update(library_user_id=" CS-4711")
    claims, queries = _userinfo(portal, tokens["access_token"])
    if kind == "culr_pin":
        assert claims == expected
    else:
        # The selectors find the linked account by the parsed user ID: CULR knows it.
        assert claims == _selector_claims(portal, sub) and claims["culrDataOmitted"] is True
    assert queries > 1  # the claims' own reads


def test_registry_and_culr_changes_are_seen_by_the_next_userinfo_R_VIP_11(
    portal: OIDCFlow,
) -> None:
    """Nothing of the registry or CULR is kept between requests: each statement reads them."""
    tokens = portal.login_library(
        agency_id="710100", user_id="1000001", pin="1234", scope="openid profile cpr"
    )
    before, _ = _userinfo(portal, tokens["access_token"])
    assert before["uniqueId"] and before["loggedInBranchId"] == "710100"
    account_link(agency_id="820099", cpr="1503851234", local_id="AN-1")
    linked, _ = _userinfo(portal, tokens["access_token"])
    assert {"agencyId": "820099", "userId": "AN-1", "userIdType": "LOCAL"} in linked["agencies"]
    assert len(linked["agencies"]) == len(before["agencies"]) + 1
    agency = Agency.objects.get(agency_id="710100")
    registry_services.agency_update(agency=agency, status="deleted")
    after, _ = _userinfo(portal, tokens["access_token"])
    # R-LOGIN-9: a login agency no longer visible reveals nothing of CULR, and has no branch.
    assert after["uniqueId"] is None and after["loggedInBranchId"] is None

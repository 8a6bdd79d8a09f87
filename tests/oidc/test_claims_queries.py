"""Issue 5: what the claims of R-LOGIN-8 cost in SQL, pinned so that it cannot creep back up.

The claims are computed in the token response, every refresh and every userinfo. They used to take
5-7 queries: the login agency read twice, CULR's accounts read twice (once only to learn whether
one exists), and the main branch read with a prefetch of its mobile-library stops. Now CULR is
read once (the patron with its accounts) and the registry once (login agency, home library and
main branch together), fresh on every call (R-VIP-11). What the claims say is proved in
test_claims.py and tests/login; here the budgets, and that the cheaper reads say the same.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from biblogin.common.assurance import ACR_PIN
from biblogin.common.cpr_crypto import cpr_hash, encrypt_cpr
from biblogin.login.constants import IdentityProvider
from biblogin.login.models import Authentication, Identity
from biblogin.oidc.claims import claims_for
from biblogin.oidc.models import Client
from biblogin.patrons import selectors as culr
from biblogin.patrons.models import Patron
from biblogin.patrons.services import account_create, account_link, patron_get_or_create_by_cpr
from biblogin.registry import selectors as registry
from biblogin.registry import services as registry_services
from biblogin.registry.models import Agency
from tests.oidc_flow import OIDCFlow

pytestmark = pytest.mark.django_db

ANNA, BO, FREDERIK, GITTE = "1503851234", "0207921235", "0505054240", "0808801238"
PROFILE = ["openid", "profile", "cpr"]

# Queries of one claims_for call with every claim wanted (was 7 / 5 / 5).
CULR_PIN_BUDGET = 2
MITID_BUDGET = 2
FFU_PIN_BUDGET = 2


def _last_login() -> Authentication:
    return Authentication.objects.select_related("identity").latest("pk")


def _portal() -> Client:
    return Client.objects.get(client_id="bibliotek-dk")


def _claims(
    authentication: Authentication, scopes: list[str] = PROFILE, client: Client | None = None
) -> dict[str, Any]:
    return claims_for(authentication=authentication, client=client or _portal(), scopes=scopes)


@pytest.mark.parametrize("user_id", ["1000001", "150385-1234"])
def test_a_pin_login_of_a_culr_patron_costs_two_queries(
    portal: OIDCFlow, django_assert_max_num_queries: Any, user_id: str
) -> None:
    """R-LOGIN-7, R-LOGIN-8: CULR once (patron and accounts), the registry once."""
    tokens = portal.login_library(agency_id="710100", user_id=user_id, pin="1234", scope="openid")
    login, client = _last_login(), _portal()
    with django_assert_max_num_queries(CULR_PIN_BUDGET):
        claims = _claims(login, client=client)
    assert claims["uniqueId"] == str(culr.patron_get_by_cpr(cpr=ANNA).guid)  # type: ignore[union-attr]
    assert {"agencyId": "715700", "userId": ANNA, "userIdType": "CPR"} in claims["agencies"]
    assert claims["municipalityAgencyId"] == "710100"
    assert claims["loggedInBranchId"] == "710100"
    assert claims["sub"] == portal.id_token_claims(tokens["id_token"])["sub"]


def test_a_mitid_login_costs_two_queries(
    portal: OIDCFlow, mitid_settings: Any, django_assert_max_num_queries: Any
) -> None:
    """R-LOGIN-6, R-LOGIN-8: the patron with its accounts, then home library and main branch."""
    portal.login_mitid(mitid_settings, sub="anna", scope="openid")
    login, client = _last_login(), _portal()
    assert login.identity.idp == IdentityProvider.MITID
    with django_assert_max_num_queries(MITID_BUDGET):
        claims = _claims(login, client=client)
    assert claims["cpr"] == ANNA and claims["uniqueId"]
    assert [a["agencyId"] for a in claims["agencies"]] == ["710100", "710100", "715700", "715700"]
    assert claims["municipalityAgencyId"] == claims["loggedInBranchId"] == "710100"


@pytest.mark.parametrize("linked", [False, True])
def test_a_pin_login_at_a_library_outside_culr_costs_two_queries(
    portal: OIDCFlow, django_assert_max_num_queries: Any, linked: bool
) -> None:
    """R-LOGIN-9: nothing of CULR shown; whether CULR knows the account comes from the same read."""
    if linked:
        account_link(agency_id="820099", cpr=BO, local_id="CS-4711")
    portal.login_library(agency_id="820099", user_id="CS-4711", pin="4711", scope="openid")
    login, client = _last_login(), _portal()
    with django_assert_max_num_queries(FFU_PIN_BUDGET):
        claims = _claims(login, client=client)
    assert claims["uniqueId"] is None and claims["municipality"] is None
    assert claims["agencies"] == [
        {"agencyId": "820099", "userId": "CS-4711", "userIdType": "LOCAL"}
    ]
    assert claims["loggedInBranchId"] == "820099"
    assert claims.get("culrDataOmitted", False) is linked


def test_only_the_sub_needs_no_registry_read_after_mitid(
    portal: OIDCFlow, mitid_settings: Any, django_assert_max_num_queries: Any
) -> None:
    """A token without ``openid`` still fixes the sub; claims nobody gets are not looked up."""
    portal.login_mitid(mitid_settings, sub="anna", scope="openid")
    login, client = _last_login(), _portal()
    with django_assert_max_num_queries(1):
        claims = _claims(login, scopes=[], client=client)
    assert set(claims) == {"sub", "acr", "amr", "auth_time"}
    assert claims["sub"] == str(culr.patron_get_by_cpr(cpr=ANNA).guid)  # type: ignore[union-attr]


def _login(
    *,
    idp: str = IdentityProvider.BORCHK,
    agency_id: str,
    cpr: str = "",
    local_id: str = "",
    login_agency_id: str | None = None,
) -> Authentication:
    """A login as the login pages record it, built directly for cases no demo person has."""
    user = get_user_model().objects.create_user(username=uuid.uuid4().hex, password=None)
    identity = Identity.objects.create(
        user=user,
        idp=idp,
        key=uuid.uuid4().hex,
        agency_id=agency_id,
        library_user_id=local_id,
        user_id_is_cpr=bool(cpr) and not local_id,
        cpr_encrypted=encrypt_cpr(cpr) if cpr else "",
        cpr_hash=cpr_hash(cpr) if cpr else "",
    )
    login = Authentication.objects.create(
        identity=identity,
        idp=idp,
        agency_id=agency_id if login_agency_id is None else login_agency_id,
        auth_time=identity.created_at,
        acr=ACR_PIN,
        amr=["pin"],
    )
    return Authentication.objects.select_related("identity").get(pk=login.pk)


def test_a_local_id_another_patron_holds_is_still_known_to_culr(demo: None) -> None:
    """R-LOGIN-9: with a CPR and a local ID, the local account may be someone else's in CULR."""
    account_link(agency_id="820099", cpr=BO, local_id="CS-4711")
    login = _login(agency_id="820099", cpr=ANNA, local_id="CS-4711")
    claims = _claims(login)
    assert claims["culrDataOmitted"] is True and claims["uniqueId"] is None
    unknown = _login(agency_id="820099", cpr=ANNA, local_id="CS-9999")
    assert "culrDataOmitted" not in _claims(unknown)


def test_registry_changes_are_seen_by_the_next_claims_R_VIP_11(demo: None) -> None:
    """No registry row is kept between calls: culr_sync and the main branch are read each time."""
    account_create(agency_id="872600", cpr=FREDERIK)
    login = _login(agency_id="872600", cpr=FREDERIK)
    before = _claims(login)
    assert before["uniqueId"] and before["loggedInBranchId"] == "872600"
    registry_services.agency_update(agency=Agency.objects.get(agency_id="872600"), culr_sync=False)
    after = _claims(login)
    # The CPR account at 872600 is what CULR knows (R-LOGIN-9).
    assert after["uniqueId"] is None and after["culrDataOmitted"] is True
    registry_services.agency_update(agency=Agency.objects.get(agency_id="872600"), status="deleted")
    assert _claims(login)["loggedInBranchId"] is None


def test_the_patron_with_its_accounts_is_what_the_separate_reads_give(demo: None) -> None:
    """patron_accounts_get_by_* agree with patron_get_by_*, accounts_for_patron, account_get_*."""
    patron_get_or_create_by_cpr(cpr=GITTE)  # a patron without accounts
    account_create(agency_id="820099", cpr=BO)
    Patron.objects.filter(cpr_hash=cpr_hash(FREDERIK)).update(is_active=False)
    for cpr in (ANNA, BO, FREDERIK, GITTE, "0101010001", "not a cpr"):
        found = culr.patron_accounts_get_by_cpr(cpr=cpr)
        active = culr.patron_get_by_cpr(cpr=cpr)
        assert found.active_patron == active
        assert found.patron == culr.patron_get_by_cpr(cpr=cpr, include_inactive=True)
        if found.patron is not None:
            assert found.accounts == culr.accounts_for_patron(patron=found.patron)
        for agency_id in ("710100", "715700", "820099", "872600", " 820099", "bad"):
            expected = culr.account_get_cpr(agency_id=agency_id, cpr=cpr) is not None
            assert found.has_cpr_account(agency_id=agency_id) is expected
    for agency_id, local_id in [
        ("710100", "1000001"),
        ("820099", "CS-4711"),
        ("820099", " CS-4711 "),
        ("820099", "CS-0000"),
        ("bad", "CS-4711"),
        ("820099", ""),
    ]:
        found = culr.patron_accounts_get_by_local_id(agency_id=agency_id, local_id=local_id)
        account = culr.account_get_local(agency_id=agency_id, local_id=local_id)
        assert found.patron == (account.patron if account else None)
        if account is not None:
            assert found.has_local_account(agency_id=agency_id, local_id=local_id)
            assert found.accounts == culr.accounts_for_patron(patron=account.patron)


def test_the_agency_lookup_is_what_the_separate_reads_give(demo: None) -> None:
    """agency_lookup agrees with agency_get, agency_home_for_municipality and branch_get."""
    Agency.objects.filter(agency_id="715700").update(status="invisible")
    Agency.objects.filter(agency_id="830099").update(status="deleted")
    ids = ["710100", "715700", "830099", "872600", "710104", "999999", " 710100", "", "abc"]
    municipalities = [101, 157, 265, 999]
    lookup = registry.agency_lookup(agency_ids=ids, municipality_nos=[*municipalities, None])
    for agency_id in ids:
        agency = registry.agency_get(agency_id=agency_id)
        facts = lookup.agency(agency_id)
        got = (facts.agency_id, facts.culr_sync) if facts else None
        assert got == ((agency.agency_id, agency.culr_sync) if agency else None)
        branch = registry.branch_get(branch_id=agency_id)
        main = branch.branch_id if branch and branch.agency.agency_id == agency_id else None
        assert lookup.main_branch_id(agency_id) == main
    for municipality_no in municipalities:
        home = registry.agency_home_for_municipality(municipality_no=municipality_no)
        assert lookup.home_agency_id(municipality_no) == (home.agency_id if home else None)
    with pytest.raises(ValueError):
        lookup.agency("820099")  # not asked for: an error, never a silent "none"

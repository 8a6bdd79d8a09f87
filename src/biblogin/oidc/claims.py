"""The claims of R-LOGIN-8, computed when a token or userinfo is asked for.

Computed from the login record plus fresh reads of CULR and the registry (R-VIP-11), then cut
down to what the client is allowed and the scopes granted (R-SEC-2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from biblogin.common import cpr as cprlib
from biblogin.common.cpr_crypto import keyed_hash
from biblogin.login.constants import IdentityProvider
from biblogin.login.models import Authentication, Identity
from biblogin.oidc.models import CLAIM_SCOPE, Claim, Client, Scope
from biblogin.patrons import selectors as culr
from biblogin.patrons.models import AccountIdType, Patron
from biblogin.registry import selectors as registry

ALWAYS = ("sub", "acr", "amr", "auth_time")


def claims_supported() -> list[str]:
    return [*ALWAYS, *Claim.values]


def pairwise_subject(*, agency_id: str, user_key: str) -> str:
    """R-LOGIN-8: a stable opaque ``sub`` for (agency, user ID) when no CULR guid is revealed."""
    return keyed_hash(f"{agency_id}\x00{user_key}", purpose="oidc-sub")


@dataclass(frozen=True)
class CulrView:
    """What CULR says about the person of a login, and whether the client may see it."""

    patron: Patron | None
    revealed: bool
    account_known: bool


def _culr_view(identity: Identity, authentication: Authentication) -> CulrView:
    """R-LOGIN-7 and R-LOGIN-9: consult CULR, and hide it after a PIN at a non-CULR library."""
    cpr = identity.cpr
    if identity.idp == IdentityProvider.MITID:
        patron = culr.patron_get_by_cpr(cpr=cpr) if cpr else None
        return CulrView(patron=patron, revealed=patron is not None, account_known=bool(patron))
    agency = registry.agency_get(agency_id=identity.agency_id)
    local_account = (
        culr.account_get_local(agency_id=identity.agency_id, local_id=identity.library_user_id)
        if identity.library_user_id
        else None
    )
    if cpr:
        patron = culr.patron_get_by_cpr(cpr=cpr)
        account_known = local_account is not None or (
            culr.account_get_cpr(agency_id=identity.agency_id, cpr=cpr) is not None
        )
    else:
        patron = local_account.patron if local_account and local_account.patron.is_active else None
        account_known = local_account is not None
    if agency is None or not agency.culr_sync:
        # R-LOGIN-9: a PIN at a library that does not deliver to CULR reveals nothing of it.
        return CulrView(patron=None, revealed=False, account_known=account_known)
    return CulrView(patron=patron, revealed=patron is not None, account_known=account_known)


def _municipality_agency_id(municipality_no: int | None) -> str | None:
    if municipality_no is None:
        return None
    agency = registry.agency_home_for_municipality(municipality_no=municipality_no)
    return agency.agency_id if agency else None


def _logged_in_branch_id(authentication: Authentication) -> str | None:
    """The branch logged in from, else the login agency's main branch (same ID) if it has one."""
    if authentication.branch_id:
        return authentication.branch_id
    if not authentication.agency_id:
        return None
    main = registry.branch_get(branch_id=authentication.agency_id)
    return main.branch_id if main and main.agency.agency_id == authentication.agency_id else None


def claims_for(
    *,
    authentication: Authentication,
    client: Client,
    scopes: Iterable[str],
    subject: str | None = None,
) -> dict[str, Any]:
    """Return the claims for this login, as this client may see them with these scopes.

    ``subject``: the ``sub`` already given for this grant (refresh, userinfo), kept as it was.
    """
    identity = authentication.identity
    view = _culr_view(identity, authentication)
    patron = view.patron if view.revealed else None
    cpr_allowed = Claim.CPR in client.allowed_claims and Scope.CPR in set(scopes)
    # The person's CPR: from MitID or the library, or from CULR once CULR is revealed.
    cpr = identity.cpr or (patron.cpr if patron else None)

    def user_id_value(value: str, is_cpr: bool) -> str | None:
        # R-SEC-2: a CPR used as user ID is only given to clients allowed the cpr claim.
        return (value if cpr_allowed else None) if is_cpr else value

    if identity.idp == IdentityProvider.MITID or identity.user_id_is_cpr:
        user_id = user_id_value(cpr or "", True) if cpr else None
        login_user_key = cpr or ""
    else:
        user_id = identity.library_user_id
        login_user_key = identity.library_user_id

    if patron is not None:
        sub = str(patron.guid)
        agencies = [
            {
                "agencyId": account.agency_id,
                "userId": (
                    user_id_value(patron.cpr or "", True)
                    if account.id_type == AccountIdType.CPR
                    else account.local_id
                ),
                "userIdType": account.id_type,
            }
            for account in culr.accounts_for_patron(patron=patron)
        ]
        municipality_no = patron.municipality_no
    else:
        sub = pairwise_subject(agency_id=authentication.agency_id, user_key=login_user_key)
        agencies = []
        if identity.idp == IdentityProvider.BORCHK:
            agencies = [
                {
                    "agencyId": identity.agency_id,
                    "userId": user_id,
                    "userIdType": AccountIdType.CPR if identity.user_id_is_cpr else "LOCAL",
                }
            ]
        agency = registry.agency_get(agency_id=identity.agency_id) if identity.agency_id else None
        # R-LOGIN-9: no municipality after a PIN at a library outside CULR.
        municipality_no = (
            identity.municipality_no
            if identity.idp == IdentityProvider.BORCHK and agency is not None and agency.culr_sync
            else None
        )

    birth = cprlib.birth_date(cpr) if cpr else None
    values: dict[str, Any] = {
        Claim.USER_ID: user_id,
        Claim.UNIQUE_ID: str(patron.guid) if patron else None,
        Claim.AGENCIES: agencies,
        Claim.MUNICIPALITY: f"{municipality_no:03d}" if municipality_no is not None else None,
        Claim.MUNICIPALITY_AGENCY_ID: _municipality_agency_id(municipality_no),
        Claim.LOGGED_IN_AGENCY_ID: authentication.agency_id or None,
        Claim.LOGGED_IN_BRANCH_ID: _logged_in_branch_id(authentication),
        Claim.IDP_USED: identity.idp,
        Claim.BLOCKED: identity.blocked if identity.idp == IdentityProvider.BORCHK else None,
        Claim.BIRTH_YEAR: birth.year if birth else None,
        Claim.BIRTH_DATE: birth.isoformat() if birth else None,
        Claim.GENDER: cprlib.gender(cpr) if cpr else None,
        Claim.CPR: cpr,
    }
    if identity.idp == IdentityProvider.BORCHK and not view.revealed and view.account_known:
        # R-LOGIN-9: tell the client that CULR knows this account but was not shown.
        values[Claim.CULR_DATA_OMITTED] = True

    granted = set(scopes)
    allowed = set(client.allowed_claims)
    result: dict[str, Any] = {
        "sub": subject or sub,
        "acr": authentication.acr,
        "amr": list(authentication.amr),
        "auth_time": int(authentication.auth_time.timestamp()),
    }
    for name, value in values.items():
        if name in allowed and CLAIM_SCOPE[name] in granted:
            result[str(name)] = value
    return result

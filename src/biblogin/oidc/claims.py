"""The claims of R-LOGIN-8, computed when a token or userinfo is asked for.

Computed from the login record plus fresh reads of CULR and the registry (R-VIP-11), then cut
down to what the client is allowed and the scopes granted (R-SEC-2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from biblogin.common import cpr as cprlib
from biblogin.common.cpr_crypto import keyed_hash
from biblogin.login.constants import IdentityProvider
from biblogin.oidc.models import CLAIM_SCOPE, Claim, Scope
from biblogin.patrons import selectors as culr
from biblogin.patrons.models import AccountIdType
from biblogin.registry import selectors as registry

# Every claim name once (``Claim.values`` builds a new list on each access: 6 % of a userinfo).
_CLAIM_NAMES = tuple(Claim.values)

ALWAYS = ("sub", "acr", "amr", "auth_time")


class IdentityFacts(Protocol):
    """What the claims read of an identity: a ``login.models.Identity``, or the lean path's
    plain row of the same columns (``biblogin.oidc.hotpath.store.IdentityRow``)."""

    @property
    def idp(self) -> str: ...
    @property
    def agency_id(self) -> str: ...
    @property
    def library_user_id(self) -> str: ...
    @property
    def user_id_is_cpr(self) -> bool: ...
    @property
    def blocked(self) -> bool | None: ...
    @property
    def municipality_no(self) -> int | None: ...
    @property
    def name(self) -> str: ...
    @property
    def cpr(self) -> str | None: ...


class LoginFacts(Protocol):
    """What the claims read of a login: a ``login.models.Authentication`` or a plain row."""

    @property
    def identity(self) -> IdentityFacts: ...
    @property
    def agency_id(self) -> str: ...
    @property
    def branch_id(self) -> str: ...
    @property
    def acr(self) -> str: ...
    @property
    def amr(self) -> Any: ...
    @property
    def auth_time(self) -> dt.datetime: ...


class ClientFacts(Protocol):
    """What the claims read of a client: its allowed claims (R-SEC-2)."""

    @property
    def allowed_claims(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class ClaimReads:
    """Where the claims read CULR and the registry: the selectors, or the lean path's raw SQL
    (``biblogin.oidc.hotpath.claim_reads``), which answers the same questions the same way."""

    patron_accounts_get_by_cpr: Callable[..., culr.PatronAccounts]
    patron_accounts_get_by_local_id: Callable[..., culr.PatronAccounts]
    account_get_local: Callable[..., Any]
    agency_lookup: Callable[..., registry.AgencyLookup]


SELECTORS = ClaimReads(
    patron_accounts_get_by_cpr=culr.patron_accounts_get_by_cpr,
    patron_accounts_get_by_local_id=culr.patron_accounts_get_by_local_id,
    account_get_local=culr.account_get_local,
    agency_lookup=registry.agency_lookup,
)


def claims_supported() -> list[str]:
    return [*ALWAYS, *Claim.values]


def pairwise_subject(*, agency_id: str, user_key: str) -> str:
    """R-LOGIN-8: a stable opaque ``sub`` for (agency, user ID) when no CULR guid is revealed."""
    return keyed_hash(f"{agency_id}\x00{user_key}", purpose="oidc-sub")


def _culr_read(identity: IdentityFacts, cpr: str | None, reads: ClaimReads) -> culr.PatronAccounts:
    """R-LOGIN-7: read CULR by CPR when the identity has one, else by (agency, local ID).

    One query brings the patron and its accounts; "active" and "revealed" are decided after.
    """
    if cpr:
        return reads.patron_accounts_get_by_cpr(cpr=cpr)
    if identity.idp != IdentityProvider.MITID and identity.library_user_id:
        return reads.patron_accounts_get_by_local_id(
            agency_id=identity.agency_id, local_id=identity.library_user_id
        )
    return culr.PatronAccounts()


def _culr_knows_account(
    identity: IdentityFacts, cpr: str | None, found: culr.PatronAccounts, reads: ClaimReads
) -> bool:
    """R-LOGIN-9: tell whether CULR knows the account logged in with (for ``culrDataOmitted``)."""
    if not cpr:
        # Read by (agency, local ID): whatever was found is that very account.
        return found.patron is not None
    # Read by CPR: the CPR's patron is the only one a CPR account at the agency can belong to.
    if found.has_cpr_account(agency_id=identity.agency_id):
        return True
    if not identity.library_user_id:
        return False
    if found.has_local_account(agency_id=identity.agency_id, local_id=identity.library_user_id):
        return True
    # The local ID may be another CULR patron's than the CPR's: only the register can tell.
    local = reads.account_get_local(agency_id=identity.agency_id, local_id=identity.library_user_id)
    return local is not None


def _logged_in_branch_id(authentication: LoginFacts, agencies: registry.AgencyLookup) -> str | None:
    """The branch logged in from, else the login agency's main branch (same ID) if it has one."""
    if authentication.branch_id:
        return authentication.branch_id
    if not authentication.agency_id:
        return None
    return agencies.main_branch_id(authentication.agency_id)


def claims_for(
    *,
    authentication: LoginFacts,
    client: ClientFacts,
    scopes: Iterable[str],
    subject: str | None = None,
    reads: ClaimReads = SELECTORS,
) -> dict[str, Any]:
    """Return the claims for this login, as this client may see them with these scopes.

    ``subject``: the ``sub`` already given for this grant (refresh, userinfo), kept as it was.
    Reads CULR once and the registry once, fresh on every call (R-VIP-11); a claim the client
    will not get is not looked up.
    """
    identity = authentication.identity
    granted = set(scopes)
    allowed = set(client.allowed_claims)
    wanted = {name for name in _CLAIM_NAMES if name in allowed and CLAIM_SCOPE[name] in granted}
    is_mitid = identity.idp == IdentityProvider.MITID
    is_borchk = identity.idp == IdentityProvider.BORCHK
    identity_cpr = identity.cpr

    found = _culr_read(identity, identity_cpr, reads)
    candidate = found.active_patron
    # Every registry row the claims may need, in one read: the library logged in at (R-LOGIN-9),
    # the agency whose main branch may be loggedInBranchId, the home library of the municipality.
    branch_agency = (
        authentication.agency_id
        if Claim.LOGGED_IN_BRANCH_ID in wanted and not authentication.branch_id
        else ""
    )
    municipalities = (
        [
            candidate.municipality_no if candidate else None,
            identity.municipality_no if is_borchk else None,
        ]
        if Claim.MUNICIPALITY_AGENCY_ID in wanted
        else []
    )
    agencies = reads.agency_lookup(
        agency_ids=[a for a in ("" if is_mitid else identity.agency_id, branch_agency) if a],
        municipality_nos=municipalities,
    )

    login_agency = None if is_mitid else agencies.agency(identity.agency_id)
    if is_mitid:
        patron = candidate
    else:
        # R-LOGIN-9: a PIN at a library that does not deliver to CULR reveals nothing of it.
        patron = candidate if login_agency is not None and login_agency.culr_sync else None
    revealed = patron is not None
    cpr_allowed = Claim.CPR in client.allowed_claims and Scope.CPR in granted
    # The person's CPR: from MitID or the library, or from CULR once CULR is revealed.
    cpr = identity_cpr or (patron.cpr if patron else None)

    def user_id_value(value: str, is_cpr: bool) -> str | None:
        # R-SEC-2: a CPR used as user ID is only given to clients allowed the cpr claim.
        return (value if cpr_allowed else None) if is_cpr else value

    if is_mitid or identity.user_id_is_cpr:
        user_id = user_id_value(cpr or "", True) if cpr else None
        login_user_key = cpr or ""
    else:
        user_id = identity.library_user_id
        login_user_key = identity.library_user_id

    if patron is not None:
        sub = str(patron.guid)
        agencies_claim = []
        if Claim.AGENCIES in wanted:
            # Read by the identity's CPR, the patron is that CPR's: no second decryption.
            patron_cpr = identity_cpr or patron.cpr or ""
            agencies_claim = [
                {
                    "agencyId": account.agency_id,
                    "userId": (
                        user_id_value(patron_cpr, True)
                        if account.id_type == AccountIdType.CPR
                        else account.local_id
                    ),
                    "userIdType": account.id_type,
                }
                for account in found.accounts
            ]
        municipality_no = patron.municipality_no
    else:
        sub = pairwise_subject(agency_id=authentication.agency_id, user_key=login_user_key)
        agencies_claim = []
        if is_borchk:
            agencies_claim = [
                {
                    "agencyId": identity.agency_id,
                    "userId": user_id,
                    "userIdType": AccountIdType.CPR if identity.user_id_is_cpr else "LOCAL",
                }
            ]
        # R-LOGIN-9: no municipality after a PIN at a library outside CULR.
        municipality_no = (
            identity.municipality_no
            if is_borchk and login_agency is not None and login_agency.culr_sync
            else None
        )

    municipality_agency_id = (
        agencies.home_agency_id(municipality_no)
        if Claim.MUNICIPALITY_AGENCY_ID in wanted and municipality_no is not None
        else None
    )
    branch_id = (
        _logged_in_branch_id(authentication, agencies)
        if Claim.LOGGED_IN_BRANCH_ID in wanted
        else None
    )
    birth = cprlib.birth_date(cpr) if cpr else None
    values: dict[str, Any] = {
        Claim.USER_ID: user_id,
        Claim.UNIQUE_ID: str(patron.guid) if patron else None,
        Claim.AGENCIES: agencies_claim,
        Claim.MUNICIPALITY: f"{municipality_no:03d}" if municipality_no is not None else None,
        Claim.MUNICIPALITY_AGENCY_ID: municipality_agency_id,
        Claim.LOGGED_IN_AGENCY_ID: authentication.agency_id or None,
        Claim.LOGGED_IN_BRANCH_ID: branch_id,
        Claim.IDP_USED: identity.idp,
        Claim.BLOCKED: identity.blocked if is_borchk else None,
        Claim.BIRTH_YEAR: birth.year if birth else None,
        Claim.BIRTH_DATE: birth.isoformat() if birth else None,
        Claim.GENDER: cprlib.gender(cpr) if cpr else None,
        Claim.CPR: cpr,
        Claim.NAME: identity.name or None,
    }
    if (
        is_borchk
        and not revealed
        and Claim.CULR_DATA_OMITTED in wanted
        and _culr_knows_account(identity, identity_cpr, found, reads)
    ):
        # R-LOGIN-9: tell the client that CULR knows this account but was not shown.
        values[Claim.CULR_DATA_OMITTED] = True

    result: dict[str, Any] = {
        "sub": subject or sub,
        "acr": authentication.acr,
        "amr": list(authentication.amr),
        "auth_time": int(authentication.auth_time.timestamp()),
    }
    for name, value in values.items():
        if name in wanted:
            result[str(name)] = value
    return result

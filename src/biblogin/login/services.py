"""Library login and MitID login: the rules of R-LOGIN-4…7 and R-LOGIN-13.

Each returns an explicit outcome the view renders; the PIN passes through to the borrower check
and is never stored, logged or kept (R-BC-5).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.borrowercheck.services import (
    BorrowerCheckResult,
    BorrowerCheckStatus,
    borrower_check,
    borrower_check_registry,
    user_id_normalise,
)
from biblogin.borrowercheck.throttling import (
    ThrottleState,
    throttle_failure,
    throttle_release,
    throttle_reserve,
    throttle_success,
)
from biblogin.common.assurance import ACR_PIN, NSIS_SUBSTANTIAL, acr_satisfies
from biblogin.common.cpr import mask_cpr
from biblogin.common.cpr_crypto import cpr_hash, encrypt_cpr, keyed_hash
from biblogin.common.models import User
from biblogin.common.plain_rows import Rows
from biblogin.integrations.mitid_broker.client import MitIDIdentity
from biblogin.login.constants import NO_LIBRARY_AGENCY_ID, IdentityProvider
from biblogin.login.models import Authentication, Identity
from biblogin.login.policy import ClientPolicy
from biblogin.login.selectors import identity_by_key
from biblogin.patrons import selectors as culr
from biblogin.patrons import services as culr_services
from biblogin.patrons.models import Patron
from biblogin.registry import selectors as registry

_MAX_USER_ID = 254
_AUTHENTICATION_ROWS = Rows(Authentication, "a")


def _identity_key(idp: str, agency_id: str, user_key: str) -> str:
    return keyed_hash(f"{idp}\x00{agency_id}\x00{user_key}", purpose="login-identity")


def _identity_locked(*, idp: str, agency_id: str, user_key: str) -> Identity:
    """Return the identity and its user, locked in the caller's transaction; create on first use."""
    key = _identity_key(idp, agency_id, user_key)
    # ``of``: lock the identity only, not its user (PostgreSQL; SQLite locks the database).
    locked = Identity.objects.select_for_update(of=("self",)).select_related("user")
    identity = locked.filter(key=key).first()
    if identity is not None:
        return identity
    user_model = get_user_model()
    try:
        with transaction.atomic():
            # The username reveals nothing: a prefix and part of the keyed hash.
            user = user_model(username=f"{idp}-{key[:40]}")
            user.set_unusable_password()
            user.save()
            # Our own insert: the row stays locked to us until the caller's transaction ends.
            return Identity.objects.create(user=user, idp=idp, key=key, agency_id=agency_id)
    except IntegrityError:
        # A concurrent first login of the same person made it first.
        return locked.get(key=key)


def _authentication_create(
    *,
    identity: Identity,
    agency_id: str,
    branch_id: str,
    acr: str,
    amr: list[str],
    client: ClientPolicy,
    auth_time: dt.datetime | None = None,
) -> Authentication:
    # One plain INSERT per login: the ORM's save spent ~0.5 ms of CPU on it (issue 14).
    return _AUTHENTICATION_ROWS.insert(
        Authentication(
            identity=identity,
            idp=identity.idp,
            agency_id=agency_id,
            branch_id=branch_id,
            auth_time=auth_time or timezone.now(),
            acr=acr,
            amr=amr,
            client_id=client.client_id,
        )
    )


# --- library login (R-LOGIN-4, R-LOGIN-5) ----------------------------------------------------


@dataclass(frozen=True)
class LibraryLoginOutcome:
    """What happened to one library login attempt; ``status`` None means throttled."""

    status: BorrowerCheckStatus | None
    throttle: ThrottleState
    user: User | None = None
    authentication: Authentication | None = None

    @property
    def throttled(self) -> bool:
        return self.status is None or self.throttle.blocked


def _subject_for_log(agency_id: str, user_id: str, is_cpr: bool) -> str:
    return f"{agency_id}:{mask_cpr(user_id) if is_cpr else user_id[:64]}"


def _library_identity_record(result: BorrowerCheckResult) -> Identity:
    """Return the identity of this library login, its facts as the library just gave them."""
    idp, agency_id, user_key = IdentityProvider.BORCHK, result.agency_id, result.user_id
    cpr = result.user_id if result.user_id_is_cpr else result.cpr
    facts = {
        "library_user_id": "" if result.user_id_is_cpr else result.user_id,
        "user_id_is_cpr": result.user_id_is_cpr,
        # The keyed hash tells whether the CPR changed (its encryption differs every time).
        "cpr_hash": cpr_hash(cpr) if cpr else "",
        "blocked": result.blocked,
        "municipality_no": result.municipality_no,
        "name": (result.name or "").strip()[:200],
    }

    def up_to_date(identity: Identity) -> bool:
        return bool(identity.cpr_encrypted) == bool(cpr) and all(
            getattr(identity, name) == value for name, value in facts.items()
        )

    # Most logins bring nothing new: then a plain read does, with no transaction and no lock.
    # A concurrent login writing other facts meanwhile is simply ordered after this one.
    key = _identity_key(idp, agency_id, user_key)
    identity = identity_by_key(key=key)
    if identity is not None and up_to_date(identity):
        return identity
    with transaction.atomic():
        identity = _identity_locked(idp=idp, agency_id=agency_id, user_key=user_key)
        if not up_to_date(identity):
            for name, value in facts.items():
                setattr(identity, name, value)
            identity.cpr_encrypted = encrypt_cpr(cpr) if cpr else ""
            identity.save()
    return identity


def library_login(
    *,
    client: ClientPolicy,
    agency_id: str,
    user_id: str,
    password: str,
    ip: str,
    branch_id: str = "",
) -> LibraryLoginOutcome:
    """Log in with a library's user ID and PIN through the borrower check (R-LOGIN-4).

    R-LOGIN-5: an attempt is reserved before the borrower check is called (refused when the pair
    or IP is blocked or the pair's attempts are taken); ``borrower_not_found`` counts against the
    budget (the borrower's, once the library said whose ID it is) and the IP; success resets it.
    """
    # The agency as the borrower check reads it: once per request (registry_verdicts_per_request).
    agency = (
        borrower_check_registry(
            service_requester=client.service_requester, agency_id=agency_id
        ).agency
        if isinstance(agency_id, str)
        else None
    )
    kinds = registry.agency_user_id_kinds(agency=agency) if agency else []
    typed = user_id if isinstance(user_id, str) and len(user_id) <= _MAX_USER_ID else ""
    normalised = user_id_normalise(user_id=typed, user_id_kinds=kinds)
    pair_agency = agency.agency_id if agency else ""
    state = throttle_reserve(agency_id=pair_agency, user_id=normalised.value, ip=ip)
    subject = _subject_for_log(pair_agency, normalised.value, normalised.is_cpr)
    if state.blocked:
        audit_event_record(
            action=AuditAction.LOGIN_THROTTLED,
            outcome="ip" if state.by_ip else "pair",
            actor=client.client_id,
            agency_id=pair_agency,
            subject=subject,
            ip=ip or None,
        )
        return LibraryLoginOutcome(status=None, throttle=state)

    try:
        result = borrower_check(
            service_requester=client.service_requester,
            agency_id=agency_id if isinstance(agency_id, str) else "",
            user_id=user_id if isinstance(user_id, str) else "",
            password=password if isinstance(password, str) else "",
        )
    except BaseException:
        throttle_release(checked=state)  # no answer: the attempt does not count
        raise
    if result.status == BorrowerCheckStatus.BORROWER_NOT_FOUND:
        state = throttle_failure(
            agency_id=pair_agency, user_id=normalised.value, ip=ip, checked=state
        )
    elif not result.ok:
        throttle_release(checked=state)  # neither yes nor no from the library
    if not result.ok:
        audit_event_record(
            action=AuditAction.LOGIN_FAILED,
            outcome=result.status.value,
            actor=client.client_id,
            agency_id=pair_agency,
            subject=subject,
            ip=ip or None,
            details={"idp": IdentityProvider.BORCHK, "attempts_left": state.attempts_left},
        )
        if state.blocked:
            audit_event_record(
                action=AuditAction.LOGIN_LOCKOUT,
                outcome="ip" if state.by_ip else "pair",
                actor=client.client_id,
                agency_id=pair_agency,
                subject=subject,
                ip=ip or None,
                details={"seconds": state.retry_after},
            )
        return LibraryLoginOutcome(status=result.status, throttle=state)

    throttle_success(
        agency_id=pair_agency,
        user_id=normalised.value,
        checked=state,
        borrower_ref=result.borrower_ref,
        user_ids=[result.cpr or "", *result.user_ids],
    )
    identity = _library_identity_record(result)
    authentication = _authentication_create(
        identity=identity,
        agency_id=result.agency_id,
        branch_id=branch_id,
        acr=ACR_PIN,  # R-LOGIN-10: a PIN at a library is the low level
        amr=["pin"],
        client=client,
    )
    audit_event_record(
        action=AuditAction.LOGIN,
        outcome="ok",
        actor=client.client_id,
        agency_id=result.agency_id,
        subject=f"identity:{identity.pk}",
        ip=ip or None,
        details={"idp": IdentityProvider.BORCHK, "blocked": result.blocked},
    )
    return LibraryLoginOutcome(
        status=result.status, throttle=state, user=identity.user, authentication=authentication
    )


# --- MitID (R-LOGIN-6, R-LOGIN-7, R-LOGIN-10) ------------------------------------------------


class MitIDDecisionKind(StrEnum):
    LOG_IN = "log_in"
    CREATE = "create"  # R-LOGIN-7: a CULR patron is created, then the user is logged in
    DENY = "deny"


class MitIDDenyReason(StrEnum):
    LEVEL_TOO_LOW = "level_too_low"
    CLIENT_NOT_ALLOWED = "client_not_allowed"


@dataclass(frozen=True)
class MitIDDecision:
    kind: MitIDDecisionKind
    reason: MitIDDenyReason | None = None
    create_at_agency: str = ""


def mitid_login_decide(
    *, identity: MitIDIdentity, client: ClientPolicy, min_acr: str | None
) -> MitIDDecision:
    """Decide what a verified MitID identity leads to for this client (no writes)."""
    if IdentityProvider.MITID not in client.allowed_idps:
        return MitIDDecision(MitIDDecisionKind.DENY, MitIDDenyReason.CLIENT_NOT_ALLOWED)
    if not acr_satisfies(identity.loa, min_acr):
        # R-LOGIN-10: the broker gave a lower level than the client asked for.
        return MitIDDecision(MitIDDecisionKind.DENY, MitIDDenyReason.LEVEL_TOO_LOW)
    patron = culr.patron_get_by_cpr(cpr=identity.cpr)
    if patron is None and client.create_culr_account_agency:
        return MitIDDecision(
            MitIDDecisionKind.CREATE, create_at_agency=client.create_culr_account_agency
        )
    return MitIDDecision(MitIDDecisionKind.LOG_IN)


def mitid_login_agency(*, patron: Patron | None) -> str:
    """R-LOGIN-6: the home public library, else the first account's agency, else 190101."""
    if patron is not None:
        if patron.municipality_no is not None:
            home = registry.agency_home_for_municipality(municipality_no=patron.municipality_no)
            if home is not None:
                return home.agency_id
        accounts = culr.accounts_for_patron(patron=patron)
        if accounts:
            return accounts[0].agency_id
    return NO_LIBRARY_AGENCY_ID


@dataclass(frozen=True)
class MitIDLoginOutcome:
    decision: MitIDDecision
    user: User | None = None
    authentication: Authentication | None = None


@transaction.atomic
def mitid_login(
    *, identity: MitIDIdentity, client: ClientPolicy, min_acr: str | None, ip: str = ""
) -> MitIDLoginOutcome:
    """Carry out the decision for a verified MitID identity and record the login."""
    decision = mitid_login_decide(identity=identity, client=client, min_acr=min_acr)
    if decision.kind == MitIDDecisionKind.DENY:
        audit_event_record(
            action=AuditAction.LOGIN_FAILED,
            outcome=f"mitid_{decision.reason}",
            actor=client.client_id,
            subject=mask_cpr(identity.cpr),
            ip=ip or None,
            details={"idp": IdentityProvider.MITID, "loa": identity.loa},
        )
        return MitIDLoginOutcome(decision=decision)
    if decision.kind == MitIDDecisionKind.CREATE:
        account = culr_services.account_create(
            agency_id=decision.create_at_agency, cpr=identity.cpr, actor=client.client_id
        )
        audit_event_record(
            action=AuditAction.LINK,
            outcome="culr_account_created",
            actor=client.client_id,
            agency_id=decision.create_at_agency,
            subject=str(account.patron.guid),
            ip=ip or None,
            details={"id_type": account.id_type, "rule": "R-LOGIN-7"},
        )
    patron = culr.patron_get_by_cpr(cpr=identity.cpr)
    record = _identity_locked(idp=IdentityProvider.MITID, agency_id="", user_key=identity.cpr)
    record.cpr_encrypted = encrypt_cpr(identity.cpr)
    record.cpr_hash = cpr_hash(identity.cpr)
    record.library_user_id = ""
    record.user_id_is_cpr = True
    record.name = identity.name or ""
    record.save()
    auth_time = dt.datetime.fromtimestamp(identity.auth_time, tz=dt.UTC)
    if auth_time > timezone.now():
        auth_time = timezone.now()
    authentication = _authentication_create(
        identity=record,
        agency_id=mitid_login_agency(patron=patron),
        branch_id="",
        acr=identity.loa,
        amr=["mitid", "mfa"] if acr_satisfies(identity.loa, NSIS_SUBSTANTIAL) else ["mitid"],
        client=client,
        auth_time=auth_time,
    )
    audit_event_record(
        action=AuditAction.LOGIN,
        outcome="ok",
        actor=client.client_id,
        agency_id=authentication.agency_id,
        subject=f"identity:{record.pk}",
        ip=ip or None,
        details={"idp": IdentityProvider.MITID, "loa": identity.loa, "decision": decision.kind},
    )
    return MitIDLoginOutcome(decision=decision, user=record.user, authentication=authentication)


@transaction.atomic
def authentications_purge(*, older_than: dt.timedelta, in_use: QuerySet[Any, Any]) -> int:
    """Delete login records older than this, except those ``in_use`` (a query of their pks).

    Which logins are still in use (a live refresh token's family) is the OpenID Connect
    provider's to say: this layer does not know its tokens.
    """
    stale = Authentication.objects.filter(created_at__lt=timezone.now() - older_than).exclude(
        pk__in=in_use
    )
    deleted, _by_model = stale.delete()
    return deleted

"""Reads for the login journey: which recent login of this browser may answer a request."""

from __future__ import annotations

import time
from dataclasses import replace

from django.contrib.sessions.backends.base import SessionBase
from django.db import connection

from biblogin.borrowercheck.services import borrower_check_registry
from biblogin.common.assurance import acr_satisfies
from biblogin.common.models import User
from biblogin.common.plain_rows import Rows
from biblogin.login.constants import IdentityProvider
from biblogin.login.journey import LoginRequest, recent_logins
from biblogin.login.models import Authentication, Identity
from biblogin.login.policy import ClientPolicy
from biblogin.registry import selectors as registry
from biblogin.registry.models import Agency, Branch

_LOGIN = Rows(Authentication, "a")
_IDENTITY = Rows(Identity, "i")
_USER = Rows(User, "u")


def _identity_with_user(row: tuple[object, ...]) -> Identity:
    identity = _IDENTITY.build(row[: _IDENTITY.width])
    identity.user = _USER.build(row[_IDENTITY.width :])
    return identity


def _login_with_identity(where: str, params: list[int]) -> Authentication | None:
    """A login with its identity and user: ``select_related("identity__user")`` in plain SQL
    (the ORM spent ~0.5 ms of CPU compiling it, twice per login flow; issue 14)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_LOGIN.columns()}, {_IDENTITY.columns()}, {_USER.columns()} "  # noqa: S608
            f"FROM {_LOGIN.table()} JOIN {_IDENTITY.table()} ON i.id = a.identity_id "
            f"JOIN {_USER.table()} ON u.id = i.user_id WHERE {where}",
            params,
        )
        row = cursor.fetchone()
    if row is None:
        return None
    authentication = _LOGIN.build(row[: _LOGIN.width])
    authentication.identity = _identity_with_user(row[_LOGIN.width :])
    return authentication


def identity_by_key(*, key: str) -> Identity | None:
    """The identity with this natural key, and its user (one plain statement)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_IDENTITY.columns()}, {_USER.columns()} "  # noqa: S608
            f"FROM {_IDENTITY.table()} JOIN {_USER.table()} ON u.id = i.user_id "
            "WHERE i.key = %s",
            [key],
        )
        row = cursor.fetchone()
    return _identity_with_user(row) if row is not None else None


def recent_login_pick(
    *, session: SessionBase, client: ClientPolicy, login_request: LoginRequest
) -> Authentication | None:
    """R-LOGIN-11: the newest login of this browser that satisfies the request, if any.

    Reused only when its identity provider is allowed, the requested ``agency`` is the one
    logged in at, there is no ``prompt=login``, and ``max_age`` and ``acr_values`` are met (a
    MitID login within ``max_age`` counts for Substantial). A library login is reused only
    while the library still lets this client's service requester in (R-VIP-4, R-VIP-11).
    """
    if login_request.force or login_request.max_age == 0:
        return None
    now = time.time()
    for entry in recent_logins(session=session):
        if entry.idp not in login_request.idps:
            continue
        if login_request.agency and entry.agency != login_request.agency:
            continue
        if login_request.max_age is not None and now - entry.t > login_request.max_age:
            continue
        if not acr_satisfies(entry.acr, login_request.min_acr):
            continue
        if entry.idp == IdentityProvider.BORCHK:
            # The borrower check's registry rules, as a new library login would meet them.
            verdict = borrower_check_registry(
                service_requester=client.service_requester, agency_id=entry.agency
            )
            if verdict.status is not None:
                continue
        authentication = (
            _login_with_identity("a.id = %s AND i.user_id = %s", [entry.a, entry.u])
            if isinstance(entry.a, int) and isinstance(entry.u, int)
            else None
        )
        if authentication is not None and authentication.identity.user.is_active:
            return authentication
    return None


def authentication_get(*, pk: object) -> Authentication | None:
    if not isinstance(pk, int) or isinstance(pk, bool):
        return None
    return _login_with_identity("a.id = %s", [pk])


def login_request_resolve_branches(*, login_request: LoginRequest) -> LoginRequest:
    """Let ``agency``/``presel`` name a branch: the login is then at its agency, from it."""
    resolved = login_request
    if resolved.agency and registry.agency_get(agency_id=resolved.agency) is None:
        branch = registry.branch_get(branch_id=resolved.agency)
        if branch is not None:
            resolved = replace(resolved, agency=branch.agency.agency_id, branch=branch.branch_id)
    if resolved.presel and registry.agency_get(agency_id=resolved.presel) is None:
        branch = registry.branch_get(branch_id=resolved.presel)
        if branch is not None:
            resolved = replace(resolved, presel=branch.agency.agency_id)
    return resolved


def library_contact_get(*, agency: Agency) -> Branch | None:
    """Where a user who forgot the PIN turns: the main branch (same number), else the first
    branch with a web site or an e-mail address."""
    branches = [b for b in agency.branches.all() if b.website or b.email]
    main = [b for b in branches if b.branch_id == agency.agency_id]
    found = main or branches
    return found[0] if found else None

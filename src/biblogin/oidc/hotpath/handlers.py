"""The token endpoint (code and refresh grants) and userinfo of the lean path.

Each step is the one oauthlib and django-oauth-toolkit take, in their order, with the
project's validator rules (``biblogin.oidc.validators``): the same errors in the same cases,
the same rows in DOT's tables. Where a handler returns None it declines: nothing has been
written, and Django's handler answers the request instead.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import time
import uuid
from typing import Any

from django.db import connection, transaction
from oauth2_provider.models import get_refresh_token_model
from oauth2_provider.settings import oauth2_settings

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.oidc import claims as oidc_claims
from biblogin.oidc.claims import ClaimReads
from biblogin.oidc.hotpath import store
from biblogin.oidc.hotpath.claim_reads import READS, reads_for
from biblogin.oidc.hotpath.entry import Answer, TokenRequest, UserinfoRequest
from biblogin.oidc.hotpath.tokens import (
    checksum,
    client_secret_matches,
    id_token_sign,
    random_token,
    token_hash,
)

log = logging.getLogger(__name__)

_NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
_INVALID_TOKEN_DESCRIPTION = (
    "The access token provided is expired, revoked, malformed, or invalid for other reasons."
)


def _error(status: int, error: str, description: str | None = None) -> Answer:
    body: dict[str, Any] = {"error": error}
    if description:
        body["error_description"] = description
    headers = list(_NO_STORE)
    if status == 401:
        challenge = f'Bearer error="{error}"'
        if description:
            challenge += f', error_description="{description}"'
        headers.append(("WWW-Authenticate", challenge))
    return Answer(status=status, body=body, headers=headers)


def _invalid_client() -> Answer:
    return _error(401, "invalid_client")


def _invalid_grant() -> Answer:
    return _error(400, "invalid_grant")


def _authenticated_client(
    request: TokenRequest, refresh: list[store.RefreshRow | None]
) -> store.ClientRow | Answer | None:
    """RFC 6749 §2.3.1 as DOT does it: HTTP Basic, else client_id (+ secret) in the body.

    For a refresh grant the client's statement also reads the refresh token (into
    ``refresh``), which is looked at only once the client is authenticated.
    """
    if request.basic is not None:
        client_id, secret = request.basic
    else:
        client_id, secret = request.params["client_id"], request.params.get("client_secret", "")
    if len(client_id) > 100 or len(secret) > 255:
        return None  # the hostile-input middleware's own answer
    if "://" in client_id:
        return None  # a client ID metadata document: DOT's look-up
    if request.params["grant_type"] == "refresh_token":
        client, row = store.client_refresh_get(client_id, checksum(request.params["refresh_token"]))
        refresh.append(row)
    else:
        client = store.client_get(client_id)
    if client is None or not client.is_active:
        return _invalid_client()
    if client.client_type == "public":
        if secret:
            return None  # a public client presenting a secret: DOT's rules
        return client
    if client.client_type != "confidential" or not secret:
        return _invalid_client()
    if not client_secret_matches(client_pk=client.pk, provided=secret, stored=client.client_secret):
        return _invalid_client()
    return client


def token_answer(request: TokenRequest) -> Answer | None:
    with store.one_cursor():
        return _token_answer(request)


def _token_answer(request: TokenRequest) -> Answer | None:
    refresh: list[store.RefreshRow | None] = []
    client = _authenticated_client(request, refresh)
    if client is None or isinstance(client, Answer):
        return client
    if request.params["grant_type"] == "authorization_code":
        return _code_grant(request.params, client)
    return _refresh_grant(request.params, client, refresh[0])


# --- authorization code -----------------------------------------------------------------


def _pkce_ok(challenge: str, method: str, verifier: str) -> bool:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=") == challenge
    return method == "plain" and verifier == challenge


def _code_grant(params: dict[str, str], client: store.ClientRow) -> Answer | None:
    code = params["code"]
    grant = store.code_get(code)
    if grant is not None and grant.resource:
        return None  # RFC 8707 resource narrowing: DOT's code
    if grant is None or grant.application_id != client.pk:
        return _invalid_grant()
    now = dt.datetime.now(dt.UTC)
    # R-LOGIN-1: spend the code atomically, before any other check (as the validator does).
    if not store.code_spend(pk=grant.pk, now=now):
        _code_replayed(grant_pk=grant.pk, client_id=client.client_id)
        return _invalid_grant()
    if now >= grant.expires or grant.authentication_id is None:
        return _invalid_grant()
    verifier = params.get("code_verifier")
    # PKCE S256 (R-LOGIN-1; DOT's PKCE_REQUIRED): no code without a challenge and its verifier.
    if grant.code_challenge:
        if verifier is None:
            return _error(400, "invalid_request", "Code verifier required.")
        if not grant.code_challenge_method:
            return _error(400, "invalid_grant", "Challenge method not found")
        if grant.code_challenge_method not in ("S256", "plain"):
            return _error(400, "invalid_grant")
        if not _pkce_ok(grant.code_challenge, grant.code_challenge_method, verifier):
            return _invalid_grant()
    else:
        if verifier is None:
            return _error(400, "invalid_request", "Code verifier required.")
        return _error(400, "invalid_grant", "Challenge not found")
    # RFC 6749 §4.1.3, RFC 9700 §4.1.3: the redirect URI of the request, exactly.
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None or redirect_uri != grant.redirect_uri:
        return _error(400, "invalid_request", "Mismatching redirect URI.")
    authentication = store.authentication_get(grant.authentication_id)
    if authentication is None:
        return _invalid_grant()
    scopes = grant.scope.split(" ")
    return _issue(
        client=client,
        user_id=grant.user_id,
        authentication=authentication,
        scopes=scopes,
        subject=None,
        nonce=grant.nonce or None,
        previous=None,
        code_pk=grant.pk,
        reads=READS,
    )


def _code_replayed(*, grant_pk: int, client_id: str) -> None:
    """RFC 6749 §4.1.2: revoke what the first redemption of a replayed code gave."""
    family = store.code_family(pk=grant_pk)
    if family:
        get_refresh_token_model().revoke_family(family)
    audit_event_record(
        action=AuditAction.OIDC_CODE_REPLAYED,
        outcome="tokens_revoked" if family else "refused",
        actor=client_id,
    )


# --- refresh token ----------------------------------------------------------------------


def _refresh_grant(
    params: dict[str, str], client: store.ClientRow, row: store.RefreshRow | None
) -> Answer | None:
    """``row``: the refresh token as DOT looks it up, read with the client."""
    if (
        oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS
        or not oauth2_settings.ROTATE_REFRESH_TOKEN
    ):
        return None  # a grace period or no rotation: DOT's code (the policy has neither)
    digest = checksum(params["refresh_token"])
    if row is not None and row.revoked is None and row.resource:
        return None  # RFC 8707 resources on the grant: DOT's code
    if row is None:
        return _invalid_grant()
    now = dt.datetime.now(dt.UTC)
    if row.revoked is not None:
        # RFC 9700 §4.14.2: a rotated token presented again; no grace period (policy).
        _refresh_reused(row.token_family, client.client_id)
        return _invalid_grant()
    expire = oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS
    if row.access_token_id is None or (
        expire and row.access_expires is not None and row.access_expires + _delta(expire) <= now
    ):
        _log_refresh_refusal(digest, client.client_id)
        return _invalid_grant()
    if row.application_id != client.pk:
        return _invalid_grant()
    if row.token_family is None or row.grant is None:
        return _invalid_grant()
    subject, authentication, facts = row.grant
    return _issue(
        client=client,
        user_id=row.user_id,
        authentication=authentication,
        scopes=row.access_scope.split(),
        subject=subject or None,
        nonce=None,
        previous=row,
        code_pk=None,
        reads=reads_for(authentication, facts),
    )


def _delta(seconds: Any) -> dt.timedelta:
    return seconds if isinstance(seconds, dt.timedelta) else dt.timedelta(seconds=int(seconds))


def _refresh_reused(token_family: uuid.UUID | None, client_id: str) -> None:
    if oauth2_settings.REFRESH_TOKEN_REUSE_PROTECTION and token_family:
        get_refresh_token_model().revoke_family(token_family)
    audit_event_record(
        action=AuditAction.OIDC_REFRESH_TOKEN_REUSED, outcome="family_revoked", actor=client_id
    )


def _log_refresh_refusal(digest: str, client_id: str) -> None:
    if store.revoked_refresh_token_exists(digest):
        audit_event_record(
            action=AuditAction.OIDC_REFRESH_TOKEN_REUSED, outcome="family_revoked", actor=client_id
        )


# --- issuing ----------------------------------------------------------------------------


def _issue(
    *,
    client: store.ClientRow,
    user_id: int,
    authentication: store.LoginRow,
    scopes: list[str],
    subject: str | None,
    nonce: str | None,
    previous: store.RefreshRow | None,
    code_pk: int | None,
    reads: ClaimReads,
) -> Answer:
    """Sign the ID token, then write every row in one transaction (rotation included)."""
    access = random_token()
    refresh = random_token()
    access_seconds = int(oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
    now = dt.datetime.now(dt.UTC)
    scope = " ".join(scopes)
    body: dict[str, Any] = {
        "access_token": access,
        "expires_in": access_seconds,
        "token_type": "Bearer",
        "scope": scope,
        "refresh_token": refresh,
    }
    claims = oidc_claims.claims_for(
        authentication=authentication,
        client=client,
        scopes=scopes if "openid" in scopes else [],
        subject=subject,
        reads=reads,
    )
    jti = uuid.uuid4()
    id_expires = now + dt.timedelta(seconds=int(oauth2_settings.ID_TOKEN_EXPIRE_SECONDS))
    if "openid" in scopes:
        id_token: dict[str, Any] = {"aud": client.client_id, "iat": int(time.time())}
        if nonce is not None:
            id_token["nonce"] = nonce
        id_token["at_hash"] = token_hash(access)
        id_token.update(claims)
        id_token.update(
            {
                "iss": oauth2_settings.OIDC_ISS_ENDPOINT,
                "exp": int(id_expires.timestamp()),
                "auth_time": int(authentication.auth_time.timestamp()),
                "jti": str(jti),
            }
        )
        body["id_token"] = id_token_sign(id_token)
    if previous is not None and connection.vendor == "postgresql":
        # One statement, one round trip: the same rows as the statements below. A single
        # statement is atomic by itself (PostgreSQL), so no BEGIN and COMMIT round trips:
        # in autocommit it is its own transaction, inside a caller's it is part of that.
        rotated = store.refresh_rotate_in_one(
            previous_pk=previous.pk,
            previous_access_id=previous.access_token_id,
            user_id=user_id,
            application_id=client.pk,
            jti=jti if "openid" in scopes else None,
            id_expires=id_expires,
            access_checksum=checksum(access),
            access_expires=now + dt.timedelta(seconds=access_seconds),
            refresh_checksum=checksum(refresh),
            token_family=previous.token_family or uuid.uuid4(),
            scope=scope,
            now=now,
        )
        if not rotated:
            _refresh_reused(previous.token_family, client.client_id)
            return _invalid_grant()
        return Answer(status=200, body=body, headers=list(_NO_STORE))
    with transaction.atomic():
        if previous is not None and not store.refresh_token_rotate_out(
            pk=previous.pk, access_token_id=previous.access_token_id, now=now
        ):
            # Rotated by a concurrent request a moment ago: this is a reuse (RFC 9700 §4.14.2).
            transaction.set_rollback(True)
            reused = True
        else:
            reused = False
            id_token_id = (
                store.id_token_insert(
                    user_id=user_id,
                    application_id=client.pk,
                    jti=jti,
                    expires=id_expires,
                    scope=scope,
                )
                if "openid" in scopes
                else None
            )
            access_id = store.access_token_insert(
                user_id=user_id,
                application_id=client.pk,
                checksum=checksum(access),
                id_token_id=id_token_id,
                source_refresh_token_id=previous.pk if previous is not None else None,
                expires=now + dt.timedelta(seconds=access_seconds),
                scope=scope,
            )
            family = (
                previous.token_family
                if previous is not None and previous.token_family
                else uuid.uuid4()
            )
            store.refresh_token_insert(
                user_id=user_id,
                application_id=client.pk,
                checksum=checksum(refresh),
                access_token_id=access_id,
                token_family=family,
            )
            if previous is None:
                store.family_insert(
                    token_family=family,
                    authentication_id=authentication.pk,
                    client_pk=client.pk,
                    subject=str(claims["sub"]),
                )
                if code_pk is not None:
                    store.code_link_family(pk=code_pk, token_family=family)
    if reused:
        assert previous is not None
        _refresh_reused(previous.token_family, client.client_id)
        return _invalid_grant()
    return Answer(status=200, body=body, headers=list(_NO_STORE))


# --- userinfo ---------------------------------------------------------------------------


def userinfo_answer(request: UserinfoRequest) -> Answer | None:
    with store.one_cursor():
        return _userinfo_answer(request)


def _userinfo_answer(request: UserinfoRequest) -> Answer | None:
    token = store.access_token_get(checksum(request.token))
    if token is not None and token.resource:
        return None  # RFC 8707 audience checks: DOT's code
    invalid = _error(401, "invalid_token", _INVALID_TOKEN_DESCRIPTION)
    if (
        token is None
        or token.expires is None
        or dt.datetime.now(dt.UTC) >= token.expires
        or "openid" not in token.scope.split()
    ):
        return invalid
    if token.client is not None and not token.client.is_active:
        return invalid
    if token.client is None:
        return None  # a token without a client: DOT's rules
    if token.grant is None:
        return invalid
    subject, authentication, facts = token.grant
    claims = oidc_claims.claims_for(
        authentication=authentication,
        client=token.client,
        scopes=token.scope.split(),
        subject=subject or None,
        reads=reads_for(authentication, facts),
    )
    return Answer(status=200, body=claims)

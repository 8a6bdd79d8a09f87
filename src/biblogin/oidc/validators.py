"""The one oauthlib request validator of the login platform (django-oauth-toolkit subclass).

It only binds DOT to our records: which login a code or token belongs to, the claims, the
signing keys, and spending codes once. The rules themselves live in services and claims.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from jwcrypto import jws
from oauth2_provider import cimd
from oauth2_provider.bcp import bcp_compliant
from oauth2_provider.models import (
    get_access_token_model,
    get_refresh_token_model,
    refresh_token_expire_timedelta,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request as OauthlibRequest
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors
from oauthlib.oauth2.rfc6749 import utils as oauth2_utils

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.common.plain_rows import Rows
from biblogin.login.models import Authentication
from biblogin.oidc import claims as oidc_claims
from biblogin.oidc.keys import verification_key
from biblogin.oidc.models import AuthorizationCode, Client, TokenFamily

log = logging.getLogger(__name__)

# --- what this validator takes from django-oauth-toolkit beyond its public hooks --------------
# Copies of DOT code, each made from this DOT version: ours -> (DOT's method, sha256 of the
# source of DOT's method). tests/oidc/test_dot_copies.py fails as soon as the installed DOT is
# another version or its method changed: then compare, and redo the copy (or drop it).
DOT_COPIED_FROM_VERSION = "3.4.1"
DOT_COPIES: dict[str, tuple[str, str]] = {
    # The code row with its login in one INSERT (it was an INSERT and an UPDATE).
    "_create_authorization_code": (
        "_create_authorization_code",
        "6aa66b1d03974f3e4c4af72beb3c9b02dec3b16c78dd73f3a831633878577338",
    ),
    # Reuse detection (RFC 9700 §4.14.2), grace period, expiry: one query for token and user.
    "_refresh_token_check": (
        "validate_refresh_token",
        "50e7ceb3ce23bfecfd26257cb834b5602343a32f65cef7e1c614af4992d31cbc",
    ),
    # RFC 8707 resource narrowing for the code grant, with the code row already read.
    "_check_and_set_request_resource": (
        "_check_and_set_request_resource",
        "83be546872406c2c6f150743dd9412b7280bd5986efe138b314af409e58e1c36",
    ),
}
# Private DOT methods overridden here, and why (DOT may rename or drop them in any release;
# the test checks that each still exists on DOT's OAuth2Validator and that none is missing here).
DOT_PRIVATE_OVERRIDES: dict[str, str] = {
    "_create_authorization_code": "link the code to the login (Authentication) it answers",
    "_check_and_set_request_resource": "RFC 8707 narrowing without reading the code row again",
    "_create_refresh_token": "start the token family: login, client and fixed ``sub``",
    "_create_access_token": "hand DOT the ID token this request just signed (no re-read)",
    "_load_id_token": "the ID token of this request from memory, else DOT's read",
    "_get_key_for_token": "verify by the token's ``kid``: signing keys rotate",
    "_load_application": "the client row in one plain statement, then judged by DOT's own",
}


def token_family_for_access_token(access_token: Any) -> TokenFamily | None:
    """Find the grant behind an access token through its refresh token's family."""
    # The refresh token issued with this access token, or (that one gone) the refresh token
    # it was minted from: DOT gives both the same family, so one query asks for either.
    issued_with = Q(access_token=access_token)
    if access_token.source_refresh_token_id:
        issued_with |= Q(pk=access_token.source_refresh_token_id)
    families = get_refresh_token_model().objects.filter(issued_with).values("token_family")
    return (
        TokenFamily.objects.select_related("authentication__identity")
        .filter(token_family__in=families)
        .first()
    )


# The ID token this request has just signed and stored, for DOT's _create_access_token, which
# would otherwise verify it and read it back (set only around that call; see below).
_issued_id_token: ContextVar[tuple[str, Any] | None] = ContextVar(
    "biblogin_issued_id_token", default=None
)


_CLIENT_ROWS = Rows(Client, "c")
_CODE_ROWS = Rows(AuthorizationCode, "g")


def _client_by_id(client_id: str) -> Client | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_CLIENT_ROWS.columns()} FROM {_CLIENT_ROWS.table()} "  # noqa: S608
            "WHERE c.client_id = %s",
            [client_id],
        )
        row = cursor.fetchone()
    return _CLIENT_ROWS.build(row) if row is not None else None


class BibloginOAuth2Validator(OAuth2Validator):
    # Claims are filtered by scope and by the client's allowed claims in biblogin.oidc.claims.
    oidc_claim_scope = None

    def _load_application(self, client_id: Any, request: OauthlibRequest) -> Client | None:
        """DOT's look-up of the client, the row read with one plain statement (issue 14).

        Both authorization requests of a login load the client; the ORM spent ~0.5 ms of CPU
        compiling that query. The row becomes ``request.client`` and DOT's own method then
        judges it as a loaded client (same client_id, ``is_usable``); a client not found here
        is left to DOT (its error path, and Client ID Metadata Documents).
        """
        if not request.client and isinstance(client_id, str) and "\x00" not in client_id:
            found = _client_by_id(client_id)
            if found is not None:
                request.client = cimd.refresh_if_stale(found, request=request)
        loaded: Client | None = super()._load_application(client_id, request)
        return loaded

    # --- authorization endpoint -------------------------------------------------------------

    def validate_silent_login(self, request: OauthlibRequest) -> bool:
        # prompt=none is decided by the authorization view, which knows the browser session.
        return True

    def validate_silent_authorization(self, request: OauthlibRequest) -> bool:
        # Consent is never asked: every client is registered by staff (first party).
        return True

    def validate_user_match(
        self, id_token_hint: Any, scopes: Any, claims: Any, request: OauthlibRequest
    ) -> bool:
        return True

    def _create_authorization_code(
        self, request: OauthlibRequest, code: dict[str, str], expires: Any = None
    ) -> AuthorizationCode:
        """DOT's code row, linked to the login (Authentication) it answers, in one INSERT.

        A copy of DOT's method (``DOT_COPIES``: guarded by a test) with ``authentication_id``
        in the INSERT: DOT's own wrote the row and then this override updated it (issue 14).
        """
        if not expires:
            expires = timezone.now() + timedelta(
                seconds=oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS
            )
        # From here as DOT 3.4.1 does: RFC 9700 §2.1.1 / RFC 7636 §4.2, "plain" refused.
        if request.code_challenge_method == "plain" and bcp_compliant(
            "COMPLIANT_BCP_RFC9700_PKCE_METHOD",
            'The PKCE "plain" code_challenge_method',
        ):
            raise oauth2_errors.InvalidRequestError(
                description='Unsupported "plain" code_challenge_method; use "S256".',
                request=request,
            )
        resource = getattr(request, "resource", [])  # RFC 8707
        # One plain INSERT (the ORM's save cost ~0.5 ms of CPU; issue 14).
        grant: AuthorizationCode = _CODE_ROWS.insert(
            AuthorizationCode(
                application=request.client,
                user=request.user,
                code=code["code"],
                expires=expires,
                redirect_uri=request.redirect_uri,
                scope=" ".join(request.scopes),
                code_challenge=request.code_challenge or "",
                code_challenge_method=request.code_challenge_method or "",
                nonce=request.nonce or "",
                claims=json.dumps(request.claims or {}),
                resource=resource,
                authentication_id=getattr(request, "authentication_id", None),
            )
        )
        return grant

    # --- token endpoint ---------------------------------------------------------------------

    def _code_row(self, request: OauthlibRequest, code: Any) -> AuthorizationCode | None:
        """Return the row of ``code``, read once per token request.

        oauthlib and DOT ask for the code's scopes, nonce, PKCE challenge and method, redirect
        URI and resource in separate calls, and DOT reads the row again for each. Kept on the
        oauthlib request only, so never across requests; what is read from it never changes
        (``used_at`` is decided by the UPDATE in ``validate_code``, not by this copy).
        """
        memo: tuple[Any, AuthorizationCode | None] | None = getattr(
            request, "biblogin_code_row", None
        )
        if memo is None or memo[0] != code:
            memo = (
                code,
                AuthorizationCode.objects.select_related("authentication__identity", "user")
                .filter(code=code)
                .first(),
            )
            request.biblogin_code_row = memo
        return memo[1]

    def _client_code_row(
        self, request: OauthlibRequest, code: Any, client: Any
    ) -> AuthorizationCode | None:
        """Return the row of ``code`` if it was issued to ``client`` (as DOT's look-ups)."""
        row = self._code_row(request, code)
        if row is None or not isinstance(client, Client) or row.application_id != client.pk:
            return None
        return row

    def get_authorization_code_scopes(
        self, client_id: str, code: str, redirect_uri: str, request: OauthlibRequest
    ) -> list[str]:
        row = self._code_row(request, code)
        if row is not None and row.scope:
            scopes: list[str] = oauth2_utils.scope_to_list(row.scope)
            return scopes
        return []

    def validate_code(
        self,
        client_id: str,
        code: str,
        client: Client,
        request: OauthlibRequest,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        """R-LOGIN-1: a code is valid once, for its own client, within its lifetime."""
        if not isinstance(code, str) or not code:
            return False
        grant = self._client_code_row(request, code, client)
        if grant is None:
            return False
        now = timezone.now()
        # Spend the code atomically: of two concurrent redemptions only one wins.
        spent = AuthorizationCode.objects.filter(pk=grant.pk, used_at__isnull=True).update(
            used_at=now
        )
        if not spent:
            self._code_replayed(grant, client)
            return False
        grant.used_at = now
        if grant.is_expired() or grant.authentication is None:
            return False
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        request.authentication = grant.authentication
        request.authorization_code_row = grant
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            try:
                request.claims = json.loads(grant.claims)
            except ValueError:
                request.claims = {}
        return True

    def get_code_challenge(self, code: str, request: OauthlibRequest) -> str | None:
        grant = self._client_code_row(request, code, request.client)
        if grant is None:
            return super().get_code_challenge(code, request)
        return grant.code_challenge or None

    def get_code_challenge_method(self, code: str, request: OauthlibRequest) -> str | None:
        grant = self._client_code_row(request, code, request.client)
        if grant is None:
            return super().get_code_challenge_method(code, request)
        return grant.code_challenge_method or None

    def confirm_redirect_uri(
        self,
        client_id: str,
        code: str,
        redirect_uri: str,
        client: Client,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        request = args[0] if args else kwargs.get("request")
        grant = self._client_code_row(request, code, client) if request is not None else None
        if grant is None:
            return super().confirm_redirect_uri(
                client_id, code, redirect_uri, client, *args, **kwargs
            )
        if grant.redirect_uri and getattr(request, "using_default_redirect_uri", False):
            # RFC 6749 §4.1.3: the authorization request named a redirect URI, so the token
            # request must repeat it; oauthlib would fill in the registered default.
            return False
        return grant.redirect_uri_allowed(redirect_uri)

    def get_authorization_code_nonce(
        self, client_id: str, code: str, redirect_uri: str, request: OauthlibRequest
    ) -> str | None:
        row = self._code_row(request, code)
        return (row.nonce or None) if row is not None else None

    def _check_and_set_request_resource(self, request: OauthlibRequest) -> None:
        """RFC 8707: DOT's resource handling, with the code's row this request already read.

        A copy of DOT's method for the code grant (``DOT_COPIES``: guarded by a test).
        """
        grant = None
        if request.grant_type == "authorization_code":
            grant = self._client_code_row(request, request.code, request.client)
        if grant is None:
            super()._check_and_set_request_resource(request)
            return
        # From here as DOT 3.4.1 does for the authorization code grant.
        resource = getattr(request, "resource", None)
        # oauthlib keeps only the last of repeated body parameters; RFC 8707 allows several.
        if isinstance(resource, str):
            body_values = [
                value
                for key, value in (getattr(request, "decoded_body", None) or [])
                if key == "resource"
            ]
            if len(body_values) > 1:
                resource = body_values
        if isinstance(resource, list):
            request.resource = resource or []
        elif resource and isinstance(resource, str) and resource.strip():
            request.resource = [resource]
        else:
            request.resource = []
        self._validate_resource_uris(request, request.resource)
        grant_resource = grant.resource or []
        if request.resource and grant_resource:
            # A token request may narrow the granted resources, never widen them.
            for res in request.resource:
                if res not in grant_resource:
                    raise oauth2_errors.CustomOAuth2Error(
                        error="invalid_target",
                        description=(
                            f"The requested resource '{res}' is not allowed. "
                            "Token request cannot escalate resource permissions beyond the "
                            "original authorization grant"
                        ),
                        request=request,
                    )
        elif grant_resource:
            self._validate_resource_uris(request, grant_resource)
            request.resource = grant_resource

    def _code_replayed(self, grant: AuthorizationCode, client: Client) -> None:
        """RFC 6749 §4.1.2: revoke what the first redemption of a replayed code gave."""
        family = (
            AuthorizationCode.objects.filter(pk=grant.pk)
            .values_list("token_family", flat=True)
            .first()
        )
        if family:
            get_refresh_token_model().revoke_family(family)
        audit_event_record(
            action=AuditAction.OIDC_CODE_REPLAYED,
            outcome="tokens_revoked" if family else "refused",
            actor=client.client_id,
        )

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: OauthlibRequest, *args: Any, **kwargs: Any
    ) -> None:
        # The code was spent in validate_code; it is kept (marked) until it expires so that
        # a replay is recognised. Nothing more to do.
        return None

    def _create_refresh_token(
        self,
        request: OauthlibRequest,
        refresh_token_code: str,
        access_token: Any,
        previous_refresh_token: Any,
    ) -> Any:
        refresh_token = super()._create_refresh_token(
            request, refresh_token_code, access_token, previous_refresh_token
        )
        if previous_refresh_token is None:
            authentication = getattr(request, "authentication", None)
            if authentication is not None:
                subject = (
                    getattr(request, "token_subject", None)
                    or (
                        # No ID token was made (no ``openid`` scope): fix the sub now all the same.
                        oidc_claims.claims_for(
                            authentication=authentication, client=request.client, scopes=[]
                        )["sub"]
                    )
                )
                TokenFamily.objects.create(
                    token_family=refresh_token.token_family,
                    authentication=authentication,
                    client=request.client,
                    subject=subject,
                )
            grant = getattr(request, "authorization_code_row", None)
            if grant is not None:
                AuthorizationCode.objects.filter(pk=grant.pk).update(
                    token_family=refresh_token.token_family
                )
        return refresh_token

    def validate_refresh_token(
        self,
        refresh_token: str,
        client: Client,
        request: OauthlibRequest,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        if not isinstance(refresh_token, str) or not refresh_token:
            return False
        with transaction.atomic():
            valid = self._refresh_token_check(refresh_token, client, request)
        if not valid:
            instance = getattr(request, "refresh_token_instance", None)
            if instance is None:
                # Look for a replayed (revoked) token to log reuse detection (RFC 9700 §4.14.2).
                self._log_refresh_refusal(refresh_token, client)
            return False
        family = request.refresh_token_instance.token_family
        row = (
            TokenFamily.objects.select_related("authentication__identity")
            .filter(token_family=family)
            .first()
        )
        if row is None or not client.is_usable(request):
            return False
        request.authentication = row.authentication
        request.token_subject = row.subject or None
        return True

    def _refresh_token_check(
        self, refresh_token: str, client: Client, request: OauthlibRequest
    ) -> bool:
        """DOT 3.4.1's ``validate_refresh_token``, reading the token and its user at once.

        DOT reads the token, then its user, then the client again only to compare it with the
        client this request authenticated; here the user comes in the same query and the client
        is compared by key. Everything else (reuse protection, expiry) is DOT's, step by step.
        A copy (``DOT_COPIES``: a test fails when the installed DOT's method differs).
        """
        refresh_model = get_refresh_token_model()
        checksum = hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()
        # Several rows may share a checksum: the unrevoked one first, else the latest revoked.
        rt = (
            refresh_model.objects.filter(token_checksum=checksum)
            .select_related("access_token", "user")
            .order_by(F("revoked").desc(nulls_first=True))
            .first()
        )
        if not rt:
            return False
        if rt.revoked is not None:
            grace_expired = rt.revoked <= timezone.now() - timedelta(
                seconds=oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS
            )
            # A token that was revoked rather than rotated (never minted a successor) is dead.
            superseded = get_access_token_model().objects.filter(source_refresh_token=rt).exists()
            if grace_expired or not superseded:
                if oauth2_settings.REFRESH_TOKEN_REUSE_PROTECTION and rt.token_family:
                    refresh_model.revoke_family(rt.token_family)
                return False
        if rt.revoked is None:
            if rt.access_token is None:
                return False  # an orphan: nothing left to refresh
            expire_delta = refresh_token_expire_timedelta()
            if expire_delta and rt.access_token.expires + expire_delta <= timezone.now():
                return False
        request.user = rt.user
        request.refresh_token = refresh_token
        request.refresh_token_instance = rt
        return isinstance(client, Client) and rt.application_id == client.pk

    def _log_refresh_refusal(self, refresh_token: str, client: Client) -> None:
        checksum = hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()
        revoked = (
            get_refresh_token_model()
            .objects.filter(token_checksum=checksum, revoked__isnull=False)
            .exists()
        )
        if revoked:
            audit_event_record(
                action=AuditAction.OIDC_REFRESH_TOKEN_REUSED,
                outcome="family_revoked",
                actor=getattr(client, "client_id", ""),
            )

    # --- ID token and userinfo --------------------------------------------------------------

    def get_claim_dict(self, request: OauthlibRequest) -> dict[str, Any]:
        authentication = getattr(request, "authentication", None)
        if authentication is None:
            raise oauth2_errors.InvalidGrantError(request=request)
        claims = oidc_claims.claims_for(
            authentication=authentication,
            client=request.client,
            scopes=list(request.scopes or []),
            subject=getattr(request, "token_subject", None),
        )
        # Kept for the token family created next, so refreshes repeat this ``sub``.
        request.token_subject = claims["sub"]
        return claims

    def get_discovery_claims(self, request: Any) -> list[str]:
        return oidc_claims.claims_supported()

    def get_oidc_claims(self, token: Any, token_handler: Any, request: OauthlibRequest) -> Any:
        return self.get_claim_dict(request)

    def get_userinfo_claims(self, request: OauthlibRequest) -> Any:
        family = token_family_for_access_token(request.access_token)
        if family is None:
            # The token outlived its login record: it can no longer say who the user is.
            raise oauth2_errors.InvalidTokenError(request=request)
        request.authentication = family.authentication
        request.token_subject = family.subject or None
        request.client = request.access_token.application
        request.scopes = request.access_token.scope.split()
        return self.get_claim_dict(request)

    def finalize_id_token(
        self, id_token: Any, token: Any, token_handler: Any, request: OauthlibRequest
    ) -> str:
        signed: str = super().finalize_id_token(id_token, token, token_handler, request)
        # DOT stored the row as ``request.id_token``; _create_access_token links it below.
        request.biblogin_issued_id_token = (signed, request.id_token)
        return signed

    def _create_access_token(
        self,
        expires: Any,
        request: OauthlibRequest,
        token: Any,
        source_refresh_token: Any = None,
    ) -> Any:
        # DOT verifies the ID token it is handed and reads its row back by ``jti``: this
        # request has just signed and stored it, so _load_id_token gets it from here.
        reset = _issued_id_token.set(getattr(request, "biblogin_issued_id_token", None))
        try:
            return super()._create_access_token(expires, request, token, source_refresh_token)
        finally:
            _issued_id_token.reset(reset)

    def _load_id_token(self, token: Any) -> Any:
        issued = _issued_id_token.get()
        if issued is not None and issued[0] == token:
            return issued[1]
        return super()._load_id_token(token)

    def get_id_token_dictionary(
        self, token: Any, token_handler: Any, request: OauthlibRequest
    ) -> tuple[dict[str, Any], dt.datetime]:
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        authentication: Authentication = request.authentication
        # The time of the login behind this code or token family, not of the Django user.
        claims["auth_time"] = int(authentication.auth_time.timestamp())
        return claims, expiration_time

    def _get_key_for_token(self, token: Any) -> Any:
        """Pick the published key named by the token's ``kid`` (keys rotate)."""
        try:
            unverified = jws.JWS()
            unverified.deserialize(token)
            header = unverified.jose_header
            payload = json.loads(unverified.objects["payload"].decode("utf-8"))
        except Exception:  # any malformed token is simply not ours
            return None
        if not isinstance(header, dict) or header.get("alg") != "RS256":
            return None
        if not isinstance(payload, dict) or "aud" not in payload:
            return None
        return verification_key(header.get("kid"))

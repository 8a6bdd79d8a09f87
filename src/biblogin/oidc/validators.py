"""The one oauthlib request validator of the login platform (django-oauth-toolkit subclass).

It only binds DOT to our records: which login a code or token belongs to, the claims, the
signing keys, and spending codes once. The rules themselves live in services and claims.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from jwcrypto import jws
from oauth2_provider.models import get_refresh_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request as OauthlibRequest
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors

from biblogin.audit.services import audit_event_record
from biblogin.login.models import Authentication
from biblogin.oidc import claims as oidc_claims
from biblogin.oidc.keys import verification_key
from biblogin.oidc.models import AuthorizationCode, Client, TokenFamily

log = logging.getLogger(__name__)


def token_family_for_access_token(access_token: Any) -> TokenFamily | None:
    """Find the grant behind an access token through its refresh token's family."""
    refresh_model = get_refresh_token_model()
    family = (
        refresh_model.objects.filter(access_token=access_token)
        .values_list("token_family", flat=True)
        .first()
    )
    if family is None and access_token.source_refresh_token_id:
        family = (
            refresh_model.objects.filter(pk=access_token.source_refresh_token_id)
            .values_list("token_family", flat=True)
            .first()
        )
    if family is None:
        return None
    return (
        TokenFamily.objects.select_related("authentication__identity")
        .filter(token_family=family)
        .first()
    )


class BibloginOAuth2Validator(OAuth2Validator):
    # Claims are filtered by scope and by the client's allowed claims in biblogin.oidc.claims.
    oidc_claim_scope = None

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
        grant: AuthorizationCode = super()._create_authorization_code(request, code, expires)
        authentication_id = getattr(request, "authentication_id", None)
        if authentication_id is not None:
            AuthorizationCode.objects.filter(pk=grant.pk).update(
                authentication_id=authentication_id
            )
            grant.authentication_id = authentication_id
        return grant

    # --- token endpoint ---------------------------------------------------------------------

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
        grant = (
            AuthorizationCode.objects.select_related("authentication__identity", "user")
            .filter(code=code, application=client)
            .first()
        )
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
            action="oidc_code_replayed",
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
            valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
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

    def _log_refresh_refusal(self, refresh_token: str, client: Client) -> None:
        checksum = hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()
        revoked = (
            get_refresh_token_model()
            .objects.filter(token_checksum=checksum, revoked__isnull=False)
            .exists()
        )
        if revoked:
            audit_event_record(
                action="oidc_refresh_token_reused",
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

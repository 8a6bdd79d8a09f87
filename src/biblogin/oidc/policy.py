"""All django-oauth-toolkit policy of the login platform, in one place (DESIGN.md convention 7).

Imported by ``config/settings.py``; it must not import models.
"""

from __future__ import annotations

from typing import Any

APPLICATION_MODEL = "oidc.Client"
GRANT_MODEL = "oidc.AuthorizationCode"


def oauth2_provider_settings(
    *,
    issuer: str,
    access_token_seconds: int = 3600,
    id_token_seconds: int = 3600,
    refresh_token_seconds: int = 8 * 3600,
) -> dict[str, Any]:
    """Return the ``OAUTH2_PROVIDER`` setting for an issuer such as ``https://host/login``."""
    return {
        "OIDC_ENABLED": True,
        "OIDC_ISS_ENDPOINT": issuer,
        "OAUTH2_VALIDATOR_CLASS": "biblogin.oidc.validators.BibloginOAuth2Validator",
        # oauthlib's, an authorization request's query string parsed once (issue 14).
        "OIDC_SERVER_CLASS": "biblogin.oidc.server.Server",
        "SCOPES_BACKEND_CLASS": "biblogin.oidc.scopes.ClientScopes",
        "APPLICATION_ADMIN_CLASS": "biblogin.oidc.admin.ClientAdmin",
        "GRANT_ADMIN_CLASS": "biblogin.oidc.admin.AuthorizationCodeAdmin",
        # The scope backend reads these for descriptions; what a client gets is its own list.
        "SCOPES": {
            "openid": "Login",
            "profile": "Biblioteksoplysninger",
            "cpr": "CPR-nummer",
        },
        "DEFAULT_SCOPES": ["openid"],
        # R-LOGIN-1: codes live at most 60 s; PKCE (S256) for every client.
        "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
        "PKCE_REQUIRED": True,
        "ACCESS_TOKEN_EXPIRE_SECONDS": access_token_seconds,
        "ID_TOKEN_EXPIRE_SECONDS": id_token_seconds,
        # A refresh token dies this long after its access token expired (sliding window).
        "REFRESH_TOKEN_EXPIRE_SECONDS": refresh_token_seconds,
        # R-LOGIN-1: rotation with reuse detection (RFC 9700 §4.14.2); no grace period, which
        # hashed token storage could not honour anyway.
        "ROTATE_REFRESH_TOKEN": True,
        "REFRESH_TOKEN_REUSE_PROTECTION": True,
        "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
        # R-SEC-1: every RFC 9700 gate on.
        "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
        "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
        "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
        "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
        "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
        "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
        "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
        "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
        "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
        "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
        # https only; a client registering a loopback URI may use http to it (Client model).
        "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
        "ALLOW_URI_WILDCARDS": False,
        "ALLOW_LOCALHOST_LOOPBACK": False,
        "CLIENT_SECRET_HASHER": "pbkdf2_sha256_client_secret",
        "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
        "OIDC_SUBJECT_TYPES_SUPPORTED": ["public"],
        "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
        "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
        "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        # R-LOGIN-12: RP-initiated logout; the post-logout URI must be registered exactly.
        "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
        "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
        "OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS": True,
        "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": True,
        "OIDC_JWKS_MAX_AGE_SECONDS": 600,
        "REQUEST_APPROVAL_PROMPT": "auto",
    }

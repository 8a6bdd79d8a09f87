"""Domain errors of the OpenID Connect client; ``code`` is short, safe to log, never a secret.

They carry no user-facing text: each caller (the MitID broker client, the portal) turns them into
its own message.
"""

from __future__ import annotations


class OIDCError(Exception):
    """The provider's answer gave no verified login; ``code`` says why (for logs and tests)."""

    default_code = "oidc_error"

    def __init__(self, code: str | None = None) -> None:
        self.code = code or self.default_code
        super().__init__(self.code)


class OIDCStateMismatch(OIDCError):
    """The authorization response does not belong to this login (state, RFC 9207 ``iss``)."""

    default_code = "state_mismatch"


class OIDCTokenInvalid(OIDCError):
    """A token or userinfo failed validation (signature, issuer, audience, nonce, subject...)."""

    default_code = "token_invalid"


class OIDCUnavailable(OIDCError):
    """The provider did not answer in time, answered 5xx or nonsense, or refused our client."""

    default_code = "unavailable"

"""Domain errors of the MitID broker client; each carries a short message safe to show a user."""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

from biblogin.common.errors import ApplicationError


class MitIDError(ApplicationError):
    """MitID login did not give an identity; ``message`` is safe to show, ``code`` is for logs."""

    default_message = gettext_noop("Login med MitID kunne ikke gennemføres. Prøv igen.")
    default_code = "mitid_error"

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        # Translated when raised: that happens inside the request, in the user's language.
        super().__init__(
            message if message is not None else gettext(self.default_message),
            code=code or self.default_code,
        )


class MitIDCancelled(MitIDError):
    """The user cancelled at the broker (or declined consent)."""

    default_message = gettext_noop("Du afbrød login med MitID.")
    default_code = "cancelled"


class MitIDStateMismatch(MitIDError):
    """The callback does not belong to a login this browser started (or it is too old)."""

    default_message = gettext_noop("Login med MitID var udløbet eller ugyldigt. Start forfra.")
    default_code = "state_mismatch"


class MitIDTokenInvalid(MitIDError):
    """The broker's answer failed validation (signature, issuer, audience, nonce, CPR...)."""

    default_message = gettext_noop("Svaret fra MitID kunne ikke godkendes. Prøv igen.")
    default_code = "token_invalid"


class MitIDUnavailable(MitIDError):
    """The broker did not answer in time, answered with a server error, or refused our client."""

    default_message = gettext_noop("MitID kan ikke nås lige nu. Prøv igen om lidt.")
    default_code = "unavailable"


CPR_MISSING_MESSAGE = gettext_noop("MitID oplyste ikke et gyldigt CPR-nummer.")

"""What the portal tells a user when their library refuses (RefusalReason → gettext)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from biblogin.integrations.library_systems.protocol import RefusalReason, RequestRefused


def refusal_message(*, refused: RequestRefused, library: str) -> str:
    """Translate a library's refusal into a clear sentence naming the library."""
    code = refused.code
    if code == RefusalReason.NOT_RENEWABLE:
        text = _("%(library)s kan ikke forny lånet, fx fordi andre venter på det.")
    elif code == RefusalReason.BORROWER_BLOCKED:
        text = _("%(library)s har spærret dit lånerkort. Kontakt biblioteket.")
    elif code == RefusalReason.LOAN_NOT_FOUND:
        text = _("%(library)s kender ikke det lån (det er måske allerede afleveret).")
    elif code == RefusalReason.RESERVATION_NOT_FOUND:
        text = _("%(library)s kender ikke den reservering (den er måske allerede slettet).")
    elif code == RefusalReason.ALREADY_RESERVED:
        text = _("Du har allerede reserveret materialet hos %(library)s.")
    elif code == RefusalReason.MATERIAL_UNKNOWN:
        text = _("%(library)s kender ikke materialet.")
    elif code == RefusalReason.PICKUP_BRANCH_UNKNOWN:
        text = _("%(library)s kender ikke afhentningsstedet.")
    elif code == RefusalReason.INVALID_REQUEST:
        text = _("%(library)s kunne ikke forstå forespørgslen.")
    else:
        text = _("%(library)s afviste forespørgslen.")
    return text % {"library": library}

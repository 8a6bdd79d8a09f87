"""R-LOGIN-4: one clear message per borrower-check status; no codes, no stack traces."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from biblogin.borrowercheck.services import BorrowerCheckStatus


def status_message(
    status: BorrowerCheckStatus, *, library: str, client: str, user_id_label: str
) -> str:
    """The message the user sees for a borrower-check status other than ``ok``."""
    values: dict[str, Any] = {
        "library": library,
        "client": client,
        "label": _in_sentence(user_id_label),
    }
    messages = {
        BorrowerCheckStatus.SERVICE_NOT_LICENSED: _(
            "%(library)s har ikke åbnet for login til %(client)s. Vælg et andet bibliotek, "
            "eller log ind med MitID."
        ),
        BorrowerCheckStatus.SERVICE_UNAVAILABLE: _(
            "%(library)s kan ikke svare lige nu. Prøv igen om lidt."
        ),
        BorrowerCheckStatus.LIBRARY_NOT_FOUND: _(
            "Vi kan ikke finde det bibliotek. Vælg dit bibliotek igen."
        ),
        BorrowerCheckStatus.BORROWERCHECK_NOT_ALLOWED: _(
            "%(library)s tilbyder ikke login med lånerkonto her. Vælg et andet bibliotek, "
            "eller log ind med MitID."
        ),
        BorrowerCheckStatus.BORROWER_NOT_FOUND: _(
            "Vi kunne ikke logge dig ind. Tjek %(label)s og pinkode."
        ),
        BorrowerCheckStatus.BORROWER_NOT_IN_MUNICIPALITY: _(
            "Du er ikke registreret som låner med bopæl i den kommune, %(library)s dækker."
        ),
        BorrowerCheckStatus.MUNICIPALITY_CHECK_NOT_SUPPORTED_BY_LIBRARY: _(
            "%(library)s kan ikke bekræfte din bopælskommune. Kontakt biblioteket."
        ),
        BorrowerCheckStatus.NO_USER_IN_REQUEST: _("Skriv %(label)s og pinkode."),
        BorrowerCheckStatus.ERROR_IN_REQUEST: _(
            "Det, du skrev, kunne ikke bruges. Tjek %(label)s og pinkode, og prøv igen."
        ),
    }
    return messages.get(status, _("Login lykkedes ikke. Prøv igen.")) % values


def _in_sentence(label: str) -> str:
    """ "Lånernummer" reads "lånernummer" inside a sentence; "CPR-nummer" keeps its capitals."""
    if not label or label[:3].isupper():
        return label
    return label[0].lower() + label[1:]


def attempts_left_message(attempts: int) -> str:
    """R-LOGIN-5: say how many attempts are left before the login is blocked."""
    return ngettext(
        "Du har %(count)d forsøg tilbage, før login spærres i et stykke tid.",
        "Du har %(count)d forsøg tilbage, før login spærres i et stykke tid.",
        attempts,
    ) % {"count": attempts}


def wait_message(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return ngettext(
        "Prøv igen om %(minutes)d minut.", "Prøv igen om %(minutes)d minutter.", minutes
    ) % {"minutes": minutes}

"""Assurance levels (R-LOGIN-6, R-LOGIN-10): the NSIS level URIs and our PIN level, in one place.

The MitID broker client maps what a broker says onto these URIs, the login platform puts them in
``acr`` and advertises them in discovery, and the portal asks for Substantial in ``acr_values``.
"""

from __future__ import annotations

# NSIS levels of MitID logins, as published by the Danish Agency for Digitisation.
NSIS_LOW = "https://data.gov.dk/concept/core/nsis/loa/Low"
NSIS_SUBSTANTIAL = "https://data.gov.dk/concept/core/nsis/loa/Substantial"
NSIS_HIGH = "https://data.gov.dk/concept/core/nsis/loa/High"
NSIS_LEVELS: tuple[str, ...] = (NSIS_LOW, NSIS_SUBSTANTIAL, NSIS_HIGH)
# The login platform's own low level: a PIN at a library.
ACR_PIN = "urn:dk:bibliotekslogin:acr:pin"

# Every level the login platform gives in ``acr``, weakest first (discovery's acr_values_supported).
ACR_VALUES: tuple[str, ...] = (ACR_PIN, *NSIS_LEVELS)
# Ordered by strength; the PIN at a library is weaker than any MitID level.
ACR_RANK: dict[str, int] = {acr: rank for rank, acr in enumerate(ACR_VALUES)}
# What a client may write in ``acr_values`` (short names as well as the URIs).
ACR_ALIASES: dict[str, str] = {
    **{acr: acr for acr in ACR_VALUES},
    "pin": ACR_PIN,
    "low": NSIS_LOW,
    "substantial": NSIS_SUBSTANTIAL,
    "high": NSIS_HIGH,
}


def acr_satisfies(acr: str, required: str | None) -> bool:
    """Tell whether level ``acr`` meets ``required`` (None: anything does).

    An unknown ``acr`` meets nothing and an unknown ``required`` is met by nothing: never lenient.
    """
    if required is None:
        return True
    return ACR_RANK.get(acr, -1) >= ACR_RANK.get(required, len(ACR_RANK))

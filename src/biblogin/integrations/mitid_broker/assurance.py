"""NSIS assurance levels (R-LOGIN-6, R-LOGIN-10): map what a broker says onto the NSIS URIs."""

from __future__ import annotations

NSIS_LOA_LOW = "https://data.gov.dk/concept/core/nsis/loa/Low"
NSIS_LOA_SUBSTANTIAL = "https://data.gov.dk/concept/core/nsis/loa/Substantial"
NSIS_LOA_HIGH = "https://data.gov.dk/concept/core/nsis/loa/High"

NSIS_LOA_ORDER: tuple[str, ...] = (NSIS_LOA_LOW, NSIS_LOA_SUBSTANTIAL, NSIS_LOA_HIGH)

# Brokers spell the level differently: the NSIS URI, an eIDAS URI
# (http://eidas.europa.eu/LoA/substantial), a bare word, or the Danish word.
_LEVEL_WORDS: dict[str, str] = {
    "low": NSIS_LOA_LOW,
    "lav": NSIS_LOA_LOW,
    "substantial": NSIS_LOA_SUBSTANTIAL,
    "betydelig": NSIS_LOA_SUBSTANTIAL,
    "high": NSIS_LOA_HIGH,
    "høj": NSIS_LOA_HIGH,
    "hoej": NSIS_LOA_HIGH,
}


def nsis_loa_from_claim(value: object) -> str:
    """Return the NSIS level URI a broker's loa/acr value names; missing or unknown counts as Low.

    R-LOGIN-6: an unrecognised level is never read as a higher one.
    """
    if not isinstance(value, str) or len(value) > 200:
        return NSIS_LOA_LOW
    last = value.strip().rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower()
    return _LEVEL_WORDS.get(last, NSIS_LOA_LOW)


def nsis_loa_at_least(actual: str, required: str) -> bool:
    """Tell whether level ``actual`` meets ``required`` (both NSIS URIs).

    An unknown ``actual`` counts as Low, an unknown ``required`` as High: never too lenient.
    """
    rank = {uri: i for i, uri in enumerate(NSIS_LOA_ORDER)}
    return rank.get(actual, 0) >= rank.get(required, len(NSIS_LOA_ORDER) - 1)

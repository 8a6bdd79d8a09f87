"""NSIS assurance levels (R-LOGIN-6, R-LOGIN-10): map what a broker says onto the NSIS URIs.

The URIs themselves are ``biblogin.common.assurance``'s.
"""

from __future__ import annotations

from biblogin.common.assurance import NSIS_HIGH, NSIS_LOW, NSIS_SUBSTANTIAL

# Brokers spell the level differently: the NSIS URI, an eIDAS URI
# (http://eidas.europa.eu/LoA/substantial), a bare word, or the Danish word.
_LEVEL_WORDS: dict[str, str] = {
    "low": NSIS_LOW,
    "lav": NSIS_LOW,
    "substantial": NSIS_SUBSTANTIAL,
    "betydelig": NSIS_SUBSTANTIAL,
    "high": NSIS_HIGH,
    "høj": NSIS_HIGH,
    "hoej": NSIS_HIGH,
}


def nsis_loa_from_claim(value: object) -> str:
    """Return the NSIS level URI a broker's loa/acr value names; missing or unknown counts as Low.

    R-LOGIN-6: an unrecognised level is never read as a higher one.
    """
    if not isinstance(value, str) or len(value) > 200:
        return NSIS_LOW
    last = value.strip().rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower()
    return _LEVEL_WORDS.get(last, NSIS_LOW)

"""Fold Danish text for matching: what a user types finds what the registry spells otherwise.

Case and accents never matter, and the Danish letters match their usual ASCII spellings:
``å`` = ``aa`` (Århus = Aarhus, also Arhus), ``ø`` = ``oe`` = ``o`` (København = Koebenhavn =
Kobenhavn), ``æ`` = ``ae`` (Næstved = Naestved). Swedish and German keyboards give ``ä``/``ö``
for ``æ``/``ø``. Both sides of a comparison must be folded with the same function.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

_LETTERS = str.maketrans({"å": "aa", "æ": "ae", "ø": "oe", "ä": "ae", "ö": "oe"})


# A pure function of its text, so remembering results can never be stale.
@lru_cache(maxsize=65536)
def fold_danish(text: str) -> str:
    """Return the text folded for matching (see the module docstring)."""
    folded = text.casefold().translate(_LETTERS)
    if not folded.isascii():
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    # Without its ring or stroke å is a and ø is o: "Arhus", "Kobenhavn" (no æ: it has no base).
    return folded.replace("aa", "a").replace("oe", "o")

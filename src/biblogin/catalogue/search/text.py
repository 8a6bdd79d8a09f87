"""Danish text analysis for the search, the same on every back-end: fold, then stem.

Folding first (æ→ae, ø→oe, å→aa, accents dropped, lower case) means a query typed without
Danish letters ("aeble") becomes the same tokens as the text with them ("æble"): both are
folded to "aeble" before the Snowball Danish stemmer sees them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "ä": "ae", "ö": "oe", "ß": "ss"})
_TOKEN = re.compile(r"[^\W_]+")
_STEMMER = snowballstemmer.stemmer("danish")
MAX_QUERY_TERMS = 12


def fold(text: str) -> str:
    """Lower case, Danish letters spelt out, accents removed."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def _stem(token: str) -> str:
    stemmed: str = _STEMMER.stemWord(token)
    return stemmed


def tokens(text: str) -> list[str]:
    """The search tokens of a text: folded words, each stemmed."""
    return [_stem(t) for t in _TOKEN.findall(fold(text))]


def index_text(text: str) -> str:
    """What is stored for the search: the tokens, space-separated."""
    return " ".join(tokens(text))


def query_terms(query: str) -> list[str]:
    """The distinct tokens of a query, in order, at most MAX_QUERY_TERMS."""
    seen: dict[str, None] = {}
    for t in tokens(query[:1000]):
        seen.setdefault(t, None)
    return list(seen)[:MAX_QUERY_TERMS]


def sort_key(title: str) -> str:
    """Title for sorting: folded, leading articles kept (Danish titles rarely start with one)."""
    return " ".join(_TOKEN.findall(fold(title)))[:200]

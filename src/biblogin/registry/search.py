"""The one library search (R-LOGIN-3, R-PORTAL-1): how a typed query matches an agency.

An agency matches when every word of the query matches its name, an alias, its municipality
(name or number), the name of one of its branches, or (digits) the start of its ID or a branch's
ID. Text is folded (``fold_danish``: case, accents, å/aa, ø/oe/o, æ/ae); common abbreviations of
place names (``kbh``) also match the name they stand for. ``selectors.agencies_search`` says which
agencies are searched; this module only matches and ranks.

Matching runs in Python over the registry's few thousand agencies and their branches, read afresh
for every search (R-VIP-11): the same on SQLite and PostgreSQL, and nothing stored to go stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from biblogin.common.folding import fold_danish
from biblogin.registry.models import Agency, Branch
from biblogin.registry.municipalities import MUNICIPALITIES

QUERY_MAX_LENGTH = 200
_MAX_TOKENS = 10

# Abbreviations Danes write for place names (folded), as a word of their own: "kbh", "Kbh.".
PLACE_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "kbh": (fold_danish("København"), "copenhagen"),
    "cph": (fold_danish("København"), "copenhagen"),
    "frb": (fold_danish("Frederiksberg"),),
    "frbg": (fold_danish("Frederiksberg"),),
}


@dataclass
class _Candidate:
    agency_id: str
    name: str  # folded: ranks and orders the results
    # Folded and joined by newlines (no token holds one): the agency's own texts (name, aliases,
    # municipality) and its branches' names, so that a word is one ``in`` per candidate.
    own: str
    municipality_no: int | None
    branch_names: list[str] = field(default_factory=list)
    branch_ids: list[str] = field(default_factory=list)
    branches: str = ""


@dataclass(frozen=True)
class _Token:
    text: str
    alternatives: tuple[str, ...]
    digits: bool


def _tokens(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    for word in (query or "")[:QUERY_MAX_LENGTH].split()[:_MAX_TOKENS]:
        folded = fold_danish(word)
        if not folded:
            continue
        alternatives = (folded, *PLACE_ABBREVIATIONS.get(folded.rstrip("."), ()))
        digits = word.isascii() and word.isdigit()
        tokens.append(_Token(text=folded, alternatives=alternatives, digits=digits))
    return tokens


def _candidates(agencies: QuerySet[Agency]) -> dict[int, _Candidate]:
    # Two narrow reads (agencies, then their branches) cost half of one LEFT JOIN's wide rows.
    found: dict[int, _Candidate] = {}
    rows = agencies.values_list("pk", "agency_id", "name", "aliases", "municipality_no")
    for pk, agency_id, name, aliases, municipality_no in rows:
        folded_name = fold_danish(name)
        own = folded_name
        if aliases:
            own += "\n" + fold_danish(aliases.replace(",", "\n"))
        if municipality_no in MUNICIPALITIES:
            own += "\n" + fold_danish(MUNICIPALITIES[municipality_no])
        found[pk] = _Candidate(agency_id, folded_name, own, municipality_no)
    branches = Branch.objects.filter(agency__in=agencies.values("pk")).values_list(
        "agency_id", "branch_id", "name"
    )
    for agency_pk, branch_id, branch_name in branches:
        candidate = found.get(agency_pk)
        if candidate is None:
            continue  # an agency written between the two reads: it is in the next search
        candidate.branch_ids.append(branch_id)
        if branch_name:
            candidate.branch_names.append(fold_danish(branch_name))
    for candidate in found.values():
        candidate.branches = "\n".join(candidate.branch_names)
    return found


def _matches(token: _Token, text: str) -> bool:
    return any(alt in text for alt in token.alternatives)


def _id_matches(token: _Token, candidate: _Candidate) -> bool:
    if not token.digits:
        return False
    if candidate.agency_id.startswith(token.text):
        return True
    if len(token.text) <= 3 and candidate.municipality_no == int(token.text):
        return True
    return any(b.startswith(token.text) for b in candidate.branch_ids)


def _rank(tokens: list[_Token], candidate: _Candidate) -> int | None:
    """0 the exact ID, 1 a name starting with the query, 2 own texts, 3 via a branch; None: no."""
    via_branch = False
    for token in tokens:
        if _matches(token, candidate.own) or _id_matches(token, candidate):
            continue
        if _matches(token, candidate.branches):
            via_branch = True
            continue
        return None
    joined = " ".join(t.text for t in tokens)
    if joined == candidate.agency_id or (len(tokens) == 1 and joined in candidate.branch_ids):
        return 0
    if candidate.name.startswith(joined):
        return 1
    return 3 if via_branch else 2


def agency_pks_ranked(*, agencies: QuerySet[Agency], query: str) -> list[int]:
    """Return the pks of the agencies matching the query, best first; no words: all, by name."""
    tokens = _tokens(query)
    candidates = _candidates(agencies)
    if not tokens:
        return sorted(candidates, key=lambda pk: (candidates[pk].name, pk))
    ranked: list[tuple[int, str, int]] = []
    for pk, candidate in candidates.items():
        rank = _rank(tokens, candidate)
        if rank is not None:
            ranked.append((rank, candidate.name, pk))
    ranked.sort()
    return [pk for _rank_, _name, pk in ranked]

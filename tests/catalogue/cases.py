"""Searches over the demo catalogue whose first pages are recorded in first_pages.json."""

from __future__ import annotations

from typing import Any

CASES: list[dict[str, Any]] = [
    {"query": q}
    for q in (
        "Tove Ditlevsen", "Karen Blixen", "barndom", "hunde", "aeble", "kærlighed", "Lykke-Per",
        "Pelle Erobreren", "Bille August", "Harry Potter", "krimi", "romaner", "fantasy",
        "Gyldendal", "Blixen fortællinger", "historiske romaner", "Grønland", "Thomas Vinterberg",
        "Kongens Fald", "e-bøger", "biblioteker", "Ditlevsen barndom", "digte", "Orwell 1984",
        "Astrid Lindgren", "filosofi", "ægteskab", "Frøken Smillas fornemmelse for sne",
    )
] + [
    {"query": "Tove Ditlevsen", "material_types": ["e-bog"]},
    {"query": "Karen Blixen", "languages": ["eng"]},
    {"query": "romaner", "year_from": 1900, "year_to": 1999},
    {"query": "romaner", "sort": "newest"},
    {"query": "romaner", "sort": "title"},
    {"query": "romaner", "page": 2, "page_size": 5},
    {"query": "Gyldendal", "lendable_at_agency": "830099"},
    {"query": "krimi", "material_types": ["bog", "lydbog (net)"], "sort": "newest"},
]  # fmt: skip

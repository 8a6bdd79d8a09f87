"""A synthetic catalogue for benchmarks: N manifestations in works of 1-4, with holdings.

Titles are drawn from a Danish vocabulary with a Zipf-like skew (some words common, most rare),
creators from name lists, so queries of common and rare terms both occur. Rows are written in
bulk with explicit IDs: ``executemany`` in one transaction on SQLite (the FTS5 triggers index
each row), ``COPY`` on PostgreSQL (the search's indexes are dropped for the load and built once
after).
PIDs are ``870970-basis:<50,000,000 + row ID>``, apart from the demo catalogue's.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from django.db import connection, transaction

from biblogin.catalogue.search.backends import refresh_term_counts
from biblogin.catalogue.search.text import index_text, sort_key


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_WORDS = _words(
    "hus have hund kat barn mor far søster bror by land hav skov sommer vinter efterår forår "
    "nat dag lys mørke kærlighed død liv drøm rejse vej bro sten vand ild jord himmel stjerne "
    "måne sol regn sne vind storm fjord ø kyst strand båd skib kaptajn konge dronning prins "
    "prinsesse riddere slot borg kirke præst lærer skole elev bog brev ord sang digt "
    "fortælling eventyr historie krig fred frihed sandhed løgn hemmelighed mord detektiv "
    "politi forbrydelse straf skyld tilgivelse familie venskab ensomhed glæde sorg håb frygt "
    "mod styrke hjerte sjæl krop hånd øje stemme tavshed musik dans fest bryllup begravelse "
    "arv gård mark køer heste fugle ræv ulv bjørn æble blomst rose træ have mester svend "
    "arbejde penge handel købmand fabrik maskine computer robot rumskib fremtid fortid minder "
    "barndom ungdom alderdom ægteskab skilsmisse rejsen hjem fremmed flygtning grænse nord "
    "syd øst vest københavn aarhus odense aalborg jylland fyn sjælland bornholm grønland "
    "island norge sverige tyskland europa afrika amerika asien verden tid evighed øjeblik "
    "time aften morgen middag køkken mad brød vin øl kaffe te sukker salt peber urter medicin "
    "læge sygdom hospital sygeplejerske soldat officer general flåde hær slag sejr nederlag "
    "oprør revolution demokrati politik magt regering minister parlament lov ret dommer "
    "advokat vidne bevis videnskab fysik kemi biologi matematik filosofi psykologi økonomi "
    "sociologi kunst maleri billede film teater scene skuespiller forfatter digter"
)
_FIRST = _words(
    "Anne Peter Mette Jens Hanne Lars Susanne Niels Kirsten Søren Camilla Mads Ida Rasmus "
    "Sofie Anders Karen Henrik Marie Thomas Louise Martin Emma Jakob Freja Ole Birgitte Kim "
    "Lene Morten Julie Christian Sara Michael Line Jesper Maja Frederik Astrid Klaus"
)
_LAST = _words(
    "Jensen Nielsen Hansen Pedersen Andersen Christensen Larsen Sørensen Rasmussen Jørgensen "
    "Petersen Madsen Kristensen Olsen Thomsen Christiansen Poulsen Johansen Møller Mortensen "
    "Knudsen Jakobsen Mikkelsen Olesen Frederiksen Laursen Henriksen Lund Schmidt Eriksen "
    "Holm Kristiansen Clausen Simonsen Svendsen Andreasen Iversen Jeppesen Mogensen Jacobsen "
    "Vestergaard Nissen Lauridsen Kjær Jespersen Mikkelsen Bech Dahl Winther Skov"
)
_TYPES = (
    ("bog", 50), ("e-bog", 20), ("lydbog (net)", 10), ("lydbog (cd)", 5), ("film", 5),
    ("artikel", 6), ("tidsskrift", 1), ("node", 3),
)  # fmt: skip
_LANGS = (("dan", 70), ("eng", 20), ("swe", 4), ("nor", 3), ("ger", 3))
_BRANCHES = (
    ("710100", "710100"), ("710100", "710104"), ("710100", "710111"), ("715700", "715700"),
    ("715700", "715703"), ("775100", "775100"), ("820099", "820099"), ("830099", "830099"),
    ("829000", "829000"), ("840099", "840099"),
)  # fmt: skip
PID_BASE = 50_000_000
Row = tuple[Any, ...]

_M_COLS = (
    "id", "pid", "work_id", "title", "subtitle", "creators", "year", "publisher", "edition",
    "language", "material_type", "isbn", "issn", "subjects", "description", "periodical_issue",
    "pages", "interlibrary_loan", "search_title", "search_creators", "search_body", "sort_title",
)  # fmt: skip
_W_COLS = ("id", "work_id", "title", "creators", "first_year")
_H_COLS = (
    "manifestation_id", "agency_id", "branch_id", "copies", "on_shelf", "expected_return",
    "lendable", "own_users_only", "own_catalogue_url",
)  # fmt: skip


@dataclass(frozen=True)
class BulkloadResult:
    works: int
    manifestations: int
    holdings: int


def _rows(
    count: int, first_m: int, first_w: int, with_holdings: bool, seed: int
) -> Iterator[tuple[Row, list[Row], Row | None]]:
    """(manifestation row, holding rows, work row or None) per manifestation.

    The search columns are put together from each word's tokens, analysed once: the same text
    as ``index_text``/``sort_key`` of the whole title (the words hold no separators)."""
    rng = random.Random(f"{seed}:{first_m}")  # a second load adds other rows
    words = list(_WORDS)
    rng.shuffle(words)
    zipf = list(accumulate(1.0 / (rank + 1) ** 0.9 for rank in range(len(words))))
    token = {w: index_text(w) for w in {*words, *_FIRST, *_LAST}}
    folded = {w: sort_key(w) for w in words}
    types = [t for t, _ in _TYPES]
    type_weights = list(accumulate(w for _, w in _TYPES))
    langs = [lang for lang, _ in _LANGS]
    lang_weights = list(accumulate(w for _, w in _LANGS))
    work_pk = first_w - 1
    left_in_work = 0
    title = creators_json = search_title = search_creators = sort_title = ""
    first_year = 0
    for i in range(count):
        m_pk = first_m + i
        work_row = None
        if left_in_work == 0:
            work_pk += 1
            left_in_work = rng.choice((1, 1, 2, 2, 3, 4))
            title_words = rng.choices(words, cum_weights=zipf, k=rng.randint(1, 5))
            title = " ".join(title_words).capitalize()
            names = [(rng.choice(_FIRST), rng.choice(_LAST)) for _ in range(rng.choice((1, 1, 2)))]
            creators = [{"name": f"{f} {n}", "role": "forfatter"} for f, n in names]
            creators_json = json.dumps(creators, ensure_ascii=False)
            search_title = " ".join(token[w] for w in title_words)
            search_creators = " ".join(f"{token[f]} {token[n]}" for f, n in names)
            sort_title = " ".join(folded[w] for w in title_words)[:200]
            first_year = int(2025 - abs(rng.gauss(0, 30)))
            work_row = (work_pk, f"work-of:870970-basis:{PID_BASE + m_pk}", title, creators_json,
                        max(first_year, 1800))  # fmt: skip
        left_in_work -= 1
        material_type = rng.choices(types, cum_weights=type_weights)[0]
        year = max(min(first_year + rng.randint(0, 15), 2026), 1800)
        subjects = rng.sample(words[:80], 2)
        pid = f"870970-basis:{PID_BASE + m_pk}"
        m_row = (
            m_pk, pid, work_pk, title, "", creators_json, year, "Syntetisk Forlag", "",
            rng.choices(langs, cum_weights=lang_weights)[0], material_type, "", "",
            json.dumps(subjects, ensure_ascii=False), "", "", "",
            material_type not in {"e-bog", "lydbog (net)"}, search_title, search_creators,
            f"{token[subjects[0]]} {token[subjects[1]]} syntetisk forlag", sort_title,
        )  # fmt: skip
        holdings: list[Row] = []
        if with_holdings and material_type not in {"artikel"}:
            for agency, branch in rng.sample(_BRANCHES, rng.choice((0, 1, 1, 2, 3))):
                copies = rng.randint(1, 3)
                holdings.append((m_pk, agency, branch, copies, rng.randint(0, copies), None,
                                 rng.random() > 0.05, False, ""))  # fmt: skip
        yield m_row, holdings, work_row


def catalogue_bulkload(*, count: int, seed: int = 1, batch: int = 20_000) -> BulkloadResult:
    """Add ``count`` synthetic manifestations (and their works and holdings)."""
    from django.apps import apps
    from django.db.models import Max

    from biblogin.catalogue.models import Holding, Manifestation, Work

    branch_model = apps.get_model("registry", "Branch")
    have = set(branch_model.objects.values_list("branch_id", flat=True))
    with_holdings = {b for _, b in _BRANCHES} <= have
    first_m = (Manifestation.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    first_w = (Work.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    tables = (Work._meta.db_table, Manifestation._meta.db_table, Holding._meta.db_table)
    counts = [0, 0, 0]
    with transaction.atomic():
        writer = (
            _PostgresWriter(tables) if connection.vendor == "postgresql" else _SqlWriter(tables)
        )
        works: list[Row] = []
        ms: list[Row] = []
        hs: list[Row] = []
        for m_row, h_rows, w_row in _rows(count, first_m, first_w, with_holdings, seed):
            if w_row is not None:
                works.append(w_row)
            ms.append(m_row)
            hs.extend(h_rows)
            if len(ms) >= batch:
                writer.write((works, ms, hs), counts)
                works, ms, hs = [], [], []
        writer.write((works, ms, hs), counts)
        writer.finish()
    return BulkloadResult(*counts)


class _SqlWriter:
    def __init__(self, tables: tuple[str, str, str]) -> None:
        q = connection.ops.quote_name
        if connection.vendor == "sqlite":
            # Keep the growing tables and the FTS5 index in memory until the commit: without
            # this, the default 2 MB page cache writes and re-reads pages for every batch.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -524288")  # KiB: 512 MB, this connection
        # Table and column names are this module's constants, never input.
        self.sql = [
            f"INSERT INTO {q(t)} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"  # noqa: S608
            for t, cols in zip(tables, (_W_COLS, _M_COLS, _H_COLS), strict=True)
        ]

    def write(self, groups: tuple[list[Row], list[Row], list[Row]], counts: list[int]) -> None:
        with connection.cursor() as cursor:
            for i, (sql, rows) in enumerate(zip(self.sql, groups, strict=True)):
                if rows:
                    cursor.executemany(sql, rows)
                    counts[i] += len(rows)

    def finish(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # the planner's statistics for the grown tables
        if connection.vendor == "sqlite":
            refresh_term_counts(connection)  # the search's statistics


# The search's indexes (migrations 0001, 0004 and 0007): dropped for the load, built once after.
_SEARCH_INDEXES = (
    ("catalogue_manifestation_search", "USING GIN (search_vector)"),
    (
        "catalogue_manifestation_title_terms",
        "USING GIN (to_tsvector('simple'::regconfig, search_title))",
    ),
    (
        "catalogue_manifestation_creator_terms",
        "USING GIN (to_tsvector('simple'::regconfig, search_creators))",
    ),
    ("catalogue_manifestation_title_exact", "(left(search_title, 200), id)"),
)


class _PostgresWriter(_SqlWriter):
    """COPY, with the GIN indexes built once at the end and the ID sequences moved past."""

    def __init__(self, tables: tuple[str, str, str]) -> None:
        super().__init__(tables)
        self.tables = tables
        with connection.cursor() as cursor:
            for index, _ in _SEARCH_INDEXES:
                cursor.execute(f"DROP INDEX IF EXISTS {index}")

    def write(self, groups: tuple[list[Row], list[Row], list[Row]], counts: list[int]) -> None:
        with connection.cursor() as cursor:
            for i, (table, cols, rows) in enumerate(
                zip(self.tables, (_W_COLS, _M_COLS, _H_COLS), groups, strict=True)
            ):
                if not rows:
                    continue
                with cursor.copy(f'COPY "{table}" ({", ".join(cols)}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
                counts[i] += len(rows)

    def finish(self) -> None:
        with connection.cursor() as cursor:
            # The deferred foreign-key checks first: an index cannot be built with them pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for index, definition in _SEARCH_INDEXES:
                cursor.execute(f"CREATE INDEX {index} ON catalogue_manifestation {definition}")
            for table in self.tables:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608
                    f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
                )
            cursor.execute("ANALYZE catalogue_manifestation")
            cursor.execute("ANALYZE catalogue_holding")

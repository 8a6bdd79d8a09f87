"""The search at scale (issue 11, the benchmark's goal): a result with more matches than
``CANDIDATES`` is ranked among candidates taken from the ID range and its counts are
estimated, so a search's cost does not grow with its matches; below that everything is exact.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.db import connection

from biblogin.catalogue.bulkload import catalogue_bulkload
from biblogin.catalogue.models import Manifestation, Work
from biblogin.catalogue.search import backends, engine
from biblogin.catalogue.search.backends import PostgresFtsBackend, SqliteFts5Backend
from biblogin.catalogue.search.engine import SearchFilters, SearchPage, search
from biblogin.catalogue.search.text import query_terms
from biblogin.catalogue.services import manifestation_save
from tests.catalogue.cases import CASES

pytestmark = pytest.mark.django_db


def _summary(page: SearchPage) -> dict[str, Any]:
    return {
        "total": page.total,
        "estimated": page.estimated,
        "reachable": page.reachable,
        "hits": [[h.work_id, h.pid, h.year] for h in page.hits],
        "facets": page.facets,
    }


def _run(case: dict[str, Any]) -> SearchPage:
    args = dict(case)
    return search(
        query=args.pop("query"),
        sort=args.pop("sort", "relevance"),
        page=args.pop("page", 1),
        page_size=args.pop("page_size", 20),
        filters=SearchFilters(**args),
    )


def _common_word() -> str:
    """The most frequent title token of the synthetic catalogue."""
    counts: dict[str, int] = {}
    for title in Manifestation.objects.filter(pid__startswith="870970-basis:5").values_list(
        "search_title", flat=True
    ):
        for token in set(title.split()):
            counts[token] = counts.get(token, 0) + 1
    return max(counts, key=lambda t: (counts[t], t))


@pytest.mark.parametrize("candidates", [8, 10**9])
def test_both_ways_of_reading_the_matches_give_the_same_page(
    demo: None, monkeypatch: pytest.MonkeyPatch, candidates: int
) -> None:
    """One LIMITed query per stratum, or one pass numbered per stratum: the same candidates
    (PostgreSQL picks by its estimate; SQLite always the first)."""
    monkeypatch.setattr(engine, "CANDIDATES", candidates)
    monkeypatch.setattr(engine, "EXACT", 0)  # no second, whole reading
    pages = {}
    for few in (False, True):
        for backend in (SqliteFts5Backend, PostgresFtsBackend):
            monkeypatch.setattr(backend, "few_matches", lambda *args, few=few: few)
        pages[few] = [_summary(_run(case)) for case in CASES]
    assert pages[False] == pages[True]
    assert any(p["estimated"] for p in pages[False]) == (candidates == 8)


def test_up_to_the_candidate_limit_the_result_is_exact(demo: None) -> None:
    everything = _run({"query": "romaner", "page_size": 100})
    assert not everything.estimated and everything.reachable is None
    assert everything.total == len(everything.hits) > 8
    assert everything.pages == 1


def test_a_larger_result_is_estimated_and_pages_reach_its_ranked_candidates(
    demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = _run({"query": "romaner", "page_size": 100})
    monkeypatch.setattr(engine, "CANDIDATES", 8)
    monkeypatch.setattr(engine, "EXACT", 0)
    page = _run({"query": "romaner", "page_size": 3})
    assert page.estimated
    assert page.reachable is not None and 0 < page.reachable <= 8
    assert page.total >= page.reachable
    assert page.pages == -(-page.reachable // 3)
    reachable = [
        h.work_id
        for p in range(1, page.pages + 1)
        for h in _run({"query": "romaner", "page": p, "page_size": 3}).hits
    ]
    assert len(reachable) == len(set(reachable)) == page.reachable
    assert set(reachable) <= {h.work_id for h in exact.hits}
    assert _run({"query": "romaner", "page": page.pages + 1, "page_size": 3}).hits == []
    # The facets are estimates of values that occur.
    exact_types = {v for v, _ in exact.facets["material_type"]}
    assert {v for v, _ in page.facets["material_type"]} <= exact_types


def test_the_estimate_of_a_common_term_is_close_to_the_count(
    demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue_bulkload(count=6000, seed=3)
    word = _common_word()
    estimated = _run({"query": word})
    assert estimated.estimated
    monkeypatch.setattr(engine, "CANDIDATES", 10**9)
    exact = _run({"query": word})
    assert not exact.estimated and exact.total > engine.STRATA * 60
    assert 0.6 * exact.total <= estimated.total <= 1.5 * exact.total, (estimated, exact.total)
    exact_years = dict(exact.facets["year"])
    for year, n in estimated.facets["year"]:
        assert year in exact_years and n > 0
    # The candidates' first page is ranked by the same rule: a title hit first.
    assert f" {word} " in f" {Manifestation.objects.get(pid=estimated.hits[0].pid).search_title} "


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's term-count snapshot")
def test_term_counts_come_from_the_bulk_loads_snapshot_and_new_terms_from_the_index(
    demo: None,
) -> None:
    """Issue 11: the estimates' count of a term is the one the bulk load took (FTS5 would read
    the term's whole list of rows on every search); a term added since is counted in the index."""
    catalogue_bulkload(count=600, seed=5)
    word = _common_word()
    backend = SqliteFts5Backend()
    snapshot = len(_fts_rowids(word))
    assert snapshot > 0
    assert backend.term_counts(connection, [word]) == [float(snapshot)]
    manifestation_save(
        manifestation=Manifestation(
            pid="870970-basis:70000009", work=Work.objects.create(work_id="work-of:t:9"),
            title=f"Zyxwortel {word}", material_type="bog",
        )
    )  # fmt: skip
    assert len(_fts_rowids(word)) == snapshot + 1
    # Until the next bulk load the snapshot stands; the new term is counted in the index.
    assert backend.term_counts(connection, [word, "zyxwortel"]) == [float(snapshot), 1.0]
    assert backend.term_counts(connection, ["qqqingenting"]) == [0.0]
    catalogue_bulkload(count=1, seed=6)
    assert backend.term_counts(connection, ["zyxwortel"]) == [1.0]
    assert backend.term_counts(connection, [word])[0] >= snapshot + 1


def _fts_rowids(term: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rowid FROM catalogue_manifestation_fts WHERE catalogue_manifestation_fts "
            "MATCH %s",
            [f'"{term}"'],
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_mid_sized_result_is_read_whole_and_exact(
    demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: a result whose sample fills a stratum but estimates at most EXACT matches is
    read again whole, so up to about EXACT matches the page and counts are exact."""
    exact = _summary(_run({"query": "romaner"}))
    monkeypatch.setattr(engine, "CANDIDATES", 8)
    for few in (False, True):  # both SQL shapes (see the first test)
        for backend in (SqliteFts5Backend, PostgresFtsBackend):
            monkeypatch.setattr(backend, "few_matches", lambda *args, few=few: few)
        assert _summary(_run({"query": "romaner"})) == exact
    assert not exact["estimated"]
    monkeypatch.setattr(engine, "EXACT", 0)
    assert _run({"query": "romaner"}).estimated


def _first_hits(query: str, n: int) -> list[str]:
    return [h.work_id for h in _run({"query": query}).hits[:n]]


def test_title_and_creator_hits_rank_first_whatever_the_sample(
    demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: above CANDIDATES the page is ranked among a small sample and the best title
    hits and creator hits, which come from indexes in the ranking's own order (title length,
    then ID): the first hits are those of the exact ranking, for a title word and a creator."""
    catalogue_bulkload(count=3000, seed=4)
    word = _common_word()
    creator = (
        Manifestation.objects.filter(pid__startswith="870970-basis:5")
        .order_by("id")[500]
        .creators[0]["name"]
    )
    monkeypatch.setattr(engine, "CANDIDATES", 4)
    monkeypatch.setattr(engine, "EXACT", 0)
    sampled = {q: (_run({"query": q}), _first_hits(q, 3)) for q in (word, creator)}
    monkeypatch.setattr(engine, "CANDIDATES", 10**9)
    for q, (page, first) in sampled.items():
        assert page.estimated
        exact = _first_hits(q, 3)
        assert first == exact, q
    # Without the title and creator hits the tiny sample would not find them.
    monkeypatch.setattr(engine, "CANDIDATES", 4)
    monkeypatch.setattr(engine, "BEST", 0)
    assert any(_first_hits(q, 3) != first for q, (_, first) in sampled.items())


def test_the_title_and_creator_indexes_follow_every_change(demo: None) -> None:
    """The ranking-order indexes (migration 0004) follow inserts, updates and deletes."""
    id_range = engine._id_range(connection)
    assert id_range is not None
    strata = engine._strata(*id_range)

    def best(term: str) -> list[str]:
        rows = engine._fetch(
            connection, query_terms(term), SearchFilters(), strata, 1, 5, few=False
        )
        return sorted(str(row[3]) for row in rows if row[0] == -1)

    work = Work.objects.create(work_id="work-of:t:11")
    m = manifestation_save(
        manifestation=Manifestation(
            pid="870970-basis:70000011", work=work, title="Zyxwortel", material_type="bog",
            creators=[{"name": "Qvist Ypsilon", "role": "forfatter"}],
        )
    )  # fmt: skip
    assert best("zyxwortel") == best("qvist") == ["870970-basis:70000011"]
    m.title = "Ordet"
    m.creators = [{"name": "Anden Qzyperson", "role": "forfatter"}]
    manifestation_save(manifestation=m)
    assert best("zyxwortel") == best("qvist") == []
    assert "870970-basis:70000011" in best("ordet")
    assert best("qzyperson") == ["870970-basis:70000011"]
    m.delete()
    assert best("qzyperson") == best("ordet zyxwortel") == []


_FTS_TABLES = (
    "catalogue_manifestation_fts",
    "catalogue_manifestation_fts_title",
    "catalogue_manifestation_fts_creators",
)


def _page_sizes() -> list[int]:
    with connection.cursor() as cursor:
        sizes = []
        for table in _FTS_TABLES:
            cursor.execute(f"SELECT v FROM {table}_config WHERE k = 'pgsz'")
            row = cursor.fetchone()
            sizes.append(int(row[0]) if row else 4050)
    return sizes


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's FTS5 leaf pages")
def test_the_fts5_indexes_keep_small_leaf_pages_and_find_the_same(
    demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: the FTS5 indexes are written on leaf pages of 1,000 bytes (migration 0006),
    so a term of a few thousand rows gets a doclist index and a stratum's first matches are
    found without reading the term's rows from the first; the bulk load's merge keeps the
    setting, and the pages found are those of FTS5's default page size."""
    page_size = importlib.import_module("biblogin.catalogue.migrations.0006_search_fts_page_size")
    catalogue_bulkload(count=3000, seed=8)
    assert _page_sizes() == [page_size.PAGE_SIZE] * 3
    word = _common_word()
    cases = [
        *CASES,
        {"query": word}, {"query": word, "sort": "title"}, {"query": f"{word} hus"},
        {"query": word, "material_types": ["e-bog"]}, {"query": word, "page": 4},
    ]  # fmt: skip
    monkeypatch.setattr(engine, "CANDIDATES", 40)  # estimated ones too, with this sample
    small_pages = [_summary(_run(case)) for case in cases]
    assert any(p["estimated"] for p in small_pages)
    with connection.cursor() as cursor:
        for sql in page_size._statements(page_size.DEFAULT_PAGE_SIZE):
            cursor.execute(sql)
    assert _page_sizes() == [page_size.DEFAULT_PAGE_SIZE] * 3
    assert [_summary(_run(case)) for case in cases] == small_pages


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's planner estimates")
def test_the_estimates_of_the_match_and_of_each_field_come_from_one_explain(demo: None) -> None:
    """Issue 11: PostgreSQL's prepare reads the planner's estimates of the match and of the
    title and creator matches in one EXPLAIN, each part named (a Parallel Append would order
    them by cost), and term_counts one per term."""
    catalogue_bulkload(count=3000, seed=12)
    word = _common_word()
    creator = Manifestation.objects.filter(pid__startswith="870970-basis:5").first()
    assert creator is not None
    name = creator.creators[0]["name"]
    for query, more, fewer in ((word, "search_title", "search_creators"),
                               (name, "search_creators", "search_title")):  # fmt: skip
        backend = PostgresFtsBackend()
        backend.prepare(connection, query_terms(query))
        assert backend._rows is not None and backend._rows >= 1
        assert backend._field_rows[more] > backend._field_rows[fewer], (query, backend._field_rows)
    one, other = backend.term_counts(connection, [word, query_terms(name)[0]])
    assert one > 1 and other > 1


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's title B-tree")
def test_for_a_title_word_too_common_to_sort_the_title_hits_are_the_exact_titles(
    demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: when the planner expects more title hits than BEST_SORTED (sorting them
    would read them all), the title hits are the titles that are just the query, read in ID
    order from a B-tree (migration 0007): the best of the title hits, so the first hits are
    still the exact ranking's; and that B-tree follows every change."""
    catalogue_bulkload(count=3000, seed=4)
    word = _common_word()
    exact = _first_hits(word, 3)
    titles = {
        Manifestation.objects.filter(work__work_id=w).values_list("search_title", flat=True)[0]
        for w in exact
    }
    assert titles == {word}  # the exact ranking's first hits: titles that are the word
    monkeypatch.setattr(engine, "CANDIDATES", 4)
    monkeypatch.setattr(engine, "EXACT", 0)
    monkeypatch.setattr(backends, "BEST_SORTED", 0)
    page = _run({"query": word})
    assert page.estimated and [h.work_id for h in page.hits[:3]] == exact
    monkeypatch.setattr(engine, "BEST", 0)  # without them the tiny sample would not find them
    assert _first_hits(word, 3) != exact

    def exact_titles(title: str) -> list[str]:
        backend = PostgresFtsBackend()
        backend._field_rows = {"search_title": 1e9, "search_creators": 1e9}
        id_range = engine._id_range(connection)
        assert id_range is not None
        rows = engine._fetch(
            connection, query_terms(title), SearchFilters(), engine._strata(*id_range), 1, 5,
            few=False, backend=backend,
        )  # fmt: skip
        return sorted(str(row[3]) for row in rows if row[0] == -1)

    m = manifestation_save(
        manifestation=Manifestation(
            pid="870970-basis:70000031", work=Work.objects.create(work_id="work-of:t:31"),
            title="Zyxwortel", material_type="bog",
        )
    )  # fmt: skip
    assert exact_titles("Zyxwortel") == [m.pid]
    m.title = "Zyxwortel og Qvist"
    manifestation_save(manifestation=m)
    assert exact_titles("Zyxwortel") == [] and exact_titles("zyxwortel og qvist") == [m.pid]
    m.delete()
    assert exact_titles("zyxwortel og qvist") == []


@pytest.mark.parametrize("expected", [10**9, 400])
def test_reading_the_matches_in_windows_of_ids_gives_the_same_page(
    demo: None, monkeypatch: pytest.MonkeyPatch, expected: int
) -> None:
    """Issue 11: for a term in some share of the catalogue each stratum's first matches are
    looked for in a window of IDs at its start (sized by the estimate of all matches) and the
    window widened until it holds enough or is the whole stratum: the same candidates, so
    the same pages as a pass over all the matches, whether the estimate is far too high
    (windows widened again and again) or about right."""
    catalogue_bulkload(count=3000, seed=13)
    word = _common_word()
    cases = [
        *CASES,
        {"query": word}, {"query": word, "sort": "title"}, {"query": f"{word} hus"},
        {"query": word, "material_types": ["e-bog"]}, {"query": word, "page": 3},
        {"query": word, "lendable_at_agency": "710100", "year_from": 1990},
    ]  # fmt: skip
    monkeypatch.setattr(engine, "CANDIDATES", 40)
    monkeypatch.setattr(engine, "EXACT", 0)
    for backend in (SqliteFts5Backend, PostgresFtsBackend):
        monkeypatch.setattr(backend, "few_matches", lambda *args: True)
        monkeypatch.setattr(backend, "match_rows", lambda self: None)
    whole = [_summary(_run(case)) for case in cases]
    assert any(p["estimated"] for p in whole)
    widened = []
    widen = engine._widen

    def counted(*args: Any) -> dict[int, tuple[int, int]]:
        wider = widen(*args)
        widened.append(len(wider))
        return wider

    monkeypatch.setattr(engine, "_widen", counted)
    for backend in (SqliteFts5Backend, PostgresFtsBackend):
        monkeypatch.setattr(backend, "match_rows", lambda self: float(expected))
    assert [_summary(_run(case)) for case in cases] == whole
    assert widened and (sum(widened) > len(cases) if expected == 10**9 else True)


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's term-count snapshot")
def test_the_term_counts_read_with_the_candidates_give_the_estimates_of_term_counts(
    demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: SQLite reads the snapshot's count of each term in the candidates' statement;
    the estimates are those of term_counts, also for a term added since the snapshot."""
    catalogue_bulkload(count=2000, seed=14)
    word = _common_word()
    for i in range(12):  # a term the snapshot lacks, in more rows than a stratum's sample
        manifestation_save(
            manifestation=Manifestation(
                pid=f"870970-basis:{70000041 + i}", work=Work.objects.create(work_id=f"w:{i}"),
                title=f"Zyxwortel {word}", material_type="bog",
            )
        )  # fmt: skip
    cases = [{"query": word}, {"query": f"{word} hus"}, {"query": f"{word} zyxwortel"},
             {"query": word, "material_types": ["e-bog"]}]  # fmt: skip
    monkeypatch.setattr(engine, "CANDIDATES", 20)
    monkeypatch.setattr(engine, "EXACT", 0)
    asked: list[list[str]] = []
    counts = SqliteFts5Backend.term_counts

    def term_counts(self: SqliteFts5Backend, conn: Any, terms: list[str]) -> list[float]:
        asked.append(list(terms))
        return counts(self, conn, terms)

    monkeypatch.setattr(SqliteFts5Backend, "term_counts", term_counts)
    read_with = [_summary(_run(case)) for case in cases]
    assert read_with[0]["estimated"] and asked == [[word, "zyxwortel"]]  # only the new term's
    monkeypatch.setattr(SqliteFts5Backend, "term_counts_sql", lambda self, terms: None)
    assert [_summary(_run(case)) for case in cases] == read_with
    assert len(asked) > 1

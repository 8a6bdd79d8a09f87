"""The search request: parsed from any query string without error, rebuilt to the same search."""

from __future__ import annotations

from django.http import QueryDict
from hypothesis import given, settings
from hypothesis import strategies as st

from biblogin.portal.search import SearchRequest, search_request_parse
from biblogin.portal.templatetags.portal_covers import cover, cover_lines, cover_palette

_ANY = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
_NAMES = st.sampled_from(
    ["q", "type", "lang", "year_from", "year_to", "sort", "page", "lendable", "x"]
)


def test_filters_sort_and_page_are_read_from_the_query_string() -> None:
    wanted = search_request_parse(
        QueryDict(
            "q=Tove+Ditlevsen&type=e-bog&type=bog&type=e-bog&lang=dan&year_from=1990"
            "&year_to=1967&sort=newest&page=3&lendable=1"
        )
    )
    assert wanted == SearchRequest(
        query="Tove Ditlevsen",
        material_types=("e-bog", "bog"),
        languages=("dan",),
        year_from=1967,  # a range given backwards is turned round
        year_to=1990,
        sort="newest",
        lendable=True,
        page=3,
    )
    assert wanted.params() == {
        "type": ["e-bog", "bog"],
        "lang": ["dan"],
        "year_from": ["1967"],
        "year_to": ["1990"],
        "sort": ["newest"],
        "lendable": ["1"],
    }


def test_what_does_not_parse_is_dropped_with_a_note_for_years() -> None:
    wanted = search_request_parse(QueryDict("q=%20hund%0A&year_from=19x&sort=evil&page=-4"))
    assert (wanted.query, wanted.year_from, wanted.sort, wanted.page) == (
        "hund",
        None,
        "relevance",
        1,
    )
    assert wanted.notes


@given(st.lists(st.tuples(_NAMES, _ANY), max_size=20))
@settings(max_examples=300)
def test_any_query_string_parses_and_its_url_gives_the_same_search(
    pairs: list[tuple[str, str]],
) -> None:
    """No input breaks the parser; a search's own URL asks for exactly that search again."""
    data = QueryDict(mutable=True)
    for name, value in pairs:
        data.appendlist(name, value)
    wanted = search_request_parse(data)
    assert len(wanted.query) <= 256 and 1 <= wanted.page <= 500
    again = search_request_parse(QueryDict(wanted.querystring()))
    assert again == wanted
    # A saved search's stored form ({name: [values]} with "q") gives the same search as well.
    saved = search_request_parse({"q": wanted.query, **wanted.params()})
    assert saved == SearchRequest(**{**wanted.__dict__, "page": 1})


def test_a_value_cut_at_a_space_gives_the_same_search_again() -> None:
    """A filter value cut at its length limit right before a space survives its own URL."""
    data = QueryDict(mutable=True)
    data.appendlist("type", "0" * 63 + " 0")
    wanted = search_request_parse(data)
    assert search_request_parse(QueryDict(wanted.querystring())) == wanted


def test_a_cover_is_stable_for_a_title_and_wraps_long_titles() -> None:
    assert cover_palette("Barndom") == cover_palette("BARNDOM")
    assert len({cover_palette(f"Titel {n}") for n in range(50)}) > 3
    lines = cover_lines("Den afrikanske farm og andre fortællinger fra et langt liv i Kenya")
    assert len(lines) == 4 and lines[-1].endswith("…")
    html = cover("<script>alert(1)</script>", "Karen Blixen", "Bog")
    assert "<script>" not in html and "aria-hidden" in html

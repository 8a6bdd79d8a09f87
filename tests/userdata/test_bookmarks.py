"""The huskeliste: in the session for everyone, in the profile for profile users (R-PORTAL-16)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from biblogin.common.errors import ApplicationError
from biblogin.userdata import selectors, services
from biblogin.userdata.models import Bookmark, Profile
from biblogin.userdata.selectors import (
    BookmarkSort,
    bookmark_selection_parse,
    bookmarks_page_for_profile,
    bookmarks_page_for_session,
    page_number_parse,
    session_bookmarks_parse,
)
from biblogin.userdata.services import (
    bookmark_add,
    bookmarks_merge_from_session,
    bookmarks_remove,
    session_bookmark_add,
    session_bookmarks_remove,
)

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def pid(n: int) -> str:
    return f"870970-basis:{n:08d}"


def profile() -> Profile:
    return services.profile_login_record(patron_guid=uuid.uuid4()).profile


def session_list(*titles: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for i, title in enumerate(titles):
        items, _new = session_bookmark_add(
            items=items, pid=pid(i), title=title, now=T0 + dt.timedelta(minutes=i)
        )
    return items


def test_session_bookmarks_keep_each_material_once_R_PORTAL_16() -> None:
    items, new = session_bookmark_add(items=[], pid=pid(1), title="Barndom", now=T0)
    again, new_again = session_bookmark_add(items=items, pid=pid(1), title="Barndom", now=T0)
    assert new and not new_again
    assert [e.pid for e in session_bookmarks_parse(items=again)] == [pid(1)]


def test_session_bookmarks_sort_by_latest_added_or_by_title_R_PORTAL_16() -> None:
    items = session_list("Ungdom", "Barndom", "Ægteskab", "Afhængighed", "Øen")
    latest = bookmarks_page_for_session(items=items, sort=BookmarkSort.LATEST)
    by_title = bookmarks_page_for_session(items=items, sort=BookmarkSort.TITLE)
    assert [e.title for e in latest.entries] == [
        "Øen",
        "Afhængighed",
        "Ægteskab",
        "Barndom",
        "Ungdom",
    ]
    # Danish order: æ, ø, å after z.
    assert [e.title for e in by_title.entries] == [
        "Afhængighed",
        "Barndom",
        "Ungdom",
        "Ægteskab",
        "Øen",
    ]


def test_session_bookmarks_remove_selected_R_PORTAL_16() -> None:
    items = session_list("A", "B", "C")
    left = session_bookmarks_remove(items=items, pids=[pid(0), pid(2), "junk"])
    assert [e.title for e in session_bookmarks_parse(items=left)] == ["B"]


def test_huskeliste_pages_by_25_R_PORTAL_16() -> None:
    items = session_list(*[f"Titel {i:02d}" for i in range(60)])
    first = bookmarks_page_for_session(items=items, sort=BookmarkSort.TITLE, page=1)
    third = bookmarks_page_for_session(items=items, sort=BookmarkSort.TITLE, page=3)
    beyond = bookmarks_page_for_session(items=items, sort=BookmarkSort.TITLE, page=99)
    assert (first.total, first.pages, len(first.entries)) == (60, 3, 25)
    assert len(third.entries) == 10 and third.page == 3 and not third.has_next
    assert beyond.page == 3


def test_session_bookmarks_are_bounded() -> None:
    items = session_list(*[str(i) for i in range(selectors.BOOKMARKS_SESSION_MAX)])
    with pytest.raises(ApplicationError) as error:
        session_bookmark_add(items=items, pid=pid(99999), title="En for meget")
    assert error.value.code == "bookmarks_full"


@given(
    st.recursive(
        st.none() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)
    )
)
@settings(max_examples=200)
def test_whatever_a_session_holds_parses_without_error(data: object) -> None:
    entries = session_bookmarks_parse(items=data)
    assert all(isinstance(e.pid, str) for e in entries)
    assert isinstance(page_number_parse(data), int)


def test_selection_to_order_from_is_at_most_25_of_the_list_R_PORTAL_16() -> None:
    on_list = {pid(i) for i in range(30)}
    chosen = bookmark_selection_parse(pids=[pid(3), pid(3), pid(1), pid(77), "x:"], on_list=on_list)
    assert chosen == [pid(3), pid(1)]
    with pytest.raises(ApplicationError) as error:
        bookmark_selection_parse(pids=[pid(i) for i in range(26)], on_list=on_list)
    assert error.value.code == "selection_too_large"


@pytest.mark.django_db
def test_profile_bookmarks_are_kept_beyond_the_session_without_duplicates_R_PORTAL_16() -> None:
    owner = profile()
    assert bookmark_add(profile=owner, pid=pid(1), title="Barndom", now=T0)
    assert not bookmark_add(profile=owner, pid=pid(1), title="Barndom")
    assert bookmark_add(
        profile=owner, pid=pid(2), title="Babettes gæstebud", now=T0 + dt.timedelta(1)
    )
    page = bookmarks_page_for_profile(profile=owner, sort=BookmarkSort.TITLE)
    assert [e.title for e in page.entries] == ["Babettes gæstebud", "Barndom"]
    assert bookmarks_remove(profile=owner, pids=[pid(1), pid(5)]) == 1
    assert list(Bookmark.objects.values_list("pid", flat=True)) == [pid(2)]


@pytest.mark.django_db
def test_profile_login_merges_the_session_bookmarks_without_duplicates_R_PORTAL_16() -> None:
    owner = profile()
    bookmark_add(profile=owner, pid=pid(0), title="Already there", now=T0 - dt.timedelta(days=3))
    items = session_list("Already there", "Ny", "Også ny")
    assert bookmarks_merge_from_session(profile=owner, items=items) == 2
    # Doing it twice (a second login with the same session) adds nothing.
    assert bookmarks_merge_from_session(profile=owner, items=items) == 0
    pids = sorted(Bookmark.objects.filter(profile=owner).values_list("pid", flat=True))
    assert pids == [pid(0), pid(1), pid(2)]
    kept = Bookmark.objects.get(profile=owner, pid=pid(0))
    assert kept.created_at == T0 - dt.timedelta(days=3)  # the profile's entry is kept


@pytest.mark.django_db
def test_one_profiles_bookmarks_are_not_anothers() -> None:
    anna, bo = profile(), profile()
    bookmark_add(profile=anna, pid=pid(1), title="A")
    assert bookmarks_page_for_profile(profile=bo).total == 0
    assert bookmarks_remove(profile=bo, pids=[pid(1)]) == 0
    assert Bookmark.objects.count() == 1


def run_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together, each on its own connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except BaseException as exc:  # the test reads it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    return results


@pytest.mark.django_db(transaction=True)
def test_the_profile_bound_holds_under_parallel_adds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten parallel adds with room for three: exactly three are kept, the others refused."""
    monkeypatch.setattr(services, "BOOKMARKS_PROFILE_MAX", 3)
    owner = profile()
    results = run_at_once(
        [lambda n=n: bookmark_add(profile=owner, pid=pid(n), title=str(n)) for n in range(10)]
    )
    refused = [r for r in results if isinstance(r, ApplicationError)]
    assert [r for r in results if r is True] and len(refused) == 7, results
    assert all(r.code == "bookmarks_full" for r in refused)
    assert Bookmark.objects.filter(profile=owner).count() == 3


@pytest.mark.django_db(transaction=True)
def test_parallel_adds_of_one_material_keep_it_once_R_PORTAL_16() -> None:
    owner = profile()
    results = run_at_once(
        [lambda: bookmark_add(profile=owner, pid=pid(1), title="Barndom") for _ in range(8)]
    )
    assert results.count(True) == 1 and results.count(False) == 7, results
    assert Bookmark.objects.filter(profile=owner).count() == 1

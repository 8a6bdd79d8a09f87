"""Saved searches for profile users; the session's last 10 searches for everyone (R-PORTAL-17)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biblogin.common.errors import ApplicationError
from biblogin.userdata.models import Profile, SavedSearch
from biblogin.userdata.selectors import (
    saved_search_get,
    saved_searches_list,
    session_recent_searches_parse,
)
from biblogin.userdata.services import (
    profile_login_record,
    recent_search_record,
    saved_search_create,
    saved_search_delete,
    saved_search_rename,
)

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def profile() -> Profile:
    return profile_login_record(patron_guid=uuid.uuid4()).profile


@pytest.mark.django_db
def test_a_saved_search_is_named_after_its_query_by_default_R_PORTAL_17() -> None:
    owner = profile()
    saved = saved_search_create(
        profile=owner, query="  Karen   Blixen ", params={"type": ["bog"], "sort": "newest"}
    )
    assert (saved.name, saved.query) == ("Karen Blixen", "Karen Blixen")
    assert saved.params == {"sort": ["newest"], "type": ["bog"]}
    named = saved_search_create(profile=owner, query="Tove Ditlevsen", name="Til læsekredsen")
    assert named.name == "Til læsekredsen"
    assert [s.name for s in saved_searches_list(profile=owner)] == [
        "Til læsekredsen",
        "Karen Blixen",
    ]


@pytest.mark.django_db
def test_a_saved_search_is_renamed_and_deleted_R_PORTAL_17() -> None:
    owner = profile()
    saved = saved_search_create(profile=owner, query="Karen Blixen")
    saved_search_rename(saved_search=saved, name="Blixen")
    assert SavedSearch.objects.get().name == "Blixen"
    with pytest.raises(ApplicationError):
        saved_search_rename(saved_search=saved, name="   ")
    assert SavedSearch.objects.get().name == "Blixen"
    saved_search_delete(saved_search=saved)
    assert not SavedSearch.objects.exists()


@pytest.mark.django_db
def test_another_profiles_saved_search_cannot_be_reached_R_PORTAL_17() -> None:
    anna, bo = profile(), profile()
    saved = saved_search_create(profile=anna, query="Karen Blixen")
    assert saved_search_get(profile=anna, saved_search_id=str(saved.pk)) == saved
    assert saved_search_get(profile=bo, saved_search_id=str(saved.pk)) is None
    for junk in ["", "abc", "-1", "1e3", "٣", "9" * 40, None]:
        assert saved_search_get(profile=anna, saved_search_id=junk) is None


@pytest.mark.django_db
def test_an_empty_or_malformed_search_is_not_saved() -> None:
    owner = profile()
    for query, params in [
        ("", {}),
        ("   ", {}),
        ("x" * 300, {}),
        ("ok", {"Bad-Name": ["x"]}),
        ("ok", {"type": [""]}),
        ("ok", {"type": ["x" * 100]}),
        ("ok", "junk"),
    ]:
        with pytest.raises(ApplicationError):
            saved_search_create(profile=owner, query=query, params=params)  # type: ignore[arg-type]
    assert not SavedSearch.objects.exists()


def test_the_session_keeps_the_last_10_searches_latest_first() -> None:
    items: list = []
    for n in range(12):
        items = recent_search_record(
            items=items, query=f"søgning {n}", params={}, now=T0 + dt.timedelta(minutes=n)
        )
    searches = session_recent_searches_parse(items=items)
    assert [s.query for s in searches] == [f"søgning {n}" for n in range(11, 1, -1)]
    # A repeat moves to the top instead of appearing twice.
    items = recent_search_record(
        items=items, query="søgning 5", params={}, now=T0 + dt.timedelta(hours=1)
    )
    searches = session_recent_searches_parse(items=items)
    assert [s.query for s in searches][:2] == ["søgning 5", "søgning 11"]
    assert len(searches) == 10


@given(
    st.recursive(
        st.none() | st.integers() | st.floats() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
    )
)
@settings(max_examples=200)
def test_whatever_a_session_holds_as_searches_parses_without_error(data: object) -> None:
    assert len(session_recent_searches_parse(items=data)) <= 10

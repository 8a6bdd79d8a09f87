"""R-SEC-3 / R-ORDER-1: malformed order forms never give a 500 and never order anything."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblogin.circulation.models import Order
from biblogin.integrations.library_systems.models import SimReservation
from tests.circulation import catalogue as c

FUZZ = settings(
    max_examples=int(os.environ.get("BIBLOGIN_FUZZ_EXAMPLES", "25")),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

text = st.text(max_size=40) | st.sampled_from(["", "\x00", "x" * 400, "0" * 6, "æøå", "710104"])
pids = st.lists(
    st.sampled_from([c.AT_HH, c.AT_VESTERBRO, c.NOBODY_LENDS, c.ARTICLE]) | text, max_size=30
)
fields = st.fixed_dictionaries(
    {
        "pid": pids,
        "filial": st.sampled_from(["830099", "710104", "710111", "710117", "850099"]) | text,
        "key": st.sampled_from(["k" * 32, ""]) | text,
        "pin": text,
        "stop": text,
        "igen": text,
        "laaner-userId": st.sampled_from(["HH-999", ""]) | text,
        "laaner-userName": text,
        "laaner-userMail": st.sampled_from(["ida@", "ida@example.dk"]) | text,
        "year-0": text,
        "issue-0": text,
    }
)


@pytest.fixture
def guest(demo: None) -> Client:
    c.order_catalogue()
    return Client()


@FUZZ
@given(fields)
def test_malformed_order_forms_give_no_500_and_order_nothing_R_SEC_3(
    guest: Client, data: dict[str, Any]
) -> None:
    posted = guest.post("/bestil/", data)
    assert posted.status_code in (200, 303, 400, 403, 429), posted.status_code
    shown = guest.get("/bestil/", data)
    assert shown.status_code in (200, 400), shown.status_code
    chooser = guest.get("/bestil/afhentningssted/", {"pid": data["pid"], "q": data["pin"]})
    assert chooser.status_code in (200, 400), chooser.status_code
    assert not Order.objects.exists()
    assert not SimReservation.objects.filter(material_id__startswith="870970-basis:91").exists()

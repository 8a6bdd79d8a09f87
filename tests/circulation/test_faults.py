"""R-ORDER-5 under faults: the library times out during placement; after the retry the order
is neither lost nor doubled (the order is recorded first, each line placed under its key)."""

from __future__ import annotations

import pytest

from biblogin.circulation import orders as orders_module
from biblogin.circulation.models import LineOutcome, Order, OrderState
from biblogin.circulation.orders import order_submit
from biblogin.integrations.library_systems.models import SimReservation
from biblogin.integrations.library_systems.protocol import LibrarySystemTimeout
from tests.circulation.builders import ANNA_CPR, book, key, profile

pytestmark = pytest.mark.usefixtures("demo")


class LosesAnswers:
    """The pickup library's system, whose answers to request_place never arrive in time.

    ``places``: the request reaches the library and is placed, only the answer is lost (the
    hard case); else the request is lost on the way and nothing is placed.
    """

    def __init__(self, inner, *, places: bool) -> None:
        self.inner = inner
        self.places = places
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def request_place(self, **kwargs):
        self.calls += 1
        if self.places:
            self.inner.request_place(**kwargs)
        raise LibrarySystemTimeout("no answer in time")


@pytest.mark.parametrize("places", [True, False], ids=["answer-lost", "request-lost"])
def test_a_timeout_during_placement_is_neither_lost_nor_doubled_after_the_retry_R_ORDER_5(
    monkeypatch, places: bool
) -> None:
    real = orders_module.library_system_for
    faulty: list[LosesAnswers] = []

    def system_for(agency_id: str):
        faulty.append(LosesAnswers(real(agency_id), places=places))
        return faulty[-1]

    form_key, anna = key(), profile(ANNA_CPR)
    monkeypatch.setattr(orders_module, "library_system_for", system_for)
    first = order_submit(
        submission_key=form_key, orderer=anna, pickup_branch_id="710104", materials=[book()]
    ).order
    line = first.lines.get()
    assert faulty[0].calls == 2  # the call and its one retry, under the same key
    assert first.state == OrderState.PLACING and line.outcome == LineOutcome.UNCERTAIN
    assert line.reason_code == "LIBRARY_NOT_ANSWERING"
    assert SimReservation.objects.filter(material_id=book().pid).count() == (1 if places else 0)

    monkeypatch.setattr(orders_module, "library_system_for", real)
    again = order_submit(
        submission_key=form_key, orderer=anna, pickup_branch_id="710104", materials=[book()]
    )
    assert again.replayed and again.order.pk == first.pk
    assert again.order.state == OrderState.COMPLETED
    assert again.order.lines.get().outcome == LineOutcome.PLACED
    assert Order.objects.count() == 1
    assert SimReservation.objects.filter(material_id=book().pid).count() == 1


def test_a_retry_while_the_first_attempt_runs_does_not_call_the_library_again_R_ORDER_5(
    monkeypatch,
) -> None:
    form_key, anna = key(), profile(ANNA_CPR)
    seen: list[object] = []
    calls: list[str] = []
    original = orders_module._request

    def during_first_call(system, *, order, line, timeout):
        calls.append(line.library_key)
        if not seen:
            seen.append(
                order_submit(
                    submission_key=form_key,
                    orderer=anna,
                    pickup_branch_id="710104",
                    materials=[book()],
                )
            )
        return original(system, order=order, line=line, timeout=timeout)

    monkeypatch.setattr(orders_module, "_request", during_first_call)
    first = order_submit(
        submission_key=form_key, orderer=anna, pickup_branch_id="710104", materials=[book()]
    )
    concurrent = seen[0]
    assert concurrent.replayed and concurrent.order.pk == first.order.pk
    assert len(calls) == 1  # the retry found the attempt running: the library asked once
    assert first.order.lines.get().outcome == LineOutcome.PLACED
    assert SimReservation.objects.filter(material_id=book().pid).count() == 1

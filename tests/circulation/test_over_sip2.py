"""The SIP2 demo library's loans reach Lån og reserveringer over real SIP2 (R-PORTAL-13)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from biblogin.circulation.selectors import CirculationUser, circulation_overview_for
from biblogin.circulation.services import loan_renew_for
from biblogin.demo.sip2 import DEMO_SIP2_AGENCY, DemoSip2, demo_sip2_start
from biblogin.integrations.library_systems.models import SimLoan
from biblogin.integrations.library_systems.selectors import library_system_for
from biblogin.integrations.library_systems.sip2.adapter import Sip2LibrarySystem
from biblogin.integrations.library_systems.sip2.client import clients_close

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo", "inline_fanout")]

CLARA = CirculationUser.session(agency_id=DEMO_SIP2_AGENCY, user_id="clara@ucn.example")


@pytest.fixture
def over_sip2() -> Iterator[DemoSip2]:
    sip2 = demo_sip2_start(shared_connection=connections[DEFAULT_DB_ALIAS])
    try:
        yield sip2
    finally:
        clients_close()
        sip2.stop()


def test_the_sip2_demo_librarys_loans_arrive_over_sip2_R_PORTAL_13(over_sip2: DemoSip2) -> None:
    assert isinstance(library_system_for(DEMO_SIP2_AGENCY), Sip2LibrarySystem)
    overview = circulation_overview_for(user=CLARA)
    assert [(loan.title, loan.library.name) for loan in overview.loans] == [
        ("Pædagogisk psykologi", "UCN Biblioteket")
    ]
    assert overview.unavailable == ()
    # The loan ID is the SIP2 item identifier the server made up (L<id>), not the simulator's.
    assert overview.loans[0].loan_id.startswith("L")


def test_renewing_over_sip2_gives_the_new_due_date_R_PORTAL_13(over_sip2: DemoSip2) -> None:
    loan = circulation_overview_for(user=CLARA).loans[0]
    renewed = loan_renew_for(user=CLARA, agency_id=DEMO_SIP2_AGENCY, loan_id=loan.loan_id)
    stored = SimLoan.objects.get(title="Pædagogisk psykologi")
    assert renewed.due_date == stored.due_date > loan.due_date
    assert stored.renewals == 1


def test_a_sip2_server_that_is_gone_is_named_in_the_notice_R_PORTAL_13(
    over_sip2: DemoSip2,
) -> None:
    clients_close()
    over_sip2.server.stop()
    overview = circulation_overview_for(user=CLARA)
    assert [lib.name for lib in overview.unavailable] == ["UCN Biblioteket"]
    assert overview.loans == ()

"""Lån og reserveringer across libraries: rows, order, marks, failing libraries (R-PORTAL-13)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from biblogin.circulation.selectors import (
    CirculationUser,
    circulation_counts_for,
    circulation_overview_for,
)
from biblogin.integrations.library_systems.models import SimLoan, SimulatedSystem
from biblogin.patrons.selectors import patron_get_by_cpr
from biblogin.registry.models import Agency

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo", "inline_fanout")]

ANNA = "1503851234"
KBH, GENTOFTE, UCN = "Københavns Biblioteker", "Gentofte Bibliotekerne", "UCN Biblioteket"


def _anna() -> CirculationUser:
    patron = patron_get_by_cpr(cpr=ANNA)
    assert patron is not None
    return CirculationUser.profile(str(patron.guid))


def test_anna_sees_loans_reservations_and_debts_from_both_libraries_R_PORTAL_13() -> None:
    overview = circulation_overview_for(user=_anna())
    assert {lib.name for lib in overview.asked} == {KBH, GENTOFTE}
    assert overview.unavailable == ()
    assert [(loan.title, loan.library.name) for loan in overview.loans] == [
        ("H.C. Andersen: Eventyr", GENTOFTE),
        ("Tove Ditlevsen: Barndom", KBH),
        ("Karen Blixen: Den afrikanske farm", KBH),
    ]
    assert [(d.title, d.amount_dkk, d.library.name) for d in overview.debts] == [
        ("Overskredet lånetid: H.C. Andersen: Eventyr", Decimal("35.00"), GENTOFTE)
    ]
    assert overview.debt_total == Decimal("35.00")


def test_loans_are_marked_overdue_and_due_soon_with_days_left_R_PORTAL_13() -> None:
    eventyr, barndom, farm = circulation_overview_for(user=_anna()).loans
    assert eventyr.overdue and eventyr.days_overdue == 9 and not eventyr.due_soon
    assert barndom.due_soon and barndom.days_left == 3 and not barndom.overdue
    assert not farm.due_soon and not farm.overdue and farm.days_left == 14


def test_due_soon_is_five_days_or_fewer_R_PORTAL_13() -> None:
    today = timezone.localdate()
    SimLoan.objects.filter(title="Tove Ditlevsen: Barndom").update(
        due_date=today + dt.timedelta(days=5)
    )
    SimLoan.objects.filter(title="Karen Blixen: Den afrikanske farm").update(
        due_date=today + dt.timedelta(days=6)
    )
    loans = {loan.title: loan for loan in circulation_overview_for(user=_anna()).loans}
    assert loans["Tove Ditlevsen: Barndom"].due_soon
    assert not loans["Karen Blixen: Den afrikanske farm"].due_soon


def test_reservations_ready_for_pickup_come_first_with_branch_and_date_R_PORTAL_13() -> None:
    ready, waiting = circulation_overview_for(user=_anna()).reservations
    assert ready.ready_for_pickup and ready.title == "Helle Helle: de"
    assert ready.pickup_expires == timezone.localdate() + dt.timedelta(days=6)
    assert ready.pickup_branch == "Vesterbro Bibliotek"
    assert not waiting.ready_for_pickup and waiting.queue_position == 4 and waiting.ahead == 3


def test_a_failing_library_is_named_while_the_others_show_R_PORTAL_13() -> None:
    SimulatedSystem.objects.filter(agency_id="715700").update(down=True)
    overview = circulation_overview_for(user=_anna())
    assert [lib.name for lib in overview.unavailable] == [GENTOFTE]
    assert {loan.library.name for loan in overview.loans} == {KBH}
    assert overview.debts == ()  # Gentofte's debt cannot be known now
    assert len(overview.reservations) == 2


def test_a_slow_library_is_named_after_its_timeout_R_PORTAL_13(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CIRCULATION_LIBRARY_TIMEOUT_SECONDS = 0.2
    SimulatedSystem.objects.filter(agency_id="715700").update(latency_ms=1000)
    overview = circulation_overview_for(user=_anna())
    assert [lib.name for lib in overview.unavailable] == [GENTOFTE]
    assert len(overview.loans) == 2


def test_only_libraries_that_provide_user_status_are_asked_R_VIP_8() -> None:
    Agency.objects.filter(agency_id="715700").update(provides_user_status=False)
    overview = circulation_overview_for(user=_anna())
    assert [lib.name for lib in overview.asked] == [KBH]
    assert overview.unavailable == ()


def test_a_session_user_sees_their_login_librarys_loans_R_PORTAL_13() -> None:
    clara = CirculationUser.session(agency_id="829000", user_id="clara@ucn.example")
    overview = circulation_overview_for(user=clara)
    assert [(loan.title, loan.library.name) for loan in overview.loans] == [
        ("Pædagogisk psykologi", UCN)
    ]


def test_a_library_that_does_not_know_the_user_is_no_outage() -> None:
    clara = CirculationUser.session(agency_id="829000", user_id="nobody@ucn.example")
    overview = circulation_overview_for(user=clara)
    assert overview.loans == () and overview.unavailable == ()


def test_the_counts_for_the_menu_are_those_last_fetched_R_PORTAL_13() -> None:
    anna = _anna()
    assert circulation_counts_for(user=anna) is None  # never asks a library itself
    circulation_overview_for(user=anna)
    counts = circulation_counts_for(user=anna)
    assert counts is not None
    assert (counts.loans, counts.overdue, counts.reservations, counts.ready_for_pickup) == (
        3,
        1,
        2,
        1,
    )
    assert counts.debts == 1


def test_a_loan_whose_record_is_a_catalogue_pid_is_linked_R_PORTAL_13() -> None:
    from biblogin.catalogue.models import Manifestation, Work

    work = Work.objects.create(work_id="work-barndom", title="Barndom")
    pid = "870970-basis:29346571"
    Manifestation.objects.create(pid=pid, work=work, title="Barndom")
    SimLoan.objects.filter(title="Tove Ditlevsen: Barndom").update(material_id=pid)
    SimLoan.objects.filter(title="Karen Blixen: Den afrikanske farm").update(
        material_id="870970-basis:not-in-the-catalogue"
    )
    loans = {loan.title: loan for loan in circulation_overview_for(user=_anna()).loans}
    assert loans["Tove Ditlevsen: Barndom"].catalogue_pid == pid
    assert loans["Karen Blixen: Den afrikanske farm"].catalogue_pid is None

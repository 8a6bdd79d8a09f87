"""CULR under concurrent writers on PostgreSQL: one patron, one account, no error (R-CULR-1, -4).

Every thread waits at a barrier and then calls the service at once, on its own connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from biblogin.patrons.models import Account, AccountIdType, Patron
from biblogin.patrons.services import (
    account_create,
    account_delete,
    account_link,
    patron_get_or_create_by_cpr,
)
from tests.patrons.builders import CPR, OTHER_CPR, cpr_number

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 12


def run_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together; re-raise the first error, if any."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def worker(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    if errors:
        raise errors[0]
    return results


def test_concurrent_account_creation_gives_one_patron_and_one_account_R_CULR_1():
    """R-CULR-1/-4: N processes creating the same CPR account at once end with one of each."""
    results = run_at_once(
        [lambda: account_create(agency_id="710100", cpr=CPR) for _ in range(THREADS)]
    )

    assert len({a.pk for a in results}) == 1
    assert Patron.objects.count() == 1
    assert Account.objects.count() == 1


def test_concurrent_local_account_creation_gives_one_patron_and_one_account_R_CULR_1():
    results = run_at_once(
        [
            lambda: account_create(agency_id="820010", cpr=CPR, local_id="s123")
            for _ in range(THREADS)
        ]
    )

    assert len({a.pk for a in results}) == 1
    assert Patron.objects.count() == 1
    assert list(Account.objects.values_list("id_type", "local_id")) == [
        (AccountIdType.LOCAL, "s123")
    ]


def test_concurrent_patron_get_or_create_gives_one_patron_R_CULR_1():
    results = run_at_once([lambda: patron_get_or_create_by_cpr(cpr=CPR) for _ in range(THREADS)])
    assert len({p.guid for p in results}) == 1
    assert Patron.objects.count() == 1


def test_concurrent_accounts_at_many_agencies_share_one_patron_R_CULR_4():
    """R-CULR-4: accounts of one CPR made at once at many agencies all land on one patron."""
    agencies = [f"7{100 + i:03d}00" for i in range(THREADS // 2)]
    calls = [lambda a=a: account_create(agency_id=a, cpr=CPR) for a in agencies] + [
        lambda a=a: account_create(agency_id=a, cpr=CPR, local_id=f"L{a}") for a in agencies
    ]
    run_at_once(calls)

    assert Patron.objects.count() == 1
    assert Account.objects.count() == len(agencies) * 2
    assert Account.objects.values("patron").distinct().count() == 1


def test_concurrent_links_of_one_local_id_to_two_people_leave_one_consistent_owner():
    """Two people linking one local ID at once: one account, its owner active, no error."""
    calls = [
        lambda cpr=(CPR if i % 2 else OTHER_CPR): account_link(
            agency_id="820010", cpr=cpr, local_id="s123"
        )
        for i in range(THREADS)
    ]
    run_at_once(calls)

    account = Account.objects.select_related("patron").get()
    assert account.patron.is_active
    loser = Patron.objects.exclude(pk=account.patron_id).get()
    assert loser.is_active is False  # R-CULR-4: left with no accounts


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_deletes_of_the_last_accounts_deactivate_the_patron_R_CULR_4(round_):
    """R-CULR-4: deleting a patron's last accounts at once still deactivates it, exactly."""
    cpr = cpr_number(round_)
    accounts = [account_create(agency_id="710100", cpr=cpr)] + [
        account_create(agency_id="820010", cpr=cpr, local_id=f"s{i}") for i in range(THREADS - 1)
    ]
    patron = accounts[0].patron
    connection.close()  # the threads use their own connections; so will the checks below

    run_at_once([lambda a=a: account_delete(account=a) for a in accounts])

    patron.refresh_from_db()
    assert Account.objects.count() == 0
    assert patron.is_active is False


def test_concurrent_create_and_delete_never_leave_an_active_patron_without_accounts():
    base = account_create(agency_id="710100", cpr=CPR)
    calls: list[Callable[[], Any]] = [lambda: account_delete(account=base)]
    calls += [
        lambda i=i: account_create(agency_id="820010", cpr=CPR, local_id=f"n{i}")
        for i in range(THREADS - 1)
    ]
    run_at_once(calls)

    patron = Patron.objects.get()
    assert patron.is_active == Account.objects.filter(patron=patron).exists()
    assert Account.objects.count() == THREADS - 1

"""Delivery of borrowers from culr_sync agencies' library systems to CULR (R-CULR-2)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from biblogin.audit.models import AuditEvent
from biblogin.common.errors import ApplicationError
from biblogin.culrsync.services import SyncReport, culr_sync_agency, culr_sync_all
from biblogin.integrations.library_systems.protocol import (
    Borrower,
    LibrarySystemUnavailable,
    Loan,
    RequestReceipt,
    UserStatus,
)
from biblogin.patrons.models import Account, AccountIdType, Patron
from biblogin.patrons.selectors import (
    account_get_cpr,
    account_get_local,
    patron_get_by_cpr,
)
from biblogin.patrons.services import account_create
from biblogin.registry.models import Agency, AgencyStatus, AgencyType
from tests.patrons.builders import CPR, CPR_DASHED, OTHER_CPR, cpr_number, every_table_text

pytestmark = pytest.mark.django_db


class ExportingLibrarySystem:
    """A library system at the integration boundary that only exports its borrowers."""

    def __init__(
        self, agency_id: str, borrowers: list[Borrower], *, fail_after: int | None = None
    ) -> None:
        self.agency_id = agency_id
        self.borrowers = borrowers
        self.fail_after = fail_after

    def borrowers_export(self) -> Iterator[Borrower]:
        for i, borrower in enumerate(self.borrowers):
            if self.fail_after is not None and i >= self.fail_after:
                raise LibrarySystemUnavailable("connection reset")
            yield borrower

    def authenticate(self, *, user_id: str, password: str, timeout: float) -> Borrower:
        raise LibrarySystemUnavailable("export only")

    def lookup(self, *, user_id: str, timeout: float) -> Borrower:
        raise LibrarySystemUnavailable("export only")

    def user_status(self, *, borrower_ref: str, timeout: float) -> UserStatus:
        raise LibrarySystemUnavailable("export only")

    def loan_renew(self, *, borrower_ref: str, loan_id: str, timeout: float) -> Loan:
        raise LibrarySystemUnavailable("export only")

    def reservation_cancel(self, *, borrower_ref: str, reservation_id: str, timeout: float) -> None:
        raise LibrarySystemUnavailable("export only")

    def request_place(
        self,
        *,
        borrower_ref: str,
        idempotency_key: str,
        material_ids: Sequence[str],
        pickup_branch_id: str,
        timeout: float,
    ) -> RequestReceipt:
        raise LibrarySystemUnavailable("export only")


def borrower(
    cpr: str | None, *numbers: str, municipality_no: int | None = None, ref: str = "r"
) -> Borrower:
    return Borrower(
        borrower_ref=ref,
        name="Test Testesen",
        email="",
        municipality_no=municipality_no,
        blocked=False,
        cpr=cpr,
        borrower_numbers=tuple(numbers),
    )


@pytest.fixture
def agencies() -> dict[str, Agency]:
    rows = [
        ("710100", "Københavns Biblioteker", AgencyType.FOLKEBIBLIOTEK, 101, True),
        ("775100", "Aarhus Kommunes Biblioteker", AgencyType.FOLKEBIBLIOTEK, 751, True),
        ("820010", "Det Kgl. Bibliotek", AgencyType.FORSKNINGSBIBLIOTEK, None, False),
        ("874660", "Gymnasiebiblioteket", AgencyType.ANDRE, None, True),
    ]
    return {
        agency_id: Agency.objects.create(
            agency_id=agency_id,
            name=name,
            agency_type=kind,
            municipality_no=municipality,
            culr_sync=culr_sync,
        )
        for agency_id, name, kind, municipality, culr_sync in rows
    }


def snapshot() -> tuple[list[tuple], list[tuple]]:
    return (
        list(Patron.objects.order_by("pk").values_list()),
        list(Account.objects.order_by("pk").values_list()),
    )


def sync(agency_id: str, *borrowers: Borrower) -> SyncReport:
    return culr_sync_agency(
        agency_id=agency_id, system=ExportingLibrarySystem(agency_id, list(borrowers))
    )


def test_borrower_with_cpr_gets_a_cpr_account_and_local_accounts_R_CULR_2(agencies):
    """R-CULR-2: CPR account at the agency plus a LOCAL account per borrower number."""
    report = sync("710100", borrower(CPR_DASHED, "1234567", "card-9", municipality_no=101))

    patron = patron_get_by_cpr(cpr=CPR)
    assert patron is not None
    assert account_get_cpr(agency_id="710100", cpr=CPR).patron == patron
    assert account_get_local(agency_id="710100", local_id="1234567").patron == patron
    assert account_get_local(agency_id="710100", local_id="card-9").patron == patron
    assert report.accounts_created == 3
    assert report.patrons_created == 1
    assert report.patrons_touched == 1


def test_one_persons_borrowers_at_two_agencies_share_one_patron_R_CULR_2(agencies):
    """R-CULR-2: 'under the patron with that CPR', whichever library delivers it."""
    sync("710100", borrower(CPR, "111"))
    account_create(agency_id="820010", cpr=CPR, local_id="ffu-1")
    sync("874660", borrower(CPR, "g-7"))

    assert Patron.objects.count() == 1
    assert Account.objects.filter(patron__cpr_hash__isnull=False).count() == 5


def test_a_public_library_delivery_sets_the_home_municipality_R_CULR_2(agencies):
    """R-CULR-2: a FOLKEBIBLIOTEK's borrower municipality is the patron's home municipality."""
    sync("710100", borrower(CPR, municipality_no=101))
    assert patron_get_by_cpr(cpr=CPR).municipality_no == 101

    report = sync("775100", borrower(CPR, municipality_no=751))
    assert patron_get_by_cpr(cpr=CPR).municipality_no == 751
    assert report.patrons_updated == 1


def test_a_non_public_library_never_changes_the_home_municipality_R_CULR_2(agencies):
    sync("710100", borrower(CPR, municipality_no=101))
    sync("874660", borrower(CPR, municipality_no=751))
    assert patron_get_by_cpr(cpr=CPR).municipality_no == 101


def test_borrowers_without_cpr_are_skipped_and_counted_R_CULR_2(agencies):
    report = sync(
        "710100",
        borrower(None, "555"),
        borrower("", "556"),
        borrower("3102851234", "557"),  # 31 February: not a CPR
        borrower(CPR, "558"),
    )
    assert report.borrowers_read == 4
    assert report.skipped_without_cpr == 2
    assert report.skipped_invalid_cpr == 1
    assert Patron.objects.count() == 1
    assert not Account.objects.filter(local_id__in=["555", "556", "557"]).exists()


def test_a_second_delivery_changes_nothing(agencies):
    """R-CULR-2: the delivery is idempotent: rows, timestamps and counts stay as they were."""
    borrowers = [
        borrower(cpr_number(i), f"n{i}", municipality_no=101, ref=str(i)) for i in range(20)
    ]
    first = sync("710100", *borrowers)
    before = snapshot()

    second = sync("710100", *borrowers)

    assert first.changes == 40 + 20
    assert second.changes == 0
    assert second.borrowers_unchanged == 20
    assert second.patrons_touched == first.patrons_touched == 20
    assert snapshot() == before


def test_a_borrower_gone_from_the_library_loses_the_accounts_there_R_CULR_4(agencies):
    """R-CULR-4 via delivery: accounts of a borrower the library no longer has are deleted."""
    sync("710100", borrower(CPR, "111"), borrower(OTHER_CPR, "222"))
    account_create(agency_id="820010", cpr=OTHER_CPR, local_id="ffu")

    report = sync("710100", borrower(OTHER_CPR, "222"))

    assert report.accounts_removed == 2
    gone = patron_get_by_cpr(cpr=CPR, include_inactive=True)
    assert gone.is_active is False
    assert account_get_cpr(agency_id="710100", cpr=OTHER_CPR) is not None
    assert account_get_local(agency_id="820010", local_id="ffu") is not None  # other agency


def test_a_dropped_borrower_number_is_removed_but_the_cpr_account_stays(agencies):
    sync("710100", borrower(CPR, "111", "112"))
    report = sync("710100", borrower(CPR, "112"))
    assert report.accounts_removed == 1
    assert account_get_local(agency_id="710100", local_id="111") is None
    assert account_get_cpr(agency_id="710100", cpr=CPR) is not None


def test_an_empty_export_never_removes_accounts(agencies):
    sync("710100", borrower(CPR, "111"))
    before = snapshot()

    report = sync("710100")

    assert report.removal_skipped is True
    assert snapshot() == before


def test_an_interrupted_export_raises_and_removes_nothing(agencies):
    sync("710100", borrower(CPR, "111"), borrower(OTHER_CPR, "222"))
    before = snapshot()
    broken = ExportingLibrarySystem(
        "710100", [borrower(CPR, "111"), borrower(OTHER_CPR, "222")], fail_after=1
    )

    with pytest.raises(ApplicationError) as caught:
        culr_sync_agency(agency_id="710100", system=broken)

    assert caught.value.code == "service_unavailable"
    assert "ingen konti er fjernet" in caught.value.message
    assert snapshot() == before
    event = AuditEvent.objects.get(action="culr_sync", outcome="failed")
    assert event.agency_id == "710100"


def test_a_reissued_borrower_number_moves_to_its_new_holder(agencies):
    sync("710100", borrower(CPR, "111"), borrower(OTHER_CPR, "222"))

    report = sync("710100", borrower(CPR, "222"), borrower(OTHER_CPR))

    assert account_get_local(agency_id="710100", local_id="222").patron.cpr == CPR
    assert report.accounts_moved == 1
    assert report.accounts_removed == 1  # "111"


def test_a_number_claimed_by_two_borrowers_stays_with_the_first_and_is_stable(agencies):
    borrowers = [borrower(CPR, "shared"), borrower(OTHER_CPR, "shared")]
    first = sync("710100", *borrowers)
    before = snapshot()
    second = sync("710100", *borrowers)

    assert account_get_local(agency_id="710100", local_id="shared").patron.cpr == CPR
    assert first.skipped_local_ids == second.skipped_local_ids == 1
    assert second.changes == 0
    assert snapshot() == before


def test_a_borrower_number_equal_to_the_cpr_is_not_kept_in_plain_text_R_CULR_5(agencies):
    sync("710100", borrower(CPR, CPR_DASHED, "  ", "x\x00y", "ok"))
    assert list(Account.objects.values_list("id_type", "local_id").order_by("id_type")) == [
        (AccountIdType.CPR, ""),
        (AccountIdType.LOCAL, "ok"),
    ]


@pytest.mark.parametrize(
    ("agency_id", "code"),
    [
        ("820010", "culr_sync_not_enabled"),
        ("999999", "library_not_found"),
        ("7101001", "invalid_agency_id"),
        ("", "invalid_agency_id"),
    ],
)
def test_only_culr_sync_agencies_are_delivered_R_VIP_2(agencies, agency_id, code):
    """R-VIP-2 / R-CULR-2: an agency without culr_sync (or unknown) is refused, nothing changes."""
    before = snapshot()
    with pytest.raises(ApplicationError) as caught:
        sync(agency_id, borrower(CPR, "111"))
    assert caught.value.code == code
    assert caught.value.message
    assert snapshot() == before


def test_a_deleted_agency_is_not_delivered(agencies):
    Agency.objects.filter(agency_id="874660").update(status=AgencyStatus.DELETED)
    with pytest.raises(ApplicationError) as caught:
        sync("874660", borrower(CPR))
    assert caught.value.code == "agency_deleted"


def test_culr_sync_all_delivers_every_culr_sync_agency_and_goes_on_after_a_failure(agencies):
    exports = {
        "710100": ExportingLibrarySystem("710100", [borrower(CPR, "1")]),
        "775100": ExportingLibrarySystem("775100", [borrower(CPR, "2")], fail_after=0),
        "874660": ExportingLibrarySystem("874660", [borrower(OTHER_CPR, "3")]),
        "820010": ExportingLibrarySystem("820010", [borrower(OTHER_CPR, "4")]),
    }

    reports = culr_sync_all(system_for=exports.__getitem__)

    assert [r.agency_id for r in reports] == ["710100", "775100", "874660"]
    assert [bool(r.error) for r in reports] == [False, True, False]
    assert account_get_local(agency_id="710100", local_id="1") is not None
    assert account_get_local(agency_id="874660", local_id="3") is not None
    assert not Account.objects.filter(agency_id__in=["775100", "820010"]).exists()


def test_a_delivery_is_audited_without_personal_data_R_CULR_5(agencies):
    sync("710100", borrower(CPR_DASHED, "111"))
    event = AuditEvent.objects.get(action="culr_sync", outcome="ok")
    assert event.agency_id == "710100"
    assert event.details["accounts_created"] == 2
    assert CPR not in str(event.details) and "111" not in str(event.details)
    everything = every_table_text()  # R-CULR-5: nowhere in the database in plain text
    assert CPR not in everything and CPR_DASHED not in everything


def test_the_report_summary_names_the_counts_in_danish(agencies):
    report = sync("710100", borrower(CPR, "111"), borrower(None))
    text = report.summary()
    assert text.startswith("710100:")
    assert "2 lånere læst" in text
    assert "1 uden CPR" in text

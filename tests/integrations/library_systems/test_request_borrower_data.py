"""The simulated library system receives an order's borrower data (R-VIP-7) with the request."""

from __future__ import annotations

from typing import Any

import pytest

from biblogin.integrations.library_systems.models import SimRequest, SimReservation
from biblogin.integrations.library_systems.protocol import RefusalReason, RequestRefused
from biblogin.integrations.library_systems.services import (
    simulated_borrower_create,
    simulated_system_configure,
)
from biblogin.integrations.library_systems.simulated import SimulatedLibrarySystem

AGENCY = "830099"
DATA = {"userName": "Ida Iversen", "userAddress": "Porcelænshaven 1", "userTelephone": "12345678"}


def _place(key: str, borrower_data: Any) -> None:
    simulated_system_configure(agency_id=AGENCY)
    ida = simulated_borrower_create(
        agency_id=AGENCY, name="Ida", pin=None, borrower_numbers=["HH-1"]
    )
    SimulatedLibrarySystem(agency_id=AGENCY).request_place(
        borrower_ref=ida.borrower_ref,
        idempotency_key=key,
        material_ids=["870970-basis:1"],
        pickup_branch_id=AGENCY,
        timeout=1.0,
        borrower_data=borrower_data,
    )


@pytest.mark.django_db
def test_the_library_keeps_the_borrower_data_the_request_carried_R_VIP_7() -> None:
    """R-VIP-7: what an order tells the library of its borrower is what the library has."""
    _place("order-1:1", DATA)
    assert SimRequest.objects.get(idempotency_key="order-1:1").borrower_data == DATA


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bad",
    [
        {"cpr": "0303951243"},  # an ID type is never borrower data
        {"userName": "Ida\x00"},
        {"userAddress": "x" * 301},
        {"userName": 7},
        ["userName"],
    ],
    ids=["id-type", "nul", "over-long", "not-text", "not-a-mapping"],
)
def test_malformed_borrower_data_is_refused_as_an_invalid_request_R_VIP_7(bad: Any) -> None:
    """The library refuses data it cannot keep (an answer, not a 500), and places nothing."""
    with pytest.raises(RequestRefused) as refused:
        _place("order-2:1", bad)
    assert refused.value.code == RefusalReason.INVALID_REQUEST
    assert not SimRequest.objects.exists() and not SimReservation.objects.exists()

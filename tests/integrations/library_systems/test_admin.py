"""Staff set the simulated systems' behaviour and see borrowers, never a PIN hash or a full CPR."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from biblogin.integrations.library_systems.models import SimulatedSystem
from biblogin.integrations.library_systems.services import (
    simulated_borrower_create,
    simulated_system_configure,
)

pytestmark = pytest.mark.django_db


def test_staff_set_latency_failure_rate_and_down(admin_client: Client) -> None:
    system = simulated_system_configure(agency_id="710100")
    url = reverse("admin:library_systems_simulatedsystem_change", args=[system.pk])
    response = admin_client.post(
        url,
        {"latency_ms": "250", "latency_jitter_ms": "40", "failure_rate": "0.2", "down": "on"},
    )
    assert response.status_code == 302
    system.refresh_from_db()
    assert (system.latency_ms, system.latency_jitter_ms, system.failure_rate, system.down) == (
        250,
        40,
        0.2,
        True,
    )


def test_a_failure_rate_above_one_is_refused_with_a_message(admin_client: Client) -> None:
    system = simulated_system_configure(agency_id="710100")
    url = reverse("admin:library_systems_simulatedsystem_change", args=[system.pk])
    response = admin_client.post(
        url, {"latency_ms": "0", "latency_jitter_ms": "0", "failure_rate": "3"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    system.refresh_from_db()
    assert system.failure_rate == 0.0


def test_staff_add_a_system(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:library_systems_simulatedsystem_add"),
        {"agency_id": "775100", "latency_ms": "10", "latency_jitter_ms": "0", "failure_rate": "0"},
    )
    assert response.status_code == 302
    assert SimulatedSystem.objects.get(agency_id="775100").latency_ms == 10


def test_borrower_pages_show_no_pin_hash_and_only_a_masked_cpr_R_BC_5(
    admin_client: Client,
) -> None:
    borrower = simulated_borrower_create(
        agency_id="710100",
        name="Anna Jensen",
        pin="4711",
        cpr="0101801234",
        borrower_numbers=["L1001"],
    )
    listing = admin_client.get(reverse("admin:library_systems_simborrower_changelist"))
    page = admin_client.get(reverse("admin:library_systems_simborrower_change", args=[borrower.pk]))
    for response in (listing, page):
        assert response.status_code == 200
        html = response.content.decode()
        assert "Anna Jensen" in html
        assert "argon2" not in html
        assert borrower.pin_hash not in html
        assert "0101801234" not in html
        assert borrower.cpr_hash not in html
    assert "010180-XXXX" in page.content.decode()
    assert "L1001" in page.content.decode()

"""Lån og reserveringer and Dine adgange walked as a user in Chromium (R-PORTAL-13, -14).

The live server fans out to the libraries on real threads (the fan-out's shared pool); every
page of ours is checked with axe-core on the way.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import formats
from playwright.sync_api import expect

from biblogin.demo.sip2 import DemoSip2, demo_sip2_start
from biblogin.integrations.library_systems.models import SimLoan, SimReservation, SimulatedSystem
from biblogin.integrations.library_systems.sip2.client import clients_close

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANNA = "1503851234"


def _anna_at_her_loans(new_user):  # type: ignore[no-untyped-def]
    anna = new_user()
    anna.library_login("København", "Københavns Biblioteker", ANNA, "1234")
    assert anna.path == "/profil/"
    anna.click("Lån og reserveringer")
    assert anna.heading() == "Lån og reserveringer"
    return anna


def test_anna_sees_both_libraries_renews_and_deletes_a_reservation_R_PORTAL_13(new_user) -> None:
    anna = _anna_at_her_loans(new_user)
    main = anna.page.locator("main")
    for title in [
        "Karen Blixen: Den afrikanske farm",
        "Tove Ditlevsen: Barndom",
        "H.C. Andersen: Eventyr",
        "Helle Helle: de",
        "Peter Høeg: Frøken Smillas fornemmelse for sne",
    ]:
        expect(main).to_contain_text(title)
    overdue = anna.page.locator(".circulation-item.overdue")
    expect(overdue).to_have_count(1)
    expect(overdue).to_contain_text("H.C. Andersen: Eventyr")
    expect(overdue).to_contain_text("Gentofte Bibliotekerne")
    expect(overdue).to_contain_text("Overskredet med 9 dage")
    expect(main).to_contain_text("35,00 kr.")
    expect(main).to_contain_text("3 foran dig")
    anna.shot("20-laan-og-reserveringer")

    anna.press("Forny Tove Ditlevsen: Barndom")
    new_due = SimLoan.objects.get(title="Tove Ditlevsen: Barndom").due_date
    shown = formats.date_format(new_due, "j. F Y")
    expect(anna.page.get_by_role("status").first).to_contain_text(f"Ny afleveringsdato: {shown}")
    barndom = anna.page.locator(".circulation-item", has_text="Tove Ditlevsen: Barndom")
    expect(barndom).to_contain_text(f"Afleveres senest {shown}")

    anna.click("Slet reservering af Peter Høeg: Frøken Smillas fornemmelse for sne")
    expect(anna.page.locator("main")).to_contain_text("Du mister din plads i køen")
    anna.shot("21-slet-reservering")
    anna.press("Ja, slet reserveringen")
    expect(anna.page.get_by_role("status").first).to_contain_text("er slettet")
    assert not SimReservation.objects.filter(title__startswith="Peter Høeg").exists()
    expect(anna.page.locator(".circulation-item", has_text="Frøken Smillas")).to_have_count(0)
    expect(anna.page.locator("main")).to_contain_text("Helle Helle: de")


def test_with_gentofte_failing_anna_sees_koebenhavn_and_a_notice_R_PORTAL_13(new_user) -> None:
    SimulatedSystem.objects.filter(agency_id="715700").update(down=True)
    anna = _anna_at_her_loans(new_user)
    expect(anna.page.get_by_role("status").first).to_contain_text(
        "Vi kunne ikke hente dine lån fra Gentofte Bibliotekerne lige nu"
    )
    main = anna.page.locator("main")
    expect(main).to_contain_text("Tove Ditlevsen: Barndom")
    expect(main).not_to_contain_text("H.C. Andersen: Eventyr")
    anna.shot("22-gentofte-svarer-ikke")


@pytest.fixture
def ucn_over_sip2() -> Iterator[DemoSip2]:
    sip2 = demo_sip2_start()
    try:
        yield sip2
    finally:
        clients_close()
        sip2.stop()


def test_clara_session_user_sees_her_ucn_loan_over_sip2_R_PORTAL_13(
    new_user, ucn_over_sip2: DemoSip2
) -> None:
    clara = new_user()
    clara.library_login("UCN", "UCN Biblioteket", "clara@ucn.example", "5555")
    if clara.path == "/tilknyt/":
        clara.press("Ikke nu")
    clara.goto("/laan-og-reserveringer/")
    item = clara.page.locator(".circulation-item", has_text="Pædagogisk psykologi")
    expect(item).to_contain_text("UCN Biblioteket")
    # The loan's ID is the SIP2 item identifier the pysip2-based server made up: it came over SIP2.
    loan_id = item.locator("input[name=loan_id]").get_attribute("value")
    assert loan_id is not None and loan_id.startswith("L")
    clara.shot("23-clara-over-sip2")


def test_dine_adgange_shows_annas_services_and_their_libraries_R_PORTAL_14(new_user) -> None:
    anna = new_user()
    anna.library_login("København", "Københavns Biblioteker", ANNA, "1234")
    anna.click("Dine adgange")
    main = anna.page.locator("main")
    for text in ["Infomedia", "Digital Artikelservice", "Central Ebook Plus"]:
        expect(main).to_contain_text(text)
    expect(main).to_contain_text("Adgang via Københavns Biblioteker")
    anna.shot("24-dine-adgange")

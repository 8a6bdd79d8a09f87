"""R-PORTAL-15 walked in Chromium: Anna's saved library info in the one order flow.

Anna saves an e-mail for Københavns Biblioteker on her profile, finds it prefilled when she
orders, changes it and saves it from the order form, and the next order shows the new value;
then the same in English. axe-core checks every page of ours on the way (``User.check``).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from biblogin.circulation.models import Order
from biblogin.userdata.models import SavedLibraryInfo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANNA = "1503851234"
OWNED = "870970-basis:00001000"  # Barndom: lendable at Vesterbro
NOT_OWNED_ILL = "870970-basis:00102000"  # Hunden: lent by Gentofte and Aarhus
AT_HH_AND_CAMPUS_SYD = "870970-basis:00112000"  # also at Københavns Biblioteker


def test_anna_finds_her_saved_email_in_the_order_form_changes_and_saves_it_R_PORTAL_15(
    new_user,
) -> None:
    anna = new_user()
    anna.library_login("København", "Københavns Biblioteker", ANNA, "1234")
    anna.goto("/profil/gemte-oplysninger/")
    anna.page.locator("#id_lib710100-email").fill("anna.gemt@example.dk")
    anna.press("Gem oplysninger til Københavns Biblioteker")
    expect(anna.page.get_by_role("status")).to_contain_text("er gemt")

    anna.goto(f"/bestil/?pid={OWNED}&filial=710104")
    main = anna.page.locator("main")
    expect(main).to_contain_text("Dine kontaktoplysninger til Københavns Biblioteker")
    mail = main.get_by_label("E-mail")
    expect(mail).to_have_value("anna.gemt@example.dk")
    expect(main.get_by_label("Navn")).to_have_count(0)  # the login already names her
    save = main.get_by_label("Gem oplysningerne til næste gang")
    expect(save).not_to_be_checked()
    # A malformed e-mail: a message at the field, nothing ordered, nothing saved.
    mail.fill("anna@")
    save.check()
    anna.press("Godkend")
    expect(main.get_by_label("E-mail")).to_have_attribute("aria-invalid", "true")
    expect(main).to_contain_text("Indtast en gyldig e-mail-adresse")
    assert not Order.objects.exists()
    assert SavedLibraryInfo.objects.get(agency_id="710100").email == "anna.gemt@example.dk"

    main.get_by_label("E-mail").fill("anna.ny@example.dk")
    main.get_by_label("Gem oplysningerne til næste gang").check()
    anna.shot("31-bestil-med-gemte-oplysninger")
    anna.press("Godkend")
    assert anna.heading() == "Kvittering for din bestilling"
    expect(anna.page.get_by_role("status")).to_contain_text(
        "Dine oplysninger til Københavns Biblioteker er gemt til næste gang."
    )
    assert Order.objects.get().email == "anna.ny@example.dk"

    anna.goto(f"/bestil/?pid={NOT_OWNED_ILL}&filial=710104")
    expect(main.get_by_label("E-mail")).to_have_value("anna.ny@example.dk")

    # English: the same form, complete.
    with anna.page.expect_navigation():
        anna.page.get_by_role("button", name="English").click()
    anna.check()
    expect(anna.page.locator("html")).to_have_attribute("lang", "en")
    expect(main).to_contain_text("Your contact details for Københavns Biblioteker")
    expect(main).to_contain_text("Filled in with what you saved for the library")
    main.get_by_label("Email", exact=True).fill("anna.en@example.dk")
    main.get_by_label("Save these details for next time").check()
    anna.shot("32-order-with-saved-details-en")
    anna.press("Confirm")
    expect(anna.page.get_by_role("status")).to_contain_text(
        "Your details for Københavns Biblioteker are saved for next time."
    )
    anna.goto(f"/bestil/?pid={AT_HH_AND_CAMPUS_SYD}&filial=710104")
    expect(main.get_by_label("Email", exact=True)).to_have_value("anna.en@example.dk")
    anna.goto("/profil/gemte-oplysninger/")
    expect(anna.page.locator("#id_lib710100-email")).to_have_value("anna.en@example.dk")

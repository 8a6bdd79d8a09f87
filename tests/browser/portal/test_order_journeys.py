"""Issue 13 "Done when": the order journeys walked as a user, in Danish, axe-checked on every page.

Every step is a link or a form (no JavaScript needed). Screenshots in var/screenshots/.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from playwright.sync_api import expect

from biblogin.circulation.models import LineOutcome, Order
from biblogin.integrations.library_systems.models import SimReservation

OWNED = "870970-basis:00001000"  # Barndom (bog): lendable at Vesterbro and elsewhere
AT_HH_AND_CAMPUS_SYD = "870970-basis:00112000"
NOT_OWNED_ILL = "870970-basis:00102000"  # Hunden: lent by Gentofte and Aarhus only
NOWHERE_LENDABLE = "870970-basis:00010000"
ARTICLE = "870971-tsart:00000001"  # in Kritik, which the Digital Article Service covers


def holds(pid: str, agency_id: str) -> int:
    return SimReservation.objects.filter(
        material_id=pid, borrower__system__agency_id=agency_id
    ).count()


def search_branches(user, query: str) -> None:
    user.page.get_by_label("Søg efter navn, adresse eller postnummer").fill(query)
    with user.page.expect_navigation():
        user.page.locator("main").get_by_role("button", name="Søg").click()
    user.check()


def choose_branch(user, query: str, name: str) -> None:
    user.click("Skift afhentningssted")
    search_branches(user, query)
    user.click(f"Vælg {name}")


def test_1_a_guest_orders_to_handelshoejskolen_with_borrower_number_name_and_email(
    new_user,
) -> None:
    """R-PORTAL-4, R-ORDER-4, R-VIP-7."""
    guest = new_user()
    guest.goto(f"/materiale/{AT_HH_AND_CAMPUS_SYD}/")
    guest.click("Bestil")
    assert guest.heading() == "Bestil"
    expect(guest.page.get_by_role("button", name="Godkend")).to_have_count(0)
    choose_branch(guest, "Handelshøjskolen", "Handelshøjskolens Bibliotek")
    main = guest.page.locator("main")
    expect(main).to_contain_text("Handelshøjskolens Bibliotek modtager bestillinger uden login")
    guest.page.get_by_label("Bruger-id").fill("HH-1001")
    guest.page.get_by_label("Navn").fill("Ida Iversen")
    guest.press("Godkend")
    expect(guest.page.locator("#id_laaner-userMail_error, .errorlist").first).to_contain_text(
        "Dette felt er påkrævet"
    )
    guest.page.get_by_label("E-mail").fill("ida@")
    guest.press("Godkend")
    expect(main).to_contain_text("Indtast en gyldig e-mail-adresse")
    assert not Order.objects.exists()
    guest.page.get_by_label("E-mail").fill("ida@example.dk")
    guest.page.get_by_label("Husk til næste bestilling").check()
    guest.shot("20-bestil-som-gaest")
    guest.press("Godkend")
    assert guest.heading() == "Kvittering for din bestilling"
    expect(guest.page.locator("main")).to_contain_text("Bestilt")
    guest.shot("21-kvittering-gaest")
    assert holds(AT_HH_AND_CAMPUS_SYD, "830099") == 1
    # "Husk til næste bestilling": the next order form is filled in.
    guest.goto(f"/bestil/?pid={OWNED}&filial=830099")
    expect(guest.page.get_by_label("E-mail")).to_have_value("ida@example.dk")


def test_2_a_guest_is_told_arkitektskolen_takes_no_orders_without_login_and_why(new_user) -> None:
    """R-VIP-6, R-ORDER-4."""
    guest = new_user()
    guest.goto(f"/bestil/?pid={AT_HH_AND_CAMPUS_SYD}")
    choose_branch(guest, "Arkitektskolen", "Arkitektskolens Bibliotek")
    main = guest.page.locator("main")
    expect(main).to_contain_text("Arkitektskolens Bibliotek modtager ikke bestillinger uden login")
    expect(main).to_contain_text("skal kunne se, at du er låner")
    expect(main.get_by_role("button", name="Godkend")).to_have_count(0)
    expect(main.get_by_role("link", name="Log ind for at bestille")).to_be_visible()
    guest.shot("22-ikke-uden-login")


def test_3_bo_as_a_session_user_orders_to_campus_syd_without_typing_more(new_user) -> None:
    """R-PORTAL-3, R-ORDER-3."""
    bo = new_user()
    bo.library_login("Campus Syd", "Campus Syd Bibliotek", "CS-4711", "4711")
    bo.press("Ikke nu")
    bo.goto(f"/materiale/{AT_HH_AND_CAMPUS_SYD}/")
    bo.click("Bestil")
    main = bo.page.locator("main")
    expect(main).to_contain_text("Campus Syd Bibliotek")
    expect(main.get_by_label("Pinkode")).to_have_count(0)
    bo.press("Godkend")
    assert bo.heading() == "Kvittering for din bestilling"
    assert holds(AT_HH_AND_CAMPUS_SYD, "820099") == 1


def test_4_bo_as_a_profile_user_types_his_pin_for_campus_syd(new_user) -> None:
    """R-PORTAL-8, R-LOGIN-5: a wrong PIN orders nothing."""
    bo = new_user()
    bo.library_login("Campus Syd", "Campus Syd Bibliotek", "CS-4711", "4711")
    bo.press("Tilknyt med MitID")
    bo.at_mitid("bo")
    bo.goto(f"/bestil/?pid={AT_HH_AND_CAMPUS_SYD}")
    choose_branch(bo, "Campus Syd", "Campus Syd Bibliotek")
    main = bo.page.locator("main")
    expect(main.get_by_label("Pinkode")).to_be_visible()
    bo.press("Godkend")
    expect(main).to_contain_text("Skriv din pinkode til Campus Syd Bibliotek")
    bo.page.get_by_label("Pinkode").fill("0000")
    bo.press("Godkend")
    expect(main).to_contain_text("Pinkoden blev ikke godkendt af Campus Syd Bibliotek")
    expect(main).to_contain_text("4 forsøg tilbage")
    assert holds(AT_HH_AND_CAMPUS_SYD, "820099") == 0 and not Order.objects.exists()
    bo.page.get_by_label("Pinkode").fill("4711")
    bo.shot("23-pinkode-ved-bestilling")
    bo.press("Godkend")
    assert bo.heading() == "Kvittering for din bestilling"
    assert holds(AT_HH_AND_CAMPUS_SYD, "820099") == 1


def test_5_eriks_order_to_koebenhavns_biblioteker_is_refused_as_blocked(new_user) -> None:
    """R-ORDER-3: BORCHK_USER_BLOCKED_BY_AGENCY."""
    erik = new_user()
    erik.library_login("København", "Københavns Biblioteker", "3012651239", "3333")
    erik.goto(f"/bestil/?pid={OWNED}&filial=710104")
    erik.press("Godkend")
    expect(erik.page.locator("main [role=alert]")).to_contain_text(
        "Københavns Biblioteker modtager desværre ikke bestillinger fra dig"
    )
    expect(erik.page.locator("main [role=alert]")).to_contain_text("Kontakt Københavns Biblioteker")
    erik.shot("24-spaerret")
    assert not Order.objects.exists()


def test_6_anna_orders_three_bookmarked_materials_to_vesterbro(new_user) -> None:
    """R-ORDER-1, R-ORDER-2, R-ORDER-7, R-PORTAL-16; Valby is closed and cannot be chosen."""
    anna = new_user()
    anna.library_login("København", "Københavns Biblioteker", "1503851234", "1234")
    for pid in (OWNED, NOT_OWNED_ILL, NOWHERE_LENDABLE):
        anna.goto(f"/materiale/{pid}/")
        anna.press("Tilføj til huskeliste")
    anna.goto("/huskeliste/")
    for box in anna.page.locator("main input[type=checkbox][name=pid]").all():
        box.check()
    anna.press("Bestil valgte (højst 25)")
    main = anna.page.locator("main")
    expect(main).to_contain_text("Intet bibliotek kan låne materialet ud til dig")
    anna.click("Skift afhentningssted")
    search_branches(anna, "Valby")
    expect(main).to_contain_text("Midlertidigt lukket: Lukket for renovering. Kan ikke vælges.")
    expect(main.get_by_role("link", name="Vælg Valby Bibliotek")).to_have_count(0)
    anna.shot("25-valby-lukket")
    search_branches(anna, "1758")
    anna.click("Vælg Vesterbro Bibliotek")
    anna.shot("26-tre-materialer")
    anna.press("Godkend")
    assert anna.heading() == "Kvittering for din bestilling"
    expect(main.locator("#placed-heading + ul li")).to_have_count(2)
    expect(main.locator("#failed-heading + ul")).to_contain_text("Intet bibliotek kan låne")
    anna.shot("27-kvittering-tre")
    assert holds(OWNED, "710100") == 1 and holds(NOT_OWNED_ILL, "710100") == 1
    assert holds(NOWHERE_LENDABLE, "710100") == 0
    try:
        anna.goto("/laan-og-reserveringer/")
    except AssertionError:
        raise
    if anna.heading() == "Lån og reserveringer":
        expect(main).to_contain_text("Københavns Biblioteker")


def test_7_a_double_submit_of_the_same_order_form_creates_one_order(new_user) -> None:
    """R-ORDER-5 (two simultaneous submits on two threads: tests/portal/test_order_concurrency)."""
    anna = new_user()
    anna.library_login("København", "Københavns Biblioteker", "1503851234", "1234")
    anna.goto(f"/bestil/?pid={OWNED}&filial=710104")
    fields = anna.page.eval_on_selector(
        "main form[method=post]", "form => [...new FormData(form).entries()]"
    )
    anna.page.get_by_role("button", name="Godkend").dblclick()
    # The second click may send the form again: the browser then aborts the first navigation,
    # so wait for the page the submits end on, not for the first navigation to finish.
    expect(anna.page.get_by_role("heading", name="Kvittering for din bestilling")).to_be_visible()
    anna.page.wait_for_load_state()
    anna.check()
    assert anna.heading() == "Kvittering for din bestilling"
    receipt = anna.path
    # The browser sends the same form once more (a reload that re-posts it).
    again = anna.context.request.post(
        anna.base_url + "/bestil/",
        form=dict(fields),
        headers={"Referer": anna.base_url + "/bestil/"},
        max_redirects=0,
    )
    assert again.status == 303 and again.headers["location"].endswith(receipt)
    assert Order.objects.count() == 1 and holds(OWNED, "710100") == 1


def test_8_anna_gets_an_article_as_a_digital_copy_frederik_the_physical_issue(new_user) -> None:
    """R-ORDER-6 with the rights of R-PORTAL-14."""
    anna = new_user()
    anna.library_login("København", "Københavns Biblioteker", "1503851234", "1234")
    anna.goto(f"/bestil/?pid={ARTICLE}&filial=710104")
    expect(anna.page.locator("main")).to_contain_text("Sendes som digital kopi")
    anna.press("Godkend")
    expect(anna.page.locator("main")).to_contain_text("Sendes som digital kopi til din e-mail")
    line = Order.objects.get().lines.get()
    assert line.kind == "digital_article" and line.outcome == LineOutcome.PLACED
    anna.shot("28-digital-artikel")

    frederik = new_user()
    frederik.mitid_login("frederik")
    frederik.goto(f"/bestil/?pid={ARTICLE}")
    main = frederik.page.locator("main")
    expect(main).to_contain_text("Hæfte af Kritik")
    expect(frederik.page.get_by_label("Hæfte/nummer")).not_to_have_value("")
    frederik.shot("29-tidsskrifthaefte")
    frederik.press("Godkend")
    assert frederik.heading() == "Kvittering for din bestilling"
    issue = Order.objects.exclude(pk=line.order_id).get().lines.get()
    assert issue.kind == "periodical_issue" and issue.outcome == LineOutcome.PLACED
    assert issue.periodical["issue"]


def test_9_anna_consents_to_longer_history_sees_an_old_order_revokes_and_it_is_gone(
    new_user,
) -> None:
    """R-PORTAL-18."""
    anna = new_user()
    anna.library_login("København", "Københavns Biblioteker", "1503851234", "1234")
    anna.goto(f"/bestil/?pid={OWNED}&filial=710104")
    anna.press("Godkend")
    old = Order.objects.get()
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=45))
    anna.goto(f"/bestil/?pid={NOT_OWNED_ILL}&filial=710104")
    anna.press("Godkend")
    anna.click("Se din bestillingshistorik")
    main = anna.page.locator("main")
    expect(main).to_contain_text("Hunden")
    expect(main).not_to_contain_text("Barndom")
    anna.press("Giv samtykke til længere opbevaring")
    expect(main).to_contain_text("Barndom")
    anna.shot("30-bestillingshistorik")
    anna.press("Træk samtykke tilbage og slet ældre bestillinger")
    expect(main).not_to_contain_text("Barndom")
    expect(main).to_contain_text("1 ældre bestillinger er slettet")
    assert not Order.objects.filter(pk=old.pk).exists()

"""The order pages as a user walks them (R-ORDER-1…7, R-PORTAL-4, -8, -18), test client."""

from __future__ import annotations

import re

import pytest

from biblogin.circulation.models import LineOutcome, Order
from biblogin.integrations.library_systems.models import SimReservation
from tests.circulation import catalogue as c
from tests.portal.driver import PortalBrowser, text_of


@pytest.fixture(autouse=True)
def _catalogue(demo) -> None:
    c.order_catalogue()


def form_of(response) -> dict[str, list[str]]:
    """The order form's hidden and filled inputs, as the browser would post them."""
    html = response.content.decode()
    form = re.search(r'<form method="post" action="/bestil/".*?</form>', html, re.S)
    assert form, text_of(response)[:500]
    data: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", form.group(0)):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if name and (kind is None or kind.group(1) not in ("checkbox",)):
            data.setdefault(name.group(1), []).append(value.group(1) if value else "")
    return data


def submit(user: PortalBrowser, page, **fields: str):
    data = form_of(page)
    for name, value in fields.items():
        data[name] = [value]
    return user.client.post("/bestil/", data)


def test_guest_orders_to_handelshoejskolen_with_its_user_parameters_R_ORDER_4(user) -> None:
    page = user.client.get(f"/bestil/?pid={c.AT_HH}&filial=830099")
    assert page.status_code == 200
    text = text_of(page)
    assert "Erhvervsøkonomi" in text and "Handelshøjskolens Bibliotek" in text
    assert "Husk til næste bestilling" in text
    missing = submit(user, page, **{"laaner-userId": "HH-1001", "laaner-userName": "Ida Iversen"})
    assert missing.status_code == 400 and "Dette felt er påkrævet" in text_of(missing)
    malformed = submit(
        user,
        page,
        **{"laaner-userId": "HH-1001", "laaner-userName": "Ida", "laaner-userMail": "ida@"},
    )
    assert malformed.status_code == 400 and "gyldig e-mail-adresse" in text_of(malformed)
    assert not Order.objects.exists()
    done = submit(
        user,
        page,
        **{
            "laaner-userId": "HH-1001",
            "laaner-userName": "Ida Iversen",
            "laaner-userMail": "ida@example.dk",
        },
    )
    assert done.status_code == 303
    receipt = user.client.get(done["Location"])
    assert "Kvittering for din bestilling" in text_of(receipt)
    assert "Bestilt" in text_of(receipt) and "Erhvervsøkonomi" in text_of(receipt)
    assert SimReservation.objects.filter(material_id=c.AT_HH).count() == 1


def test_guest_is_told_arkitektskolen_takes_no_orders_without_login_R_PORTAL_4(user) -> None:
    page = user.client.get(f"/bestil/?pid={c.AT_HH}&filial=850099")
    text = text_of(page)
    assert "Arkitektskolens Bibliotek modtager ikke bestillinger uden login" in text
    assert "Godkend" not in text and "Log ind for at bestille" in text


def test_session_user_orders_to_campus_syd_without_typing_more_R_ORDER_3(user) -> None:
    user.library_login("820099", "CS-4711", "4711")
    user.choose("/tilknyt/", "not_now")
    page = user.client.get(f"/bestil/?pid={c.AT_CAMPUS_SYD}")
    text = text_of(page)
    assert "Campus Syd Bibliotek" in text and "Pinkode" not in text
    done = submit(user, page)
    assert done.status_code == 303
    assert Order.objects.get().lines.get().outcome == LineOutcome.PLACED


def test_a_double_submit_of_the_same_form_makes_one_order_R_ORDER_5(user) -> None:
    user.library_login("820099", "CS-4711", "4711")
    user.choose("/tilknyt/", "not_now")
    page = user.client.get(f"/bestil/?pid={c.AT_CAMPUS_SYD}")
    first = submit(user, page)
    second = submit(user, page)
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1
    assert SimReservation.objects.filter(material_id=c.AT_CAMPUS_SYD).count() == 1


def test_profile_user_at_campus_syd_types_the_pin_R_PORTAL_8(user) -> None:
    user.library_login("820099", "CS-4711", "4711")
    user.mitid_person = "bo"
    user.choose("/tilknyt/", "link")
    page = user.client.get(f"/bestil/?pid={c.AT_CAMPUS_SYD}&filial=820099")
    assert "Pinkode" in text_of(page)
    missing = submit(user, page)
    assert missing.status_code == 403 and "Skriv din pinkode" in text_of(missing)
    wrong = submit(user, page, pin="0000")
    assert wrong.status_code == 403 and "Pinkoden blev ikke godkendt" in text_of(wrong)
    assert not Order.objects.exists()
    done = submit(user, page, pin="4711")
    assert done.status_code == 303
    assert SimReservation.objects.filter(material_id=c.AT_CAMPUS_SYD).count() == 1


def test_erik_is_refused_with_the_blocked_message_R_ORDER_3(user) -> None:
    user.library_login("710100", "3012651239", "3333")
    page = user.client.get(f"/bestil/?pid={c.AT_VESTERBRO}&filial=710104")
    refused = submit(user, page)
    assert refused.status_code == 403
    assert "Københavns Biblioteker modtager desværre ikke bestillinger fra dig" in text_of(refused)


def test_a_material_that_cannot_be_ordered_shows_its_reason_and_can_be_removed_R_ORDER_1(
    user,
) -> None:
    user.library_login("710100", "1503851234", "1234")
    page = user.client.get(f"/bestil/?pid={c.AT_VESTERBRO}&pid={c.NOBODY_LENDS}&filial=710104")
    text = text_of(page)
    assert "Intet bibliotek kan låne materialet ud til dig" in text
    assert f"/bestil/?pid={c.AT_VESTERBRO.replace(':', '%3A')}&amp;filial=710104" in (
        page.content.decode()
    )
    done = submit(user, page)
    receipt = text_of(user.client.get(done["Location"]))
    assert "Bestilt" in receipt and "Ikke bestilt" in receipt


def test_ordering_the_same_material_again_in_the_session_warns_R_ORDER_7(user) -> None:
    user.library_login("710100", "1503851234", "1234")
    page = user.client.get(f"/bestil/?pid={c.AT_VESTERBRO}&filial=710104")
    submit(user, page)
    again = user.client.get(f"/bestil/?pid={c.AT_VESTERBRO}&filial=710104")
    text = text_of(again)
    assert "Du har allerede bestilt" in text and "Bestil alligevel" in text
    assert "Godkend" not in text
    confirmed = user.client.get(f"/bestil/?pid={c.AT_VESTERBRO}&filial=710104&igen=1")
    assert "Godkend" in text_of(confirmed)


def test_a_closed_branch_is_shown_with_its_reason_and_cannot_be_chosen_R_ORDER_1(user) -> None:
    user.library_login("710100", "1503851234", "1234")
    chooser = text_of(user.client.get(f"/bestil/afhentningssted/?pid={c.AT_VESTERBRO}&q=Valby"))
    assert "Midlertidigt lukket: Lukket for renovering" in chooser
    assert "Vælg Valby Bibliotek" not in chooser
    page = user.client.get(f"/bestil/?pid={c.AT_VESTERBRO}&filial=710111")
    assert "Godkend" not in text_of(page)


def test_a_receipt_is_only_for_the_one_who_ordered(user, mitid_settings) -> None:
    user.library_login("710100", "1503851234", "1234")
    page = user.client.get(f"/bestil/?pid={c.AT_VESTERBRO}&filial=710104")
    location = submit(user, page)["Location"]
    from django.test import Client

    assert Client().get(location).status_code == 404
    assert Client().get("/bestil/kvittering/not-a-uuid/").status_code == 404

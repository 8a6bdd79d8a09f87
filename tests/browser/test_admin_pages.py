"""The staff UI in a browser: branded, Danish, labelled (axe-core clean), no internal names."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from biblogin.registry.models import Agency

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, site, username: str = "admin", password: str = "biblogin-admin") -> None:
    page.goto(site.url + "/admin/")
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log ind").click()


def test_the_admin_is_branded_and_danish(live_site, page, axe_check) -> None:
    page.goto(live_site.url + "/admin/login/")
    assert "Django" not in page.content()
    expect(page).to_have_title(re.compile("Bibliotekslogin"))
    axe_check(page)
    _log_in(page, live_site)
    text = page.locator("body").inner_text()
    assert "Django" not in text
    expect(page.locator("#site-name")).to_contain_text("Bibliotekslogin")
    axe_check(page)


@pytest.mark.parametrize("agency_id", ["830099", "710100"])
def test_the_agency_page_has_labels_and_danish_names_only(
    live_site, page, axe_check, agency_id: str
) -> None:
    _log_in(page, live_site)
    agency = Agency.objects.get(agency_id=agency_id)  # branches and order-form fields
    page.goto(f"{live_site.url}/admin/registry/agency/{agency.pk}/change/")
    text = page.locator("body").inner_text()
    for internal in ("userMail", "userName", "userId", "parameter_type", "help_text_da"):
        assert internal not in text, internal
    assert not re.search(r"\b\d+ (user|cpr|barcode|cardno|customId)", text)
    axe_check(page)


def test_the_branch_page_with_its_stops_is_labelled(live_site, page, axe_check) -> None:
    from biblogin.registry.models import Branch

    _log_in(page, live_site)
    for branch in Branch.objects.filter(is_mobile=True)[:1]:
        page.goto(f"{live_site.url}/admin/registry/branch/{branch.pk}/change/")
        axe_check(page)
    page.goto(f"{live_site.url}/admin/registry/branch/")
    axe_check(page)
    page.goto(f"{live_site.url}/admin/registry/agency/")
    axe_check(page)


def test_a_bound_staff_account_sees_a_labelled_agency_page(live_site, page, axe_check) -> None:
    _log_in(page, live_site, "campussyd", "campussyd-staff")
    agency = Agency.objects.get(agency_id="820099")
    page.goto(f"{live_site.url}/admin/registry/agency/{agency.pk}/change/")
    text = page.locator("body").inner_text()
    assert "parameter_type" not in text
    axe_check(page)

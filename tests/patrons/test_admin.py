"""The CULR register in the staff admin: masked CPR, search by hashed CPR, services behind it."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from biblogin.patrons.models import Account, AccountIdType
from biblogin.patrons.selectors import account_get_local, patron_get_by_cpr
from biblogin.patrons.services import account_create
from tests.patrons.builders import CPR, CPR_DASHED, CPR_MASKED, OTHER_CPR

pytestmark = pytest.mark.django_db


def assert_no_cpr(text: str) -> None:
    assert CPR not in text
    assert CPR_DASHED not in text


@pytest.fixture
def patron_with_accounts():
    account_create(agency_id="710100", cpr=CPR, municipality_no=101)
    return account_create(agency_id="820010", cpr=CPR, local_id="s123").patron


def test_patron_pages_show_the_masked_cpr_only_R_CULR_5(admin_client, patron_with_accounts):
    """R-CULR-5: list and detail show 150385-XXXX, never the CPR."""
    patron = patron_with_accounts
    listing = admin_client.get(reverse("admin:patrons_patron_changelist"))
    detail = admin_client.get(reverse("admin:patrons_patron_change", args=[patron.pk]))
    history = admin_client.get(reverse("admin:patrons_patron_history", args=[patron.pk]))

    for response in (listing, detail, history):
        assert response.status_code == 200
        assert_no_cpr(response.content.decode())
    assert CPR_MASKED in listing.content.decode()
    assert CPR_MASKED in detail.content.decode()
    assert str(patron.guid) in detail.content.decode()
    assert "s123" in detail.content.decode()  # the accounts inline


def test_search_by_cpr_hashes_it_and_keeps_it_out_of_url_and_page_R_CULR_5(
    admin_client, patron_with_accounts
):
    """R-CULR-5 / R-SEC-2: a typed CPR is found by its hash; it leaves the URL and the page."""
    url = reverse("admin:patrons_patron_changelist")
    account_create(agency_id="710100", cpr=OTHER_CPR)

    redirect = admin_client.get(url, {"q": CPR_DASHED})
    assert redirect.status_code == 302
    assert_no_cpr(redirect["Location"])
    assert str(patron_with_accounts.guid) in redirect["Location"]

    page = admin_client.get(redirect["Location"])
    html = page.content.decode()
    assert_no_cpr(html)
    assert list(page.context["cl"].result_list) == [patron_with_accounts]


def test_search_for_an_unknown_cpr_says_so_without_showing_it(admin_client, patron_with_accounts):
    response = admin_client.get(
        reverse("admin:patrons_patron_changelist"), {"q": "0202024321"}, follow=True
    )
    html = response.content.decode()
    assert "Ingen låner med dette CPR-nummer" in html
    assert "0202024321" not in html


def test_patron_search_by_the_hashed_cpr_matches_only_that_patron(patron_with_accounts, rf):
    """R-CULR-5: get_search_results hashes the CPR typed (no CPR column to search in)."""
    from django.contrib.admin.sites import site

    from biblogin.patrons.models import Patron

    other = account_create(agency_id="710100", cpr=OTHER_CPR).patron
    model_admin = site._registry[Patron]
    found, _duplicates = model_admin.get_search_results(
        rf.get("/"), Patron.objects.all(), f" {CPR_DASHED} "
    )
    assert list(found) == [patron_with_accounts]
    found, _ = model_admin.get_search_results(rf.get("/"), Patron.objects.all(), "s123")
    assert list(found) == [patron_with_accounts]
    found, _ = model_admin.get_search_results(rf.get("/"), Patron.objects.all(), str(other.guid))
    assert list(found) == [other]


@pytest.mark.parametrize("term", ["820010", "s123"])
def test_account_admin_searches_by_agency_id_and_local_id(admin_client, patron_with_accounts, term):
    response = admin_client.get(reverse("admin:patrons_account_changelist"), {"q": term})
    assert response.status_code == 200
    assert [a.local_id for a in response.context["cl"].result_list] == ["s123"]


@pytest.mark.parametrize(
    "query",
    [
        {"q": "\x00"},
        {"q": "s\x00"},
        {"q": "x" * 400},
        {"q": "7101"},
        {"id_type__exact": "\x00"},
        {"is_active__exact": "\x00"},
        {"q\x00": "s"},
    ],
)
def test_malformed_admin_searches_answer_without_error(admin_client, patron_with_accounts, query):
    """R-SEC-3: no 500 on a malformed search or filter (PostgreSQL refuses NUL in text)."""
    for name in ("patron", "account"):
        response = admin_client.get(reverse(f"admin:patrons_{name}_changelist"), query, follow=True)
        # NUL is refused up front with a clear 400 (common middleware); the rest is answered.
        assert response.status_code == (
            400 if any("\x00" in k + v for k, v in query.items()) else 200
        )


def test_account_pages_and_history_never_show_the_cpr_R_CULR_5(admin_client, patron_with_accounts):
    cpr_account = Account.objects.get(id_type=AccountIdType.CPR)
    pages = [
        reverse("admin:patrons_account_changelist"),
        reverse("admin:patrons_account_change", args=[cpr_account.pk]),
        reverse("admin:patrons_account_history", args=[cpr_account.pk]),
        reverse("admin:patrons_account_delete", args=[cpr_account.pk]),
        reverse("admin:patrons_account_add"),
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert_no_cpr(response.content.decode())
    listing = admin_client.get(pages[0]).content.decode()
    assert CPR_MASKED in listing


def test_staff_adds_an_account_through_the_service_R_CULR_4(admin_client):
    """R-CULR-4 in the admin: the new account lands under the CPR's patron, created if absent."""
    response = admin_client.post(
        reverse("admin:patrons_account_add"),
        {"agency_id": "820010", "cpr": CPR_DASHED, "local_id": " s999 "},
    )
    assert response.status_code == 302
    account = account_get_local(agency_id="820010", local_id="s999")
    assert account is not None and account.patron.cpr == CPR

    entry = LogEntry.objects.get()
    assert_no_cpr(entry.object_repr + str(entry.change_message))
    history = admin_client.get(reverse("admin:patrons_account_history", args=[account.pk]))
    assert_no_cpr(history.content.decode())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"agency_id": "7101001", "cpr": CPR, "local_id": ""}, "6 cifre"),
        ({"agency_id": "710100", "cpr": "3102851234", "local_id": ""}, "Ugyldigt CPR-nummer"),
        ({"agency_id": "710100", "cpr": CPR, "local_id": "a b"}, "mellemrum"),
    ],
)
def test_staff_get_a_danish_error_for_bad_input_and_nothing_changes(admin_client, data, message):
    response = admin_client.post(reverse("admin:patrons_account_add"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert data["cpr"] not in html  # the CPR field never echoes its value
    assert Account.objects.count() == 0


def test_staff_cannot_take_another_patrons_local_id(admin_client, patron_with_accounts):
    response = admin_client.post(
        reverse("admin:patrons_account_add"),
        {"agency_id": "820010", "cpr": OTHER_CPR, "local_id": "s123"},
    )
    assert response.status_code == 200
    assert "anden låner" in response.content.decode()
    assert patron_get_by_cpr(cpr=OTHER_CPR) is None


def test_deleting_the_last_account_in_the_admin_deactivates_the_patron_R_CULR_4(
    admin_client, patron_with_accounts
):
    ids = list(Account.objects.values_list("pk", flat=True))
    response = admin_client.post(
        reverse("admin:patrons_account_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 302
    patron_with_accounts.refresh_from_db()
    assert Account.objects.count() == 0
    assert patron_with_accounts.is_active is False


def test_patrons_cannot_be_added_edited_or_deleted_in_the_admin(admin_client, patron_with_accounts):
    assert admin_client.get(reverse("admin:patrons_patron_add")).status_code == 403
    url = reverse("admin:patrons_patron_delete", args=[patron_with_accounts.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    change = reverse("admin:patrons_patron_change", args=[patron_with_accounts.pk])
    assert admin_client.post(change, {"municipality_no": "751"}).status_code == 403

"""The catalogue in the admin: staff of an agency see its holdings, read-only."""

from __future__ import annotations

import pytest
from django.test import Client

from biblogin.catalogue.models import Holding

pytestmark = pytest.mark.django_db


def test_agency_staff_see_only_their_agencys_holdings_read_only(demo: None) -> None:
    client = Client()
    assert client.login(username="campussyd", password="campussyd-staff")
    page = client.get("/admin/catalogue/holding/?q=870970-basis:000")
    assert page.status_code == 200
    text = page.content.decode()
    own = Holding.objects.filter(agency_id="820099").select_related("manifestation").first()
    other = Holding.objects.filter(agency_id="710100").first()
    assert own is not None and other is not None
    assert own.manifestation.title in text or "820099" in text
    assert "710104" not in text and "710100" not in text
    assert client.get(f"/admin/catalogue/holding/{other.pk}/change/").status_code in {302, 404}
    mine = client.get(f"/admin/catalogue/holding/{own.pk}/change/")
    assert mine.status_code == 200 and 'name="copies"' not in mine.content.decode()
    response = client.post(f"/admin/catalogue/holding/{own.pk}/change/", {"copies": 9})
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.copies != 9
    assert client.get("/admin/catalogue/manifestation/").status_code == 403


def test_a_staff_account_without_the_permission_sees_no_holdings(demo: None) -> None:
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("plain", password="plain-pass-1234", is_staff=True)
    client = Client()
    assert client.login(username="plain", password="plain-pass-1234")
    assert client.get("/admin/catalogue/holding/").status_code == 403

"""Dine adgange: every rule of R-PORTAL-14, with the demo persons (R-VIP-9)."""

from __future__ import annotations

import pytest

from biblogin.circulation.selectors import CirculationUser, access_rights_for
from biblogin.patrons.selectors import patron_get_by_cpr
from biblogin.patrons.services import account_create
from biblogin.registry.models import Agency, LicensedResource

pytestmark = pytest.mark.django_db

ANNA, DORTE = "1503851234", "1111701237"


def _profile(cpr: str) -> CirculationUser:
    patron = patron_get_by_cpr(cpr=cpr)
    if patron is None:
        # A MitID login unknown to CULR: a patron at Bibliotek.dk's "no library" (R-LOGIN-7).
        account_create(agency_id="190101", cpr=cpr)
        patron = patron_get_by_cpr(cpr=cpr)
    assert patron is not None
    return CirculationUser.profile(str(patron.guid))


def test_anna_has_infomedia_via_koebenhavn_R_PORTAL_14(demo: None) -> None:
    rights = access_rights_for(user=_profile(ANNA))
    # Gentofte, her other library, does not subscribe: København alone grants it.
    assert [g.name for g in rights.infomedia] == ["Københavns Biblioteker"]


def test_anna_has_the_digital_article_service_of_her_home_municipality_R_PORTAL_14(
    demo: None,
) -> None:
    rights = access_rights_for(user=_profile(ANNA))
    assert rights.digital_article_service is not None
    assert rights.digital_article_service.agency_id == "710100"


def test_anna_has_central_ebook_plus_via_koebenhavn_R_PORTAL_14(demo: None) -> None:
    rights = access_rights_for(user=_profile(ANNA))
    assert [(r.name, [g.name for g in r.granted_by]) for r in rights.licensed_resources] == [
        ("Central Ebook Plus", ["Københavns Biblioteker"])
    ]


def test_clara_session_user_has_infomedia_via_ucn_and_no_article_service_R_PORTAL_14(
    demo: None,
) -> None:
    clara = CirculationUser.session(agency_id="829000", user_id="clara@ucn.example")
    rights = access_rights_for(user=clara)
    assert [g.name for g in rights.infomedia] == ["UCN Biblioteket"]
    # A session user has no known home municipality (R-LOGIN-9): no Digital Article Service.
    assert rights.digital_article_service is None
    assert rights.licensed_resources == ()


def test_dorte_with_mitid_and_no_library_has_no_rights_R_PORTAL_14(demo: None) -> None:
    rights = access_rights_for(user=_profile(DORTE))
    assert rights.is_empty


def test_a_user_with_no_library_has_no_rights_R_PORTAL_14(demo: None) -> None:
    assert access_rights_for(
        user=CirculationUser.profile("00000000-0000-0000-0000-000000000000")
    ).is_empty
    assert access_rights_for(user=CirculationUser()).is_empty


def test_the_article_service_needs_registration_at_the_home_library_R_PORTAL_14(
    demo: None,
) -> None:
    """Home municipality Gentofte subscribes, but Anna (home: København) is not granted it there;
    and a home library that subscribes counts only if the user is registered there."""
    Agency.objects.filter(agency_id="715700").update(digital_article_service=True)
    Agency.objects.filter(agency_id="710100").update(digital_article_service=False)
    assert access_rights_for(user=_profile(ANNA)).digital_article_service is None
    # Dorte lives in København (say) but is not registered there: no article service.
    _profile(DORTE)
    patron = patron_get_by_cpr(cpr=DORTE)
    assert patron is not None
    patron.municipality_no = 101
    patron.save(update_fields=["municipality_no"])
    Agency.objects.filter(agency_id="710100").update(digital_article_service=True)
    assert access_rights_for(user=_profile(DORTE)).digital_article_service is None
    assert access_rights_for(user=_profile(ANNA)).digital_article_service is not None


def test_infomedia_and_e_resources_list_every_granting_library_R_PORTAL_14(demo: None) -> None:
    gentofte = Agency.objects.get(agency_id="715700")
    gentofte.infomedia = True
    gentofte.save(update_fields=["infomedia"])
    gentofte.licensed_resources.add(LicensedResource.objects.get(name="Central Ebook Plus"))
    rights = access_rights_for(user=_profile(ANNA))
    assert [g.name for g in rights.infomedia] == [
        "Gentofte Bibliotekerne",
        "Københavns Biblioteker",
    ]
    assert [g.name for g in rights.licensed_resources[0].granted_by] == [
        "Gentofte Bibliotekerne",
        "Københavns Biblioteker",
    ]

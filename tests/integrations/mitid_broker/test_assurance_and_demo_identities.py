"""NSIS level mapping (R-LOGIN-6, R-LOGIN-10) and the shared demo identities."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from biblogin.common.assurance import (
    ACR_PIN,
    NSIS_HIGH,
    NSIS_LEVELS,
    NSIS_LOW,
    NSIS_SUBSTANTIAL,
    acr_satisfies,
)
from biblogin.common.cpr import normalise_cpr
from biblogin.integrations.mitid_broker.assurance import nsis_loa_from_claim
from biblogin.integrations.mitid_broker.demo_identities import (
    DEMO_MITID_IDENTITIES,
    demo_mitid_identity_get,
)


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("https://data.gov.dk/concept/core/nsis/loa/Low", NSIS_LOW),
        ("https://data.gov.dk/concept/core/nsis/loa/Substantial", NSIS_SUBSTANTIAL),
        ("https://data.gov.dk/concept/core/nsis/loa/High", NSIS_HIGH),
        ("http://eidas.europa.eu/LoA/substantial", NSIS_SUBSTANTIAL),
        ("substantial", NSIS_SUBSTANTIAL),
        ("Betydelig", NSIS_SUBSTANTIAL),
        ("Høj", NSIS_HIGH),
        ("urn:level:high", NSIS_HIGH),
        (None, NSIS_LOW),
        ("", NSIS_LOW),
        ("Higher", NSIS_LOW),
        (3, NSIS_LOW),
    ],
)
def test_broker_level_maps_to_the_nsis_uri(value, level):
    """R-LOGIN-6: the three NSIS URIs; a missing level counts as Low."""
    assert nsis_loa_from_claim(value) == level


@given(st.one_of(st.text(), st.none(), st.integers(), st.lists(st.text())))
def test_any_claim_value_maps_to_one_of_the_three_levels(value):
    assert nsis_loa_from_claim(value) in NSIS_LEVELS


def test_levels_are_ordered_and_unknown_levels_are_never_lenient():
    """R-LOGIN-10: Substantial meets Substantial and Low does not; unknown requirement = High."""
    assert acr_satisfies(NSIS_HIGH, NSIS_SUBSTANTIAL)
    assert acr_satisfies(NSIS_SUBSTANTIAL, NSIS_SUBSTANTIAL)
    assert not acr_satisfies(NSIS_LOW, NSIS_SUBSTANTIAL)
    assert not acr_satisfies(ACR_PIN, NSIS_LOW)  # a PIN is below every MitID level
    assert not acr_satisfies("something", NSIS_SUBSTANTIAL)
    assert not acr_satisfies("something", NSIS_LOW)
    assert not acr_satisfies(NSIS_SUBSTANTIAL, "something")
    assert acr_satisfies("something", None)  # nothing required


def test_demo_identities_are_the_eight_demo_persons_with_real_cprs():
    assert [i.sub for i in DEMO_MITID_IDENTITIES] == [
        "anna", "bo", "clara", "dorte", "erik", "frederik", "gitte", "henrik",
    ]  # fmt: skip
    assert len({i.cpr for i in DEMO_MITID_IDENTITIES}) == 8
    for identity in DEMO_MITID_IDENTITIES:
        assert normalise_cpr(identity.cpr) == identity.cpr
        assert identity.loa == NSIS_SUBSTANTIAL
        assert identity.cpr not in repr(identity)
    assert demo_mitid_identity_get(sub="frederik").cpr == "0505054240"
    with pytest.raises(KeyError):
        demo_mitid_identity_get(sub="zoe")


def test_demo_identity_claims_use_the_configured_names():
    anna = demo_mitid_identity_get(sub="anna")
    assert anna.claims(cpr_claim="cprNumberIdentifier", loa_claim="loa") == {
        "cprNumberIdentifier": "1503851234",
        "name": "Anna Andersen",
        "loa": NSIS_SUBSTANTIAL,
    }

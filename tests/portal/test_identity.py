"""The portal reads who the user is only from the login platform's claims (R-PORTAL-2, -3)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biblogin.common.errors import ApplicationError
from biblogin.portal.identity import Identity, identity_from_claims
from tests.portal.builders import ANNA, claims, mitid_claims


def test_a_revealed_culr_guid_makes_a_profile_user() -> None:
    """R-PORTAL-2: library login at a culr_sync agency or MitID gives a guid: profile user."""
    identity = identity_from_claims(
        claims=mitid_claims(ANNA, "7d0f5b9e-0000-4000-8000-000000000001")
    )
    assert identity.kind == "profile" and identity.is_profile and identity.is_mitid
    assert identity.cpr == ANNA


def test_a_library_login_without_culr_data_makes_a_session_user() -> None:
    """R-PORTAL-3: library login at an agency without culr_sync: logged in without profile."""
    identity = identity_from_claims(claims=claims())
    assert identity.kind == "session" and not identity.is_profile
    assert identity.agency_id == "820099" and identity.user_id == "CS-4711"
    assert identity.cpr is None and not identity.culr_data_omitted


def test_the_session_keeps_neither_the_cpr_nor_the_user_id_in_plain_text() -> None:
    """R-CULR-5: a user ID may be a CPR; the session holds it only encrypted."""
    identity = identity_from_claims(
        claims=claims(userId=ANNA, loggedInAgencyId="710100", cpr=ANNA, uniqueId="g-1")
    )
    stored = json.dumps(identity.to_session())
    assert ANNA not in stored
    again = Identity.from_session(json.loads(stored))
    assert again.user_id == ANNA and again.cpr == ANNA and again.guid == "g-1"


@pytest.mark.parametrize(
    "overrides",
    [
        {"sub": None},
        {"sub": ""},
        {"idpUsed": "password"},
        {"loggedInAgencyId": "12345"},
        {"loggedInAgencyId": 710100},
        {"agencies": "710100"},
        {"userId": ["x"]},
    ],
)
def test_claims_the_portal_cannot_use_are_a_clear_error(overrides: dict[str, Any]) -> None:
    with pytest.raises(ApplicationError) as error:
        identity_from_claims(claims=claims(**overrides))
    assert "Login-tjenesten" in error.value.message


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "sub",
                "userId",
                "uniqueId",
                "agencies",
                "loggedInAgencyId",
                "idpUsed",
                "blocked",
                "culrDataOmitted",
                "auth_time",
                "municipality",
                "cpr",
                "name",
            ]
        ),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.text(max_size=20),
            st.lists(st.dictionaries(st.text(max_size=10), st.text(max_size=10)), max_size=2),
        ),
    )
)
def test_any_claims_give_an_identity_or_a_clear_error(overrides: dict[str, Any]) -> None:
    """R-SEC-3: whatever arrives, no crash other than a clear application error."""
    try:
        identity = identity_from_claims(claims=claims(**overrides))
    except ApplicationError as error:
        assert error.message
    else:
        assert identity.kind in {"profile", "session"}
        json.dumps(identity.to_session())

"""Whatever comes back on the callback URL, the client answers with a MitIDError (R-SEC-3)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblogin.integrations.mitid_broker.client import (
    mitid_authorization_finish,
    mitid_authorization_start,
)
from biblogin.integrations.mitid_broker.errors import MitIDError, MitIDStateMismatch
from biblogin.integrations.mitid_broker.pytest_fixtures import MITID_TEST_REDIRECT_URI

CALLBACK_NAMES = ["state", "code", "error", "error_description", "iss", "session_state"]
values = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="0123456789abcdefABCDEF-_.~+/=", max_size=80),
    st.text(max_size=5000),
)
callback_params = st.dictionaries(
    st.one_of(st.sampled_from(CALLBACK_NAMES), st.text(max_size=12)), values, max_size=6
)
SLOW_FIXTURE = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@pytest.fixture
def kept(mitid_settings) -> dict[str, str]:
    _url, kept = mitid_authorization_start(redirect_uri=MITID_TEST_REDIRECT_URI)
    return kept


@settings(max_examples=150, deadline=None, suppress_health_check=SLOW_FIXTURE)
@given(params=callback_params, with_our_state=st.booleans())
def test_arbitrary_callback_parameters_give_only_mitid_errors(kept, params, with_our_state):
    """R-SEC-3: with our state the junk even reaches the real broker's token endpoint."""
    if with_our_state:
        params = {**params, "state": kept["state"]}
    with pytest.raises(MitIDError):
        mitid_authorization_finish(params=params, kept=kept)


@settings(max_examples=100, deadline=None, suppress_health_check=SLOW_FIXTURE)
@given(
    params=callback_params,
    kept_junk=st.dictionaries(
        st.sampled_from(["state", "nonce", "code_verifier", "redirect_uri", "created_at", "issuer"])
        | st.text(max_size=8),
        st.text(max_size=100),
        max_size=7,
    ),
)
def test_arbitrary_session_state_gives_only_a_state_mismatch(mitid_settings, params, kept_junk):
    """A session tampered with or from an older release never gets past the state check."""
    with pytest.raises(MitIDError) as caught:
        mitid_authorization_finish(params=params, kept=kept_junk)
    assert isinstance(caught.value, MitIDStateMismatch) or caught.value.code == "bad_callback"

"""No silent copies of oauthlib internals: the server's two endpoint methods and the code
grant's issuing tail (issue 14)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect

import pytest
from oauthlib.oauth2.rfc6749.endpoints.authorization import AuthorizationEndpoint
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import AuthorizationCodeGrant

from biblogin.oidc import server


def test_the_installed_oauthlib_is_the_version_the_copies_were_made_from():
    """R-LOGIN-1: the authorization endpoint's checks are oauthlib's; copies must be of it."""
    assert importlib.metadata.version("oauthlib") == server.OAUTHLIB_COPIED_FROM_VERSION


def test_each_copied_oauthlib_method_is_unchanged_since_it_was_copied():
    for name, recorded in server.OAUTHLIB_COPIES.items():
        assert name in vars(server.Server), name
        source = inspect.getsource(getattr(AuthorizationEndpoint, name))
        assert hashlib.sha256(source.encode()).hexdigest() == recorded, (
            f"oauthlib's {name} changed: redo the copy in biblogin.oidc.server"
        )


def test_a_request_parses_its_query_once_and_sees_a_duplicate_parameter():
    """R-SEC-3: a duplicated parameter is still found, from the one parse of the query."""
    request = server.QueryParsedOnce("https://x/authorize?client_id=a&state=1&state=2")
    assert request.duplicate_params == ["state"]
    assert request.uri_query_params == [("client_id", "a"), ("state", "1"), ("state", "2")]
    request.uri = "https://x/authorize?client_id=b"
    assert request.uri_query_params == [("client_id", "b")]


def test_the_copied_tail_of_the_code_grant_is_unchanged_since_it_was_copied():
    """R-LOGIN-1: the code is issued as oauthlib issues it; a change there must be seen here."""
    for name, recorded in server.OAUTHLIB_GRANT_COPIES.items():
        assert callable(getattr(server, name)), name
        source = inspect.getsource(AuthorizationCodeGrant.create_authorization_response)
        assert hashlib.sha256(source.encode()).hexdigest() == recorded, (
            f"oauthlib's AuthorizationCodeGrant.create_authorization_response changed: redo "
            f"{name} in biblogin.oidc.server"
        )


@pytest.mark.django_db
def test_an_answer_with_a_code_validates_its_request_once_and_saves_the_same_code(app, monkeypatch):
    """R-LOGIN-1: the code the view's validated request gets has the request's PKCE challenge,
    nonce, redirect URI and scopes (the token exchange checks them); oauthlib validated the
    request twice before (issue 14)."""
    from biblogin.oidc.models import AuthorizationCode

    validations: list[str] = []
    original = AuthorizationCodeGrant.validate_authorization_request

    def counting(self, request):
        validations.append(request.uri)
        return original(self, request)

    monkeypatch.setattr(AuthorizationCodeGrant, "validate_authorization_request", counting)
    started = app.start(agency="710100", prompt="login")
    response = app.library_login(started, agency_id="710100", user_id="1000001", pin="1234")
    code = app.code_from(response, started)
    # The first authorization request (to the login page) and the one that answers: once each.
    assert len(validations) == 2, validations
    row = AuthorizationCode.objects.get(code=code)
    assert row.code_challenge == started.pkce.challenge and row.code_challenge_method == "S256"
    assert row.nonce == started.nonce and row.redirect_uri == app.redirect_uri
    assert set(row.scope.split()) == {"openid", "profile"}
    assert row.authentication_id is not None
    tokens = app.exchange(code, started)
    assert "id_token" in tokens and "access_token" in tokens


def test_a_request_this_server_did_not_validate_is_validated_when_the_code_is_made():
    """R-LOGIN-1: without the server's own validated request, the code grant validates again
    (oauthlib's path): a bare create call with a bad client is refused, never issued."""
    from oauthlib.oauth2.rfc6749 import errors

    class NoClients:
        def validate_client_id(self, client_id, request):
            return False

        def __getattr__(self, name):
            raise AssertionError(f"not reached: {name}")

    oidc_server = server.Server(NoClients())
    with pytest.raises(errors.InvalidClientIdError):
        oidc_server.create_authorization_response(
            "https://x/authorize?response_type=code&client_id=nobody&redirect_uri=https%3A%2F%2Fy",
            scopes=["openid"],
            credentials={"client_id": "nobody", "request": object()},
        )

"""No silent copies of oauthlib internals: the server's two endpoint methods (issue 14)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect

from oauthlib.oauth2.rfc6749.endpoints.authorization import AuthorizationEndpoint

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

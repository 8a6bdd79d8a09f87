"""oauthlib's OpenID Connect server, each authorization request's query string parsed once.

oauthlib's code grant reads ``request.duplicate_params`` once for every parameter it checks
(five per validation; an authorization request that answers with a code validates twice), and
each read parsed the whole query string again: 13-18 % of the CPU of an authorization request
(issue 14, item 4). Here the request keeps the parsed query; everything else is oauthlib's.

The two endpoint methods are copies of oauthlib's (``OAUTHLIB_COPIES``, guarded by a test) that
build the request with ``QueryParsedOnce`` instead of oauthlib's ``Request``.

The answer with a code also validated the whole request a second time: the authorization view
validates it, decides who the login is, and then asks for the code, and oauthlib's grant began
by validating the same URI again (~0.5 ms of the request's CPU). When the view hands back the
request this server validated for the same URI and method (``credentials["request"]``), the code
is issued from that request: the rest of oauthlib's ``create_authorization_response`` of the code
grant, copied (``OAUTHLIB_GRANT_COPIES``). Any other request is validated again as before.
"""

from __future__ import annotations

from typing import Any

from oauthlib import openid
from oauthlib.common import Request
from oauthlib.oauth2.rfc6749 import utils
from oauthlib.oauth2.rfc6749.endpoints.base import catch_errors_and_unavailability
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import AuthorizationCodeGrant
from oauthlib.openid.connect.core.grant_types.dispatchers import AuthorizationCodeGrantDispatcher

OAUTHLIB_COPIED_FROM_VERSION = "4.0.1"
# Ours -> sha256 of the source of oauthlib's AuthorizationEndpoint method it copies.
OAUTHLIB_COPIES: dict[str, str] = {
    "create_authorization_response": (
        "f7f8d46a5e361174cb5771e4ff9bf7a7c6184c17ab1bec93b9a43ab5acd61136"
    ),
    "validate_authorization_request": (
        "6fae537eec39f03b1929f404ee3a69e48c92131d169de31ef9bb16fbf6a58fd9"
    ),
}
# Ours -> sha256 of the source of oauthlib's code-grant method whose tail it copies.
OAUTHLIB_GRANT_COPIES: dict[str, str] = {
    "_code_issue": "48af808b794296bae317cf929fa3b68dae1213c5c1e6ce16a7eef681759a3a18",
}
# Set on a request this server validated: (uri, http_method) of that validation.
_VALIDATED = "biblogin_validated_for"


class QueryParsedOnce(Request):
    """oauthlib's request, its query parameters parsed at the first read only."""

    @property
    def uri_query_params(self) -> list[tuple[str, str]]:
        memo = self.__dict__.get("_query_params_memo")
        if memo is None or memo[0] != self.uri:
            memo = (self.uri, super().uri_query_params)
            self.__dict__["_query_params_memo"] = memo
        return list(memo[1])


class Server(openid.Server):
    """``OIDC_SERVER_CLASS``: oauthlib's server with ``QueryParsedOnce`` requests."""

    @catch_errors_and_unavailability
    def create_authorization_response(
        self,
        uri: str,
        http_method: str = "GET",
        body: Any = None,
        headers: Any = None,
        scopes: Any = None,
        credentials: dict[str, Any] | None = None,
    ) -> Any:
        validated = (credentials or {}).get("request")
        if (
            isinstance(validated, QueryParsedOnce)
            and validated.__dict__.get(_VALIDATED) == (uri, http_method)
            and body is None
        ):
            # The view's own validation of this very request: answer from it (ours, not
            # oauthlib's: oauthlib would validate it again). The credentials are what that
            # validation returned, plus the user and the login the view added.
            validated.scopes = scopes
            validated.user = None
            for k, v in (credentials or {}).items():
                if k != "request":
                    setattr(validated, k, v)
            handler = self.response_types.get(
                validated.response_type, self.default_response_type_handler
            )
            return _code_issue(handler, validated, self.default_token_type)
        request = QueryParsedOnce(uri, http_method=http_method, body=body, headers=headers)
        request.scopes = scopes
        request.user = None
        for k, v in (credentials or {}).items():
            setattr(request, k, v)
        response_type_handler = self.response_types.get(
            request.response_type, self.default_response_type_handler
        )
        return response_type_handler.create_authorization_response(request, self.default_token_type)

    @catch_errors_and_unavailability
    def validate_authorization_request(
        self, uri: str, http_method: str = "GET", body: Any = None, headers: Any = None
    ) -> Any:
        request = QueryParsedOnce(uri, http_method=http_method, body=body, headers=headers)
        request.scopes = utils.scope_to_list(request.scope)
        response_type_handler = self.response_types.get(
            request.response_type, self.default_response_type_handler
        )
        validated = response_type_handler.validate_authorization_request(request)
        request.__dict__[_VALIDATED] = (uri, http_method)  # only once nothing was raised
        return validated


def _code_issue(handler: Any, request: QueryParsedOnce, token_handler: Any) -> Any:
    """The tail of oauthlib's ``AuthorizationCodeGrant.create_authorization_response``, after its
    validation: the code, the grant's modifiers, the code saved, the redirect."""
    if not isinstance(handler, AuthorizationCodeGrantDispatcher):
        # Not the code grant (oauthlib answers other response types with its own errors).
        return handler.create_authorization_response(request, token_handler)
    chosen = handler._handler_for_request(request)
    grant_type = getattr(chosen, "proxy_target", chosen)  # OIDC's grant wraps OAuth 2's
    if not isinstance(grant_type, AuthorizationCodeGrant):
        return chosen.create_authorization_response(request, token_handler)
    # From here as oauthlib's method does after ``self.validate_authorization_request(request)``.
    grant = grant_type.create_authorization_code(request)
    for modifier in grant_type._code_modifiers:
        grant = modifier(grant, token_handler, request)
    if "access_token" in grant:
        grant_type.request_validator.save_token(grant, request)
    grant_type.request_validator.save_authorization_code(request.client_id, grant, request)
    return grant_type.prepare_authorization_response(request, grant, {}, None, 302)

"""The OpenID Connect endpoints: django-oauth-toolkit's, with the login journey in front."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauth2_provider.oauth2_validators import is_valid_resource_uri
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.signals import app_authorized
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import Request as OauthlibRequest
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors
from oauthlib.openid.connect.core import exceptions as oidc_errors

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.common.assurance import ACR_VALUES
from biblogin.login import journey
from biblogin.login.selectors import (
    authentication_get,
    login_request_resolve_branches,
    recent_login_pick,
)
from biblogin.oidc import claims as oidc_claims
from biblogin.oidc.authorization_request import ParamProblem, authorization_params_problem
from biblogin.oidc.keys import jwks_public
from biblogin.oidc.models import Client
from biblogin.oidc.selectors import client_policy_get, client_policy_of
from biblogin.oidc.services import tokens_revoke_for_users
from biblogin.oidc.validators import BibloginOAuth2Validator, token_family_for_access_token

log = logging.getLogger(__name__)

RESUME_PARAM = "login_plan"


def _with_iss(uri: str) -> str:
    """RFC 9207: name the issuer in every authorization response, errors included."""
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
    query.append(("iss", oauth2_settings.OIDC_ISS_ENDPOINT))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _query_without_plan(request: HttpRequest) -> list[tuple[str, str]]:
    return [
        (k, v)
        for k, v in parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
        if k != RESUME_PARAM
    ]


def _validated_client(credentials: dict[str, Any]) -> Client | None:
    """The client oauthlib just loaded and validated for this request (else read it)."""
    oauth_request = credentials.get("request")
    client = getattr(oauth_request, "client", None)
    if isinstance(client, Client) and client.client_id == credentials["client_id"]:
        return client
    return (
        Client.objects.select_related("service_requester")
        .filter(client_id=credentials["client_id"])
        .first()
    )


@method_decorator(never_cache, name="dispatch")
class AuthorizationView(OAuthLibMixin, View):
    """R-LOGIN-1, R-LOGIN-11: the authorization endpoint.

    Validates the request (oauthlib), then answers it from the login a login page just
    finished, or from a recent login of this browser (SSO), or sends the user to log in with
    a plan. Consent is never asked: every client is registered by staff.
    """

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # R-SEC-3: every parameter is judged before oauthlib, a query or a login page.
        problem = authorization_params_problem(params=request.GET)
        if problem is not None:
            return self._refuse(request, problem)
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self._error(error, client=None)
        except (ValueError, TypeError, UnicodeError):
            return self._bad_request()
        client = _validated_client(credentials)
        if client is None:  # validated a moment ago; deleted meanwhile
            return self._bad_request()
        # oauthlib validates the request again when it issues the code: give it this client.
        credentials["client"] = client
        if isinstance(credentials.get("ui_locales"), list):
            credentials["ui_locales"] = " ".join(credentials["ui_locales"])
        if "resource" in request.GET:
            # RFC 8707 resource indicators: a list of absolute URIs, as DOT's own view does.
            resources = request.GET.getlist("resource")
            if not all(is_valid_resource_uri(r) for r in resources):
                return self._error(
                    OAuthToolkitError(
                        oauth2_errors.CustomOAuth2Error(
                            error="invalid_target",
                            description="resource must be an absolute URI",
                            state=credentials.get("state"),
                        ),
                        redirect_uri=credentials["redirect_uri"],
                    ),
                    client=client,
                )
            credentials["resource"] = resources
        try:
            login_request = journey.login_request_parse(
                params=request.GET, client_idps=list(client.allowed_idps)
            )
        except journey.LoginRequestError as exc:
            return self._error(
                OAuthToolkitError(
                    oauth2_errors.InvalidRequestError(
                        description=str(exc), state=credentials.get("state")
                    ),
                    redirect_uri=credentials["redirect_uri"],
                ),
                client=client,
            )
        session = request.session

        # 1. Back from a login page: use exactly the login that plan produced.
        plan = journey.plan_get(session=session, plan_id=request.GET.get(RESUME_PARAM))
        # The plan must be this client's, for exactly this request.
        if (
            plan is not None
            and plan.client_id == client.client_id
            and sorted(parse_qsl(plan.query, keep_blank_values=True))
            == sorted(_query_without_plan(request))
        ):
            # The plan is kept until it expires (login.journey.PLAN_TTL_SECONDS): the
            # browser's back button to its login page then sends the user on to the client
            # with the same answer again, never to "Dit login er udløbet".
            if plan.extra.get("cancelled"):
                return self._grant(request, client, scopes, credentials, None, allow=False)
            authentication = authentication_get(pk=plan.done)
            if authentication is not None:
                return self._grant(request, client, scopes, credentials, authentication)

        # A branch named in agency/presel: only the SSO check and a new login need it resolved.
        login_request = login_request_resolve_branches(login_request=login_request)

        # 2. Single sign-on (R-LOGIN-11).
        authentication = recent_login_pick(
            session=session,
            # One plain statement; the client row DOT loaded lacks its service requester.
            client=client_policy_get(client.client_id) or client_policy_of(client=client),
            login_request=login_request,
        )
        if authentication is not None:
            audit_event_record(
                action=AuditAction.LOGIN_SSO,
                outcome="ok",
                actor=client.client_id,
                agency_id=authentication.agency_id,
                subject=f"identity:{authentication.identity_id}",
                details={"idp": authentication.idp},
            )
            return self._grant(request, client, scopes, credentials, authentication)

        # 3. prompt=none and nobody to answer with.
        if login_request.silent:
            return self._error(
                OAuthToolkitError(
                    oidc_errors.LoginRequired(state=credentials.get("state")),
                    redirect_uri=credentials["redirect_uri"],
                ),
                client=client,
            )

        # 4. Log in, then come back here.
        query = urlencode(_query_without_plan(request))
        plan = journey.plan_create(
            session=session, client_id=client.client_id, query=query, login_request=login_request
        )
        return HttpResponseRedirect(journey.login_entry_url(plan))

    def _grant(
        self,
        request: HttpRequest,
        client: Client,
        scopes: list[str],
        credentials: dict[str, Any],
        authentication: Any,
        *,
        allow: bool = True,
    ) -> HttpResponse:
        if authentication is not None:
            # The resource owner of the code is the identity of this login, whichever
            # identity the session's Django login currently names.
            request.user = authentication.identity.user
            credentials["authentication_id"] = authentication.pk
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=request, scopes=" ".join(scopes), credentials=credentials, allow=allow
            )
        except OAuthToolkitError as error:
            return self._error(error, client=client)
        return OAuth2ResponseRedirect(uri, client.get_allowed_schemes())

    def _refuse(self, request: HttpRequest, problem: ParamProblem) -> HttpResponse:
        """RFC 6749 §4.1.2.1: to the redirect URI only when the client and that URI are valid."""
        if not problem.redirectable:
            return self._bad_request()
        redirect_uri = request.GET["redirect_uri"]
        client = Client.objects.filter(client_id=request.GET["client_id"]).first()
        if client is None or not client.is_active or not client.redirect_uri_allowed(redirect_uri):
            return self._bad_request()
        state = request.GET.get("state") if problem.state_usable else None
        return self._error(
            OAuthToolkitError(
                oauth2_errors.CustomOAuth2Error(
                    error=problem.error, description=problem.description, state=state or None
                ),
                redirect_uri=redirect_uri,
            ),
            client=client,
        )

    def _error(self, error: OAuthToolkitError, *, client: Client | None) -> HttpResponse:
        redirect, response = self.error_response(error)
        oauth_error = error.oauthlib_error
        if client is None and isinstance(getattr(oauth_error, "client_id", None), str):
            # A non-fatal error comes after the client and its redirect URI were validated.
            client = Client.objects.filter(client_id=oauth_error.client_id).first()
        if redirect and not isinstance(error, FatalClientError) and oauth_error.redirect_uri:
            schemes = client.get_allowed_schemes() if client else ["https"]
            try:
                return OAuth2ResponseRedirect(_with_iss(response["url"]), schemes)
            except Exception:  # a redirect we may not make: show the error instead
                log.info("authorization error not redirected")
        return render(
            request=self.request,
            template_name="oidc/error.html",
            context={"error": oauth_error.error, "description": oauth_error.description},
            status=oauth_error.status_code if 400 <= oauth_error.status_code < 500 else 400,
        )

    def _bad_request(self) -> HttpResponse:
        return render(
            request=self.request,
            template_name="oidc/error.html",
            context={"error": "invalid_request", "description": _("Forespørgslen er ugyldig.")},
            status=400,
        )


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(dot_views.TokenView):
    """The token endpoint: authorization code and refresh token grants only (R-LOGIN-1)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.POST.get("grant_type") not in ("authorization_code", "refresh_token"):
            return JsonResponse(
                {"error": "unsupported_grant_type"},
                status=400,
                headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
            )
        return self.authorization_flow_token_response(request)

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        if app_authorized.has_listeners(self):
            return super().authorization_flow_token_response(request, *args, **kwargs)
        # DOT reads the new access token back only to send ``app_authorized``; nobody listens.
        _url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for key, value in headers.items():
            response[key] = value
        return response


@method_decorator(csrf_exempt, name="dispatch")
class UserInfoView(dot_views.UserInfoView):
    """OIDC userinfo; the access token only in the Authorization header or a POST form body."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "access_token" in request.GET:
            # RFC 9700 §4.3.2, RFC 6750 §2.3: never a token in the URI.
            return JsonResponse(
                {"error": "invalid_request"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_request"'},
            )
        return super().dispatch(request, *args, **kwargs)


class DiscoveryView(dot_views.ConnectDiscoveryInfoView):
    """OpenID Provider metadata, with what this provider actually supports."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data.update(
            {
                "id_token_signing_alg_values_supported": ["RS256"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "response_modes_supported": ["query"],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": oidc_claims.claims_supported(),
                "acr_values_supported": list(ACR_VALUES),
                "revocation_endpoint": _endpoint("oauth2_provider:revoke-token"),
                "introspection_endpoint": _endpoint("oauth2_provider:introspect"),
                "revocation_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                    "none",
                ],
                "introspection_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "claims_parameter_supported": False,
                "request_parameter_supported": False,
                "request_uri_parameter_supported": False,
                "require_request_uri_registration": True,
                "ui_locales_supported": ["da", "en"],
                "prompt_values_supported": ["none", "login"],
            }
        )
        return JsonResponse(data, headers={"Access-Control-Allow-Origin": "*"})


def _endpoint(name: str) -> str:
    issuer = urlsplit(oauth2_settings.OIDC_ISS_ENDPOINT)
    return f"{issuer.scheme}://{issuer.netloc}{reverse(name)}"


class JwksView(View):
    """The public signing keys: the active one and those retired but still in use."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        age = int(oauth2_settings.OIDC_JWKS_MAX_AGE_SECONDS)
        return JsonResponse(
            jwks_public(),
            headers={
                "Access-Control-Allow-Origin": "*",
                "Cache-Control": f"public, max-age={age}",
            },
        )


@method_decorator(csrf_exempt, name="dispatch")
class IntrospectionView(OAuthLibMixin, View):
    """RFC 7662 introspection, only for clients allowed it (authenticated with their secret)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client = self._authenticated_client(request)
        if client is None:
            return JsonResponse(
                {"error": "invalid_client"},
                status=401,
                headers={"WWW-Authenticate": 'Basic realm="introspection"'},
            )
        if not client.introspection_allowed:
            return JsonResponse({"error": "unauthorized_client"}, status=403)
        token = request.POST.get("token")
        if not token:
            return JsonResponse(
                {"error": "invalid_request", "error_description": "token is missing"}, status=400
            )
        return JsonResponse(
            _introspect(token, request.POST.get("token_type_hint"), client=client),
            headers={"Cache-Control": "no-store"},
        )

    def _authenticated_client(self, request: HttpRequest) -> Client | None:
        core = self.get_oauthlib_core()
        uri, http_method, body, headers = core._extract_params(request)
        oauth_request = OauthlibRequest(uri, http_method=http_method, body=body, headers=headers)
        validator = BibloginOAuth2Validator()
        try:
            if not validator.authenticate_client(oauth_request):
                return None
        except Exception:  # malformed credentials are simply not a client
            return None
        client = oauth_request.client
        if not isinstance(client, Client) or not client.is_confidential:
            return None
        return client


def _may_introspect(client: Client, application_id: int | None) -> bool:
    """RFC 7662 §4: a client's own tokens, or those of clients it is explicitly trusted with."""
    if application_id is None:
        return False
    if application_id == client.pk:
        return True
    return client.introspects_tokens_of.filter(pk=application_id).exists()


def _introspect(token: str, hint: str | None, *, client: Client) -> dict[str, Any]:
    checksum = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
    access = (
        get_access_token_model()
        .objects.select_related("application")
        .filter(token_checksum=checksum)
        .first()
    )
    if access is not None and access.is_valid() and _may_introspect(client, access.application_id):
        family = token_family_for_access_token(access)
        data: dict[str, Any] = {
            "active": True,
            "token_type": "Bearer",
            "scope": access.scope,
            "client_id": access.application.client_id if access.application else None,
            "exp": int(access.expires.timestamp()),
            "iat": int(access.created.timestamp()),
            "iss": oauth2_settings.OIDC_ISS_ENDPOINT,
        }
        if family is not None:
            data["sub"] = family.subject
            data["auth_time"] = int(family.authentication.auth_time.timestamp())
            data["acr"] = family.authentication.acr
        return data
    refresh = (
        get_refresh_token_model()
        .objects.select_related("application", "access_token")
        .filter(token_checksum=checksum, revoked__isnull=True)
        .first()
    )
    if (
        refresh is not None
        and refresh.access_token is not None
        and _may_introspect(client, refresh.application_id)
    ):
        return {
            "active": True,
            "token_type": "refresh_token",
            "client_id": refresh.application.client_id,
            "scope": refresh.access_token.scope,
            "iss": oauth2_settings.OIDC_ISS_ENDPOINT,
        }
    return {"active": False}


class LogoutView(dot_views.RPInitiatedLogoutView):
    """R-LOGIN-12: RP-initiated logout; ends the whole login session of this browser."""

    template_name = "oidc/logout_confirm.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client_id = request.GET.get("client_id")
        if client_id and not Client.objects.filter(client_id=client_id).exists():
            return self._invalid(_("Ukendt klient."))
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client_id = request.POST.get("client_id")
        if client_id and not Client.objects.filter(client_id=client_id).exists():
            return self._invalid(_("Ukendt klient."))
        return super().post(request, *args, **kwargs)

    def _invalid(self, description: str) -> HttpResponse:
        return render(
            self.request,
            "oidc/error.html",
            {"error": "invalid_request", "description": description},
            status=400,
        )

    def must_prompt(self, token_user: Any) -> bool:
        if not self.request.user.is_authenticated:
            return False
        if token_user is None:
            return True
        # Any identity this browser logged in as may end the session without a question.
        users = {entry.u for entry in journey.recent_logins(session=self.request.session)}
        return token_user.pk not in users and token_user != self.request.user

    def do_logout(
        self,
        application: Any = None,
        post_logout_redirect_uri: Any = None,
        state: Any = None,
        token_user: Any = None,
    ) -> HttpResponse:
        """End the browser's login session and every grant its identities gave (R-LOGIN-12)."""
        session = self.request.session
        user_ids = {entry.u for entry in journey.recent_logins(session=session)}
        if token_user is not None:
            user_ids.add(token_user.pk)
        if self.request.user.is_authenticated:
            user_ids.add(self.request.user.pk)
        revoked = tokens_revoke_for_users(user_ids=sorted(user_ids))
        audit_event_record(
            action=AuditAction.LOGOUT,
            outcome="ok",
            actor=getattr(application, "client_id", ""),
            subject=f"user:{token_user.pk}" if token_user is not None else "",
            details={"grants_revoked": revoked},
        )
        logout(self.request)
        if post_logout_redirect_uri and application is not None:
            uri = (
                add_params_to_uri(post_logout_redirect_uri, [("state", state)])
                if state
                else post_logout_redirect_uri
            )
            return OAuth2ResponseRedirect(uri, application.get_allowed_schemes())
        return HttpResponseRedirect(reverse("login:logged-out"))

    def error_response(self, error: Any) -> HttpResponse:
        return render(
            self.request,
            "oidc/error.html",
            {"error": getattr(error, "error", "invalid_request"), "description": str(error)},
            status=getattr(error, "status_code", 400),
        )

"""The portal accepts an authorization response only with the issuer it expects (RFC 9207).

R-SEC-1, R-PORTAL-0: the login platform advertises
``authorization_response_iss_parameter_supported``, so a response without ``iss`` (or naming
another issuer) is refused, errors included.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings

from biblogin.portal import oidc_client
from tests.portal.builders import ANNA
from tests.portal.driver import PortalBrowser, path_of

pytestmark = pytest.mark.django_db


def _params(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _response_from_the_login_platform(user: PortalBrowser) -> dict[str, str]:
    """Log in with a library and stop at the redirect back to the portal's callback."""
    page = user.get("/log-ind/bibliotek/710100/")
    form = user.at_library_login(page)
    plan = page.wsgi_request.GET.get("plan", "")
    response = user.client.post(form, {"plan": plan, "user_id": ANNA, "password": "1234"})
    for _hop in range(10):
        location = response["Location"]
        if urlsplit(location).path == "/auth/callback/":
            return _params(location)
        response = user.client.get(path_of(location))
    raise AssertionError("no redirect to the portal's callback")


def _logged_in(user: PortalBrowser) -> bool:
    return ">Log ind<" not in user.client.get("/").content.decode()


def test_the_login_platform_advertises_the_iss_parameter(user: PortalBrowser) -> None:
    assert oidc_client.provider_metadata()["authorization_response_iss_parameter_supported"]


def test_an_authorization_response_without_iss_is_refused(user: PortalBrowser) -> None:
    """RFC 9207 §2.4: the provider advertises ``iss``; a response without it is not redeemed."""
    params = _response_from_the_login_platform(user)
    assert params["iss"] == settings.OIDC_ISSUER and "code" in params
    del params["iss"]
    answer = user.client.get("/auth/callback/", params)
    assert answer.status_code == 400
    assert not _logged_in(user)


def test_an_authorization_response_from_another_issuer_is_refused(user: PortalBrowser) -> None:
    params = _response_from_the_login_platform(user)
    params["iss"] = settings.OIDC_ISSUER + "/"  # not the same string (RFC 9207 §2.4)
    answer = user.client.get("/auth/callback/", params)
    assert answer.status_code == 400
    assert not _logged_in(user)


def test_the_response_with_its_iss_logs_in(user: PortalBrowser) -> None:
    params = _response_from_the_login_platform(user)
    answer = user.client.get("/auth/callback/", params)
    assert answer.status_code == 302
    assert _logged_in(user)


def test_an_error_response_without_iss_is_refused_too(user: PortalBrowser) -> None:
    """RFC 9207 §2.4 covers error responses: without ``iss`` it is not taken as a cancel."""
    to_platform = user.client.get("/log-ind/bibliotek/710100/")
    state = _params(to_platform["Location"])["state"]
    answer = user.client.get("/auth/callback/", {"state": state, "error": "access_denied"})
    assert answer.status_code == 400
    assert "Du blev ikke logget ind" not in answer.content.decode()

"""Interoperability: Authlib's OIDC client (not ours) against the running login platform.

Discovery, code + PKCE, ID token and userinfo validation, refresh, logout; R-LOGIN-1, R-LOGIN-12.
The front channel (the login form) is driven with plain HTTP like a browser without JavaScript.
"""

from __future__ import annotations

import re
import secrets
import warnings
from html import unescape

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from tests.oidc_flow import APP_ID, APP_POST_LOGOUT, APP_REDIRECT

pytestmark = pytest.mark.django_db(transaction=True)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.jose import JsonWebKey, jwt
    from authlib.oidc.core import CodeIDToken, UserInfo


def browser_login(
    session: requests.Session, url: str, *, agency_id: str, user_id: str, pin: str
) -> str:
    """Follow the platform's pages like a browser; return the redirect to the app."""
    response = session.get(url, allow_redirects=False)
    while response.status_code in (301, 302, 303) and not response.headers["Location"].startswith(
        APP_REDIRECT
    ):
        response = session.get(
            requests.compat.urljoin(response.url, response.headers["Location"]),
            allow_redirects=False,
        )
    assert response.status_code == 200, response.text[:300]
    plan = re.search(r'name="plan" value="([^"]+)"', response.text).group(1)
    form_url = requests.compat.urljoin(response.url, f"/login/bibliotek/{agency_id}/?plan={plan}")
    form = session.get(form_url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    posted = session.post(
        form_url,
        data={"csrfmiddlewaretoken": token, "plan": plan, "user_id": user_id, "password": pin},
        headers={"Referer": form_url},
        allow_redirects=False,
    )
    assert posted.status_code == 302, unescape(posted.text)[:500]
    resumed = session.get(
        requests.compat.urljoin(form_url, posted.headers["Location"]), allow_redirects=False
    )
    assert resumed.status_code == 302
    return resumed.headers["Location"]


def test_authlib_client_does_the_whole_dance(live_site):
    discovery = requests.get(
        f"{live_site.issuer}/.well-known/openid-configuration", timeout=10
    ).json()
    assert discovery["issuer"] == live_site.issuer
    jwks = JsonWebKey.import_key_set(requests.get(discovery["jwks_uri"], timeout=10).json())

    client = OAuth2Session(
        client_id=APP_ID,
        redirect_uri=APP_REDIRECT,
        scope="openid profile",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(12)
    url, state = client.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    browser = requests.Session()
    callback = browser_login(browser, url, agency_id="710100", user_id="1000001", pin="1234")
    assert callback.startswith(APP_REDIRECT)

    token = client.fetch_token(
        discovery["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    claims = jwt.decode(
        token["id_token"],
        jwks,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": discovery["issuer"]}},
        claims_params={"nonce": nonce, "client_id": APP_ID, "access_token": token["access_token"]},
    )
    claims.validate()  # iss, aud, exp, iat, nonce, at_hash, auth_time
    assert claims["loggedInAgencyId"] == "710100"

    userinfo = UserInfo(client.get(discovery["userinfo_endpoint"]).json())
    # OIDC Core 5.3.2: the userinfo sub must be the ID token's.
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["uniqueId"] == claims["uniqueId"]

    refreshed = client.refresh_token(
        discovery["token_endpoint"], refresh_token=token["refresh_token"]
    )
    assert refreshed["refresh_token"] != token["refresh_token"]
    again = jwt.decode(
        refreshed["id_token"], jwks, claims_cls=CodeIDToken, claims_params={"client_id": APP_ID}
    )
    again.validate()
    assert again["sub"] == claims["sub"]
    assert client.get(discovery["userinfo_endpoint"]).status_code == 200

    logout = browser.get(
        discovery["end_session_endpoint"],
        params={
            "id_token_hint": refreshed["id_token"],
            "post_logout_redirect_uri": APP_POST_LOGOUT,
            "state": "bye",
        },
        allow_redirects=False,
    )
    assert logout.status_code == 302
    assert logout.headers["Location"] == APP_POST_LOGOUT + "?state=bye"
    assert client.get(discovery["userinfo_endpoint"]).status_code == 401
    assert state

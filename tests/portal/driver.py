"""Drive the portal and the login platform behind it with Django's test client, as a user would.

The portal talks to the login platform over OpenID Connect only: the front channel follows the
redirects here, the back channel runs in-process (the issuer is this same deployment).
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse
from django.test import Client

from biblogin.integrations.mitid_broker.testbroker import TestMitIDBroker


def path_of(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + ("?" + parts.query if parts.query else "")


def text_of(response: HttpResponse) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded, spaces collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


class PortalBrowser:
    def __init__(self, client: Client, *, broker: TestMitIDBroker | None = None) -> None:
        self.client = client
        self.broker = broker
        self.mitid_person = ""
        self.last: HttpResponse | None = None

    def _ours(self, location: str) -> bool:
        return location.startswith(("/", "http://testserver", settings.BASE_URL))

    def follow(self, response: HttpResponse, *, max_hops: int = 15) -> HttpResponse:
        """Follow redirects across portal, login platform and the MitID broker."""
        for _hop in range(max_hops):
            if response.status_code not in (301, 302, 303):
                break
            location = response["Location"]
            if self._ours(location):
                response = self.client.get(path_of(location))
                continue
            if self.broker is not None and location.startswith(self.broker.issuer):
                assert self.mitid_person, "the login platform asked for MitID unexpectedly"
                location = self.broker.login(location, sub=self.mitid_person)
                response = self.client.get(path_of(location))
                continue
            break
        self.last = response
        return response

    def get(self, path: str) -> HttpResponse:
        return self.follow(self.client.get(path))

    def post(self, path: str, data: dict[str, str]) -> HttpResponse:
        return self.follow(self.client.post(path, data))

    def at_library_login(self, response: HttpResponse) -> str:
        """Return the login platform's library form path the response shows."""
        request = response.wsgi_request
        assert request.path.startswith("/login/bibliotek/"), (request.path, text_of(response)[:300])
        return request.get_full_path()

    def library_login(self, agency_id: str, user_id: str, pin: str) -> HttpResponse:
        """Log in at the portal with a library: choose it at "Log ind", then type ID and PIN."""
        page = self.get(f"/log-ind/bibliotek/{agency_id}/")
        return self.type_pin(page, user_id, pin)

    def type_pin(self, page: HttpResponse, user_id: str, pin: str) -> HttpResponse:
        form = self.at_library_login(page)
        plan = page.wsgi_request.GET.get("plan", "")
        return self.post(form, {"plan": plan, "user_id": user_id, "password": pin})

    def mitid_login(self, person: str) -> HttpResponse:
        self.mitid_person = person
        return self.get("/log-ind/mitid/")

    def choose(self, path: str, choice: str) -> HttpResponse:
        return self.post(path, {"choice": choice})

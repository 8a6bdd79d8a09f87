"""Count the SQL queries of each step of one login flow, a refresh and a userinfo, in-process.

Run in a bench database's environment after ``setup_data.py`` (``run.py`` does):

    python bench/query_counts.py --fixture fixture.json

Prints one JSON object: per step, the number of queries and the statements repeated within it
(table and the code that asked), so that a change to the login path shows in the next run.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

_TABLE = re.compile(r'(?:FROM|INTO|UPDATE) "?(\w+)"?')
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_OURS = ("/biblogin/", "/oauth2_provider/", "/contrib/sessions/", "/core/cache/")


def _owner() -> str:
    for frame in reversed(traceback.extract_stack()):
        if any(part in frame.filename for part in _OURS):
            return f"{Path(frame.filename).parent.name}/{Path(frame.filename).name}:{frame.name}"
    return "?"


def count_queries(fixture: dict[str, Any]) -> dict[str, Any]:
    """Drive a borrower's flow twice with Django's test client; count the second's queries."""
    from django.db import connection
    from django.test import Client

    seen: list[tuple[str, str, str]] = []

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any) -> Any:
        table = _TABLE.search(sql)
        seen.append((sql.split()[0].upper(), table.group(1) if table else "", _owner()))
        return execute(sql, params, many, ctx)

    steps: dict[str, Any] = {}

    def step(name: str, call: Callable[[], Any]) -> Any:
        seen.clear()
        with connection.execute_wrapper(wrapper):
            response = call()
        # The same table read (or written) more than once in one request, and who asked.
        by_table = Counter((kind, table) for kind, table, _owner in seen)
        repeated = [
            f"{n} x {kind} {table} ("
            + ", ".join(sorted({o.rsplit(":", 1)[1] for k, t, o in seen if (k, t) == key}))
            + ")"
            for key, n in by_table.most_common()
            for kind, table in [key]
            if n > 1 and kind in {"SELECT", "UPDATE"}
        ]
        steps[name] = {"queries": len(seen), "repeated": repeated}
        return response

    def one_flow() -> None:
        browser = Client(HTTP_HOST="127.0.0.1")
        user_id, pin = fixture["users"][-1]
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": fixture["client_id"],
                "redirect_uri": fixture["redirect_uri"],
                "scope": "openid profile",
                "state": "s",
                "nonce": "n",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "agency": fixture["agency_id"],
            }
        )
        auth = (
            "Basic "
            + base64.b64encode(
                f"{fixture['client_id']}:{fixture['client_secret']}".encode()
            ).decode()
        )
        response = step("1 authorize", lambda: browser.get(f"/login/authorize/?{query}"))
        form_url = response["Location"]
        page = step("2 login page", lambda: browser.get(form_url))
        csrf = _CSRF.search(page.content.decode())
        data = {
            "csrfmiddlewaretoken": csrf.group(1) if csrf else "",
            "plan": parse_qs(urlsplit(form_url).query)["plan"][0],
            "user_id": user_id,
            "password": pin,
        }
        response = step("3 PIN login", lambda: browser.post(form_url, data))
        resume = response["Location"]
        response = step("4 code", lambda: browser.get(resume))
        code = parse_qs(urlsplit(response["Location"]).query)["code"][0]
        token = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": fixture["redirect_uri"],
            "code_verifier": verifier,
        }
        response = step(
            "5 token", lambda: browser.post("/login/token/", token, HTTP_AUTHORIZATION=auth)
        )
        tokens = json.loads(response.content)
        bearer = f"Bearer {tokens['access_token']}"
        step("6 userinfo", lambda: browser.get("/login/userinfo/", HTTP_AUTHORIZATION=bearer))
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        response = step(
            "refresh", lambda: browser.post("/login/token/", refresh, HTTP_AUTHORIZATION=auth)
        )
        if response.status_code != 200:
            raise RuntimeError(f"refresh failed: {response.status_code}")

    # The first login of a borrower also creates their identity and user: count the second,
    # which is what the benchmark's flows are (its borrowers log in again and again).
    one_flow()
    first = sum(v["queries"] for k, v in steps.items() if k[0].isdigit())
    steps.clear()
    one_flow()
    flow = sum(v["queries"] for k, v in steps.items() if k[0].isdigit())
    return {"login_flow_queries": flow, "first_login_flow_queries": first, "steps": steps}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture", type=Path, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from biblogin.oidc.hotpath.testing import route_through_entry

    # As the server does: token and userinfo pass the lean path of the WSGI entry (issue 14).
    with route_through_entry():
        result = count_queries(json.loads(args.fixture.read_text()))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The test MitID broker: ``oidc-provider-mock`` on loopback with the demo persons (demo, tests).

Never used in production. It is a real third-party OIDC provider (Authlib on Flask) that signs
ID tokens with its own RSA key; we register our client with a fixed ID, secret and exact redirect
URIs, and load each demo person with their CPR (under the configured claim name), name and
NSIS level Substantial.

Logging in as a person at its authorization page: type the subject (``anna``) in the text field
``sub`` and press "Authorize", or press the person's button under "Authenticate predefined users";
"Deny" sends ``error=access_denied`` back.

Standalone (the demo runs this as a subprocess)::

    python -m biblogin.integrations.mitid_broker.testbroker --port 9400 \\
        --client-id biblogin --client-secret biblogin-demo-secret \\
        --redirect-uri http://localhost:8000/login/mitid/callback
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterable, Sequence
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import quote

import authlib.deprecate  # installs its own "always" filter; ours below must come after it
import flask
import httpx
import jinja2
import werkzeug.serving

from biblogin.common.logging import MaskCprFilter
from biblogin.integrations.mitid_broker.demo_identities import (
    DEMO_MITID_IDENTITIES,
    DemoMitIDIdentity,
)

with warnings.catch_warnings():
    # The mock imports authlib.jose, which Authlib 1.9 deprecates; not our code to change.
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    import oidc_provider_mock
    from oidc_provider_mock._storage import Client as _MockClient

logger = logging.getLogger(__name__)

# The mock's own pages load a stylesheet from a CDN; the demo and the browser tests must work
# offline, so its base templates are replaced by self-contained ones.
_BASE_TEMPLATE = """<!doctype html>
<html lang="da">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MitID testbroker</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
input, button { font-size: 1rem; padding: .4rem .8rem; margin: .2rem .2rem .2rem 0; }
.banner { background: #fff3cd; border: 1px solid #d9b84a; padding: .5rem 1rem; }
</style>
</head>
<body>
<p class="banner">MitID testbroker &ndash; kun til demo og test. Skriv en demo-person
(fx <code>anna</code>) i feltet og tryk <strong>Authorize</strong>, eller v&aelig;lg personen
nedenfor.</p>
<main class="container">{% block content %}{{ content }}{% endblock %}</main>
</body>
</html>
"""
_ERROR_TEMPLATE = """{% extends "_base.html" %}
{% block content %}<h1>Error: {{ name }}</h1><p>{{ description }}</p>{% endblock %}
"""


class _QuietRequestHandler(werkzeug.serving.WSGIRequestHandler):
    """Log method, path and status only: query strings carry state, nonce and codes."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        logger.debug("%s %s %s", self.command, path, code)


class TestMitIDBroker:
    """Run the test MitID broker on 127.0.0.1 in a background thread."""

    __test__ = False  # a helper, not a pytest test class

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uris: Iterable[str] = (),
        cpr_claim: str = "dk.cpr",
        loa_claim: str = "loa",
        host: str = "127.0.0.1",
        port: int = 0,
        identities: Sequence[DemoMitIDIdentity] = DEMO_MITID_IDENTITIES,
        token_endpoint_auth_method: str = "client_secret_basic",  # noqa: S107 (a method name)
    ) -> None:
        self.client_id = client_id
        self.cpr_claim = cpr_claim
        self.loa_claim = loa_claim
        self.client_secret = client_secret
        self._redirect_uris = list(redirect_uris)
        self._auth_method = token_endpoint_auth_method
        self._host = host
        self._port = port
        self._identities = tuple(identities)
        self._server: werkzeug.serving.BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._storage: Any = None
        # One HTTP client for the helpers below: creating one costs ~80 ms (its TLS context).
        self._http = httpx.Client(timeout=5.0, follow_redirects=False)

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        if self._server is None:
            raise RuntimeError("the test MitID broker is not running")
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> str:
        """Start serving on the given (or an ephemeral) port; return the issuer URL."""
        if self._server is not None:
            return self.issuer
        app = oidc_provider_mock.app(
            require_client_registration=True,
            require_nonce=True,
            user_claims=[
                oidc_provider_mock.User(
                    sub=identity.sub,
                    claims=identity.claims(cpr_claim=self.cpr_claim, loa_claim=self.loa_claim),
                )
                for identity in self._identities
            ],
        )
        app.jinja_loader = jinja2.ChoiceLoader(
            [
                jinja2.DictLoader({"_base.html": _BASE_TEMPLATE, "error.html": _ERROR_TEMPLATE}),
                app.jinja_loader,
            ]
        )
        # The mock logs each issued code with the user's claims (the CPR) attached.
        logging.getLogger("oidc_provider_mock").setLevel(logging.WARNING)
        self._storage = _mock_storage(app)
        self._client_store(self.client_id, self.client_secret, self._redirect_uris)
        self._server = werkzeug.serving.make_server(
            self._host, self._port, app, threaded=True, request_handler=_QuietRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="mitid-test-broker",
            daemon=True,
        )
        self._thread.start()
        return self.issuer

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        if thread is not None:
            thread.join(5)
        server.server_close()
        self._server = self._thread = None

    def __enter__(self) -> TestMitIDBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- clients and persons ------------------------------------------------------------------

    def redirect_uri_allow(self, redirect_uri: str) -> None:
        """Register one more exact redirect URI for our client (e.g. a live server's)."""
        if redirect_uri not in self._redirect_uris:
            self._redirect_uris.append(redirect_uri)
            self._client_store(self.client_id, self.client_secret, self._redirect_uris)

    def client_register(
        self, *, client_id: str, client_secret: str, redirect_uris: Iterable[str]
    ) -> None:
        """Register another relying party (tests: a token meant for someone else)."""
        self._client_store(client_id, client_secret, list(redirect_uris))

    def person_put(self, *, sub: str, claims: dict[str, object]) -> None:
        """Create or replace a person with exactly these claims, through the mock's HTTP API."""
        response = self._http.put(f"{self.issuer}/users/{quote(sub, safe='')}", json=claims)
        response.raise_for_status()

    def identity_put(self, identity: DemoMitIDIdentity) -> None:
        """Create or replace a demo person under the configured claim names."""
        self.person_put(
            sub=identity.sub,
            claims=identity.claims(cpr_claim=self.cpr_claim, loa_claim=self.loa_claim),
        )

    # -- what a browser does at the broker ----------------------------------------------------

    def login(self, authorize_url: str, *, sub: str) -> str:
        """Log in as ``sub`` at the authorization page; return the callback URL it redirects to."""
        self._http.cookies.clear()
        page = self._http.get(authorize_url)
        if page.status_code != 200 or 'name="sub"' not in page.text:
            raise RuntimeError(f"the broker refused the authorization request: {page.text}")
        return _redirect_location(self._http.post(authorize_url, data={"sub": sub}))

    def deny(self, authorize_url: str) -> str:
        """Press "Deny" at the authorization page; return the callback URL it redirects to."""
        self._http.cookies.clear()
        return _redirect_location(self._http.post(authorize_url, data={"action": "deny"}))

    def _client_store(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> None:
        # The mock registers clients only dynamically, with random credentials; ours are fixed
        # by configuration, so the client goes straight into its storage.
        self._storage.store_client(
            _MockClient(
                id=client_id,
                secret=client_secret,
                redirect_uris=list(redirect_uris),
                allowed_scopes=_MockClient.SCOPES_SUPPORTED,
                token_endpoint_auth_method=self._auth_method,
            )
        )


def _mock_storage(app: flask.Flask) -> Any:
    """Return the mock's in-memory storage, which it creates per app and sets on each request."""
    with app.test_request_context("/"):
        app.preprocess_request()
        storage = getattr(flask.g, "oidc_provider_mock_storage", None)
    if storage is None or not hasattr(storage, "store_client"):
        raise RuntimeError("oidc-provider-mock changed: its client storage is not reachable")
    return storage


def _redirect_location(answer: httpx.Response) -> str:
    if answer.status_code not in (302, 303) or "location" not in answer.headers:
        raise RuntimeError(f"the broker did not redirect back: {answer.status_code}")
    return answer.headers["location"]


# -- standalone ---------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m biblogin.integrations.mitid_broker.testbroker",
        description="Run the test MitID broker (demo and tests only).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9400)
    parser.add_argument("--client-id", default=env("BIBLOGIN_MITID_CLIENT_ID", "biblogin"))
    parser.add_argument(
        "--client-secret", default=env("BIBLOGIN_MITID_CLIENT_SECRET", "biblogin-demo-secret")
    )
    parser.add_argument(
        "--redirect-uri",
        action="append",
        dest="redirect_uris",
        required=True,
        help="exact redirect URI of our client (repeatable)",
    )
    parser.add_argument("--cpr-claim", default=env("BIBLOGIN_MITID_CPR_CLAIM", "dk.cpr"))
    parser.add_argument("--loa-claim", default=env("BIBLOGIN_MITID_LOA_CLAIM", "loa"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM or Ctrl-C."""
    args = _parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskCprFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    broker = TestMitIDBroker(
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uris=args.redirect_uris,
        cpr_claim=args.cpr_claim,
        loa_claim=args.loa_claim,
        host=args.host,
        port=args.port,
    )
    stopped = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    issuer = broker.start()
    print(f"MitID test broker ready: {issuer} (client {args.client_id})", flush=True)
    try:
        stopped.wait()
    finally:
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

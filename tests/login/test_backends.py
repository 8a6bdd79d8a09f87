"""The authentication backends: explicit signatures, explicit outcomes, no side channels.

DESIGN.md convention 5; house-in-order item 6. The login pages get each attempt's whole outcome
as a return value (nothing is left on the request), Django's ``authenticate()`` picks a backend
by the credentials its signature binds, and a failed login's ``user_login_failed`` signal
carries the typed user ID masked (R-CULR-5) and no PIN (R-BC-5).
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

import biblogin.login
from biblogin.borrowercheck.services import BorrowerCheckStatus
from biblogin.common.assurance import NSIS_SUBSTANTIAL
from biblogin.integrations.mitid_broker.client import MitIDIdentity
from biblogin.login.backends import (
    LibraryLoginBackend,
    MitIDBackend,
    library_login_authenticate,
    mitid_login_authenticate,
)
from biblogin.login.constants import IdentityProvider
from biblogin.login.policy import ClientPolicy, client_policy_get
from biblogin.login.services import LibraryLoginOutcome, MitIDDenyReason, MitIDLoginOutcome

pytestmark = pytest.mark.django_db

ANNA = "1503851234"  # a borrower at 710100, PIN 1234


@pytest.fixture
def demo_app(demo: None) -> ClientPolicy:
    policy = client_policy_get(client_id="demo-app")
    assert policy is not None
    return policy


@pytest.fixture
def heard() -> Any:
    """Every ``user_login_failed``, heard by the only receiver, so the first one (R-CULR-5).

    Other receivers (the audit app's masking one among them) are set aside: what the login
    pages send must be masked at the source, whatever order receivers were connected in.
    """
    seen: list[dict[str, Any]] = []

    def record(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
        seen.append(dict(credentials))

    kept = user_login_failed.receivers
    user_login_failed.receivers = []
    user_login_failed.sender_receivers_cache.clear()
    user_login_failed.connect(record, weak=False)
    try:
        yield seen
    finally:
        user_login_failed.receivers = kept
        user_login_failed.sender_receivers_cache.clear()


def _request() -> Any:
    request = RequestFactory().post("/login/bibliotek/710100/", REMOTE_ADDR="127.0.0.1")
    request.session = SessionStore()
    return request


def test_the_library_backend_returns_its_outcome_and_leaves_the_request_alone(demo_app):
    """Item 6: the outcome is the return value; nothing is set on the request."""
    request = _request()
    refused = library_login_authenticate(
        request, agency_id="710100", user_id="1000001", password="0000", client=demo_app
    )
    assert isinstance(refused, LibraryLoginOutcome)
    assert refused.status == BorrowerCheckStatus.BORROWER_NOT_FOUND
    assert refused.user is None and refused.authentication is None
    assert refused.throttle.attempts_left == 4
    accepted = library_login_authenticate(
        request, agency_id="710100", user_id="1000001", password="1234", client=demo_app
    )
    assert accepted.status == BorrowerCheckStatus.OK
    assert accepted.user is not None and accepted.authentication is not None
    assert accepted.authentication.client_id == "demo-app"
    assert not [name for name in vars(request) if "outcome" in name]


def test_the_mitid_backend_returns_its_decision(demo):
    """R-LOGIN-2: a client without MitID is refused, and the outcome says why."""
    borchk_only = ClientPolicy(
        client_id="demo-app",
        display_name="Demo",
        service_requester="demo-app",
        allowed_idps=(IdentityProvider.BORCHK,),
    )
    identity = MitIDIdentity(cpr=ANNA, name="Anna", loa=NSIS_SUBSTANTIAL, subject="s", auth_time=0)
    outcome = mitid_login_authenticate(
        _request(), mitid_identity=identity, client=borchk_only, min_acr=None
    )
    assert isinstance(outcome, MitIDLoginOutcome)
    assert outcome.user is None
    assert outcome.decision.reason == MitIDDenyReason.CLIENT_NOT_ALLOWED


def test_each_backend_has_an_explicit_signature_without_stray_keywords():
    """Convention 5: no ``**kwargs``; Django hands a backend only what its signature binds."""
    for backend in (LibraryLoginBackend, MitIDBackend):
        methods = [backend.authenticate, *(m for n, m in vars(backend).items() if "login" in n)]
        for method in methods:
            kinds = {p.kind for p in inspect.signature(method).parameters.values()}
            assert inspect.Parameter.VAR_KEYWORD not in kinds, method
    library = inspect.signature(LibraryLoginBackend.authenticate).parameters
    assert library["password"].kind == inspect.Parameter.KEYWORD_ONLY  # Django masks it


def test_django_authenticate_picks_the_backend_by_the_credentials(demo_app):
    user = authenticate(
        _request(), agency_id="710100", user_id="1000001", password="1234", client=demo_app
    )
    assert user is not None and user.login_identity.idp == IdentityProvider.BORCHK
    # MitID credentials never reach the library backend (its signature does not bind them).
    identity = MitIDIdentity(cpr=ANNA, name="Anna", loa=NSIS_SUBSTANTIAL, subject="s", auth_time=0)
    borchk_only = ClientPolicy(
        client_id="demo-app",
        display_name="Demo",
        service_requester="demo-app",
        allowed_idps=(IdentityProvider.BORCHK,),
    )
    assert authenticate(_request(), mitid_identity=identity, client=borchk_only) is None


def test_a_failed_library_login_signals_the_typed_cpr_masked_R_CULR_5(app, heard):
    """The login page's ``user_login_failed`` carries 150385-XXXX, never the CPR or the PIN."""
    started = app.start(prompt="login")
    page = app.library_login(started, agency_id="710100", user_id="150385-1234", pin="7777")
    assert page.status_code == 200
    assert len(heard) == 1
    assert heard[0]["user_id"] == "150385-XXXX"
    assert heard[0]["agency_id"] == "710100"
    text = repr(heard)
    assert ANNA not in text and "150385-1234" not in text and "7777" not in text


def test_a_refused_mitid_login_signals_the_cpr_masked_R_CULR_5(demo, heard):
    identity = MitIDIdentity(cpr=ANNA, name="Anna", loa=NSIS_SUBSTANTIAL, subject="s", auth_time=0)
    borchk_only = ClientPolicy(
        client_id="demo-app",
        display_name="Demo",
        service_requester="demo-app",
        allowed_idps=(IdentityProvider.BORCHK,),
    )
    mitid_login_authenticate(_request(), mitid_identity=identity, client=borchk_only, min_acr=None)
    assert [h["user_id"] for h in heard] == ["150385-XXXX"]
    assert ANNA not in repr(heard)


def test_a_successful_login_sends_no_failure_signal(app, heard):
    app.login_library(agency_id="710100", user_id="1000001", pin="1234", prompt="login")
    assert heard == []


# --- the login pages sit below the OpenID Connect provider (house-in-order item 1) -----------


def test_the_login_app_never_imports_the_oidc_app():
    """login is the lower layer: its policy object comes from oidc through a registered lookup.

    import-linter proves it too (``lint-imports``); this keeps the rule in the test run.
    """
    root = Path(biblogin.login.__file__).parent
    offending = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if isinstance(node, ast.ImportFrom) and node.module == "biblogin":
                names = [f"biblogin.{a.name}" for a in node.names]
            if any(n == "biblogin.oidc" or n.startswith("biblogin.oidc.") for n in names):
                offending.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not offending, offending


def test_a_client_deactivated_during_the_login_ends_it(app):
    """The login pages read the client's policy afresh on every page (R-LOGIN-2)."""
    from biblogin.oidc.models import Client

    started = app.start(prompt="login")
    page = app.follow(started.response)
    assert page.status_code == 200
    Client.objects.filter(client_id="demo-app").update(is_active=False)
    plan = page.wsgi_request.GET["plan"]
    again = app.browser.get(f"/login/bibliotek/710100/?plan={plan}")
    assert again.status_code == 400
    assert "Dit login er udløbet" in again.content.decode()
    assert client_policy_get(client_id="demo-app") is None

"""Django authentication backends, one per credential type (DESIGN.md convention 5).

The PIN travels under the keyword ``password`` so Django masks it in failure signals. Each
backend calls one service and leaves its outcome on the request for the view to render.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from biblogin.borrowercheck.services import RegistryVerdict
from biblogin.borrowercheck.throttling import client_ip
from biblogin.common.models import User
from biblogin.integrations.mitid_broker.client import MitIDIdentity
from biblogin.login import services
from biblogin.oidc.models import Client


class _IdentityBackend(BaseBackend):
    def get_user(self, user_id: int) -> User | None:
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if user is None or not hasattr(user, "login_identity"):
            return None
        return user


class LibraryLoginBackend(_IdentityBackend):
    """Library login: agency, user ID and PIN through the borrower check (R-LOGIN-4)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        *,
        agency_id: str | None = None,
        user_id: str | None = None,
        password: str | None = None,
        client: Client | None = None,
        branch_id: str = "",
        registry_verdict: RegistryVerdict | None = None,
        **kwargs: Any,
    ) -> User | None:
        if agency_id is None or user_id is None or password is None or client is None:
            return None  # not a library login
        outcome = services.library_login(
            client=client,
            agency_id=agency_id,
            user_id=user_id,
            password=password,
            ip=client_ip(request) if request is not None else "",
            branch_id=branch_id,
            registry_verdict=registry_verdict,
        )
        if request is not None:
            request.library_login_outcome = outcome  # type: ignore[attr-defined]
        return outcome.user


class MitIDBackend(_IdentityBackend):
    """MitID: an identity the broker vouched for (R-LOGIN-6)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        *,
        mitid_identity: MitIDIdentity | None = None,
        client: Client | None = None,
        min_acr: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if mitid_identity is None or client is None:
            return None
        outcome = services.mitid_login(
            identity=mitid_identity,
            client=client,
            min_acr=min_acr,
            ip=client_ip(request) if request is not None else "",
        )
        if request is not None:
            request.mitid_login_outcome = outcome  # type: ignore[attr-defined]
        return outcome.user

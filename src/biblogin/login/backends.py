"""Django authentication backends, one per credential type (DESIGN.md convention 5).

Each has an explicit signature: Django's ``authenticate()`` hands a backend only the credentials
its signature binds, so a library login never reaches the MitID backend and the other way round.
The PIN travels under the keyword ``password``. The login pages want the whole outcome (why a
login failed, the throttle's state), not only the user: they call ``library_login_authenticate``
and ``mitid_login_authenticate``, which return it and, on failure, send Django's
``user_login_failed`` with the typed user ID masked (R-CULR-5) and no PIN (R-BC-5).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from biblogin.borrowercheck.throttling import client_ip
from biblogin.common.cpr import mask_cpr, mask_cprs_in_text
from biblogin.common.models import User
from biblogin.integrations.mitid_broker.client import MitIDIdentity
from biblogin.login import services
from biblogin.login.constants import IdentityProvider
from biblogin.login.policy import ClientPolicy

# For ``django.contrib.auth.login(..., backend=...)``: the session remembers which one.
LIBRARY_LOGIN_BACKEND = "biblogin.login.backends.LibraryLoginBackend"
MITID_BACKEND = "biblogin.login.backends.MitIDBackend"


class _IdentityBackend(BaseBackend):
    def get_user(self, user_id: int) -> User | None:
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if user is None or not hasattr(user, "login_identity"):
            return None
        return user


class LibraryLoginBackend(_IdentityBackend):
    """Library login: agency, user ID and PIN through the borrower check (R-LOGIN-4)."""

    @sensitive_variables("password")
    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        *,
        agency_id: str,
        user_id: str,
        password: str,
        client: ClientPolicy,
        branch_id: str = "",
    ) -> User | None:
        """Return the user of a successful library login, else None."""
        return self.library_login(
            request,
            agency_id=agency_id,
            user_id=user_id,
            password=password,
            client=client,
            branch_id=branch_id,
        ).user

    @sensitive_variables("password")
    def library_login(
        self,
        request: HttpRequest | None,
        *,
        agency_id: str,
        user_id: str,
        password: str,
        client: ClientPolicy,
        branch_id: str = "",
    ) -> services.LibraryLoginOutcome:
        """Return the outcome of a library login attempt (throttled, refused, or the user)."""
        return services.library_login(
            client=client,
            agency_id=agency_id,
            user_id=user_id,
            password=password,
            ip=client_ip(request) if request is not None else "",
            branch_id=branch_id,
        )


class MitIDBackend(_IdentityBackend):
    """MitID: an identity the broker vouched for (R-LOGIN-6)."""

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        *,
        mitid_identity: MitIDIdentity,
        client: ClientPolicy,
        min_acr: str | None = None,
    ) -> User | None:
        """Return the user of a MitID login this client accepts, else None."""
        return self.mitid_login(
            request, mitid_identity=mitid_identity, client=client, min_acr=min_acr
        ).user

    def mitid_login(
        self,
        request: HttpRequest | None,
        *,
        mitid_identity: MitIDIdentity,
        client: ClientPolicy,
        min_acr: str | None = None,
    ) -> services.MitIDLoginOutcome:
        """Return the decision for a verified MitID identity and, unless denied, the user."""
        return services.mitid_login(
            identity=mitid_identity,
            client=client,
            min_acr=min_acr,
            ip=client_ip(request) if request is not None else "",
        )


def _login_failed(request: HttpRequest, credentials: dict[str, Any]) -> None:
    # As django.contrib.auth.authenticate() does, for receivers such as a lockout; what we hand
    # them is masked here, whatever order they were connected in (R-CULR-5).
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)


@sensitive_variables("password")
def library_login_authenticate(
    request: HttpRequest,
    *,
    agency_id: str,
    user_id: str,
    password: str,
    client: ClientPolicy,
    branch_id: str = "",
) -> services.LibraryLoginOutcome:
    """Attempt a library login for a login page; a failure is signalled with the ID masked."""
    outcome = LibraryLoginBackend().library_login(
        request,
        agency_id=agency_id,
        user_id=user_id,
        password=password,
        client=client,
        branch_id=branch_id,
    )
    if outcome.user is None:
        _login_failed(
            request,
            {
                "idp": IdentityProvider.BORCHK.value,
                "agency_id": agency_id,
                "user_id": mask_cprs_in_text(user_id),
                "client_id": client.client_id,
            },
        )
    return outcome


def mitid_login_authenticate(
    request: HttpRequest,
    *,
    mitid_identity: MitIDIdentity,
    client: ClientPolicy,
    min_acr: str | None,
) -> services.MitIDLoginOutcome:
    """Attempt a MitID login for the callback page; a refusal is signalled with the CPR masked."""
    outcome = MitIDBackend().mitid_login(
        request, mitid_identity=mitid_identity, client=client, min_acr=min_acr
    )
    if outcome.user is None:
        _login_failed(
            request,
            {
                "idp": IdentityProvider.MITID.value,
                "user_id": mask_cpr(mitid_identity.cpr),
                "client_id": client.client_id,
            },
        )
    return outcome

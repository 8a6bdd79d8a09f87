"""Register and change clients of the login platform; every change is audited."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth.hashers import check_password, identify_hasher
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from oauth2_provider.models import (
    AbstractApplication,
    get_access_token_model,
    get_id_token_model,
    get_refresh_token_model,
    revoke_access_token,
)

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.common.errors import ApplicationError
from biblogin.login.constants import IdentityProvider
from biblogin.oidc.models import DEFAULT_CLAIMS, Claim, Client, Scope
from biblogin.registry.models import ServiceRequester


def _validation_message(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    return " ".join(error.messages)


def _secret_matches(stored: str, secret: str) -> bool:
    try:
        identify_hasher(stored)
    except ValueError:
        return stored == secret
    return check_password(secret, stored)


@transaction.atomic
def client_upsert(
    *,
    client_id: str,
    display_name: str,
    client_type: str,
    redirect_uris: Sequence[str],
    post_logout_redirect_uris: Sequence[str] = (),
    service_requester: str,
    allowed_idps: Sequence[str] = (IdentityProvider.BORCHK, IdentityProvider.MITID),
    allowed_scopes: Sequence[str] = (Scope.OPENID, Scope.PROFILE),
    allowed_claims: Sequence[str] | None = None,
    create_culr_account_agency: str = "",
    client_secret: str | None = None,
    introspection_allowed: bool = False,
    introspects_tokens_of: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
    actor: str = "system",
) -> Client:
    """Create or update the client ``client_id`` so that it has exactly this configuration.

    ``client_type`` is ``"confidential"`` (give ``client_secret``; it is stored hashed) or
    ``"public"`` (no secret; PKCE only). ``allowed_claims`` None: the minimal default (R-SEC-2).
    The service requester must exist in the registry. Raises ApplicationError when the
    configuration is not valid; nothing is changed then. ``introspects_tokens_of`` names the
    other clients whose tokens this one may introspect (RFC 7662 §4).
    """
    requester = ServiceRequester.objects.filter(name=service_requester).first()
    if requester is None:
        raise ApplicationError(
            _("Tjenesteanvenderen %(name)s findes ikke i registret.") % {"name": service_requester},
            code="unknown_service_requester",
        )
    if client_type == AbstractApplication.CLIENT_CONFIDENTIAL and not (
        client_secret or Client.objects.filter(client_id=client_id).exists()
    ):
        raise ApplicationError(_("En fortrolig klient skal have en hemmelighed."), code="no_secret")
    client: Client | None = Client.objects.select_for_update().filter(client_id=client_id).first()
    created = client is None
    if client is None:
        client = Client(client_id=client_id, client_secret="")
    client.name = display_name
    client.display_name = display_name
    client.client_type = client_type
    client.authorization_grant_type = AbstractApplication.GRANT_AUTHORIZATION_CODE
    client.algorithm = AbstractApplication.RS256_ALGORITHM
    client.redirect_uris = " ".join(redirect_uris)
    client.post_logout_redirect_uris = " ".join(post_logout_redirect_uris)
    client.allowed_origins = " ".join(allowed_origins)
    client.service_requester = requester
    client.allowed_idps = list(dict.fromkeys(allowed_idps))
    client.allowed_scopes = list(dict.fromkeys(allowed_scopes))
    client.allowed_claims = (
        [str(c) for c in DEFAULT_CLAIMS]
        if allowed_claims is None
        else list(dict.fromkeys(allowed_claims))
    )
    client.create_culr_account_agency = create_culr_account_agency
    client.introspection_allowed = introspection_allowed
    # Every client is registered by staff: no consent screen (first party).
    client.skip_authorization = True
    # A public client has no secret; an empty one must not be hashed into a usable secret.
    client.hash_client_secret = client_type != AbstractApplication.CLIENT_PUBLIC
    if client_type == AbstractApplication.CLIENT_PUBLIC:
        client.client_secret = ""
    elif client_secret and not _secret_matches(client.client_secret, client_secret):
        client.client_secret = client_secret  # hashed on save (DOT ClientSecretField)
    try:
        client.full_clean(exclude=["client_secret", "user"])
    except ValidationError as error:
        raise ApplicationError(_validation_message(error), code="invalid_client") from error
    wanted = list(dict.fromkeys(introspects_tokens_of))
    others = list(Client.objects.filter(client_id__in=wanted))
    if len(others) != len(wanted):
        raise ApplicationError(
            _("En klient, hvis tokens skal kunne slås op, findes ikke."), code="invalid_client"
        )
    client.save()
    client.introspects_tokens_of.set(others)
    audit_event_record(
        action=AuditAction.OIDC_CLIENT_CREATED if created else AuditAction.OIDC_CLIENT_UPDATED,
        outcome="ok",
        actor=actor,
        subject=client.client_id,
        details={
            "service_requester": service_requester,
            "idps": client.allowed_idps,
            "introspects_tokens_of": wanted,
        },
    )
    return client


@transaction.atomic
def client_save(*, client: Client, actor: str, changed: Sequence[str] = ()) -> Client:
    """Save a client edited in the admin (already validated by its form) and audit it."""
    created = client.pk is None
    client.authorization_grant_type = AbstractApplication.GRANT_AUTHORIZATION_CODE
    client.algorithm = AbstractApplication.RS256_ALGORITHM
    client.skip_authorization = True
    if client.client_type == AbstractApplication.CLIENT_PUBLIC:
        client.client_secret = ""
        client.hash_client_secret = False
    client.save()
    audit_event_record(
        action=AuditAction.OIDC_CLIENT_CREATED if created else AuditAction.OIDC_CLIENT_UPDATED,
        outcome="ok",
        actor=actor,
        subject=client.client_id,
        details={"changed": [c for c in changed if c != "client_secret"]},
    )
    return client


def demo_clients_ensure(*, base_url: str) -> list[Client]:
    """Create or refresh the two demo clients: the portal and a third-party public app."""
    base = base_url.rstrip("/")
    portal = client_upsert(
        client_id=getattr(settings, "PORTAL_OIDC_CLIENT_ID", "bibliotek-dk"),
        display_name="Bibliotek.dk",
        client_type=AbstractApplication.CLIENT_CONFIDENTIAL,
        client_secret=settings.PORTAL_OIDC_CLIENT_SECRET,
        redirect_uris=[f"{base}/auth/callback/"],
        post_logout_redirect_uris=[f"{base}/"],
        service_requester="bibliotek.dk",
        allowed_idps=[IdentityProvider.BORCHK, IdentityProvider.MITID],
        allowed_scopes=[Scope.OPENID, Scope.PROFILE, Scope.CPR],
        allowed_claims=list(Claim.values),
        create_culr_account_agency="190101",
        introspection_allowed=True,
        actor="demo",
    )
    app = client_upsert(
        client_id="demo-app",
        display_name="Demo-app",
        client_type=AbstractApplication.CLIENT_PUBLIC,
        redirect_uris=["http://127.0.0.1:8765/callback"],
        post_logout_redirect_uris=["http://127.0.0.1:8765/"],
        service_requester="demo-app",
        allowed_idps=[IdentityProvider.BORCHK, IdentityProvider.MITID],
        allowed_scopes=[Scope.OPENID, Scope.PROFILE],
        # The minimal set plus the user ID (R-SEC-2): a CPR typed as one still stays hidden.
        allowed_claims=[*DEFAULT_CLAIMS, Claim.USER_ID],
        actor="demo",
    )
    return [portal, app]


@transaction.atomic
def tokens_revoke_for_users(*, user_ids: Sequence[int]) -> int:
    """Revoke every live token these identities hold (logout, R-LOGIN-12); return how many."""
    if not user_ids:
        return 0
    count = 0
    for access_token in get_access_token_model().objects.filter(user_id__in=user_ids):
        revoke_access_token(access_token)  # with its refresh token (RFC 7009 §2.1)
        count += 1
    for refresh_token in get_refresh_token_model().objects.filter(
        user_id__in=user_ids, revoked__isnull=True
    ):
        refresh_token.revoke()
        count += 1
    get_id_token_model().objects.filter(user_id__in=user_ids).delete()
    return count

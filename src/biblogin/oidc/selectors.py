"""Reads of the OpenID Connect provider's own records that other layers are handed."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.db.models import QuerySet
from oauth2_provider.models import get_refresh_token_model

from biblogin.login.policy import ClientPolicy
from biblogin.oidc.models import Client, TokenFamily


def client_policy_of(*, client: Client) -> ClientPolicy:
    """Return what the login pages need of this client (its service requester loaded)."""
    return ClientPolicy(
        client_id=client.client_id,
        display_name=client.display_name,
        service_requester=client.service_requester.name,
        allowed_idps=tuple(client.allowed_idps or ()),
        create_culr_account_agency=client.create_culr_account_agency or "",
        home_url=client_home_url(client=client),
    )


def client_home_url(*, client: Client) -> str:
    """The home page of the client's web site: its first redirect URI's origin (http/https)."""
    for uri in client.redirect_uris.split():
        parts = urlsplit(uri)
        if parts.scheme in ("http", "https") and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}/"
    return ""


def client_policy_get(client_id: str) -> ClientPolicy | None:
    """Return the policy of the active client with this ID (one query), else None."""
    client = (
        Client.objects.select_related("service_requester")
        .filter(client_id=client_id, is_active=True)
        .first()
    )
    return client_policy_of(client=client) if client is not None else None


def authentications_in_use() -> QuerySet[Any, Any]:
    """The login records a live refresh token still relies on: their pks, as a subquery."""
    live = get_refresh_token_model().objects.filter(revoked__isnull=True).values("token_family")
    return TokenFamily.objects.filter(token_family__in=live).values("authentication_id")

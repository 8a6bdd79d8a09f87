"""What the login pages know of the client a login is for: a small, frozen policy object.

The login platform is two layers: ``login`` (pages, backends, the login records) below ``oidc``
(the OpenID Connect provider, which owns the client records). ``login`` never imports ``oidc``;
``oidc`` registers how to read a client's policy when its app starts
(``client_policy_lookup_register``), so every login page reads it fresh (a client deactivated
or moved to another service requester meanwhile is seen at once, R-VIP-4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class ClientPolicy:
    """One active client, as far as logging in goes (R-LOGIN-2, R-LOGIN-7, R-VIP-4)."""

    client_id: str
    # The name the user sees on the login pages ("Bibliotek.dk").
    display_name: str
    # The borrower check's service requester: which libraries let this client in (R-VIP-4).
    service_requester: str
    # R-LOGIN-2: the identity providers the client allows.
    allowed_idps: tuple[str, ...]
    # R-LOGIN-7: where a MitID user unknown to CULR gets an account; empty: nowhere.
    create_culr_account_agency: str = ""
    # Where the user gets back to the client without a login answer (its web site's home page,
    # from its first redirect URI); empty for a client without a web address (an app).
    home_url: str = ""


ClientPolicyLookup = Callable[[str], "ClientPolicy | None"]

_lookup: ClientPolicyLookup | None = None


def client_policy_lookup_register(lookup: ClientPolicyLookup) -> None:
    """Tell the login pages how to read an active client's policy by client ID."""
    global _lookup
    _lookup = lookup


def client_policy_get(*, client_id: str) -> ClientPolicy | None:
    """Return the policy of the active client with this ID, read now; None if there is none."""
    if _lookup is None:
        raise ImproperlyConfigured(
            "No client policy lookup: the OpenID Connect provider app (biblogin.oidc) registers "
            "it when it starts; is it in INSTALLED_APPS?"
        )
    return _lookup(client_id)

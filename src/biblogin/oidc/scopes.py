"""Scopes per client: a client may ask only for the scopes registered for it (R-SEC-2)."""

from __future__ import annotations

from typing import Any

from oauth2_provider.scopes import BaseScopes

from biblogin.oidc.models import Client, Scope


class ClientScopes(BaseScopes):
    def get_all_scopes(self) -> dict[str, str]:
        return {scope.value: str(scope.label) for scope in Scope}

    def get_available_scopes(
        self, application: Client | None = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        if application is None:
            return list(Scope.values)  # discovery: everything the platform knows
        allowed = application.allowed_scopes if isinstance(application.allowed_scopes, list) else []
        return [s for s in allowed if s in Scope.values]

    def get_default_scopes(
        self, application: Client | None = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return [Scope.OPENID.value]

"""django-axes' database handler, kept to the admin (R-SEC-4)."""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler


class StaffAxesHandler(AxesDatabaseHandler):
    """Record admin logins only.

    ``AXES_ONLY_ADMIN_SITE`` stops axes from locking other logins but not from recording them:
    without this a patron's PIN login would write its user ID (possibly a CPR) and IP to axes'
    tables, and every patron login an access-log row. R-LOGIN-5 throttles those logins.
    """

    def user_login_failed(
        self, sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
    ) -> None:
        if request is not None and self.is_admin_request(request):
            super().user_login_failed(sender, credentials, request, **kwargs)

    def user_logged_in(self, sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
        if request is not None and self.is_admin_request(request):
            super().user_logged_in(sender, request, user, **kwargs)

    def user_logged_out(self, sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
        if request is not None and self.is_admin_request(request):
            super().user_logged_out(sender, request, user, **kwargs)

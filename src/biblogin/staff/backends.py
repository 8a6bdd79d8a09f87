"""django-axes in front of the admin's password check, and nowhere else (R-SEC-4)."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class StaffLockoutBackend(AxesStandaloneBackend):
    """Refuse a locked-out account/IP pair before any backend checks a password.

    ``AXES_ONLY_ADMIN_SITE`` keeps it to ``/admin/``: the library-PIN backends have their own
    throttle (R-LOGIN-5). Without a request (a shell, the test client's ``login()``) there is
    no client to lock out, so it steps aside instead of failing.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        super().authenticate(request, username=username, password=password, **kwargs)
        return None

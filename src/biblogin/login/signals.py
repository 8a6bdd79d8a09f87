"""Django's ``update_last_login`` as one plain UPDATE (issue 14, item 4).

Every PIN login and MitID login calls ``django.contrib.auth.login``, whose ``user_logged_in``
signal saved the user's ``last_login`` through the ORM: 0.5-0.7 ms of CPU building one UPDATE
the database runs in tens of microseconds. Same column, same value, same instance attribute.
"""

from __future__ import annotations

from typing import Any

from django.db import router
from django.db.models import Model
from django.utils import timezone

from biblogin.common.plain_rows import Rows

_ROWS: dict[type[Model], Rows[Model]] = {}


def last_login_update(sender: Any, user: Any, **kwargs: Any) -> None:
    """``user.last_login = now`` and the one column written, as Django's receiver does."""
    user.last_login = timezone.now()
    model = type(user)
    db = user._state.db or router.db_for_write(model)
    rows = _ROWS.get(model) or _ROWS.setdefault(model, Rows(model, "u"))
    rows.update(user.pk, {"last_login": user.last_login}, db)

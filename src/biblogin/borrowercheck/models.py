"""The throttling state of R-LOGIN-5 where there is no Redis (the embedded set-up).

Django's database cache cannot count atomically (its ``incr`` reads, then writes), so concurrent
failures were lost and concurrent attempts all passed the check. Here each counter is a row that
one SQL statement changes and reads back (``INSERT … ON CONFLICT … RETURNING``, on SQLite and
PostgreSQL alike); see ``throttling.py``. Keys are keyed hashes: no user ID is stored.
"""

from __future__ import annotations

from django.db import models


class ThrottleRow(models.Model):
    """One budget (a borrower's, or a pair's), an IP's hourly bucket or block, or an alias.

    ``reserved``: attempts of the budget now at the library plus its failures in a row;
    ``failures``: those failures (an IP bucket counts its failures here); ``level``: blocks so
    far (the doubling); ``blocked_until``: epoch seconds; ``target``: an alias's budget key.
    A row past ``expires`` counts as absent.
    """

    key = models.CharField(max_length=100, primary_key=True)
    reserved = models.IntegerField(default=0)
    failures = models.IntegerField(default=0)
    level = models.IntegerField(default=0)
    blocked_until = models.FloatField(default=0)
    target = models.CharField(max_length=100, blank=True, default="")
    expires = models.FloatField(db_index=True)

    def __str__(self) -> str:
        return self.key

"""WhiteNoise for the test suite: the static files scanned once per process, not per client.

Django's test client loads the middleware anew for every ``Client`` (thousands in a run, and one
per Hypothesis example), and WhiteNoise scans all static files in its ``__init__``: 24 ms of the
27 ms a fresh client's first request costs. The files do not change during a run, so every
instance after the first takes the first one's file index; what it serves is the same.
"""

from __future__ import annotations

from typing import Any

from whitenoise.middleware import WhiteNoiseMiddleware

_SCANNED: dict[str, Any] = {}


class WhiteNoiseScannedOnce(WhiteNoiseMiddleware):
    def __init__(self, get_response: Any = None, **kwargs: Any) -> None:
        if not _SCANNED or kwargs:
            super().__init__(get_response, **kwargs)
            if not kwargs:
                _SCANNED.update(vars(self))
            return
        vars(self).update(_SCANNED)
        self.get_response = get_response

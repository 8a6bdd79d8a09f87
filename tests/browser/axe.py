"""axe-core (WCAG 2.1 A/AA) on a page, run once per distinct page state in a test session.

axe-core's verdict depends only on the document, its styles and the viewport, and each run costs
0.1-0.6 s of the browser's CPU: the journeys pass the same page in the same state (the front page
as a guest, the login picker …) hundreds of times. So a run is keyed by a fingerprint of the
document (its markup, the values of hidden inputs left out: CSRF tokens and ``state`` change on
every render and are never shown) and the viewport, and a repeated state reuses the verdict.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from axe_playwright_python.sync_playwright import Axe

OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}

_FINGERPRINT_JS = """() => {
  const copy = document.documentElement.cloneNode(true);
  copy.querySelectorAll('input[type=hidden]').forEach((e) => e.removeAttribute('value'));
  return `${window.innerWidth}x${window.innerHeight}|${copy.outerHTML}`;
}"""

_AXE = Axe()


@dataclass
class AxeRuns:
    """The verdicts so far, by page fingerprint; how many checks each cost a run or not."""

    verdicts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    checks: int = 0

    def violations(self, page: Any) -> list[dict[str, Any]]:
        """Return axe-core's WCAG 2.1 A/AA violations on this page as it is now."""
        self.checks += 1
        key = hashlib.sha256(page.evaluate(_FINGERPRINT_JS).encode()).hexdigest()
        if key not in self.verdicts:
            self.verdicts[key] = _AXE.run(page, options=OPTIONS).response["violations"]
        return self.verdicts[key]


RUNS = AxeRuns()


def axe_violations_uncached(page: Any, options: dict[str, Any] | None = None) -> Any:
    """One real axe-core run (for the test that the check itself can fail)."""
    return _AXE.run(page, options=options).response["violations"]

"""The SIP2 test stand: which demo library the test server serves, and its SC login."""

from __future__ import annotations

AGENCY = "829000"  # UCN Biblioteket: an FFU library with a loan in the demo data
INSTITUTION = "UCN"
LOGIN_USER, LOGIN_PASSWORD = "biblogin-sc", "sc-secret-1"

"""The portal's fixed names: its service requester and the agency of a profile without library."""

from __future__ import annotations

from django.conf import settings

# R-VIP-4: the name Bibliotek.dk uses towards the borrower check.
SERVICE_REQUESTER: str = getattr(settings, "PORTAL_SERVICE_REQUESTER", "bibliotek.dk")
# R-LOGIN-7: the login platform gives a MitID user without libraries a CPR account at this
# agency ("Bibliotek.dk, ingen bibliotek") so a profile can exist; it is not a library of theirs.
PROFILE_ONLY_AGENCY_ID: str = getattr(settings, "PORTAL_CULR_ACCOUNT_AGENCY", "190101")
# R-PORTAL-11: a MitID login at most this old counts as verification.
MITID_FRESH_SECONDS = 15 * 60

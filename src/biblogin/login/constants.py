"""Names shared by the login pages and the OpenID Connect provider: identity providers."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class IdentityProvider(models.TextChoices):
    """R-LOGIN-2: the identity providers a client can allow."""

    BORCHK = "borchk", _("Bibliotekslogin")
    MITID = "mitid", _("MitID")


# R-LOGIN-2: ``nemlogin`` is the old name of the MitID identity provider; requests may use it.
IDP_ALIASES: dict[str, str] = {"nemlogin": IdentityProvider.MITID, "mitid": IdentityProvider.MITID}

# R-LOGIN-10: the assurance levels (NSIS URIs, the PIN level) are in biblogin.common.assurance.

# The agency of a MitID user without any library (R-LOGIN-6).
NO_LIBRARY_AGENCY_ID = "190101"

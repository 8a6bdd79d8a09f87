"""Names shared by the login pages and the OpenID Connect provider: identity providers, levels."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class IdentityProvider(models.TextChoices):
    """R-LOGIN-2: the identity providers a client can allow."""

    BORCHK = "borchk", _("Bibliotekslogin")
    MITID = "mitid", _("MitID")


# R-LOGIN-2: ``nemlogin`` is the old name of the MitID identity provider; requests may use it.
IDP_ALIASES: dict[str, str] = {"nemlogin": IdentityProvider.MITID, "mitid": IdentityProvider.MITID}

# R-LOGIN-10: NSIS assurance levels of MitID logins, as published by the Danish Agency for
# Digitisation, and our own low level for a PIN at a library.
NSIS_LOW = "https://data.gov.dk/concept/core/nsis/loa/Low"
NSIS_SUBSTANTIAL = "https://data.gov.dk/concept/core/nsis/loa/Substantial"
NSIS_HIGH = "https://data.gov.dk/concept/core/nsis/loa/High"
ACR_PIN = "urn:dk:bibliotekslogin:acr:pin"

# Ordered by strength; the PIN at a library is weaker than any MitID level.
ACR_RANK: dict[str, int] = {ACR_PIN: 0, NSIS_LOW: 1, NSIS_SUBSTANTIAL: 2, NSIS_HIGH: 3}
# What a client may write in ``acr_values`` (short names as well as the URIs).
ACR_ALIASES: dict[str, str] = {
    ACR_PIN: ACR_PIN,
    "pin": ACR_PIN,
    NSIS_LOW: NSIS_LOW,
    "low": NSIS_LOW,
    NSIS_SUBSTANTIAL: NSIS_SUBSTANTIAL,
    "substantial": NSIS_SUBSTANTIAL,
    NSIS_HIGH: NSIS_HIGH,
    "high": NSIS_HIGH,
}

# The agency of a MitID user without any library (R-LOGIN-6).
NO_LIBRARY_AGENCY_ID = "190101"

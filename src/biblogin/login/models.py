"""Who logged in, and each login: the facts the OpenID Connect provider computes claims from."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from biblogin.common.cpr import mask_cpr
from biblogin.common.models import EncryptedCpr
from biblogin.login.constants import IdentityProvider


class Identity(EncryptedCpr, models.Model):
    """One person as one identity provider knows them: a library account, or a MitID CPR.

    The Django user behind it has an unusable password and a username that reveals nothing;
    the facts live here, the CPR only encrypted (R-CULR-5).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_identity"
    )
    idp = models.CharField(_("identitetsudbyder"), max_length=16, choices=IdentityProvider.choices)
    # The keyed hash of (idp, agency, normalised user ID or CPR): the identity's natural key.
    key = models.CharField(max_length=64, unique=True, editable=False)
    agency_id = models.CharField(_("biblioteksnummer"), max_length=6, blank=True)
    # The user ID typed at the library, normalised; empty when it is a CPR (kept encrypted).
    library_user_id = models.CharField(_("bruger-id"), max_length=254, blank=True)
    user_id_is_cpr = models.BooleanField(default=False)
    cpr_encrypted = models.CharField(max_length=128, blank=True, editable=False)
    cpr_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    blocked = models.BooleanField(_("spærret"), null=True)
    municipality_no = models.PositiveSmallIntegerField(_("bopælskommune"), null=True, blank=True)
    # The person's name as the library or MitID gave it at the latest login (the ``name`` claim).
    name = models.CharField(_("navn"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("identitet")
        verbose_name_plural = _("identiteter")

    def __str__(self) -> str:
        return f"{self.idp} {self.agency_id} #{self.pk}"

    @property
    def user_id_display(self) -> str:
        """The user ID as it may appear in a log or an admin page (a CPR masked)."""
        cpr = self.cpr if self.user_id_is_cpr else None
        return mask_cpr(cpr) if cpr else self.library_user_id


class Authentication(models.Model):
    """One successful login: the identity, where, how strongly and when (R-LOGIN-8, R-LOGIN-10).

    Authorization codes and token families point here, so ``auth_time``, ``acr`` and the login
    agency in every token are those of the login that produced it, whichever browser it was.
    """

    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="logins")
    idp = models.CharField(max_length=16, choices=IdentityProvider.choices)
    agency_id = models.CharField(_("login-bibliotek"), max_length=6, blank=True)
    branch_id = models.CharField(_("login-filial"), max_length=6, blank=True)
    auth_time = models.DateTimeField(_("logget ind"))
    acr = models.CharField(max_length=200)
    amr = models.JSONField(default=list)
    client_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("login")
        verbose_name_plural = _("logins")

    def __str__(self) -> str:
        return f"{self.idp} {self.agency_id} {self.auth_time:%Y-%m-%d %H:%M}"

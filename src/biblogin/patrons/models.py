"""The user register (CULR): one patron per person, with accounts at many agencies (R-CULR-1)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from biblogin.common.models import EncryptedCpr, TimeStampedModel


class Patron(EncryptedCpr, TimeStampedModel):
    """A person known to CULR; ``guid`` is the public profile key (R-CULR-1)."""

    guid = models.UUIDField(_("guid"), default=uuid.uuid4, unique=True, editable=False)
    # R-CULR-5: the CPR only encrypted, found through its keyed hash. The unique hash is also
    # what makes concurrent "get or create by CPR" end with exactly one patron.
    cpr_encrypted = models.CharField(max_length=128, blank=True, editable=False)
    cpr_hash = models.CharField(max_length=64, null=True, unique=True, editable=False)
    municipality_no = models.PositiveSmallIntegerField(_("bopælskommune"), null=True, blank=True)
    is_active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        verbose_name = _("låner")
        verbose_name_plural = _("lånere")
        constraints = [
            # A CPR is either fully there (ciphertext + hash) or not at all.
            models.CheckConstraint(
                condition=(
                    models.Q(cpr_hash__isnull=True, cpr_encrypted="")
                    | (models.Q(cpr_hash__isnull=False) & ~models.Q(cpr_encrypted=""))
                ),
                name="patrons_cpr_encrypted_with_hash",
            ),
        ]

    def __str__(self) -> str:
        return str(self.guid)


class AccountIdType(models.TextChoices):
    CPR = "CPR", _("CPR-nummer")
    LOCAL = "LOCAL", _("Lokalt id")


class Account(TimeStampedModel):
    """A patron's registration at one agency. A CPR account's value is the patron's CPR."""

    patron = models.ForeignKey(Patron, on_delete=models.CASCADE, related_name="accounts")
    # The registry is another bounded context: the agency is referred to by its public ID.
    agency_id = models.CharField(_("biblioteksnummer"), max_length=6, db_index=True)
    id_type = models.CharField(_("id-type"), max_length=5, choices=AccountIdType.choices)
    local_id = models.CharField(_("lokalt id"), max_length=254, blank=True)

    class Meta:
        ordering = ["agency_id", "id_type", "local_id"]
        verbose_name = _("konto")
        verbose_name_plural = _("konti")
        constraints = [
            # R-CULR-1: unique per agency + type + value. A patron has one CPR, so a CPR
            # account is unique per (agency, patron); a local ID is unique per agency.
            models.UniqueConstraint(
                fields=["agency_id", "patron"],
                condition=models.Q(id_type="CPR"),
                name="patrons_one_cpr_account_per_agency",
            ),
            models.UniqueConstraint(
                fields=["agency_id", "local_id"],
                condition=models.Q(id_type="LOCAL"),
                name="patrons_local_id_unique_per_agency",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(id_type="CPR", local_id="")
                    | (models.Q(id_type="LOCAL") & ~models.Q(local_id=""))
                ),
                name="patrons_account_value_fits_type",
            ),
        ]

    def __str__(self) -> str:
        value = self.patron.cpr_masked if self.id_type == AccountIdType.CPR else self.local_id
        return f"{self.agency_id} {self.id_type} {value}"

    @property
    def id_value(self) -> str:
        """Return the user ID at the agency: the CPR for a CPR account (handle with care)."""
        if self.id_type == AccountIdType.CPR:
            return self.patron.cpr or ""
        return self.local_id

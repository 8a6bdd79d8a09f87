"""Audit events (R-LOGIN-13): who did what, never a PIN, CPRs masked."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    at = models.DateTimeField(_("tidspunkt"), auto_now_add=True, db_index=True)
    action = models.CharField(_("handling"), max_length=64, db_index=True)
    outcome = models.CharField(_("udfald"), max_length=64, blank=True)
    actor = models.CharField(
        _("aktør"),
        max_length=200,
        blank=True,
        help_text=_("Medarbejder, klient eller pseudonym for brugeren."),
    )
    agency_id = models.CharField(_("biblioteksnummer"), max_length=6, blank=True, db_index=True)
    subject = models.CharField(_("hvem"), max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("IP-adresse"), null=True, blank=True)
    details = models.JSONField(_("detaljer"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("revisionshændelse")
        verbose_name_plural = _("revisionslog")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.outcome}"

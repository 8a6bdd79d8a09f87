"""Orders placed through the portal: the order record, its lines, and what a profile keeps.

R-ORDER-5: an order is written (state ``placing``, every line ``pending``) BEFORE any library
is called, under a unique idempotency key; the library's answers are written after. A line whose
call timed out is ``uncertain``: a retry with the same key asks the library again with the same
per-line idempotency key, which the library answers with the hold it already has, or places it.

R-PORTAL-18: the order record is the profile's order history ("Bestillingshistorik"); a
profile's consent to keep it longer than 30 days is kept here too.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrdererKind(models.TextChoices):
    GUEST = "guest", _("Ikke logget ind")
    SESSION = "session", _("Logget ind uden profil")
    PROFILE = "profile", _("Profil")


class OrderState(models.TextChoices):
    # Recorded before the library is called (R-ORDER-5).
    PLACING = "placing", _("Sendes til biblioteket")
    # Every line has its library's final answer.
    COMPLETED = "completed", _("Afsluttet")


class LineKind(models.TextChoices):
    PHYSICAL = "physical", _("Fysisk materiale")
    # R-ORDER-6: a periodical article as a digital copy by e-mail.
    DIGITAL_ARTICLE = "digital_article", _("Digital artikelkopi")
    # R-ORDER-6: the physical issue of a periodical.
    PERIODICAL_ISSUE = "periodical_issue", _("Tidsskrifthæfte")


class LineOutcome(models.TextChoices):
    PENDING = "pending", _("Afventer biblioteket")
    PLACED = "placed", _("Bestilt")
    # The call got no answer in time: placed or not, only the library knows (a retry asks).
    UNCERTAIN = "uncertain", _("Biblioteket svarede ikke")
    REFUSED = "refused", _("Afvist af biblioteket")
    NOT_ORDERABLE = "not_orderable", _("Kan ikke bestilles")


class Order(models.Model):
    """One submitted order: one pickup branch, one orderer, up to 25 lines (R-ORDER-1)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # R-ORDER-5: a keyed hash of (orderer, the form's submission key): a second submit of the
    # same form finds this row; a key copied into another person's form names another row.
    idempotency_key = models.CharField(max_length=64, unique=True, editable=False)
    # A keyed hash of who ordered (profile guid, login, or a guest's portal session).
    owner_key = models.CharField(max_length=64, db_index=True, editable=False)
    orderer_kind = models.CharField(max_length=16, choices=OrdererKind.choices)
    # R-PORTAL-18: profile users' orders are their order history.
    patron_guid = models.UUIDField(null=True, blank=True, db_index=True)
    pickup_agency_id = models.CharField(_("biblioteksnummer"), max_length=6)
    pickup_branch_id = models.CharField(_("afhentningssted"), max_length=6)
    mobile_stop = models.CharField(_("stoppested"), max_length=200, blank=True)
    # The library's own opaque reference of the borrower: a retry places under it again.
    borrower_ref = models.CharField(max_length=100, blank=True, editable=False)
    # R-ORDER-6: where a digital article copy is sent.
    email = models.EmailField(blank=True)
    # R-VIP-7: the borrower data the pickup library asks orders to carry, by parameter type, kept
    # only while the order is being placed (a retry sends the same) and emptied once every line
    # has the library's answer. Never an ID: the borrower is named by ``borrower_ref``.
    borrower_data = models.JSONField(default=dict, blank=True, editable=False)
    state = models.CharField(max_length=16, choices=OrderState.choices, default=OrderState.PLACING)
    # How many times the library calls were started; a retry claims the next attempt atomically.
    attempts = models.PositiveIntegerField(default=0)
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("oprettet"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("ændret"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("bestilling")
        verbose_name_plural = _("bestillinger")

    def __str__(self) -> str:
        return f"{self.public_id} → {self.pickup_branch_id} ({self.state})"


class OrderLine(models.Model):
    """One material of an order, with the library's answer and its reason code."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    pid = models.CharField(_("materiale"), max_length=100)
    title = models.CharField(_("titel"), max_length=300, blank=True)
    # What the library is asked for: the PID, or the periodical's PID for a physical issue.
    material_id = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=20, choices=LineKind.choices, default=LineKind.PHYSICAL)
    # R-ORDER-2: the policy the line was judged by (OWNED_ACCEPTED, NOT_OWNED_ILL_LOC, …).
    policy = models.CharField(max_length=32, blank=True)
    # R-ORDER-6: year, volume, issue and the optional article author, title, pages.
    periodical = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(
        max_length=16, choices=LineOutcome.choices, default=LineOutcome.PENDING
    )
    reason_code = models.CharField(max_length=64, blank=True)
    # The library's own words when it refused (already in the user's language, or empty).
    reason_text = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=100, blank=True)
    queue_position = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="circulation_line_once"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.position} {self.pid} {self.outcome}"

    @property
    def library_key(self) -> str:
        """The idempotency key this line is placed under at the library: stable across retries."""
        return f"{self.order.public_id}:{self.position}"


class OrderHistoryConsent(models.Model):
    """A profile's consent to keep its order history beyond 30 days (R-PORTAL-18)."""

    patron_guid = models.UUIDField(unique=True)
    consented_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("samtykke til bestillingshistorik")
        verbose_name_plural = _("samtykker til bestillingshistorik")

    def __str__(self) -> str:
        return str(self.patron_guid)


class LastPickup(models.Model):
    """A profile's last-used pickup branch (R-ORDER-7); outlives the 30 days of history."""

    patron_guid = models.UUIDField(unique=True)
    branch_id = models.CharField(max_length=6)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.patron_guid} → {self.branch_id}"

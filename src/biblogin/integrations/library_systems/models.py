"""The simulated library system (ILS) of each agency: borrowers, PINs, loans, reservations, debts.

Stands in for each library's own system behind the ``LibrarySystem`` protocol. The agency is
referred to by its public six-digit ID: the registry is another bounded context.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from biblogin.common.agency_ids import six_digits
from biblogin.common.models import EncryptedCpr, TimeStampedModel


class SimulatedSystem(TimeStampedModel):
    """How one agency's simulated system behaves on the wire: latency, failures, outage."""

    agency_id = models.CharField(
        _("biblioteksnummer"), max_length=6, unique=True, validators=[six_digits]
    )
    latency_ms = models.PositiveIntegerField(
        _("svartid (ms)"),
        default=0,
        validators=[MaxValueValidator(600_000)],
        help_text=_("Hvor længe hvert kald tager, før systemet svarer."),
    )
    latency_jitter_ms = models.PositiveIntegerField(
        _("variation i svartid (ms)"),
        default=0,
        validators=[MaxValueValidator(600_000)],
        help_text=_("Et tilfældigt tillæg mellem 0 og denne værdi lægges til svartiden."),
    )
    failure_rate = models.FloatField(
        _("fejlrate"),
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("Andel af kald (0 til 1), der fejler, som om systemet svarede med en fejl."),
    )
    down = models.BooleanField(
        _("nede"), default=False, help_text=_("Systemet svarer slet ikke på kald.")
    )

    class Meta:
        ordering = ["agency_id"]
        verbose_name = _("simuleret bibliotekssystem")
        verbose_name_plural = _("simulerede bibliotekssystemer")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(failure_rate__gte=0.0) & models.Q(failure_rate__lte=1.0),
                name="library_systems_failure_rate_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.agency_id


class SimBorrower(EncryptedCpr, TimeStampedModel):
    """A borrower of one simulated system. The PIN only as an Argon2id hash (R-BC-5)."""

    # The FK's column holds the agency ID itself, so look-ups by agency need no join.
    system = models.ForeignKey(
        SimulatedSystem,
        on_delete=models.CASCADE,
        to_field="agency_id",
        db_column="agency_id",
        related_name="borrowers",
        verbose_name=_("bibliotekssystem"),
    )
    borrower_ref = models.CharField(_("låner-reference"), max_length=32)
    name = models.CharField(_("navn"), max_length=200)
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    municipality_no = models.PositiveSmallIntegerField(_("bopælskommune"), null=True, blank=True)
    blocked = models.BooleanField(_("spærret"), default=False)
    pin_hash = models.CharField(max_length=200, blank=True, editable=False)
    # R-CULR-5: the CPR only encrypted, found through its keyed hash.
    cpr_encrypted = models.CharField(max_length=128, blank=True, editable=False)
    cpr_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("simuleret låner")
        verbose_name_plural = _("simulerede lånere")
        constraints = [
            models.UniqueConstraint(
                fields=["system", "borrower_ref"], name="library_systems_borrower_ref_unique"
            ),
            models.UniqueConstraint(
                fields=["system", "cpr_hash"],
                condition=models.Q(cpr_hash__isnull=False),
                name="library_systems_one_borrower_per_cpr",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system_id} {self.borrower_ref} {self.name}"

    @property
    def agency_id(self) -> str:
        return str(self.system_id)


class SimBorrowerIdKind(models.TextChoices):
    CPR = "cpr", _("CPR-nummer")
    BORROWER_NUMBER = "borrower_number", _("Lånernummer")
    EMAIL = "email", _("E-mail")


class SimBorrowerId(models.Model):
    """One user ID a borrower can log in with; a CPR as its keyed hash, an e-mail lower-cased."""

    system = models.ForeignKey(
        SimulatedSystem,
        on_delete=models.CASCADE,
        to_field="agency_id",
        db_column="agency_id",
        related_name="+",
    )
    borrower = models.ForeignKey(SimBorrower, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(_("type"), max_length=16, choices=SimBorrowerIdKind.choices)
    value = models.CharField(_("værdi"), max_length=254)

    class Meta:
        ordering = ["borrower", "kind", "id"]
        verbose_name = _("bruger-id")
        verbose_name_plural = _("bruger-id'er")
        constraints = [
            models.UniqueConstraint(
                fields=["system", "kind", "value"], name="library_systems_user_id_unique"
            ),
        ]

    def __str__(self) -> str:
        shown = _("(skjult)") if self.kind == SimBorrowerIdKind.CPR else self.value
        return f"{self.kind} {shown}"


class SimLoan(models.Model):
    borrower = models.ForeignKey(SimBorrower, on_delete=models.CASCADE, related_name="loans")
    title = models.CharField(_("titel"), max_length=300)
    # The library's record ID; where it is a catalogue PID, the profile links the material.
    material_id = models.CharField(_("materiale-id"), max_length=100, blank=True)
    due_date = models.DateField(_("afleveringsdato"))
    renewable = models.BooleanField(_("kan fornys"), default=True)
    renewals = models.PositiveSmallIntegerField(_("fornyelser"), default=0)

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("simuleret lån")
        verbose_name_plural = _("simulerede lån")

    def __str__(self) -> str:
        return self.title


class SimReservation(models.Model):
    borrower = models.ForeignKey(SimBorrower, on_delete=models.CASCADE, related_name="reservations")
    title = models.CharField(_("titel"), max_length=300)
    material_id = models.CharField(_("materiale-id"), max_length=100, blank=True)
    queue_position = models.PositiveIntegerField(_("nummer i køen"), null=True, blank=True)
    ready_for_pickup = models.BooleanField(_("klar til afhentning"), default=False)
    pickup_branch_id = models.CharField(_("afhentningssted"), max_length=6, blank=True)
    pickup_expires = models.DateField(_("afhentes senest"), null=True, blank=True)

    class Meta:
        ordering = ["-ready_for_pickup", "queue_position", "id"]
        verbose_name = _("simuleret reservering")
        verbose_name_plural = _("simulerede reserveringer")
        constraints = [
            # Either waiting in the queue or ready on the shelf, never both.
            models.CheckConstraint(
                condition=(
                    models.Q(ready_for_pickup=True, queue_position__isnull=True)
                    | models.Q(ready_for_pickup=False, queue_position__isnull=False)
                ),
                name="library_systems_reservation_queue_or_ready",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class SimRequest(models.Model):
    """A request placed under an idempotency key: the same key again gives the same receipt."""

    system = models.ForeignKey(
        SimulatedSystem,
        on_delete=models.CASCADE,
        to_field="agency_id",
        db_column="agency_id",
        related_name="+",
    )
    idempotency_key = models.CharField(_("idempotensnøgle"), max_length=100)
    request_id = models.CharField(_("reserverings-id"), max_length=32)
    material_id = models.CharField(_("materiale-id"), max_length=100)
    queue_position = models.PositiveIntegerField(_("nummer i køen"), null=True, blank=True)
    # R-VIP-7: the borrower data the order carried, by user parameter type.
    borrower_data = models.JSONField(_("lånerdata"), default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["system", "created", "id"]
        verbose_name = _("simuleret bestilling")
        verbose_name_plural = _("simulerede bestillinger")
        constraints = [
            models.UniqueConstraint(
                fields=["system", "idempotency_key"], name="library_systems_request_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system_id} {self.request_id}"


class SimDebt(models.Model):
    borrower = models.ForeignKey(SimBorrower, on_delete=models.CASCADE, related_name="debts")
    title = models.CharField(_("tekst"), max_length=300)
    amount_dkk = models.DecimalField(_("beløb (kr.)"), max_digits=10, decimal_places=2)
    date = models.DateField(_("dato"), null=True, blank=True)

    class Meta:
        ordering = ["date", "id"]
        verbose_name = _("simuleret mellemværende")
        verbose_name_plural = _("simulerede mellemværender")

    def __str__(self) -> str:
        return f"{self.title}: {self.amount_dkk} kr."


class Sip2Encoding(models.TextChoices):
    CP850 = "cp850", _("CP850 (SIP2-standard)")
    UTF8 = "utf-8", _("UTF-8")


# Binds the encrypted SIP2 login password to its use (common.secret_crypto).
SIP2_PASSWORD_PURPOSE = "sip2-login-password"

sip2_text = RegexValidator(r"^[^|\r\n\x00]*$", _("Må ikke indeholde | eller linjeskift."))


class Sip2Configuration(TimeStampedModel):
    """The registry's entry for an agency whose own system is reached over SIP2.

    'SIP2 at host:port, institution ID, login': the login password only encrypted (like CPRs).
    An agency with an enabled entry is served by the SIP2 adapter, else by the simulator.
    """

    agency_id = models.CharField(
        _("biblioteksnummer"), max_length=6, unique=True, validators=[six_digits]
    )
    enabled = models.BooleanField(_("i brug"), default=True)
    host = models.CharField(_("vært"), max_length=253)
    port = models.PositiveIntegerField(
        _("port"), validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    institution_id = models.CharField(
        _("institutions-id (AO)"), max_length=100, validators=[sip2_text]
    )
    login_user = models.CharField(
        _("login-bruger (CN)"), max_length=100, blank=True, validators=[sip2_text]
    )
    login_password_encrypted = models.CharField(max_length=400, blank=True, editable=False)
    location_code = models.CharField(
        _("lokationskode (CP)"), max_length=100, blank=True, validators=[sip2_text]
    )
    encoding = models.CharField(
        _("tegnsæt"), max_length=8, choices=Sip2Encoding.choices, default=Sip2Encoding.CP850
    )

    class Meta:
        ordering = ["agency_id"]
        verbose_name = _("SIP2-forbindelse")
        verbose_name_plural = _("SIP2-forbindelser")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(port__gte=1) & models.Q(port__lte=65535),
                name="library_systems_sip2_port_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id} SIP2 {self.host}:{self.port}"


class Sip2HoldState(models.TextChoices):
    PLACING = "placing", _("afgives")
    PLACED = "placed", _("afgivet")


class Sip2HoldRequest(models.Model):
    """A hold placed over SIP2 under an idempotency key, which SIP2 itself does not know.

    Recorded (PLACING, with the patron's holds before) BEFORE the Hold message is sent; the
    answer turns it PLACED. A retry finding it PLACING compares the patron's holds now with
    those before: a new one is the hold whose answer was lost, so no second one is placed.
    """

    agency_id = models.CharField(_("biblioteksnummer"), max_length=6, validators=[six_digits])
    idempotency_key = models.CharField(_("idempotensnøgle"), max_length=100)
    state = models.CharField(
        _("tilstand"), max_length=8, choices=Sip2HoldState.choices, default=Sip2HoldState.PLACING
    )
    # None until the first attempt; then the patron's hold items just before it was sent.
    holds_before = models.JSONField(_("reserveringer før"), null=True, blank=True, default=None)
    # While an attempt is in flight: no second call with the key sends one too.
    attempt_until = models.DateTimeField(null=True, blank=True, editable=False)
    request_id = models.CharField(_("reserverings-id"), max_length=100, blank=True)
    material_id = models.CharField(_("materiale-id"), max_length=100, blank=True)
    queue_position = models.PositiveIntegerField(_("nummer i køen"), null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agency_id", "created", "id"]
        verbose_name = _("SIP2-reservering")
        verbose_name_plural = _("SIP2-reserveringer")
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id", "idempotency_key"], name="library_systems_sip2_hold_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id} {self.request_id or self.idempotency_key}"

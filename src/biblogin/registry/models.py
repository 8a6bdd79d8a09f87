"""The library registry (VIP): agencies, branches and each agency's settings (R-VIP-1…10)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from biblogin.common.models import TimeStampedModel

six_digits = RegexValidator(r"^\d{6}$", _("Skal være 6 cifre."))


class AgencyType(models.TextChoices):
    FOLKEBIBLIOTEK = "FOLKEBIBLIOTEK", _("Folkebibliotek")
    FORSKNINGSBIBLIOTEK = "FORSKNINGSBIBLIOTEK", _("Forsknings- og uddannelsesbibliotek")
    SKOLEBIBLIOTEK = "SKOLEBIBLIOTEK", _("Skolebibliotek")
    ANDRE = "ANDRE", _("Andre")


class AgencyStatus(models.TextChoices):
    ACTIVE = "active", _("Aktiv")
    INVISIBLE = "invisible", _("Usynlig")
    DELETED = "deleted", _("Slettet")


class UserIdKind(models.TextChoices):
    CPR = "cpr", _("CPR-nummer")
    BORROWER_NUMBER = "borrower_number", _("Lånernummer")
    EMAIL = "email", _("E-mail")


class ServiceRequester(models.Model):
    """A name a client uses towards the borrower check (R-VIP-4), e.g. ``bibliotek.dk``."""

    name = models.CharField(_("navn"), max_length=64, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tjenesteanvender")
        verbose_name_plural = _("tjenesteanvendere")

    def __str__(self) -> str:
        return self.name


class LicensedResource(models.Model):
    """A named licensed e-resource, e.g. "Central Ebook Plus" (R-VIP-9)."""

    name = models.CharField(_("navn"), max_length=128, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("licenseret e-ressource")
        verbose_name_plural = _("licenserede e-ressourcer")

    def __str__(self) -> str:
        return self.name


class Agency(TimeStampedModel):
    agency_id = models.CharField(
        _("biblioteksnummer"),
        max_length=6,
        unique=True,
        validators=[six_digits],
        help_text=_("Seks cifre. Folkebiblioteker: 7 + kommunenummer + 00."),
    )
    name = models.CharField(_("navn"), max_length=200)
    aliases = models.CharField(
        _("alternative navne"),
        max_length=500,
        blank=True,
        help_text=_("Kommasepareret; bruges i bibliotekssøgningen på login-siden."),
    )
    agency_type = models.CharField(_("type"), max_length=24, choices=AgencyType.choices)
    municipality_no = models.PositiveSmallIntegerField(
        _("kommunenummer"),
        null=True,
        blank=True,
        help_text=_("Kun for folkebiblioteker (fx 101 for København)."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=AgencyStatus.choices, default=AgencyStatus.ACTIVE
    )
    culr_sync = models.BooleanField(
        _("leverer til CULR"),
        default=False,
        help_text=_(
            "Biblioteket leverer sine lånere til det fælles lånerregister (CULR). "
            "Altid sand for folkebiblioteker."
        ),
    )
    borrower_check = models.BooleanField(
        _("lånertjek og login via login.bib.dk"),
        default=False,
        help_text=_("Slået fra: bibliotekets brugere kan ikke logge ind med bibliotekslogin."),
    )
    borrower_check_services = models.ManyToManyField(
        ServiceRequester,
        blank=True,
        related_name="agencies",
        verbose_name=_("fælles lånertjekservice"),
        help_text=_("De tjenester (fx Bibliotek.dk), biblioteket har tilmeldt lånertjek for."),
    )
    user_id_kinds = models.JSONField(
        _("bruger-id-typer"),
        default=list,
        blank=True,
        help_text=_("Hvad brugerne taster som bruger-id: CPR-nummer, lånernummer og/eller e-mail."),
    )
    accepts_orders_without_login = models.BooleanField(
        _("modtager bestillinger uden login"), default=False
    )
    provides_user_status = models.BooleanField(
        _("leverer lånerstatus"),
        default=False,
        help_text=_("Biblioteket leverer lån, reserveringer og mellemværender."),
    )
    infomedia = models.BooleanField(_("abonnerer på Infomedia"), default=False)
    digital_article_service = models.BooleanField(
        _("abonnerer på Digital Artikelservice"), default=False
    )
    licensed_resources = models.ManyToManyField(
        LicensedResource,
        blank=True,
        related_name="agencies",
        verbose_name=_("licenserede e-ressourcer"),
    )

    class Meta:
        ordering = ["agency_id"]
        verbose_name = _("bibliotek")
        verbose_name_plural = _("biblioteker")
        constraints = [
            # R-VIP-2: every public library delivers to CULR.
            models.CheckConstraint(
                condition=~models.Q(agency_type="FOLKEBIBLIOTEK") | models.Q(culr_sync=True),
                name="registry_public_library_delivers_to_culr",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.agency_id})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.agency_type == AgencyType.FOLKEBIBLIOTEK:
            if not self.culr_sync:
                errors["culr_sync"] = str(_("Folkebiblioteker leverer altid til CULR."))
            if self.municipality_no is None:
                errors["municipality_no"] = str(_("Folkebiblioteker skal have et kommunenummer."))
        kinds = self.user_id_kinds if isinstance(self.user_id_kinds, list) else None
        if kinds is None or any(k not in UserIdKind.values for k in kinds):
            errors["user_id_kinds"] = str(_("Ukendt bruger-id-type."))
        if errors:
            raise ValidationError(errors)


class OrderUserParameterType(models.TextChoices):
    CPR = "cpr", _("CPR-nummer")
    USER_ID = "userId", _("Bruger-id")
    BARCODE = "barcode", _("Stregkode")
    CARDNO = "cardno", _("Kortnummer")
    CUSTOM_ID = "customId", _("Eget id")
    DATE_OF_BIRTH = "userDateOfBirth", _("Fødselsdato")
    NAME = "userName", _("Navn")
    ADDRESS = "userAddress", _("Adresse")
    MAIL = "userMail", _("E-mail")
    TELEPHONE = "userTelephone", _("Telefon")


class OrderUserParameter(models.Model):
    """One field of the order form without login ("Slutbrugere > Lånerdata", R-VIP-7)."""

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="order_user_parameters"
    )
    position = models.PositiveSmallIntegerField(_("rækkefølge"), default=0)
    parameter_type = models.CharField(
        _("felt"), max_length=20, choices=OrderUserParameterType.choices
    )
    required = models.BooleanField(_("påkrævet"), default=False)
    help_text_da = models.CharField(_("hjælpetekst (dansk)"), max_length=300, blank=True)
    help_text_en = models.CharField(_("hjælpetekst (engelsk)"), max_length=300, blank=True)

    class Meta:
        ordering = ["agency", "position", "id"]
        verbose_name = _("lånerdata-felt")
        verbose_name_plural = _("lånerdata (bestilling uden login)")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "parameter_type"], name="registry_order_parameter_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id} {self.parameter_type}"


class Branch(TimeStampedModel):
    branch_id = models.CharField(
        _("filialnummer"), max_length=6, unique=True, validators=[six_digits]
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="branches")
    name = models.CharField(_("navn"), max_length=200)
    address = models.CharField(_("adresse"), max_length=200, blank=True)
    postal_code = models.CharField(_("postnummer"), max_length=4, blank=True)
    city = models.CharField(_("by"), max_length=100, blank=True)
    opening_hours = models.TextField(_("åbningstider"), blank=True)
    website = models.URLField(_("hjemmeside"), blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    pickup_allowed = models.BooleanField(_("afhentningssted"), default=True)
    temporarily_closed = models.BooleanField(_("midlertidigt lukket"), default=False)
    temporarily_closed_reason = models.CharField(_("årsag til lukning"), max_length=300, blank=True)
    is_mobile = models.BooleanField(
        _("bogbus"), default=False, help_text=_("Mobilt bibliotek: afhentning ved et stoppested.")
    )

    class Meta:
        ordering = ["agency", "branch_id"]
        verbose_name = _("filial")
        verbose_name_plural = _("filialer")

    def __str__(self) -> str:
        return f"{self.name} ({self.branch_id})"

    def clean(self) -> None:
        if self.temporarily_closed and not self.temporarily_closed_reason.strip():
            raise ValidationError(
                {"temporarily_closed_reason": _("Skriv en årsag, som brugerne kan se.")}
            )


class MobileStop(models.Model):
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="mobile_stops")
    name = models.CharField(_("stoppested"), max_length=200)
    schedule = models.CharField(_("tider"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("rækkefølge"), default=0)

    class Meta:
        ordering = ["branch", "position", "id"]
        verbose_name = _("stoppested")
        verbose_name_plural = _("stoppesteder")

    def __str__(self) -> str:
        return self.name


class StaffAgency(models.Model):
    """Binds a staff account to one agency: it then sees and edits only that agency."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_agency"
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="staff")

    class Meta:
        verbose_name = _("medarbejders bibliotek")
        verbose_name_plural = _("medarbejderes biblioteker")

    def __str__(self) -> str:
        return f"{self.user} → {self.agency.agency_id}"

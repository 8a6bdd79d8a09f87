"""The library registry (VIP): agencies, branches and each agency's settings (R-VIP-1…10)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from biblogin.common.agency_ids import is_agency_id, is_branch_id, six_digits
from biblogin.common.models import TimeStampedModel
from biblogin.registry.municipalities import (
    MUNICIPALITIES,
    MUNICIPALITY_CHOICES,
    public_library_agency_id,
)


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


def _ordered_subsets(values: list[str]) -> list[list[str]]:
    """Return every ordered selection of distinct values, the empty one included."""
    result: list[list[str]] = [[]]
    for prefix in result:
        result.extend([*prefix, v] for v in values if v not in prefix)
    return result


# R-VIP-5: the only values the database accepts for ``user_id_kinds`` (distinct known kinds, any
# order). A list, so the check constraint reads the same on SQLite and PostgreSQL.
VALID_USER_ID_KIND_LISTS: list[list[str]] = _ordered_subsets(list(UserIdKind.values))


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
    """A library system (biblioteksvæsen) and its settings in the registry (R-VIP-1…9)."""

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
        choices=MUNICIPALITY_CHOICES,
        help_text=_("Skal udfyldes for folkebiblioteker (fx 101 for København)."),
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AgencyStatus.choices,
        default=AgencyStatus.ACTIVE,
        help_text=_(
            "Usynlig: vises ikke i bibliotekssøgningen, men kan stadig bruges. "
            "Slettet: findes ikke længere for brugerne."
        ),
    )
    culr_sync = models.BooleanField(
        _("leverer til CULR"),
        default=False,
        help_text=_(
            "Biblioteket leverer sine lånere til det fælles lånerregister (CULR). "
            "Altid sand for folkebiblioteker."
        ),
    )
    # R-VIP-3
    borrower_check = models.BooleanField(
        _("lånertjek og login via login.bib.dk"),
        default=False,
        help_text=_("Slået fra: bibliotekets brugere kan ikke logge ind med bibliotekslogin."),
    )
    # R-VIP-4
    borrower_check_services = models.ManyToManyField(
        ServiceRequester,
        blank=True,
        related_name="agencies",
        verbose_name=_("fælles lånertjekservice"),
        help_text=_("De tjenester (fx Bibliotek.dk), biblioteket har tilmeldt lånertjek for."),
    )
    # R-VIP-5
    user_id_kinds = models.JSONField(
        _("bruger-id-typer"),
        default=list,
        blank=True,
        help_text=_(
            "Hvad brugerne taster som bruger-id ved login: CPR-nummer, lånernummer og/eller "
            "e-mail. Styrer login-formularens felt."
        ),
    )
    # R-VIP-6
    accepts_orders_without_login = models.BooleanField(
        _("modtager bestillinger uden login"),
        default=False,
        help_text=_(
            "Brugere, der ikke er logget ind, kan bestille til biblioteket ved at udfylde "
            "lånerdata-felterne nedenfor."
        ),
    )
    # R-VIP-8
    provides_user_status = models.BooleanField(
        _("leverer lånerstatus"),
        default=False,
        help_text=_("Biblioteket leverer lån, reserveringer og mellemværender."),
    )
    # R-VIP-9
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
        permissions = [
            ("edit_all_agencies", _("Kan se og redigere alle biblioteker")),
        ]
        constraints = [
            # R-VIP-2: every public library delivers to CULR.
            models.CheckConstraint(
                condition=~models.Q(agency_type="FOLKEBIBLIOTEK") | models.Q(culr_sync=True),
                name="registry_public_library_delivers_to_culr",
                violation_error_message=_("Folkebiblioteker leverer altid til CULR."),
            ),
            # R-VIP-1: a public library belongs to a municipality.
            models.CheckConstraint(
                condition=~models.Q(agency_type="FOLKEBIBLIOTEK")
                | models.Q(municipality_no__isnull=False),
                name="registry_public_library_has_municipality",
                violation_error_message=_("Folkebiblioteker skal have et kommunenummer."),
            ),
            # One public library per municipality: the home library of R-LOGIN-6 is unambiguous.
            models.UniqueConstraint(
                fields=["municipality_no"],
                condition=models.Q(agency_type="FOLKEBIBLIOTEK") & ~models.Q(status="deleted"),
                name="registry_one_public_library_per_municipality",
                violation_error_message=_("Kommunen har allerede et folkebibliotek."),
            ),
            # R-VIP-5: only known user-ID kinds, each at most once.
            models.CheckConstraint(
                condition=models.Q(user_id_kinds__in=VALID_USER_ID_KIND_LISTS),
                name="registry_user_id_kinds_valid",
                violation_error_message=_("Ukendt eller gentaget bruger-id-type."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.agency_id})"

    @property
    def alias_list(self) -> list[str]:
        return [a.strip() for a in self.aliases.split(",") if a.strip()]

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        if self.agency_type == AgencyType.FOLKEBIBLIOTEK:
            if not self.culr_sync:
                # R-VIP-2
                add("culr_sync", str(_("Folkebiblioteker leverer altid til CULR.")))
            if self.municipality_no is None:
                add("municipality_no", str(_("Folkebiblioteker skal have et kommunenummer.")))
            elif (
                self.municipality_no in MUNICIPALITIES
                and self.agency_id
                and self.agency_id != public_library_agency_id(self.municipality_no)
            ):
                add(
                    "municipality_no",
                    str(
                        _("Et folkebibliotek i kommune %(mun)s har biblioteksnummer %(expected)s.")
                        % {
                            "mun": self.municipality_no,
                            "expected": public_library_agency_id(self.municipality_no),
                        }
                    ),
                )
        kinds = self.user_id_kinds
        # R-VIP-5
        if not isinstance(kinds, list) or kinds not in VALID_USER_ID_KIND_LISTS:
            add("user_id_kinds", str(_("Ukendt eller gentaget bruger-id-type.")))
        elif self.borrower_check and not kinds:
            add(
                "user_id_kinds",
                str(_("Vælg mindst én bruger-id-type, når lånertjek og login er slået til.")),
            )
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
        # The field's name as staff see it ("E-mail"), not the code "userMail".
        return str(self.get_parameter_type_display())


class Branch(TimeStampedModel):
    """A location of an agency; users pick up orders at it when allowed (R-VIP-10)."""

    branch_id = models.CharField(
        _("filialnummer"),
        max_length=6,
        unique=True,
        validators=[six_digits],
        help_text=_("Seks cifre; hovedbiblioteket har ofte samme nummer som biblioteket."),
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="branches")
    name = models.CharField(_("navn"), max_length=200)
    address = models.CharField(_("adresse"), max_length=200, blank=True)
    postal_code = models.CharField(
        _("postnummer"),
        max_length=4,
        blank=True,
        validators=[RegexValidator(r"^[0-9]{4}$", _("Postnummeret skal være 4 cifre."))],
    )
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
        constraints = [
            # R-VIP-10: users are told why a branch is closed.
            models.CheckConstraint(
                condition=models.Q(temporarily_closed=False)
                | ~models.Q(temporarily_closed_reason=""),
                name="registry_closed_branch_has_reason",
                violation_error_message=_("Skriv en årsag, som brugerne kan se."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.branch_id})"

    _loaded: tuple[str, int | None] | None = None

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Branch:
        branch = super().from_db(db, field_names, values)
        branch._loaded = (branch.branch_id, branch.agency_id)
        return branch

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.temporarily_closed and not self.temporarily_closed_reason.strip():
            errors["temporarily_closed_reason"] = str(_("Skriv en årsag, som brugerne kan se."))
        range_error = self._branch_id_range_error()
        if range_error:
            errors["branch_id"] = range_error
        if errors:
            raise ValidationError(errors)

    def _branch_id_range_error(self) -> str:
        """R-VIP-10, glossary: a branch ID lies in its agency's number range, no other's ID."""
        agency = self.agency if self.agency_id is not None else None
        if agency is None or not is_branch_id(self.branch_id):
            return ""  # the field's own validation tells what is wrong
        if self._loaded == (self.branch_id, self.agency_id):
            # Unchanged since read: a branch registered before the rule is still editable
            # (its ID is read-only for bound staff; the error would have no field to show on).
            return ""
        if not branch_id_in_agency_range(branch_id=self.branch_id, agency_id=agency.agency_id):
            return str(
                _(
                    "Filialnummeret skal ligge i bibliotekets nummerserie: "
                    "%(prefix)sxx (de fire første cifre som biblioteksnummeret %(agency)s)."
                )
                % {"prefix": agency.agency_id[:4], "agency": agency.agency_id}
            )
        if (
            self.branch_id != agency.agency_id
            and Agency.objects.filter(agency_id=self.branch_id).exclude(pk=agency.pk).exists()
        ):
            return str(
                _("%(branch)s er et andet biblioteks nummer og kan ikke bruges til en filial.")
                % {"branch": self.branch_id}
            )
        return ""


def branch_id_in_agency_range(*, branch_id: str, agency_id: str) -> bool:
    """R-VIP-10: a branch of 710100 is 7101xx (its main branch may be 710100 itself).

    The range is the agency ID's first four digits: ``7<municipality>`` for a public library
    (DOMAIN.md glossary), the same for FFU and other agencies; the demo data keeps to it.
    """
    return is_branch_id(branch_id) and is_agency_id(agency_id) and branch_id[:4] == agency_id[:4]


class MobileStop(models.Model):
    """A stop of a mobile library (bogbus), where its users pick up (R-VIP-10)."""

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

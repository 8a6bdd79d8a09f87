"""The catalogue: works, their manifestations, holdings per agency and branch, online access.

Agencies and branches are the registry's; they are named by model label ("registry.Branch"), so
the catalogue needs no import of the registry (import-linter: the two are siblings in one layer).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class MaterialType(models.TextChoices):
    BOG = "bog", _("Bog")
    EBOG = "e-bog", _("E-bog")
    LYDBOG_CD = "lydbog (cd)", _("Lydbog (cd)")
    LYDBOG_NET = "lydbog (net)", _("Lydbog (net)")
    FILM = "film", _("Film")
    TIDSSKRIFT = "tidsskrift", _("Tidsskrift")
    ARTIKEL = "artikel", _("Artikel")
    AVISARTIKEL = "avisartikel", _("Avisartikel")
    NODE = "node", _("Node")
    MUSIK = "musik (cd)", _("Musik (cd)")
    SPIL = "spil", _("Spil")


class OnlineAccessKind(models.TextChoices):
    INFOMEDIA = "infomedia", _("Infomedia")
    EBOOK = "ebook", _("E-ressource")
    DIGITAL_ARTICLE_SERVICE = "digital_article_service", _("Digital Artikelservice")


class Work(models.Model):
    """What a patron looks for: one novel, in every edition and form."""

    work_id = models.CharField(_("værk-id"), max_length=64, unique=True)
    title = models.CharField(_("titel"), max_length=500)
    # [{"name": "Tove Ditlevsen", "role": "forfatter"}, …]: the work's main creators.
    creators = models.JSONField(_("ophav"), default=list, blank=True)
    first_year = models.PositiveSmallIntegerField(_("første udgivelsesår"), null=True, blank=True)

    class Meta:
        ordering = ["work_id"]
        verbose_name = _("værk")
        verbose_name_plural = _("værker")

    def __str__(self) -> str:
        return self.title

    @property
    def creator_names(self) -> list[str]:
        return [c["name"] for c in self.creators]


class Manifestation(models.Model):
    """One edition of a work in one form (a PID such as ``870970-basis:12345678``)."""

    pid = models.CharField(_("PID"), max_length=64, unique=True)
    work = models.ForeignKey(
        Work, on_delete=models.CASCADE, related_name="manifestations", verbose_name=_("værk")
    )
    title = models.CharField(_("titel"), max_length=500)
    subtitle = models.CharField(_("undertitel"), max_length=500, blank=True)
    creators = models.JSONField(_("ophav"), default=list, blank=True)  # [{"name", "role"}]
    year = models.PositiveSmallIntegerField(_("udgivelsesår"), null=True, blank=True)
    publisher = models.CharField(_("forlag"), max_length=200, blank=True)
    edition = models.CharField(_("udgave"), max_length=100, blank=True)
    language = models.CharField(_("sprog"), max_length=3, default="dan")  # ISO 639-2
    material_type = models.CharField(
        _("materialetype"), max_length=16, choices=MaterialType.choices
    )
    isbn = models.CharField(_("ISBN"), max_length=17, blank=True)
    issn = models.CharField(_("ISSN"), max_length=9, blank=True)
    subjects = models.JSONField(_("emner"), default=list, blank=True)
    description = models.TextField(_("beskrivelse"), blank=True)
    # Articles: the periodical (a "tidsskrift" manifestation) they appeared in, and where.
    periodical = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="articles",
        verbose_name=_("tidsskrift"),
    )
    periodical_issue = models.CharField(_("årgang/nummer"), max_length=100, blank=True)
    pages = models.CharField(_("sider"), max_length=50, blank=True)
    # Access kinds: physical loan is having holdings; these are the others.
    interlibrary_loan = models.BooleanField(_("kan fjernlånes"), default=True)
    # The search text, folded and stemmed in Python (biblogin.catalogue.search.text): the same
    # tokens in the SQLite FTS5 table and the PostgreSQL tsvector column.
    search_title = models.TextField(editable=False, default="")
    search_creators = models.TextField(editable=False, default="")
    search_body = models.TextField(editable=False, default="")
    sort_title = models.CharField(editable=False, max_length=200, default="")

    class Meta:
        ordering = ["pid"]
        verbose_name = _("manifestation")
        verbose_name_plural = _("manifestationer")
        indexes = [
            models.Index(fields=["work", "material_type"], name="catalogue_m_work_type"),
            models.Index(fields=["year"], name="catalogue_m_year"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_material_type_display()}, {self.year or '?'})"

    @property
    def creator_names(self) -> list[str]:
        return [c["name"] for c in self.creators]


class Holding(models.Model):
    """An agency's copies of a manifestation at one of its branches."""

    manifestation = models.ForeignKey(
        Manifestation, on_delete=models.CASCADE, related_name="holdings"
    )
    agency = models.ForeignKey(
        "registry.Agency",
        to_field="agency_id",
        on_delete=models.CASCADE,
        related_name="holdings",
        verbose_name=_("bibliotek"),
    )
    branch = models.ForeignKey(
        "registry.Branch",
        to_field="branch_id",
        on_delete=models.CASCADE,
        related_name="holdings",
        verbose_name=_("filial"),
    )
    copies = models.PositiveSmallIntegerField(_("eksemplarer"), default=1)
    on_shelf = models.PositiveSmallIntegerField(_("hjemme"), default=1)
    expected_return = models.DateField(_("forventes hjem"), null=True, blank=True)
    lendable = models.BooleanField(_("kan lånes"), default=True)
    own_users_only = models.BooleanField(_("kun til egne lånere"), default=False)
    # OWNED_OWN_CATALOGUE (R-ORDER-2): the material is ordered on the library's own site.
    own_catalogue_url = models.URLField(_("bestilles i bibliotekets egen katalog"), blank=True)

    class Meta:
        ordering = ["manifestation", "agency", "branch"]
        verbose_name = _("beholdning")
        verbose_name_plural = _("beholdninger")
        constraints = [
            models.UniqueConstraint(
                fields=["manifestation", "branch"], name="catalogue_holding_one_per_branch"
            ),
            models.CheckConstraint(
                condition=models.Q(on_shelf__lte=models.F("copies")),
                name="catalogue_holding_on_shelf_le_copies",
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "lendable"], name="catalogue_h_agency"),
            # "lendable at this agency" for one manifestation (the search filter): with three
            # equalities the planner prefers it to scanning the agency's holdings.
            models.Index(
                fields=["manifestation", "agency", "lendable"], name="catalogue_h_m_agency"
            ),
            # "available somewhere" for the search's hits: answered from the index alone, not
            # from a holding row per manifestation (bench/RESULTS.md, issue 11).
            models.Index(
                fields=["manifestation", "lendable", "on_shelf"], name="catalogue_h_m_shelf"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.manifestation.pid} @ {self.branch_id}"


class OnlineAccess(models.Model):
    """Online access to a manifestation through a licensed provider."""

    manifestation = models.ForeignKey(
        Manifestation, on_delete=models.CASCADE, related_name="online_access"
    )
    kind = models.CharField(_("type"), max_length=32, choices=OnlineAccessKind.choices)
    # "Infomedia", "Central Ebook Plus", "Digital Artikelservice": for kind "ebook" the name of
    # the licensed resource in the registry (R-VIP-9) that gives access.
    provider = models.CharField(_("udbyder"), max_length=128)
    url = models.URLField(_("adresse"), blank=True)

    class Meta:
        ordering = ["manifestation", "kind", "provider"]
        verbose_name = _("onlineadgang")
        verbose_name_plural = _("onlineadgange")
        constraints = [
            models.UniqueConstraint(
                fields=["manifestation", "kind", "provider"], name="catalogue_online_access_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.manifestation.pid}: {self.provider}"

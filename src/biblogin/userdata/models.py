"""Bibliotek.dk's user data: a CULR patron's profile and what it keeps (R-PORTAL-2, -5, -19)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from biblogin.common.models import TimeStampedModel


class Profile(TimeStampedModel):
    """A user's Bibliotek.dk profile: only for a CULR patron, keyed by its guid (R-PORTAL-2)."""

    patron_guid = models.UUIDField(_("låner-guid"), unique=True, editable=False)
    # R-PORTAL-10: a branch of one of the profile's libraries, checked by the service setting it.
    favourite_pickup_branch_id = models.CharField(
        _("foretrukket afhentningssted"), max_length=6, blank=True
    )
    last_login_at = models.DateTimeField(_("seneste login"), null=True, blank=True)

    class Meta:
        verbose_name = _("profil")
        verbose_name_plural = _("profiler")

    def __str__(self) -> str:
        return str(self.patron_guid)


class PortalLink(TimeStampedModel):
    """An FFU account this profile linked in CULR through the portal (R-PORTAL-6, R-PORTAL-11).

    Kept so that deleting the profile removes exactly these links (R-PORTAL-19). The local ID is
    kept only as a keyed hash: it may be an e-mail address, or even a CPR at some libraries.
    """

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="portal_links")
    agency_id = models.CharField(_("biblioteksnummer"), max_length=6)
    local_id_hash = models.CharField(max_length=64, editable=False)

    class Meta:
        verbose_name = _("tilknytning via Bibliotek.dk")
        verbose_name_plural = _("tilknytninger via Bibliotek.dk")
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "agency_id", "local_id_hash"], name="userdata_portal_link_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} → {self.agency_id}"


class LinkOfferOptOut(models.Model):
    """ "Spørg ikke igen" for one (agency, user ID), kept server-side so it holds in every browser.

    R-PORTAL-5: lasts 90 days. The user ID is kept only as a keyed hash.
    """

    agency_id = models.CharField(_("biblioteksnummer"), max_length=6)
    user_key = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("oprettet"), auto_now_add=True)
    expires_at = models.DateTimeField(_("udløber"), db_index=True)

    class Meta:
        verbose_name = _("fravalgt tilbud om tilknytning")
        verbose_name_plural = _("fravalgte tilbud om tilknytning")
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id", "user_key"], name="userdata_link_opt_out_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id} until {self.expires_at:%Y-%m-%d}"


class Bookmark(models.Model):
    """A material on a profile's huskeliste, kept beyond the session (R-PORTAL-16).

    ``title`` is the title when it was added: the list sorts by it and still names a material
    the catalogue no longer has.
    """

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="bookmarks")
    pid = models.CharField(_("PID"), max_length=64)
    title = models.CharField(_("titel"), max_length=300)
    created_at = models.DateTimeField(_("tilføjet"), db_index=True)

    class Meta:
        verbose_name = _("huskeliste-post")
        verbose_name_plural = _("huskeliste")
        constraints = [
            # R-PORTAL-16: no duplicates, whichever way a material arrives (merge, twice added).
            models.UniqueConstraint(fields=["profile", "pid"], name="userdata_bookmark_once"),
        ]
        indexes = [models.Index(fields=["profile", "title"], name="userdata_bookmark_title")]

    def __str__(self) -> str:
        return f"{self.profile_id}: {self.pid}"


class SavedSearch(TimeStampedModel):
    """A profile's saved search: a name, the query and its filters, to rerun (R-PORTAL-17)."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="saved_searches")
    name = models.CharField(_("navn"), max_length=100)
    query = models.CharField(_("søgning"), max_length=256)
    # The result page's filters and sort as {parameter: [values]}, validated by the service.
    params = models.JSONField(_("filtre"), default=dict, blank=True)

    class Meta:
        verbose_name = _("gemt søgning")
        verbose_name_plural = _("gemte søgninger")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class SavedLibraryInfo(TimeStampedModel):
    """What a profile user saved for ordering at one of their libraries (R-PORTAL-15).

    E-mail and phone, and the library's own order user parameters (R-VIP-7) as a JSON object
    {type: value}, kept encrypted: it may hold an ID the library knows the user by.
    """

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="library_infos")
    agency_id = models.CharField(_("biblioteksnummer"), max_length=6)
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    phone = models.CharField(_("telefon"), max_length=20, blank=True)
    parameters_encrypted = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["profile", "agency_id"]
        verbose_name = _("gemte biblioteksoplysninger")
        verbose_name_plural = _("gemte biblioteksoplysninger")
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "agency_id"], name="userdata_saved_library_info_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} @ {self.agency_id}"

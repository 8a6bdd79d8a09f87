"""Audit events (R-LOGIN-13): who did what, never a PIN, CPRs masked."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from biblogin.common.cpr import mask_cprs_in_text


class AuditAction(models.TextChoices):
    """What happened. The stored values are kept stable: old rows keep their meaning."""

    # R-LOGIN-13: logins, failures, lockouts, links and unlinks.
    LOGIN = "login", _("Login")
    LOGIN_SSO = "login_sso", _("Login med single sign-on")
    LOGIN_FAILED = "login_failed", _("Mislykket login")
    LOGIN_THROTTLED = "login_throttled", _("Login afvist under spærring")
    LOGIN_LOCKOUT = "login_lockout", _("Spærret efter forkerte forsøg")
    LOGOUT = "logout", _("Log ud")
    LINK = "link", _("CULR-konto oprettet ved MitID-login")
    FFU_LINK = "ffu_link", _("Uddannelsesbibliotek knyttet til profil")
    FFU_UNLINK = "ffu_unlink", _("Tilknytning til profil fjernet")
    LIBRARY_ADD = "library_add", _("Bibliotek tilføjet profilen")
    LIBRARY_REMOVE = "library_remove", _("Bibliotek fjernet fra profilen")
    # Bibliotek.dk profiles.
    PROFILE_CREATE = "profile_create", _("Profil oprettet")
    PROFILE_DELETE = "profile_delete", _("Profil slettet")
    # The user register (CULR).
    CULR_SYNC = "culr_sync", _("Levering til CULR")
    CULR_ACCOUNT_CREATED = "culr_account_created", _("CULR-konto oprettet")
    CULR_ACCOUNT_MOVED = "culr_account_moved", _("CULR-konto flyttet til en anden låner")
    CULR_ACCOUNT_DELETED = "culr_account_deleted", _("CULR-konto slettet")
    # The library registry (VIP): settings, licences and subscriptions, branches, staff.
    REGISTRY_AGENCY_CREATED = "registry_agency_created", _("Bibliotek oprettet")
    REGISTRY_AGENCY_CHANGED = "registry_agency_changed", _("Biblioteksindstillinger ændret")
    REGISTRY_AGENCY_DELETED = "registry_agency_deleted", _("Bibliotek slettet")
    REGISTRY_LICENCES_CHANGED = (
        "registry_licences_changed",
        _("Tjenester eller e-ressourcer ændret"),
    )
    REGISTRY_ORDER_PARAMETERS_CHANGED = "registry_order_parameters_changed", _("Lånerdata ændret")
    REGISTRY_BRANCH_CREATED = "registry_branch_created", _("Filial oprettet")
    REGISTRY_BRANCH_CHANGED = "registry_branch_changed", _("Filial ændret")
    REGISTRY_BRANCH_DELETED = "registry_branch_deleted", _("Filial slettet")
    REGISTRY_STAFF_BOUND = "registry_staff_bound", _("Medarbejder knyttet til bibliotek")
    REGISTRY_STAFF_UNBOUND = "registry_staff_unbound", _("Medarbejder fjernet fra bibliotek")
    # R-SEC-4: registry changes that stop patrons.
    REGISTRY_BORROWER_CHECK_OFF = "registry_borrower_check_off", _("Lånertjek slået fra")
    REGISTRY_SERVICE_REMOVED = "registry_service_removed", _("Tjeneste fjernet fra lånertjek")
    REGISTRY_STATUS_INVISIBLE = "registry_status_invisible", _("Bibliotek gjort usynligt")
    REGISTRY_STATUS_DELETED = "registry_status_deleted", _("Bibliotek markeret som slettet")
    # The login platform's clients and keys.
    OIDC_CLIENT_CREATED = "oidc_client_created", _("Klient oprettet")
    OIDC_CLIENT_UPDATED = "oidc_client_updated", _("Klient ændret")
    OIDC_CODE_REPLAYED = "oidc_code_replayed", _("Autorisationskode genbrugt")
    OIDC_REFRESH_TOKEN_REUSED = "oidc_refresh_token_reused", _("Fornyelsesnøgle genbrugt")
    OIDC_SIGNING_KEY_ROTATED = "oidc_signing_key_rotated", _("Signeringsnøgle roteret")
    # Orders through the portal (R-LOGIN-13, R-ORDER-7, R-PORTAL-18).
    ORDER = "order", _("Bestilling")
    ORDER_REFUSED = "order_refused", _("Bestilling afvist")
    ORDER_HISTORY_CONSENT = "order_history_consent", _("Samtykke til længere bestillingshistorik")
    ORDER_HISTORY_REVOKED = "order_history_revoked", _("Samtykke til bestillingshistorik trukket")
    ORDER_HISTORY_PURGED = "order_history_purged", _("Gammel bestillingshistorik slettet")
    # Staff accounts (R-SEC-4).
    STAFF_TOTP_ENROLLED = "staff_totp_enrolled", _("Godkendelsesapp tilknyttet")


class AuditEvent(models.Model):
    at = models.DateTimeField(_("tidspunkt"), auto_now_add=True, db_index=True)
    action = models.CharField(
        _("handling"), max_length=64, choices=AuditAction.choices, db_index=True
    )
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
        # Shown as the admin page's title: masked like every other field on display.
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {mask_cprs_in_text(self.outcome)}"

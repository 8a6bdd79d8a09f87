"""Clients of the login platform, their authorization codes, token families and signing keys."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import AbstractApplication, AbstractGrant, ApplicationManager

from biblogin.common.agency_ids import six_digits
from biblogin.login.constants import IdentityProvider


class Scope(models.TextChoices):
    """The scopes a client may ask for; each opens a group of claims (R-SEC-2)."""

    OPENID = "openid", _("Login (sub, acr, amr, auth_time)")
    PROFILE = "profile", _("Biblioteksoplysninger (bruger-id, biblioteker, kommune, spærring …)")
    CPR = "cpr", _("CPR-nummer")


class Claim(models.TextChoices):
    """R-LOGIN-8: every claim the platform gives; each client is allowed a subset."""

    USER_ID = "userId", "userId"
    UNIQUE_ID = "uniqueId", "uniqueId"
    AGENCIES = "agencies", "agencies"
    MUNICIPALITY = "municipality", "municipality"
    MUNICIPALITY_AGENCY_ID = "municipalityAgencyId", "municipalityAgencyId"
    LOGGED_IN_AGENCY_ID = "loggedInAgencyId", "loggedInAgencyId"
    LOGGED_IN_BRANCH_ID = "loggedInBranchId", "loggedInBranchId"
    IDP_USED = "idpUsed", "idpUsed"
    BLOCKED = "blocked", "blocked"
    BIRTH_YEAR = "birthYear", "birthYear"
    BIRTH_DATE = "birthDate", "birthDate"
    GENDER = "gender", "gender"
    CPR = "cpr", "cpr"
    CULR_DATA_OMITTED = "culrDataOmitted", "culrDataOmitted"
    # OIDC Core §5.1: the person's name, as the library or MitID gave it at the login.
    NAME = "name", "name"


# Which scope opens which claim; sub, acr, amr and auth_time come with ``openid`` for everyone.
CLAIM_SCOPE: dict[str, str] = dict.fromkeys(Claim.values, Scope.PROFILE)
CLAIM_SCOPE[Claim.CPR] = Scope.CPR


def _default_idps() -> list[str]:
    return [IdentityProvider.BORCHK, IdentityProvider.MITID]


def _default_scopes() -> list[str]:
    return [Scope.OPENID, Scope.PROFILE]


# R-SEC-2: what a new client gets unless staff allow more. Not birthDate, gender or birthYear
# (most of a CPR's information), not cpr, userId (may be a CPR) or the municipality.
DEFAULT_CLAIMS = (Claim.UNIQUE_ID, Claim.AGENCIES, Claim.LOGGED_IN_AGENCY_ID, Claim.IDP_USED)


def _default_claims() -> list[str]:
    return [str(c) for c in DEFAULT_CLAIMS]


LOOPBACK_HOSTS = {"localhost"}


def is_loopback_host(host: str | None) -> bool:
    """True for localhost and loopback IP literals: the only hosts plain http may redirect to."""
    if not host:
        return False
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redirect_uri_problem(uri: str) -> str | None:
    """Return why ``uri`` cannot be registered as a redirect URI, or None when it can.

    RFC 9700 §2.1 and §4.1.3: https, or http only to a loopback host (RFC 8252 §7.3); no
    fragment, no credentials, no wildcards.
    """
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return str(_("Ugyldig adresse."))
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        return str(_("Adressen skal begynde med https:// og have et værtsnavn."))
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return str(_("http:// er kun tilladt til localhost og 127.0.0.1; brug https://."))
    if "#" in uri:
        return str(_("Adressen må ikke have et fragment (#)."))
    if "@" in parts.netloc:
        return str(_("Adressen må ikke indeholde brugernavn eller adgangskode."))
    if "*" in uri or any(c.isspace() for c in uri):
        return str(_("Adressen må ikke indeholde jokertegn eller mellemrum."))
    return None


class Client(AbstractApplication):
    """A relying party of the login platform, with the library rules of R-LOGIN on top."""

    # Clients are registered by staff, not owned by users: no reverse accessor on the user.
    user: models.ForeignKey[Any, Any] = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        related_name="+",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        verbose_name=_("bruger"),
    )
    display_name: models.CharField[str, str] = models.CharField(
        _("visningsnavn"),
        max_length=100,
        help_text=_("Vises for brugeren på login-siden, fx 'Bibliotek.dk'."),
    )
    service_requester: models.ForeignKey[Any, Any] = models.ForeignKey(
        "registry.ServiceRequester",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("tjenesteanvender"),
        help_text=_(
            "Navnet over for lånertjekket: kun biblioteker, der har tilmeldt denne "
            "tjeneste, kan bruges til login (R-VIP-4)."
        ),
    )
    allowed_idps = models.JSONField(
        _("tilladte login-metoder"),
        default=_default_idps,
        help_text=_("Bibliotekslogin (borchk) og/eller MitID."),
    )
    allowed_scopes = models.JSONField(_("tilladte scopes"), default=_default_scopes)
    allowed_claims = models.JSONField(
        _("tilladte claims"),
        default=_default_claims,
        help_text=_(
            "Kun disse oplysninger udleveres. CPR-nummer, fødselsdato og køn kræver et særskilt "
            "tilvalg."
        ),
    )
    create_culr_account_agency: models.CharField[str, str] = models.CharField(
        _("opret CULR-konto ved"),
        max_length=6,
        blank=True,
        validators=[six_digits],
        help_text=_(
            "Biblioteksnummer: en MitID-bruger, som CULR ikke kender, får en låner med en "
            "CPR-konto her (R-LOGIN-7). Tomt: ingen oprettelse."
        ),
    )
    introspection_allowed: models.BooleanField[bool, bool] = models.BooleanField(
        _("må bruge token-introspektion"), default=False
    )
    # RFC 7662 §4: a token is described to the client it was issued to, and to the clients
    # named here only (a resource server trusted with another client's tokens).
    introspects_tokens_of: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="+",
        verbose_name=_("må introspektere tokens fra"),
        help_text=_(
            "Klienter, hvis tokens denne klient må slå op. Dens egne tokens må den altid slå op."
        ),
    )
    is_active: models.BooleanField[bool, bool] = models.BooleanField(_("aktiv"), default=True)

    objects = ApplicationManager()

    class Meta:
        verbose_name = _("klient")
        verbose_name_plural = _("klienter")
        constraints = [
            # R-LOGIN-1: the authorization code grant only (no implicit, no password grant).
            models.CheckConstraint(
                condition=models.Q(authorization_grant_type="authorization-code"),
                name="oidc_client_code_grant_only",
                violation_error_message=_("Kun authorization code-flowet er tilladt."),
            ),
            models.CheckConstraint(
                condition=models.Q(algorithm="RS256"),
                name="oidc_client_signs_rs256",
                violation_error_message=_("ID-tokens signeres altid med RS256."),
            ),
            models.CheckConstraint(
                condition=models.Q(client_type__in=["confidential", "public"]),
                name="oidc_client_type_known",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.name or self.client_id

    def natural_key(self) -> tuple[str]:
        return (self.client_id,)

    @property
    def is_confidential(self) -> bool:
        return self.client_type == AbstractApplication.CLIENT_CONFIDENTIAL

    def get_allowed_schemes(self) -> list[str]:
        """https always; http only when a loopback URI is registered (RFC 8252 §7.3)."""
        uris = [*self.redirect_uris.split(), *self.post_logout_redirect_uris.split()]
        if any(
            urlsplit(u).scheme == "http" and is_loopback_host(urlsplit(u).hostname) for u in uris
        ):
            return ["https", "http"]
        return ["https"]

    def redirect_uri_allowed(self, uri: str) -> bool:
        """R-LOGIN-1, RFC 9700 §4.1.3: simple string comparison with a registered URI."""
        return isinstance(uri, str) and uri in self.redirect_uris.split()

    def post_logout_redirect_uri_allowed(self, uri: str) -> bool:
        """R-LOGIN-12: the post-logout URI must be registered exactly."""
        return isinstance(uri, str) and uri in self.post_logout_redirect_uris.split()

    def is_usable(self, request: Any) -> bool:
        return self.is_active

    @property
    def jwk_key(self) -> Any:
        """The platform's current RS256 signing key (managed in the database, rotatable)."""
        from biblogin.oidc.keys import signing_key_active

        return signing_key_active().jwk

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        if self.authorization_grant_type != AbstractApplication.GRANT_AUTHORIZATION_CODE:
            add("authorization_grant_type", str(_("Kun authorization code-flowet er tilladt.")))
        if self.algorithm != AbstractApplication.RS256_ALGORITHM:
            add("algorithm", str(_("ID-tokens signeres altid med RS256.")))
        if self.client_type not in (
            AbstractApplication.CLIENT_CONFIDENTIAL,
            AbstractApplication.CLIENT_PUBLIC,
        ):
            add("client_type", str(_("Vælg fortrolig eller offentlig klient.")))
        redirect_uris = self.redirect_uris.split()
        if not redirect_uris:
            add("redirect_uris", str(_("Angiv mindst én redirect-URI.")))
        for field, uris in (
            ("redirect_uris", redirect_uris),
            ("post_logout_redirect_uris", self.post_logout_redirect_uris.split()),
        ):
            for uri in uris:
                problem = redirect_uri_problem(uri)
                if problem:
                    add(field, f"{uri}: {problem}")
        for origin in self.allowed_origins.split():
            parts = urlsplit(origin)
            if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/"):
                add("allowed_origins", f"{origin}: {_('Kun https-oprindelser uden sti.')}")
        idps = self.allowed_idps
        if (
            not isinstance(idps, list)
            or not idps
            or any(i not in IdentityProvider.values for i in idps)
            or len(set(idps)) != len(idps)
        ):
            add("allowed_idps", str(_("Vælg mindst én kendt login-metode.")))
        scopes = self.allowed_scopes
        if (
            not isinstance(scopes, list)
            or Scope.OPENID not in scopes
            or any(s not in Scope.values for s in scopes)
        ):
            add("allowed_scopes", str(_("Scopes skal være kendte og omfatte openid.")))
        claims = self.allowed_claims
        if not isinstance(claims, list) or any(c not in Claim.values for c in claims):
            add("allowed_claims", str(_("Ukendt claim.")))
        elif Claim.CPR in claims and Scope.CPR not in (scopes or []):
            add("allowed_claims", str(_("CPR-claimet kræver scopet 'cpr'.")))
        if not self.display_name.strip():
            add("display_name", str(_("Skriv det navn, brugerne skal se.")))
        if self.create_culr_account_agency:
            from biblogin.registry.selectors import agency_exists

            if not agency_exists(agency_id=self.create_culr_account_agency):
                add("create_culr_account_agency", str(_("Biblioteket findes ikke i registret.")))
        if errors:
            raise ValidationError(errors)


class AuthorizationCode(AbstractGrant):
    """An authorization code (DOT's Grant), bound to the login that produced it.

    R-LOGIN-1: a code is spent at its first redemption (``used_at``) and kept until it
    expires, so a second redemption is recognised and the tokens it gave are revoked
    (RFC 6749 §4.1.2, RFC 9700 §4.5).
    """

    user: models.ForeignKey[Any, Any] = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("bruger"),
    )
    authentication: models.ForeignKey[Any, Any] = models.ForeignKey(
        "login.Authentication", on_delete=models.CASCADE, null=True, related_name="+"
    )
    used_at: models.DateTimeField[Any, Any] = models.DateTimeField(null=True, blank=True)
    token_family: models.UUIDField[Any, Any] = models.UUIDField(null=True, blank=True)

    class Meta(AbstractGrant.Meta):
        verbose_name = _("autorisationskode")
        verbose_name_plural = _("autorisationskoder")


class TokenFamily(models.Model):
    """The login behind a family of refresh tokens (DOT rotates within one family)."""

    token_family = models.UUIDField(unique=True)
    authentication = models.ForeignKey(
        "login.Authentication", on_delete=models.CASCADE, related_name="token_families"
    )
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    # OIDC Core 12.2: every ID token and userinfo of one grant names the same ``sub``.
    subject = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("tokenfamilie")
        verbose_name_plural = _("tokenfamilier")

    def __str__(self) -> str:
        return str(self.token_family)


class SigningKeyState(models.TextChoices):
    ACTIVE = "active", _("Aktiv: signerer nye tokens")
    RETIRED = "retired", _("Udfaset: publiceres stadig, så udstedte tokens kan verificeres")
    EXPIRED = "expired", _("Udløbet: bruges ikke")


class SigningKey(models.Model):
    """An RS256 key pair for ID tokens; the private key is encrypted at rest."""

    kid = models.CharField(max_length=64, unique=True, editable=False)
    private_key_encrypted = models.TextField(editable=False)
    public_jwk = models.JSONField(editable=False)
    state = models.CharField(
        _("tilstand"), max_length=16, choices=SigningKeyState.choices, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("signeringsnøgle")
        verbose_name_plural = _("signeringsnøgler")
        constraints = [
            models.UniqueConstraint(
                fields=["state"],
                condition=models.Q(state="active"),
                name="oidc_one_active_signing_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kid[:12]}… ({self.state})"

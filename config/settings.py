"""Settings for every deployment, read from the environment with safe defaults.

Embedded default: SQLite and keys under ``var/``, nothing else needed.
Scaled set-up: ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` (cache, sessions, throttling).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BIBLOGIN_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def kept_secret(env_name: str, file_name: str, nbytes: int = 32) -> str:
    """Return the secret from the environment, else one generated once and kept under var/."""
    value = os.environ.get(env_name)
    if value:
        return value
    path = VAR_DIR / file_name
    if not path.exists():
        # O_EXCL: two workers starting at once must agree on one key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(nbytes))
    for _attempt in range(50):
        value = path.read_text().strip()
        if value:
            return value
        import time

        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty")


DEBUG = env_bool("BIBLOGIN_DEBUG", False)
SECRET_KEY = kept_secret("BIBLOGIN_SECRET_KEY", "secret_key", 50)
# Master key for CPR encryption and the keyed CPR hash (R-CULR-5); see biblogin.common.cpr_crypto.
CPR_KEY = kept_secret("BIBLOGIN_CPR_KEY", "cpr_key", 32)

BASE_URL = os.environ.get("BIBLOGIN_BASE_URL", "http://localhost:8000").rstrip("/")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("BIBLOGIN_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "biblogin.common",
    "biblogin.audit",
    "biblogin.registry",
    "biblogin.patrons",
    "biblogin.catalogue",
    "biblogin.integrations.library_systems",
    "biblogin.borrowercheck",
    "biblogin.culrsync",
    "oauth2_provider",
    "biblogin.oidc",
    "biblogin.login",
    "biblogin.userdata",
    "biblogin.circulation",
    "biblogin.portal",
    "biblogin.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "biblogin.common.middleware.SecurityHeadersMiddleware",
    "biblogin.common.middleware.RejectHostileInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Inside the locale middleware: the 405 page speaks the user's language.
    "biblogin.common.error_pages.MethodNotAllowedPageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
# Issue 14: what wraps Django's handler in the WSGI entry (the lean path for token and userinfo).
# config.wsgi and the portal's in-process back channel both build their application with it.
BIBLOGIN_WSGI_ENTRY = "biblogin.oidc.hotpath.entry.lean_entry"
AUTH_USER_MODEL = "common.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# One form layout for the portal and the login pages (biblogin.common.forms).
FORM_RENDERER = "biblogin.common.forms.FormRenderer"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'biblogin.sqlite3'}",
        conn_max_age=int(os.environ.get("BIBLOGIN_DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the demo's several workers read while one writes. The file is read through a
    # memory map (up to 1 GiB): a search at 1M manifestations reads some 200 rows on random
    # pages, and mapped pages save the copy into the 2 MB page cache (bench/RESULTS.md).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=1073741824;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = None
    # A file, not memory: browser tests run a real server process on the test database.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("BIBLOGIN_TEST_DB_NAME")
        or str(VAR_DIR / f"test-{os.getpid()}.sqlite3")
    }
elif os.environ.get("BIBLOGIN_TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["BIBLOGIN_TEST_DB_NAME"]}

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # One redis.Redis per pool, not per call (biblogin.common.redis_cache, issue 14).
            "BACKEND": "biblogin.common.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("BIBLOGIN_CACHE_PREFIX", "biblogin"),
        }
    }
    SESSION_ENGINE = "biblogin.common.session_cache"
else:
    # Shared by every worker process of the embedded set-up (throttling must not be per process).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "biblogin_cache",
        }
    }
    SESSION_ENGINE = "biblogin.common.sessions"
SESSION_SERIALIZER = "django.contrib.sessions.serializers.JSONSerializer"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "da"
LANGUAGES = [("da", _("Danish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "src" / "biblogin" / "locale"]
TIME_ZONE = "Europe/Copenhagen"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# R-SEC-1: secure cookies and headers unless explicitly serving plain HTTP (debug, loopback demo).
SECURE_COOKIES = env_bool("BIBLOGIN_SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
LANGUAGE_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
# A shared library PC: the session cookies of the login platform and the portal end when the
# browser closes (0: they last SESSION_COOKIE_AGE), and a portal login ends after this many
# minutes without a page of the portal (sliding; biblogin.portal.session).
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("BIBLOGIN_SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
PORTAL_SESSION_IDLE_SECONDS = int(os.environ.get("BIBLOGIN_PORTAL_IDLE_MINUTES", "30")) * 60
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS: list[str] = []
if SECURE_COOKIES:
    SECURE_HSTS_SECONDS = int(os.environ.get("BIBLOGIN_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("BIBLOGIN_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("BIBLOGIN_HSTS_PRELOAD", False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("BIBLOGIN_SSL_REDIRECT", False)
    # `check --deploy` (make test): the buffering proxy in front redirects HTTP to HTTPS
    # (deploy/nginx.conf), and whether HSTS covers every subdomain or goes on the preload list
    # is the domain owner's decision (the variables above), not a default of ours.
    SILENCED_SYSTEM_CHECKS += [
        *([] if SECURE_SSL_REDIRECT else ["security.W008"]),
        *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
        *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
    ]
# A refused form gets a page of ours (403, in the look of the path's part of the site).
CSRF_FAILURE_VIEW = "biblogin.common.error_pages.csrf_failure"
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("BIBLOGIN_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
# No form-action: Chromium applies it to the redirect after a login POST, which goes to the
# client's registered redirect URI.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

# Borrower check (R-BC-3): how long one library-system call may take before it counts as
# "service_unavailable"; the check retries once.
BORROWER_CHECK_TIMEOUT_SECONDS = float(os.environ.get("BIBLOGIN_BORCHK_TIMEOUT", "3.0"))
# R-BC-6: per agency, at most this many library-system calls at once (more are refused at once,
# never queued), and a breaker that answers "not answering" for the cool-down after this many
# timeouts or failures in a row (biblogin.borrowercheck.guard).
BORROWER_CHECK_BULKHEAD_SIZE = int(os.environ.get("BIBLOGIN_BORCHK_BULKHEAD", "4"))
BORROWER_CHECK_BREAKER_FAILURES = int(os.environ.get("BIBLOGIN_BORCHK_BREAKER_FAILURES", "3"))
BORROWER_CHECK_BREAKER_WINDOW_SECONDS = 60.0
BORROWER_CHECK_BREAKER_COOLDOWN_SECONDS = float(
    os.environ.get("BIBLOGIN_BORCHK_BREAKER_COOLDOWN", "30")
)
# Lån og reserveringer (R-PORTAL-13): each library's limit for its answer (the look-up of the
# borrower and their status together), and the page's overall deadline for all of them.
CIRCULATION_LIBRARY_TIMEOUT_SECONDS = float(os.environ.get("BIBLOGIN_CIRCULATION_TIMEOUT", "3.0"))
CIRCULATION_DEADLINE_SECONDS = float(os.environ.get("BIBLOGIN_CIRCULATION_DEADLINE", "4.0"))
# Where the bulkheads and breakers live. With Redis: shared by every worker (one bound per agency
# for the whole deployment; slots are keys with a TTL, so a crashed worker frees its own). The
# embedded set-up keeps them in each process: the database cache would add SQL (and an SQLite
# write) to every library call, and what the bulkhead must protect, a process's worker threads,
# is per process anyway; the demo's 3 workers then allow 3 x 4 calls per agency in all.
CACHES["library_guard"] = (
    {**CACHES["default"]}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "biblogin-library-guard",
    }
)

# MitID through an external OIDC broker (R-LOGIN-6). Brokers differ in claim names.
MITID_ISSUER = os.environ.get("BIBLOGIN_MITID_ISSUER", "http://127.0.0.1:9400")
MITID_CLIENT_ID = os.environ.get("BIBLOGIN_MITID_CLIENT_ID", "biblogin")
MITID_CLIENT_SECRET = os.environ.get("BIBLOGIN_MITID_CLIENT_SECRET", "biblogin-demo-secret")
MITID_SCOPE = os.environ.get("BIBLOGIN_MITID_SCOPE", "openid profile")
MITID_CPR_CLAIM = os.environ.get("BIBLOGIN_MITID_CPR_CLAIM", "dk.cpr")
MITID_LOA_CLAIM = os.environ.get("BIBLOGIN_MITID_LOA_CLAIM", "loa")
MITID_TIMEOUT_SECONDS = float(os.environ.get("BIBLOGIN_MITID_TIMEOUT", "5.0"))

# The login platform: an OpenID Connect provider on django-oauth-toolkit. Its whole policy
# (RFC 9700 gates, lifetimes, PKCE, rotation) lives in biblogin.oidc.policy.
from biblogin.oidc.policy import APPLICATION_MODEL as _OIDC_CLIENT_MODEL  # noqa: E402
from biblogin.oidc.policy import GRANT_MODEL as _OIDC_GRANT_MODEL  # noqa: E402
from biblogin.oidc.policy import oauth2_provider_settings  # noqa: E402

OIDC_ISSUER = BASE_URL + "/login"
OAUTH2_PROVIDER_APPLICATION_MODEL = _OIDC_CLIENT_MODEL
OAUTH2_PROVIDER_GRANT_MODEL = _OIDC_GRANT_MODEL
OAUTH2_PROVIDER = oauth2_provider_settings(
    issuer=OIDC_ISSUER,
    access_token_seconds=int(os.environ.get("BIBLOGIN_ACCESS_TOKEN_SECONDS", "3600")),
    id_token_seconds=int(os.environ.get("BIBLOGIN_ID_TOKEN_SECONDS", "3600")),
    refresh_token_seconds=int(os.environ.get("BIBLOGIN_REFRESH_TOKEN_SECONDS", str(8 * 3600))),
)
# Client secrets are random 256-bit values: hashed at rest, with a cheap hasher (see module).
PASSWORD_HASHERS = [*PASSWORD_HASHERS, "biblogin.oidc.hashers.ClientSecretHasher"]
# Encrypts the ID-token signing keys at rest (biblogin.oidc.keys).
OIDC_KEY_SECRET = kept_secret("BIBLOGIN_OIDC_KEY_SECRET", "oidc_key_secret", 32)
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # staff in the admin
    "biblogin.login.backends.LibraryLoginBackend",  # R-LOGIN-4
    "biblogin.login.backends.MitIDBackend",  # R-LOGIN-6
]
LOGIN_URL = "/login/"
# R-LOGIN-5: how many proxies of our own append to X-Forwarded-For (0: use REMOTE_ADDR).
LOGIN_TRUSTED_PROXY_COUNT = int(os.environ.get("BIBLOGIN_TRUSTED_PROXY_COUNT", "0"))

# R-SEC-4: staff accounts in the admin. django-axes locks an account/IP pair after repeated wrong
# passwords (database handler: one lockout for every worker on the shared database, counted
# under a row lock); django-otp adds TOTP. Only /admin/: the library-PIN backends have their own
# throttle (R-LOGIN-5).
INSTALLED_APPS = [
    "biblogin.staff.apps.StaffAdminConfig" if app == "django.contrib.admin" else app
    for app in INSTALLED_APPS
] + ["axes", "django_otp", "django_otp.plugins.otp_totp", "biblogin.staff"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS.insert(0, "biblogin.staff.backends.StaffLockoutBackend")
AXES_HANDLER = "biblogin.staff.handlers.StaffAxesHandler"
AXES_ONLY_ADMIN_SITE = True
# No version banner on every command and worker start.
AXES_VERBOSE = False
AXES_FAILURE_LIMIT = int(os.environ.get("BIBLOGIN_STAFF_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("BIBLOGIN_STAFF_LOCKOUT_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "biblogin.borrowercheck.throttling.client_ip"
AXES_LOCKOUT_CALLABLE = "biblogin.staff.site.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["otp_token"]
# Superusers need a verified TOTP code in production (HTTPS); the demo serves plain HTTP on
# loopback (BIBLOGIN_SECURE_COOKIES=0), so its demo superuser logs in with a password alone.
STAFF_OTP_REQUIRED = env_bool("BIBLOGIN_STAFF_OTP_REQUIRED", SECURE_COOKIES and not DEBUG)
OTP_TOTP_ISSUER = os.environ.get("BIBLOGIN_TOTP_ISSUER", "biblogin")

# The portal (Bibliotek.dk) is a relying party of the login platform; by default both are served
# by this same deployment, so the issuer is our own /login.
PORTAL_OIDC_ISSUER = os.environ.get("BIBLOGIN_PORTAL_OIDC_ISSUER", BASE_URL + "/login")
PORTAL_OIDC_CLIENT_ID = os.environ.get("BIBLOGIN_PORTAL_CLIENT_ID", "bibliotek-dk")
PORTAL_OIDC_CLIENT_SECRET = kept_secret("BIBLOGIN_PORTAL_CLIENT_SECRET", "portal_client_secret", 32)

# R-CULR-5, R-SEC-2: every line is masked (CPRs; codes, states and hints dropped), also the
# request lines: Django's own loggers and the HTTP server's access logger get the filter on the
# logger itself, so whichever handler prints them (the server's, ours) sees masked records.
_ACCESS_LOG = {"handlers": ["access"], "filters": ["mask_cpr"], "propagate": False}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_cpr": {"()": "biblogin.common.logging.MaskCprFilter"}},
    "formatters": {
        "access": {"format": "%(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["mask_cpr"]},
        "access": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "access",
            "filters": ["mask_cpr"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["mask_cpr"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("BIBLOGIN_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["mask_cpr"]},
        "django.server": {
            "handlers": ["django.server"],
            "filters": ["mask_cpr"],
            "level": "INFO",
            "propagate": False,
        },
        "granian.access": _ACCESS_LOG,
        "gunicorn.access": _ACCESS_LOG,
    },
}

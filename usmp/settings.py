"""Cloison settings, driven by the environment.

Secrets follow the ``_FILE`` convention: ``SECRET_KEY_FILE`` and ``USMP_KEYRING_FILE`` name a
file whose content is the secret (Docker/Kubernetes secrets). Production (``DEBUG`` off) never
falls back to a default secret: a missing one is a system-check error (see ``usmp.checks``) and
the WSGI entry point refuses to start.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_secret(name: str) -> str | None:
    """Value of NAME, or the content of the file named by NAME_FILE."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError:
            # Reported by the system check with a clear message; never crash at import.
            return None
    return None


# Development mode (`make run`): local secrets allowed, plain HTTP, the demo data. Django's
# DEBUG (its debug pages, the query log) only when asked for with DEBUG=1, which implies it;
# otherwise `make run` answers with the product's own error pages, as production does.
DEBUG = env_bool("DEBUG", False)
DEVELOPMENT = DEBUG or env_bool("USMP_DEVELOPMENT", False)

# A placeholder keeps Django importable so that `manage.py check` can say what is missing;
# usmp.checks turns it into an error in production.
INSECURE_SECRET_KEY_PLACEHOLDER = "insecure-development-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env_secret("SECRET_KEY") or INSECURE_SECRET_KEY_PLACEHOLDER

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEVELOPMENT else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "csp",
    "guardian",
    "auditlog",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "usmp.accounts",
    "usmp.crypto",
    "usmp.core",
    "usmp.audit",
    "usmp.access",
    "oversight",
    "dossiers",
    "appointments",
    "disclosures",
    "bridge",
    "onboarding",
    "certificates",
    "transfers",
    "operations",
    "demo",
]

MIDDLEWARE = [
    # Outermost: the bridge's headers depend on the movements only (bridge/middleware.py).
    "bridge.middleware.BridgeHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor.
    "django_otp.middleware.OTPMiddleware",
    # French whatever the browser says; another language only by the user's choice.
    "usmp.core.middleware.LanguageMiddleware",
    # Every refused request leaves an access event (usmp.access.middleware); the login
    # redirect of anonymous requests included.
    "usmp.access.middleware.AccessMiddleware",
    "usmp.access.middleware.LoginRequired",
    # A password alone reaches nothing: every page but the login steps needs the second
    # factor (usmp.accounts.middleware), and the refusal is recorded like any other.
    "usmp.accounts.middleware.SecondFactorRequired",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "usmp.core.middleware.PrivateCacheMiddleware",
    "usmp.core.middleware.AuditlogMiddleware",
]
# The bridge API's stack (bridge/middleware.py): its callers are machines with a bearer
# token, never a browser session, so only what such a request needs.
BRIDGE_API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "usmp.access.middleware.AccessMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "usmp.core.middleware.AuditlogMiddleware",
]

ROOT_URLCONF = "usmp.urls"
WSGI_APPLICATION = "usmp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "usmp.core.context_processors.navigation",
                "dossiers.context_processors.emergency_banner",
            ],
        },
    },
]

# PostgreSQL only. `make run` / `make test` start an embedded server and set DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", "postgres://localhost/cloison") or "",
        conn_max_age=int(env("DB_CONN_MAX_AGE", "60") or "60"),
        conn_health_checks=True,
    )
}
# Django's backend with a health check that polls the socket instead of running SELECT 1.
DATABASES["default"]["ENGINE"] = "usmp.core.postgresql"
if _database_password := env_secret("DATABASE_PASSWORD"):
    DATABASES["default"]["PASSWORD"] = _database_password
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "usmp.accounts.psc.Backend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # CNIL, délibération 2022-100: 80 bits of entropy, as the password alone guards an
    # account until its second factor is enrolled (usmp.accounts.passwords).
    {
        "NAME": "usmp.accounts.passwords.CnilEntropyValidator",
        "OPTIONS": {"min_bits": 80},
    },
]
# Second factor (django-otp): TOTP apps, recovery codes, WebAuthn security keys and passkeys.
OTP_TOTP_ISSUER = env("USMP_TOTP_ISSUER", "Cloison") or "Cloison"
# Guessing is refused by the lockout (usmp.accounts.lockout), with a message that says so;
# django-otp's per-device throttle would silently refuse a right code typed a second after
# a wrong one.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
# WebAuthn is a second factor here, never a passwordless login: the password step carries
# the lockout and the account's state.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_RP_NAME = "Cloison"
OTP_WEBAUTHN_HELPER_CLASS = "usmp.accounts.webauthn.Helper"
# The origins the browser reaches Cloison at (e.g. https://cloison.hopital.example); the
# WebAuthn relying party is the first one's host name. Keys registered for one host name do
# not work under another. Development: http://localhost:8000 (an IP address cannot be one).
USMP_WEBAUTHN_ORIGINS = env_list(
    "USMP_WEBAUTHN_ORIGINS", "http://localhost:8000" if DEBUG else ""
) or [f"https://{host}" for host in ALLOWED_HOSTS[:1] if host and host != "*"]
OTP_WEBAUTHN_ALLOWED_ORIGINS = USMP_WEBAUTHN_ORIGINS
OTP_WEBAUTHN_RP_ID = urlsplit(USMP_WEBAUTHN_ORIGINS[0]).hostname if USMP_WEBAUTHN_ORIGINS else ""
# Opening a break-the-glass access needs a second factor passed within this many seconds:
# older than that, the second step is asked again (step-up).
USMP_STEP_UP_SECONDS = int(env("USMP_STEP_UP_SECONDS", "300") or "300")
# Pro Santé Connect (usmp.accounts.psc), off unless USMP_PSC_ISSUER is set: the issuer
# (its /.well-known/openid-configuration gives the endpoints), the client registered with
# the ANS, its secret (USMP_PSC_CLIENT_SECRET or _FILE), the claim holding the RPPS number.
USMP_PSC_ISSUER = env("USMP_PSC_ISSUER", "") or ""
USMP_PSC_CLIENT_ID = env("USMP_PSC_CLIENT_ID", "") or ""
USMP_PSC_RPPS_CLAIM = env("USMP_PSC_RPPS_CLAIM", "SubjectNameID") or "SubjectNameID"
OIDC_RP_CLIENT_ID = USMP_PSC_CLIENT_ID
OIDC_RP_CLIENT_SECRET = env_secret("USMP_PSC_CLIENT_SECRET") or ""
OIDC_RP_SCOPES = env("USMP_PSC_SCOPES", "openid scope_all") or "openid scope_all"
OIDC_RP_SIGN_ALGO = env("USMP_PSC_SIGN_ALGO", "RS256") or "RS256"
OIDC_AUTHENTICATION_CALLBACK_URL = "psc_callback"
OIDC_CREATE_USER = False
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 5
# How many recovery codes an enrolment issues (each works once).
USMP_RECOVERY_CODES = 10

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions: 30 minutes of inactivity, renewed on each request, gone with the browser.
SESSION_COOKIE_AGE = int(env("SESSION_IDLE_SECONDS", "1800") or "1800")
# ... and 12 hours after the login at most, however active (usmp.accounts.middleware).
USMP_SESSION_MAX_SECONDS = int(env("USMP_SESSION_MAX_SECONDS", "43200") or "43200")
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEVELOPMENT)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEVELOPMENT)
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "usmp.core.views.csrf_failure"

# Transport security. TLS ends at the hospital's reverse proxy, which must set the header below.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEVELOPMENT)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "0" if DEVELOPMENT else "31536000") or "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEVELOPMENT
SECURE_HSTS_PRELOAD = not DEVELOPMENT
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Number of reverse proxies in front of the app whose X-Forwarded-For we trust (0: none, the
# socket address is the source; a forged header is never believed).
USMP_TRUSTED_PROXY_COUNT = int(env("USMP_TRUSTED_PROXY_COUNT", "0") or "0")

# Content Security Policy: same origin only, no inline script or style, nothing from a CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
USMP_PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

# Internationalisation: French always, English only for those who choose it
# (usmp.core.language; the browser's Accept-Language is ignored).
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Paris"
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "var" / "static")) or "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Development serves static files from the source tree (no collectstatic), with or without
# Django's DEBUG.
WHITENOISE_USE_FINDERS = DEVELOPMENT
WHITENOISE_AUTOREFRESH = DEVELOPMENT

DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# Keyring: JSON in USMP_KEYRING or in the file named by USMP_KEYRING_FILE (see usmp.crypto).
USMP_KEYRING = env_secret("USMP_KEYRING")
USMP_UNIT_NAME = env("USMP_UNIT_NAME", "Centre pénitentiaire de Démo")
# The letterhead of every printed PDF (usmp.pdf): the unit's hospital, postal address and the
# number a patient calls to obtain their record.
USMP_UNIT_HOSPITAL = env("USMP_UNIT_HOSPITAL", "Centre hospitalier de Démo")
USMP_UNIT_ADDRESS = env("USMP_UNIT_ADDRESS", "1 rue de l'Exemple, 00000 Démo")
USMP_UNIT_PHONE = env("USMP_UNIT_PHONE", "01 00 00 00 00")
# Certificates and attestations (issue 14): a PAdES signature with the unit's certificate,
# only where the hospital provides one (PEM files; the key may be protected by a passphrase
# read from a file). Unset: certificates are issued unsigned, with their printed digest.
USMP_CERTIFICATE_SIGNING_CERT_FILE = env("USMP_CERTIFICATE_SIGNING_CERT_FILE", "")
USMP_CERTIFICATE_SIGNING_KEY_FILE = env("USMP_CERTIFICATE_SIGNING_KEY_FILE", "")
USMP_CERTIFICATE_SIGNING_PASSPHRASE_FILE = env("USMP_CERTIFICATE_SIGNING_PASSPHRASE_FILE", "")
# The unit's prison numbers (numéros d'écrou): digits only, this many (dossiers.identifiers;
# the check dossiers.E001 refuses a range that is empty or longer than a form takes).
USMP_PRISON_NUMBER_MIN_DIGITS = int(env("USMP_PRISON_NUMBER_MIN_DIGITS", "4") or "4")
USMP_PRISON_NUMBER_MAX_DIGITS = int(env("USMP_PRISON_NUMBER_MAX_DIGITS", "10") or "10")

# Access events are kept this long (the code de la santé publique asks for at least six
# months; `manage.py audit_purge` refuses less than 183 days). Write history is never purged.
USMP_ACCESS_RETENTION_DAYS = int(env("USMP_ACCESS_RETENTION_DAYS", "1095") or "1095")
# A committed audit row is linked into the chain within this many seconds (usmp.audit.sequencer;
# /healthz and audit_verify report rows waiting longer). Where no sequencer process runs, a
# writer's background step-in makes the pass ("background"; "off" leaves it to a sequencer).
USMP_AUDIT_SEQUENCE_BOUND = float(env("USMP_AUDIT_SEQUENCE_BOUND", "2") or "2")
USMP_AUDIT_WRITER_STEP_IN = env("USMP_AUDIT_WRITER_STEP_IN", "background") or "background"
# The audit log's name in its signed checkpoints (and its signing key's): unique to the unit,
# set before the first checkpoint and never changed. Empty: usmp.audit.tree.DEFAULT_ORIGIN,
# for development and tests (a deployment warning, usmp.W013).
USMP_AUDIT_LOG_ORIGIN = env("USMP_AUDIT_LOG_ORIGIN", "") or ""
# The bridge's shared admission state (clients' generation, per-minute rate counts; see
# bridge/admission.py): a file every application process of the host maps. Empty: var/run/.
USMP_BRIDGE_ADMISSION_FILE = env("USMP_BRIDGE_ADMISSION_FILE", "") or ""
# A worker trusts its memory of a bridge client this long at most (changes made through the
# application are seen at the very next request; raw SQL changes after this delay).
USMP_BRIDGE_CLIENT_CACHE_SECONDS = float(env("USMP_BRIDGE_CLIENT_CACHE_SECONDS", "2") or "2")
# The audit page flags a user who opened more patients than this within an hour.
USMP_AUDIT_BURST_THRESHOLD = int(env("USMP_AUDIT_BURST_THRESHOLD", "20") or "20")
# Working hours for the audit page's "outside working hours" flag, local time.
USMP_WORKING_HOURS = (
    int(env("USMP_WORKING_HOURS_START", "7") or "7"),
    int(env("USMP_WORKING_HOURS_END", "20") or "20"),
)

# Apps whose permissions a superuser does NOT get implicitly (usmp.accounts.models.User).
# The audit trail lists patients' ids and who read what: the coordinator's, not the IT admin's.
USMP_PROTECTED_APP_LABELS = frozenset(
    {"dossiers", "appointments", "bridge", "audit", "disclosures", "certificates"}
)

# django-guardian: no anonymous user, no superuser or global-permission shortcuts (see
# LIBRARIES.md); the shortcuts are also passed explicitly where guardian is queried.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# django-auditlog: the actor's address comes from usmp.core.net (trusted proxies only).
AUDITLOG_INCLUDE_ALL_MODELS = False
AUDITLOG_DISABLE_REMOTE_ADDR = False

DEFAULT_EXCEPTION_REPORTER_FILTER = "usmp.core.errors.ClinicalExceptionReporterFilter"

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "cloison@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # Request bodies and SQL parameters may carry ciphertext or search terms: never log them.
        "django.db.backends": {"level": "WARNING"},
        # Scanners hitting with a wrong Host header would flood the log with tracebacks.
        "django.security.DisallowedHost": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
}

# Refusal of guessing (usmp.accounts.lockout): this many failed passwords or second-factor
# codes within the window lock the account (or the source address: a unit's network may put
# several workstations behind one address, hence a higher limit) for USMP_LOCKOUT_SECONDS,
# or until a coordinator lifts the lock.
USMP_LOCKOUT_ACCOUNT_FAILURES = int(env("USMP_LOCKOUT_ACCOUNT_FAILURES", "5") or "5")
USMP_LOCKOUT_ADDRESS_FAILURES = int(env("USMP_LOCKOUT_ADDRESS_FAILURES", "20") or "20")
USMP_LOCKOUT_WINDOW_SECONDS = int(env("USMP_LOCKOUT_WINDOW_SECONDS", "900") or "900")
USMP_LOCKOUT_SECONDS = int(env("USMP_LOCKOUT_SECONDS", "900") or "900")

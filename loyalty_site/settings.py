"""Settings for the loyalty platform.

Everything configurable is read from the environment (or an optional ``.env``
file beside ``manage.py``) through django-environ, in this one place. The
defaults make the embedded run work with no setup at all (SQLite under
``var/``, eager Celery tasks, local-memory cache, console e-mail) and make a
production run safe: with ``DEBUG=false`` a ``SECRET_KEY``, an ``https://``
``SITE_URL``, a ``CACHE_URL`` and a ``LOYALTY_PIN_LOOKUP_KEY`` are required and
the security middleware is on.
Every variable is documented in README.md and ``.env.example``.
"""

import sys
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _env_or_none(name):
    """An environment variable, with an empty value meaning "not set"."""
    value = env.str(name, default="")
    return value or None


# --- Database -----------------------------------------------------------------
DATABASE_URL = _env_or_none("DATABASE_URL")
IS_EMBEDDED = DATABASE_URL is None

if IS_EMBEDDED:
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_PATH", default=str(VAR_DIR / "loyalty.sqlite3")),
            "OPTIONS": {
                # IMMEDIATE takes the write lock when a transaction starts, so
                # concurrent writers queue on busy_timeout instead of failing
                # with "database is locked" half-way through (or losing updates).
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    }
else:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Core ---------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=IS_EMBEDDED)
if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production-0123456789")
else:
    SECRET_KEY = env.str("SECRET_KEY")  # required: ImproperlyConfigured when missing

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The public address every link, e-mail and wallet pass carries. An Apple pass keeps its web service URL
# for good, so with DEBUG off it must be the real https:// address; ALLOW_INSECURE_SITE_URL=true admits
# http:// for a production-like run on a laptop or in the bench, and then keeps Apple Wallet off unless
# its certificate is a development one (wallet/apple/config.py).
ALLOW_INSECURE_SITE_URL = env.bool("ALLOW_INSECURE_SITE_URL", default=False)
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000" if DEBUG else "").strip().rstrip("/")
if not DEBUG:
    _site_url_parts = urlsplit(SITE_URL)
    if not SITE_URL:
        raise ImproperlyConfigured(
            "SITE_URL is required when DEBUG=false: set it to the site's public https:// address "
            "(e.g. SITE_URL=https://loyalty.example.com), which every link, e-mail and wallet pass carries."
        )
    if _site_url_parts.scheme not in ("http", "https") or not _site_url_parts.hostname:
        raise ImproperlyConfigured(
            f"SITE_URL must be the site's public address such as https://loyalty.example.com (it is {SITE_URL!r})."
        )
    if _site_url_parts.scheme != "https" and not ALLOW_INSECURE_SITE_URL:
        raise ImproperlyConfigured(
            f"SITE_URL must start with https:// when DEBUG=false (it is {SITE_URL}): wallet passes keep it for good "
            "and Apple devices only call https. Set ALLOW_INSECURE_SITE_URL=true only for a production-like run "
            "on a laptop."
        )

INSTALLED_APPS = [
    "loyalty.admin.apps.BackOfficeAdminConfig",  # django.contrib.admin with the back-office site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served locally for /api/docs
    "django_celery_beat",
    "loyalty",
    "staff",
    "wallet",
    "till",  # the staff web app at /till/, a client of the store API
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before every middleware that can answer, so its HTML responses get the policy too.
    "loyalty_site.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "loyalty_site.urls"
WSGI_APPLICATION = "loyalty_site.wsgi.application"

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
                "loyalty_site.security.csp_nonce",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation -----------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("lb", "Lëtzebuergesch"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Luxembourg")
USE_TZ = True

# --- Static and media files -----------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Cache (throttle counters are shared through it) -------------------------------
# Every process must count in the same cache, or behind N workers a client gets
# N times each limit: with DEBUG off CACHE_URL must be set. A single-process
# deployment may say so with CACHE_URL=locmemcache:// (a system check warns).
CACHE_URL = _env_or_none("CACHE_URL")
if CACHE_URL is None and not DEBUG:
    raise ImproperlyConfigured(
        "CACHE_URL is required when DEBUG=false: a shared cache such as redis://127.0.0.1:6379/1 "
        "(or locmemcache:// for a single process), so that rate limits hold across processes."
    )
CACHES = {
    "default": env.cache_url_config(CACHE_URL)
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "loyalty"}
}
# Keeps the keys of two sites (or a site and a CI run) that share one Redis database apart.
# Its own variable: django-environ passes ?key_prefix= to Django's Redis backend in lower case,
# where it is silently ignored.
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="")
if CACHE_KEY_PREFIX:
    CACHES["default"]["KEY_PREFIX"] = CACHE_KEY_PREFIX

# --- E-mail -------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="loyalty@localhost")

# --- Security (production) ------------------------------------------------------------
# Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER_ENABLED=true and,
# if the proxy already redirects, SECURE_SSL_REDIRECT=false.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# A load balancer's probe may speak plain HTTP to gunicorn: it gets the answer, not a redirect.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
if env.bool("SECURE_PROXY_SSL_HEADER_ENABLED", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# How many proxies in front of the app append to X-Forwarded-For; 0 means the
# client address is REMOTE_ADDR. Used for the IP recorded on every operation.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["staff.authentication.HashedTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "loyalty_site.api.pagination.PageNumberPagination",
    # JSON only, refusing duplicate keys and too-deep nesting; OPTIONS without per-action field lists.
    "DEFAULT_PARSER_CLASSES": ["loyalty_site.api.parsers.JSONParser"],
    # Answers are JSON whatever Accept or ?format= says: DRF's browsable HTML renderer failed on our
    # viewsets after the view had run, so a committed write answered 500 (and a retry booked twice).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "loyalty_site.api.negotiation.FallbackContentNegotiation",
    "DEFAULT_METADATA_CLASS": "loyalty_site.api.metadata.ViewMetadata",
    "EXCEPTION_HANDLER": "loyalty_site.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN", default="10/min"),
        "enroll": env.str("THROTTLE_ENROLL", default="20/hour"),
        "public": env.str("THROTTLE_PUBLIC", default="120/min"),
        "scan": env.str("THROTTLE_SCAN", default="600/min"),
    },
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty platform API",
    "DESCRIPTION": "Scanner (store), platform-admin and public APIs of the loyalty platform.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # /api/docs loads Swagger UI from our static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
API_TOKEN_TTL_HOURS = env.int("API_TOKEN_TTL_HOURS", default=720)
# How long a store API Idempotency-Key is remembered (README "REST API"); a till retries within minutes,
# and clients are promised at least a day.
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
if IDEMPOTENCY_KEY_TTL_HOURS < 24:
    raise ImproperlyConfigured("IDEMPOTENCY_KEY_TTL_HOURS must be at least 24: clients are promised a day.")

# --- Loyalty defaults -------------------------------------------------------------------
LOYALTY_DEFAULT_COOLDOWN_MINUTES = env.int("LOYALTY_DEFAULT_COOLDOWN_MINUTES", default=15)
LOYALTY_MAX_DAILY_STAMPS = env.int("LOYALTY_MAX_DAILY_STAMPS", default=5)
LOYALTY_PIN_MAX_FAILED_ATTEMPTS = env.int("LOYALTY_PIN_MAX_FAILED_ATTEMPTS", default=5)
LOYALTY_PIN_LOCKOUT_MINUTES = env.int("LOYALTY_PIN_LOCKOUT_MINUTES", default=30)
LOYALTY_DEFAULT_POINTS_PER_EURO = env.int("LOYALTY_DEFAULT_POINTS_PER_EURO", default=10)
# Campaigns: how many a merchant may send per local day, and the local hours they may leave in.
LOYALTY_CAMPAIGNS_PER_DAY = env.int("LOYALTY_CAMPAIGNS_PER_DAY", default=1)
LOYALTY_CAMPAIGN_WINDOW_START_HOUR = env.int("LOYALTY_CAMPAIGN_WINDOW_START_HOUR", default=8)
LOYALTY_CAMPAIGN_WINDOW_END_HOUR = env.int("LOYALTY_CAMPAIGN_WINDOW_END_HOUR", default=21)
if not 0 <= LOYALTY_CAMPAIGN_WINDOW_START_HOUR < LOYALTY_CAMPAIGN_WINDOW_END_HOUR <= 24:
    raise ImproperlyConfigured(
        "LOYALTY_CAMPAIGN_WINDOW_START_HOUR must be before LOYALTY_CAMPAIGN_WINDOW_END_HOUR (hours 0 to 24)."
    )
# Campaign sending: cards per batch, and how long a sending run holds a campaign without news of it (renewed
# after each batch) before the minute job takes it for dead and resumes the campaign in another run.
LOYALTY_CAMPAIGN_BATCH_SIZE = env.int("LOYALTY_CAMPAIGN_BATCH_SIZE", default=500)
LOYALTY_CAMPAIGN_LEASE_SECONDS = env.int("LOYALTY_CAMPAIGN_LEASE_SECONDS", default=300)
# bcrypt cost for staff PINs; see README "Staff PINs" for the measurement.
LOYALTY_PIN_BCRYPT_ROUNDS = env.int("LOYALTY_PIN_BCRYPT_ROUNDS", default=10)
# Key of the HMAC that finds a PIN's row before the one bcrypt check. Its own secret, not
# SECRET_KEY, so that rotating SECRET_KEY leaves every PIN working; see README "Staff PINs".
LOYALTY_PIN_LOOKUP_KEY = _env_or_none("LOYALTY_PIN_LOOKUP_KEY")
if LOYALTY_PIN_LOOKUP_KEY is None:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set the LOYALTY_PIN_LOOKUP_KEY environment variable (a random secret of its own, like SECRET_KEY). "
            "Staff PINs made before it existed were keyed with SECRET_KEY: to keep them, set "
            "LOYALTY_PIN_LOOKUP_KEY to that value, or list it in LOYALTY_PIN_LOOKUP_KEYS_OLD."
        )
    # SECRET_KEY's development default: the embedded run's PINs were keyed with it until now.
    LOYALTY_PIN_LOOKUP_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789"
# Former lookup keys, comma-separated: a PIN still keyed with one is found, then re-keyed on its next success.
LOYALTY_PIN_LOOKUP_KEYS_OLD = [key for key in env.list("LOYALTY_PIN_LOOKUP_KEYS_OLD", default=[]) if key]

# --- Apple Wallet (off unless the pass certificate is configured) ----------------------------------
# Owned by wallet.apple; see README "Apple Wallet".
LOYALTY_APPLE_PASS_TYPE_ID = env.str("LOYALTY_APPLE_PASS_TYPE_ID", default="")
LOYALTY_APPLE_TEAM_ID = env.str("LOYALTY_APPLE_TEAM_ID", default="")
LOYALTY_APPLE_SIGNER_CERT_PATH = env.str("LOYALTY_APPLE_SIGNER_CERT_PATH", default="")
LOYALTY_APPLE_SIGNER_KEY_PATH = env.str("LOYALTY_APPLE_SIGNER_KEY_PATH", default="")
LOYALTY_APPLE_SIGNER_KEY_PASSWORD = env.str("LOYALTY_APPLE_SIGNER_KEY_PASSWORD", default="")
LOYALTY_APPLE_WWDR_CERT_PATH = env.str("LOYALTY_APPLE_WWDR_CERT_PATH", default="")
LOYALTY_APPLE_APNS_HOST = env.str("LOYALTY_APPLE_APNS_HOST", default="api.push.apple.com")
LOYALTY_APPLE_APNS_PORT = env.int("LOYALTY_APPLE_APNS_PORT", default=443)
LOYALTY_APPLE_APNS_AUTH = env.str("LOYALTY_APPLE_APNS_AUTH", default="certificate")  # or "token"
LOYALTY_APPLE_APNS_KEY_PATH = env.str("LOYALTY_APPLE_APNS_KEY_PATH", default="")  # .p8, token auth
LOYALTY_APPLE_APNS_KEY_ID = env.str("LOYALTY_APPLE_APNS_KEY_ID", default="")
LOYALTY_APPLE_APNS_TEAM_ID = env.str("LOYALTY_APPLE_APNS_TEAM_ID", default="")
LOYALTY_APPLE_APNS_CA_PATH = env.str("LOYALTY_APPLE_APNS_CA_PATH", default="")  # tests: trust a local CA
# Bounds how long one push (connect + answer) may take, so a dead APNs cannot hold a worker.
LOYALTY_APPLE_APNS_TIMEOUT_SECONDS = env.float("LOYALTY_APPLE_APNS_TIMEOUT_SECONDS", default=10.0)
# `python manage.py wallet_dev_certs` writes a local CA, a WWDR-like intermediate and a
# pass-signing certificate here. With DEBUG on and no certificate configured they are
# used, so the embedded run serves verifiable passes (an iPhone rejects them: only
# Apple-issued certificates are trusted). Never under pytest, so the suite does not
# depend on what `make run` left in var/.
LOYALTY_APPLE_DEV_CERTS_DIR = VAR_DIR / "wallet-dev"
_apple_use_dev_certs = (
    env.bool("LOYALTY_APPLE_DEV_CERTS", default=DEBUG)
    and "pytest" not in sys.modules
    and not LOYALTY_APPLE_SIGNER_CERT_PATH
    and (LOYALTY_APPLE_DEV_CERTS_DIR / "pass-signer.pem").exists()
)
if _apple_use_dev_certs:
    LOYALTY_APPLE_PASS_TYPE_ID = LOYALTY_APPLE_PASS_TYPE_ID or "pass.dev.loyalty.local"
    LOYALTY_APPLE_TEAM_ID = LOYALTY_APPLE_TEAM_ID or "DEVTEAM001"
    LOYALTY_APPLE_SIGNER_CERT_PATH = str(LOYALTY_APPLE_DEV_CERTS_DIR / "pass-signer.pem")
    LOYALTY_APPLE_SIGNER_KEY_PATH = str(LOYALTY_APPLE_DEV_CERTS_DIR / "pass-signer.key")
    LOYALTY_APPLE_SIGNER_KEY_PASSWORD = ""
    LOYALTY_APPLE_WWDR_CERT_PATH = str(LOYALTY_APPLE_DEV_CERTS_DIR / "wwdr.pem")

# --- Google Wallet (off unless issuer id and service account are configured) -------------------
# Owned by wallet.google; see README "Google Wallet".
LOYALTY_GOOGLE_ISSUER_ID = env.str("LOYALTY_GOOGLE_ISSUER_ID", default="")
LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON = env.str("LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON", default="")
# Sites allowed to show the save button (the JWT's "origins" claim).
LOYALTY_GOOGLE_ORIGINS = env.list("LOYALTY_GOOGLE_ORIGINS", default=[SITE_URL])
LOYALTY_GOOGLE_API_BASE = env.str(
    "LOYALTY_GOOGLE_API_BASE", default="https://walletobjects.googleapis.com/walletobjects/v1"
).rstrip("/")
# Prefix of our class and object ids, so a staging and a production site can share one issuer account.
LOYALTY_GOOGLE_ID_PREFIX = env.str("LOYALTY_GOOGLE_ID_PREFIX", default="loyalty")
# Seconds for each call to Google (token and REST); bounds how long a sync or a save click can wait.
LOYALTY_GOOGLE_TIMEOUT_SECONDS = env.float("LOYALTY_GOOGLE_TIMEOUT_SECONDS", default=10.0)
# The Google section's translations (localized program names, labels) live beside its code.
LOCALE_PATHS = [*LOCALE_PATHS, BASE_DIR / "wallet" / "google" / "locale"]

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = _env_or_none("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = _env_or_none("CELERY_RESULT_BACKEND")
# No broker configured: run tasks in-process so the embedded run needs nothing else.
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
# Workers consume this queue; two sites (or two test runs) sharing one Redis keep theirs apart.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Enqueueing happens after a till operation's commit: with the broker down it
# must give up quickly (the card is then marked for the hourly sync), not hang.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

# --- Logging: one JSON object per line, secrets redacted ---------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# Django's own loggers stay at INFO or above: at DEBUG the autoreloader logs every file it watches.
_DJANGO_LOG_LEVEL = "INFO" if LOG_LEVEL == "DEBUG" else LOG_LEVEL
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "loyalty_site.logging.RedactSecretsFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        "development_server": {"()": "loyalty_site.logging.DevelopmentServerFilter"},
    },
    "formatters": {"json": {"()": "loyalty_site.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["redact"]},
        "mail_admins": {
            "level": "ERROR",
            "filters": ["require_debug_false"],
            "class": "django.utils.log.AdminEmailHandler",
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's defaults give "django" and "django.server" plain-text console handlers of their own:
        # each request warning was printed twice (plain, then JSON from the root) and runserver's request
        # lines never as JSON. Here they only go up to the root; errors still mail ADMINS as by default.
        "django": {"handlers": ["mail_admins"], "level": _DJANGO_LOG_LEVEL, "propagate": True},
        "django.server": {
            "handlers": [],
            "filters": ["development_server"],
            "level": _DJANGO_LOG_LEVEL,
            "propagate": True,
        },
        "django.db.backends": {"level": "WARNING"},
        # The HTTP clients of APNs and Google log each request URL at INFO (an APNs URL ends
        # with the device's push token) and HTTP/2 headers at DEBUG: warnings only.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "hpack": {"level": "WARNING"},
        "h2": {"level": "WARNING"},
    },
}

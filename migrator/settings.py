"""The one settings module. Everything that differs between machines comes from the environment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from migrator.env import env_bool, env_choice, env_int, env_list, env_str, parse_database_url
from migrator.localsecrets import local_secret

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("MIGRATOR_DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("MIGRATOR_TESTING", False)

_secret = env_str("SECRET_KEY", "")
if not _secret:
    if not DEBUG and not TESTING:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off (set DEBUG=true for local use).")
    _secret = local_secret(DATA_DIR, "secret_key")  # generated per installation, kept under the data dir
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if (DEBUG or TESTING) else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",  # serves its Swagger UI assets locally (no CDN) for /api/v1/docs
    "axes",  # login throttling
    "migrator.core",
    "migrator.inventory",
    "migrator.prompts",
    "migrator.tools",
    "migrator.flows",
    "migrator.backfill",
    "migrator.validation",
    # Cutover comes last: it reads the evidence every step before it provides, and its demo builds on theirs.
    "migrator.cutover",
    "migrator.rollouts",  # live outcomes and the guard on each cutover's ramp
    "migrator.webhooks",
    "migrator.diagnostics",
    "migrator.receipts",
    "migrator.retirement",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "migrator.core.middleware.ServiceErrorMiddleware",
    "migrator.core.middleware.FriendlyErrorsInDebugMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out login into the lockout page (429)
    "csp.middleware.CSPMiddleware",
]

# --- Content-Security-Policy (django-csp) ---
# Scripts only from our own static files: no inline <script>, no on*= handlers, no eval (htmx runs with
# allowEval off). Styles only from our own stylesheets: no <style> elements and no style="…" attributes
# (bars and charts use <progress>, <meter> and SVG presentation attributes; scripts may still set
# element.style, which the policy does not govern). /api/v1/docs (Swagger UI) gets the same policy plus data: images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'none'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Login throttling (django-axes) ---
# After AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair is locked out for
# AXES_COOLOFF_MINUTES (even the right password is refused meanwhile); a success resets the count. Locking by
# username *and* address keeps one attacker from locking a colleague out from everywhere.
AUTHENTICATION_BACKENDS = [
    "migrator.core.auth.ThrottledLogins",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

ROOT_URLCONF = "migrator.urls"
WSGI_APPLICATION = "migrator.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "migrator.core.context_processors.navigation",
            ],
            # Number formatting for people (num, percent, bytes, duration, ms, count) in every template.
            "builtins": ["migrator.core.templatetags.migrator_tags"],
        },
    }
]

_database_url = env_str("DATABASE_URL", "")
DATABASES = {
    "default": parse_database_url(_database_url)
    if _database_url
    else {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA_DIR / "migrator.sqlite3"}
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web process, the worker and the sandbox-driven jobs read while one writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),  # what DATABASE_URL's query string says wins
    }
    # Covering indexes (INCLUDE) are a PostgreSQL speed-up (inventory's inv_thread_flow_found); SQLite builds
    # the same index on its key columns, which is all it needs at its sizes.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # No JIT: pages run short queries whose cost estimates can still pass jit_above_cost at 100,000 rows, and
    # compiling such a plan took seconds (the dashboard's days-left card spent 6 s in LLVM for a 0.5 s query).
    # A DATABASE_URL that sets ?options=... keeps its own.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if (DEBUG or TESTING)
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = DATA_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Security (production defaults; `manage.py check --deploy` is part of `make test`) ---
_secure = not DEBUG and not TESTING
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _secure)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _secure)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _secure)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _secure else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", SECURE_HSTS_SECONDS > 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Encryption at rest for connection API keys ---
# A urlsafe base64 Fernet key, or a long passphrase (stretched with a KDF). Several, comma-separated and
# newest first, during a key rotation: the first encrypts, all decrypt (MultiFernet), and
# `manage.py rotate_keys` re-encrypts every stored key with the first. `check --deploy` rejects weak keys.
# Without the variable (DEBUG/testing only) each installation generates its own key under the data dir.
MIGRATOR_ENCRYPTION_KEY = env_str("MIGRATOR_ENCRYPTION_KEY", "")
if not MIGRATOR_ENCRYPTION_KEY:
    if not DEBUG and not TESTING:
        raise ImproperlyConfigured("MIGRATOR_ENCRYPTION_KEY is required when DEBUG is off (it encrypts API keys).")
    MIGRATOR_ENCRYPTION_KEY = local_secret(DATA_DIR, "encryption_key", kind="fernet")
MIGRATOR_ENCRYPTION_KEYS = [key.strip() for key in MIGRATOR_ENCRYPTION_KEY.split(",") if key.strip()]
if not MIGRATOR_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("MIGRATOR_ENCRYPTION_KEY holds no key (only commas and spaces).")

# --- Migration receipts are signed (HMAC-SHA256) with a key of their own ---
# A receipt is what an auditor or a customer keeps after a migration, so its key is set on purpose and can be
# kept (or rotated) apart from SECRET_KEY, whose rotation would otherwise make every receipt fail verification.
# Required when DEBUG is off; in DEBUG/testing it is derived from SECRET_KEY (see migrator.receipts.services).
# `check --deploy` rejects a weak one, or one equal to SECRET_KEY.
MIGRATOR_RECEIPT_KEY = env_str("MIGRATOR_RECEIPT_KEY", "")
if not MIGRATOR_RECEIPT_KEY and not DEBUG and not TESTING:
    raise ImproperlyConfigured("MIGRATOR_RECEIPT_KEY is required when DEBUG is off (it signs migration receipts; "
                               "a random string of 32+ characters, kept: changing it fails every earlier receipt).")

# --- Celery: Redis when it answers, otherwise an embedded filesystem broker with a real worker ---
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_PREFERENCE = env_choice("MIGRATOR_BROKER", "auto", {"auto", "redis", "filesystem"})
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Empty: a queue name unique to this installation, derived from its database (migrator.core.jobs.queues).
CELERY_QUEUE = env_str("CELERY_QUEUE", "")
# A running job whose process has not heart-beaten for this long is failed by the reaper.
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 120, minimum=2)
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 10, minimum=1)
# A queued job no worker picked up within this long is sent once more, then failed with what to check.
JOB_PICKUP_SECONDS = env_int("JOB_PICKUP_SECONDS", 300, minimum=1)
# Time limits of job kinds that declare none (``@job_handler(..., soft_time_limit=, time_limit=)``).
JOB_SOFT_TIME_LIMIT_SECONDS = env_int("JOB_SOFT_TIME_LIMIT_SECONDS", 3600, minimum=1)
JOB_TIME_LIMIT_SECONDS = env_int("JOB_TIME_LIMIT_SECONDS", 3900, minimum=2)
if JOB_SOFT_TIME_LIMIT_SECONDS >= JOB_TIME_LIMIT_SECONDS:
    raise ImproperlyConfigured(
        f"JOB_SOFT_TIME_LIMIT_SECONDS ({JOB_SOFT_TIME_LIMIT_SECONDS}) must be below JOB_TIME_LIMIT_SECONDS "
        f"({JOB_TIME_LIMIT_SECONDS}): the soft limit lets a job stop cleanly before the hard one kills it."
    )
# How often the worker moves the config API's call counts (Redis or a spool file) into the database.
TRAFFIC_FLUSH_SECONDS = env_int("TRAFFIC_FLUSH_SECONDS", 30, minimum=1)
# Guarded rollouts: raw production outcomes are kept this long (per-minute aggregates stay), batch ids this
# long (a retry after that would count twice), and the worker evaluates every guard this often.
OUTCOME_RAW_HOURS = env_int("OUTCOME_RAW_HOURS", 6, minimum=1)
OUTCOME_BATCH_DAYS = env_int("OUTCOME_BATCH_DAYS", 2, minimum=1)
GUARD_EVAL_SECONDS = env_int("GUARD_EVAL_SECONDS", 10, minimum=1)
GUARD_EVALUATE_ON_INGEST = env_bool("GUARD_EVALUATE_ON_INGEST", True)
# OpenAI's webhooks (Standard Webhooks) at POST /api/v1/openai/webhooks: the whsec_ signing secret(s) from the
# OpenAI dashboard (comma-separated while one is rotated; empty = the endpoint answers 404), and which event
# types pause every rollout in progress once this many arrive within 10 minutes (docs/rollouts.md).
OPENAI_WEBHOOK_SECRETS = env_list("OPENAI_WEBHOOK_SECRET", [])
OPENAI_WEBHOOK_PAUSE_EVENTS = env_list("OPENAI_WEBHOOK_PAUSE_EVENTS", ["response.failed"])
OPENAI_WEBHOOK_PAUSE_AFTER = env_int("OPENAI_WEBHOOK_PAUSE_AFTER", 3, minimum=1)

# --- Product settings ---
SANDBOX_URL = env_str("SANDBOX_URL", "http://127.0.0.1:8765/v1")
SANDBOX_API_KEY = env_str("SANDBOX_API_KEY", "sk-sandbox")
OPENAI_TIMEOUT_SECONDS = env_int("OPENAI_TIMEOUT_SECONDS", 60, minimum=1)
OPENAI_MAX_RETRIES = env_int("OPENAI_MAX_RETRIES", 2, minimum=0)
# Backfill: one call's timeout, and the lease a worker holds on a thread (several calls' worth, so a slow
# worker's write can never overlap the write of a worker that took the thread over).
BACKFILL_CALL_TIMEOUT_SECONDS = env_int("BACKFILL_CALL_TIMEOUT_SECONDS", 30, minimum=1)
BACKFILL_LEASE_SECONDS = env_int("BACKFILL_LEASE_SECONDS", max(120, 3 * BACKFILL_CALL_TIMEOUT_SECONDS),
                                 minimum=3 * BACKFILL_CALL_TIMEOUT_SECONDS)
BACKFILL_CHUNK_SIZE = env_int("BACKFILL_CHUNK_SIZE", 25, minimum=1)  # threads per Celery job of a run
BACKFILL_THREADS_PER_JOB = env_int("BACKFILL_THREADS_PER_JOB", 4, minimum=1)  # concurrent threads in one job
# Product owners may not approve their own edits unless this is switched on.
ALLOW_SELF_APPROVAL = env_bool("ALLOW_SELF_APPROVAL", False)

# --- Outgoing webhooks (migrator/webhooks) ---
# Address ranges connections and webhooks may reach although the outbound policy refuses them (loopback,
# link-local, metadata; migrator/core/outbound.py). Under DEBUG and in the tests: loopback, where the sandbox runs.
OUTBOUND_ALLOWED_NETWORKS = env_list("OUTBOUND_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"] if DEBUG or TESTING else [])
for _network in OUTBOUND_ALLOWED_NETWORKS:
    try:
        __import__("ipaddress").ip_network(_network, strict=False)
    except ValueError:
        raise SystemExit(f"OUTBOUND_ALLOWED_NETWORKS: {_network!r} is not an address range such as 10.0.0.0/8.") from None

WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30, minimum=1)  # doubles per failed attempt
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", 3600, minimum=1)
WEBHOOK_SWEEP_SECONDS = env_int("WEBHOOK_SWEEP_SECONDS", 5, minimum=1)  # how often workers look for due retries

# The model catalogue file (shutdown dates and named successors); empty: the one shipped with migrator.
MODEL_CATALOGUE_FILE = env_str("MODEL_CATALOGUE_FILE", "")
# The autopilot acts on enrolled flows whose model shuts down within this many days (unless an enrolment says).
AUTOPILOT_DAYS = env_int("AUTOPILOT_DAYS", 30, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "httpx2": {"level": "WARNING"}, "openai": {"level": "WARNING"}},
}

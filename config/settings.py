"""Settings for the Amazon order-import dashboard.

Two parts, as in pretix: "adjustable" values come from the environment (see `.env.example`),
"internal" values are constants of the product. Outside demo and debug mode every secret is
mandatory and a missing one stops start-up with its name.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from config.storages import documents_storage

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Adjustable: read from the environment.

DEBUG = env_bool("DEBUG")
# Demo mode: the embedded defaults (SQLite, ORM broker, the Amazon sandbox), with secrets
# generated on first start and kept in VAR_DIR so that a restart keeps sessions and tokens.
DEMO_MODE = env_bool("DEMO_MODE")
RELAXED_SECRETS = DEBUG or DEMO_MODE

VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var")).resolve()

_missing: list[str] = []


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) readable by this user only (0700); an existing
    folder is left as its owner set it."""
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty, readable by this user only (0600), unless it exists. Created with
    that mode, never chmod-ed after: no moment in which another user could open it."""
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    return path


def _local_secret(filename: str, generate: Callable[[], str]) -> str:
    """A secret kept in VAR_DIR for demo/debug use: generated once, reused after."""
    path = VAR_DIR / filename
    if not path.exists():
        private_file(path).write_text(generate())
    return path.read_text().strip()


def mandatory_secret(name: str, *, demo_file: str, generate: Callable[[], str]) -> str:
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if RELAXED_SECRETS:
        return _local_secret(demo_file, generate)
    _missing.append(name)
    return ""


SECRET_KEY = mandatory_secret(
    "SECRET_KEY", demo_file="secret_key", generate=lambda: secrets.token_urlsafe(50)
)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if RELAXED_SECRETS else "")
if not ALLOWED_HOSTS:
    _missing.append("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write to the same file: WAL lets readers go on during a
    # write, IMMEDIATE transactions take the write lock up front instead of failing mid-way.
    # A 64 MiB page cache (SQLite's default is 2 MiB) keeps the order tables' indexes in
    # memory during a big import instead of rereading their pages for every batch.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;"
        ),
    }
    # Buyers' data lives in this file: created 0600 (SQLite gives its -wal and -shm files the
    # database file's mode).
    private_file(Path(DATABASES["default"]["NAME"]))
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's parallel query speeds up one big query on an idle server. Here many users'
    # short queries and the worker's imports share a few cores, and a parallel plan multiplies
    # a page's CPU: `make bench-load` (2 cores, 50 users, 1,000,000 orders) p95 377 ms with
    # PostgreSQL's default of 2 workers per query, 262 ms without. DATABASE_PARALLEL_WORKERS
    # sets max_parallel_workers_per_gather for this app's connections; empty keeps the server's.
    parallel_workers = os.environ.get("DATABASE_PARALLEL_WORKERS", "0").strip()
    if parallel_workers:
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = (
            f"{options.get('options', '')} "
            f"-c max_parallel_workers_per_gather={int(parallel_workers)}"
        ).strip()

REDIS_URL = os.environ.get("REDIS_URL", "").strip()

# Fernet keys for tokens at rest, comma-separated, newest first: MultiFernet encrypts with the
# first and decrypts with any, so a key can be rotated without losing stored tokens.
TOKEN_ENCRYPTION_KEYS = env_list("TOKEN_ENCRYPTION_KEYS") or [
    mandatory_secret(
        "TOKEN_ENCRYPTION_KEYS",
        demo_file="token_encryption_key",
        generate=lambda: Fernet.generate_key().decode(),
    )
]

# Amazon. With AMAZON_SANDBOX_URL set, every Amazon host is the local sandbox (demo and tests);
# it is never on by default.
AMAZON_SANDBOX_URL = os.environ.get("AMAZON_SANDBOX_URL", "").strip().rstrip("/")
if AMAZON_SANDBOX_URL:
    SELLER_CENTRAL_URLS = {
        "eu": f"{AMAZON_SANDBOX_URL}/eu",
        "na": f"{AMAZON_SANDBOX_URL}/na",
    }
    SPAPI_ENDPOINTS = {"eu": f"{AMAZON_SANDBOX_URL}/eu", "na": f"{AMAZON_SANDBOX_URL}/na"}
    LWA_TOKEN_URL = f"{AMAZON_SANDBOX_URL}/auth/o2/token"
else:
    SELLER_CENTRAL_URLS = {
        "eu": os.environ.get("SELLER_CENTRAL_URL_EU", "https://sellercentral-europe.amazon.com"),
        "na": os.environ.get("SELLER_CENTRAL_URL_NA", "https://sellercentral.amazon.com"),
    }
    SPAPI_ENDPOINTS = {
        "eu": os.environ.get("SPAPI_ENDPOINT_EU", "https://sellingpartnerapi-eu.amazon.com"),
        "na": os.environ.get("SPAPI_ENDPOINT_NA", "https://sellingpartnerapi-na.amazon.com"),
    }
    LWA_TOKEN_URL = os.environ.get("LWA_TOKEN_URL", "https://api.amazon.com/auth/o2/token")

_sandbox_app = {
    "LWA_CLIENT_ID": "amzn1.application-oa2-client.sandbox0demo",
    "LWA_CLIENT_SECRET": "sandbox-client-secret",
    "SPAPI_APP_ID": "amzn1.sellerapps.app.00000000-0000-4000-8000-000000000000",
}


def amazon_credential(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if AMAZON_SANDBOX_URL:
        return _sandbox_app[name]
    if not RELAXED_SECRETS:
        _missing.append(name)
    return ""


LWA_CLIENT_ID = amazon_credential("LWA_CLIENT_ID")
LWA_CLIENT_SECRET = amazon_credential("LWA_CLIENT_SECRET")
SPAPI_APP_ID = amazon_credential("SPAPI_APP_ID")
# The OAuth redirect URI registered for the app; empty means "derive from the request".
SPAPI_REDIRECT_URI = os.environ.get("SPAPI_REDIRECT_URI", "").strip()
# Amazon requires version=beta on the consent URL while the app is in Draft.
SPAPI_APP_IS_DRAFT = env_bool("SPAPI_APP_IS_DRAFT", default=bool(AMAZON_SANDBOX_URL))
SPAPI_USER_AGENT = "AmazonOrderImport/0.1 (Language=Python; Platform=Django)"
SPAPI_TIMEOUT_SECONDS = float(os.environ.get("SPAPI_TIMEOUT_SECONDS", "30"))
# One retry layer: the worker's calls are never retried inside the call (a report's state
# retries the step with its backoff). A call a person waits on (Test connection, the schedules
# page) retries a transient error this many times before it shows the error.
SPAPI_INTERACTIVE_RETRIES = int(os.environ.get("SPAPI_INTERACTIVE_RETRIES", "1"))
# The longest one call waits in total (for the shared rate limiter, and between an interactive
# call's retries) before it hands the error on.
SPAPI_MAX_WAIT_SECONDS = float(os.environ.get("SPAPI_MAX_WAIT_SECONDS", "60"))

# Push: Amazon's REPORT_PROCESSING_FINISHED notifications through an Amazon SQS queue (README,
# "Push notifications"), so that a finished report is imported at once instead of at the next
# check. Empty PUSH_SQS_QUEUE_URL: push is off and the worker's check alone finds reports.
# boto3 finds credentials and region the standard way (AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY, or an instance role; AWS_DEFAULT_REGION); AWS_ENDPOINT_URL_SQS points
# it at an SQS-compatible server instead of AWS (the demo's).
PUSH_SQS_QUEUE_URL = os.environ.get("PUSH_SQS_QUEUE_URL", "").strip()
# The queue's ARN for Amazon's destination; empty: read from SQS (needs sqs:GetQueueAttributes).
PUSH_SQS_QUEUE_ARN = os.environ.get("PUSH_SQS_QUEUE_ARN", "").strip()
PUSH_SQS_ENDPOINT_URL = os.environ.get("AWS_ENDPOINT_URL_SQS", "").strip()
# The name of the destination this installation registers with Amazon for its queue.
PUSH_DESTINATION_NAME = os.environ.get("PUSH_DESTINATION_NAME", "amazon-order-import").strip()
# How long after Amazon finished a report its notification may take before push counts as not
# working (Amazon sends no test message; a queue policy that keeps it out fails silently).
PUSH_GRACE_SECONDS = int(os.environ.get("PUSH_GRACE_SECONDS", "600"))
# The consumer's SQS long poll, and how long a message it took stays hidden from the others
# (a message whose handling failed comes back after that).
PUSH_SQS_WAIT_SECONDS = int(os.environ.get("PUSH_SQS_WAIT_SECONDS", "20"))
PUSH_SQS_VISIBILITY_SECONDS = int(os.environ.get("PUSH_SQS_VISIBILITY_SECONDS", "300"))
# How many messages of a batch (at most ten, SQS's batch) the consumer handles at once, each in
# a thread with its own database connection; 1: one after the other.
PUSH_CONSUMER_THREADS = max(1, int(os.environ.get("PUSH_CONSUMER_THREADS", "8")))
# How many reports push hands out the consumer downloads and imports itself, at once, in its
# push lane (reports.services.push_lane), so that they never wait for a worker process behind
# the checks; each thread has its own database connection. When the lane is busy, reports go
# to the worker's queue as without it. 0: no lane, the worker imports them all.
PUSH_IMPORT_THREADS = max(0, int(os.environ.get("PUSH_IMPORT_THREADS", "4")))

# How often the worker checks Amazon (every five minutes by default).
WORKER_INTERVAL_SECONDS = int(os.environ.get("WORKER_INTERVAL_SECONDS", "300"))
# The niceness of the worker's task processes (0 to 19): on a machine shared with the web
# server an import then takes the CPU the pages leave, rather than making them wait. 0 keeps
# the worker at the web's priority (a machine of its own).
WORKER_NICENESS = int(os.environ.get("WORKER_NICENESS", "10"))
# The most accounts one pass of the worker asks Amazon about (discovery's getReports, and
# again the automatic requests); the pass also stops that work after four fifths of an
# interval. The accounts left over are due still and come first in the next pass, so a large
# fleet is looked at over a few passes instead of in one pass that outlasts the interval.
WORKER_ACCOUNTS_PER_PASS = int(os.environ.get("WORKER_ACCOUNTS_PER_PASS", "1000"))
# How many accounts a pass shared out to a task checks at once, each in a thread with its own
# database connection (reports.services.worker.discover_accounts). Each check is a getReports
# that waits for Amazon, not for the CPU: threads of one task get round a fleet in an interval,
# and the worker's other processes stay free to download and import what the checks find.
# On SQLite at most 4 (one writer at a time); 1: one after the other.
DISCOVERY_THREADS = max(1, int(os.environ.get("DISCOVERY_THREADS", "8")))
# A report Amazon keeps processing longer than this is flagged as stuck on Processing.
REPORT_STUCK_AFTER_SECONDS = int(os.environ.get("REPORT_STUCK_AFTER_SECONDS", str(3 * 3600)))
# How long a worker may hold a report before another worker may take it over.
REPORT_LEASE_SECONDS = int(os.environ.get("REPORT_LEASE_SECONDS", "900"))
# An import renews its lease with every committed batch (a few seconds apart), so its lease
# can be short: a worker killed mid-import leaves a report that another worker resumes after
# about this long, instead of after REPORT_LEASE_SECONDS.
REPORT_IMPORT_LEASE_SECONDS = int(os.environ.get("REPORT_IMPORT_LEASE_SECONDS", "60"))
# Automatic import: the overlap with the previous order report, so that nothing falls between.
AUTOMATIC_IMPORT_OVERLAP_SECONDS = int(os.environ.get("AUTOMATIC_IMPORT_OVERLAP_SECONDS", "3600"))

# E-mail (notifications: reports.services.email_notifications; invitations: core): SMTP when
# EMAIL_HOST is set; without it, the console in demo and debug mode (the demo prints the mails)
# and a mail server on this machine (localhost:25) otherwise. EMAIL_BACKEND overrides the choice.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "").strip()
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "").strip() or (
    "django.core.mail.backends.console.EmailBackend"
    if RELAXED_SECRETS and not EMAIL_HOST
    else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = EMAIL_HOST or "localhost"
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "").strip()
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
# Seconds a mail server may take to answer: a slow one never holds up the worker for long.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "").strip() or (
    "Amazon order import <noreply@localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where this site is reached, for the links in e-mails (they are read outside any request).
# Empty: https:// and the first of ALLOWED_HOSTS (http://127.0.0.1:8000 in demo/debug mode).
SITE_URL = (
    os.environ.get("SITE_URL", "").strip()
    or (
        "http://127.0.0.1:8000"
        if RELAXED_SECRETS
        else f"https://{ALLOWED_HOSTS[0]}"
        if ALLOWED_HOSTS
        else ""
    )
).rstrip("/")

if _missing:
    raise ImproperlyConfigured(
        "Missing required setting(s): "
        + ", ".join(_missing)
        + ". Set them in the environment (see .env.example), or set DEMO_MODE=1 for a local demo."
    )

# Internal: constants of the product.

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_q",
    "axes",
    "core",
    "amazon_settings",
    "reports",
    "orders",
    "api",
    # django-ninja: its Swagger UI's files are served from here (without the app it would
    # load them from a CDN).
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # CSP and Permissions-Policy on every response, static files and errors included.
    "config.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of the browser (Accept-Language) or of the switch's cookie.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A logged-in user's saved language and time zone (core.models.UserPreference) win over
    # the browser's.
    "core.preferences.UserPreferenceMiddleware",
    # Every view requires a logged-in user unless it is marked @login_not_required, so a new
    # view cannot forget it.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Viewers may look but not change: unsafe requests need the operate permission, and those
    # that succeed are audited. After authentication (it needs the user) and messages.
    "core.roles.RoleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "core.navigation.navigation",
                "amazon_settings.context_processors.attention_banner",
                "core.roles.roles",
            ],
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one username
# from one address, that pair is refused for LOGIN_LOCKOUT_MINUTES, even with the right
# password. Admins see the attempts and lockouts in the Django admin (Axes) and lift one with
# `manage.py axes_reset_username NAME` or by deleting the attempt there.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.views.login_locked_out"
AXES_CLIENT_IP_CALLABLE = "config.security.client_address"
# The TLS proxy's addresses: the login throttle believes X-Forwarded-For (the client's address)
# from these only. Give gunicorn the same list (--forwarded-allow-ips) for the scheme it passes
# on; Django itself still reads X-Forwarded-Proto through SECURE_PROXY_SSL_HEADER.
TRUSTED_PROXY_IPS = env_list("TRUSTED_PROXY_IPS")
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# English and German; each user's language comes from the browser unless they chose one in
# the navigation (core.preferences). The catalogues in locale/ are compiled by `make install`
# (scripts/compile_messages.py).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One format per kind (a day, a moment, a time of day) in each language: config/formats.
FORMAT_MODULE_PATH = ["config.formats"]
# The installation's time zone; a user may choose another (core.models.UserPreference).
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
private_dir(VAR_DIR)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Bootstrap comes from the npm registry (package.json); Django's staticfiles serves it from
# node_modules, nothing is copied in by hand.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules" / "bootstrap-icons" / "font"),
]
# Raw report documents (Amazon's downloads and uploaded files) go through the `documents`
# storage: the local disk under MEDIA_ROOT, or, with DOCUMENTS_S3_BUCKET set, an S3 bucket that
# every web and worker machine shares (boto3's standard credentials and region: AWS_ACCESS_KEY_ID
# and AWS_SECRET_ACCESS_KEY or an instance role, AWS_DEFAULT_REGION). DOCUMENTS_S3_PREFIX puts
# them under a folder of the bucket; DOCUMENTS_S3_ENDPOINT_URL names an S3-compatible server.
DOCUMENTS_S3_BUCKET = os.environ.get("DOCUMENTS_S3_BUCKET", "").strip()
DOCUMENTS_S3_PREFIX = os.environ.get("DOCUMENTS_S3_PREFIX", "").strip()
DOCUMENTS_S3_ENDPOINT_URL = os.environ.get("DOCUMENTS_S3_ENDPOINT_URL", "").strip()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "documents": documents_storage(
        bucket=DOCUMENTS_S3_BUCKET,
        prefix=DOCUMENTS_S3_PREFIX,
        endpoint_url=DOCUMENTS_S3_ENDPOINT_URL,
    ),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not RELAXED_SECRETS
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
# Raw report files hold buyers' names and addresses: readable by this user only.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
WHITENOISE_USE_FINDERS = RELAXED_SECRETS

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

Q_CLUSTER = {
    "name": "amazon-order-import",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    # Our database rows carry the retry state (rule 11): the broker delivers once.
    "timeout": 600,
    "retry": 900,
    "max_attempts": 1,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 500,
    "label": "Background worker",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    # The ORM broker polls the database; a short poll keeps the demo snappy.
    Q_CLUSTER["poll"] = 1

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {
            # Shared by every process on the machine (web server and worker), unlike locmem.
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "cache_table",
            # Every connected account keeps its access token here. Django's default of 300
            # entries culled a third of them on each write beyond it, so a fleet of more than
            # 300 accounts refreshed tokens on almost every call. Expired entries are culled
            # first; 200,000 leave room for tens of thousands of accounts and the API's counts.
            "OPTIONS": {"MAX_ENTRIES": 200_000},
        }
    )
}

# Security. HTTPS-only cookies and HSTS unless this is a local demo or debug run.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Django's default, stated here because the security tests check it on every page.
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Sent by config.security.SecurityHeadersMiddleware; form-action also gets the Seller Central
# origins there (the consent redirect). Scripts come only from static files (static/js/app.js
# carries the pages' behaviour; tests/test_security.py refuses inline code in templates).
# style-src allows inline styles for htmx's indicator <style> and the templates' style=""
# attributes. data: images are Bootstrap's
# inline SVG icons (form-select arrows, check marks).
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
# Browser features the dashboard never uses, switched off for every page.
PERMISSIONS_POLICY_DISABLED = [
    "accelerometer",
    "autoplay",
    "camera",
    "display-capture",
    "geolocation",
    "gyroscope",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "usb",
]
if not RELAXED_SECRETS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Data protection (Amazon's Data Protection Policy): buyer names, e-mails, phone numbers and
# addresses are removed this many days after an order shipped, and raw report documents that
# hold them are deleted after the same time (orders.privacy, reports.services.privacy; daily).

PII_RETENTION_DAYS = int(os.environ.get("PII_RETENTION_DAYS", "30"))
# Requests one API token may make per minute before it is answered 429 (api.services).
API_RATE_LIMIT_PER_MINUTE = int(os.environ.get("API_RATE_LIMIT_PER_MINUTE", "600"))
# Webhooks (api.delivery): every POST to a receiver waits at most this long to connect and for
# each read of its answer.
WEBHOOK_CONNECT_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_CONNECT_TIMEOUT_SECONDS", "5"))
WEBHOOK_READ_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_READ_TIMEOUT_SECONDS", "10"))
# The worker's pass (every minute) sends in rounds for at most WEBHOOK_SECONDS_PER_PASS, each
# round at most WEBHOOK_BATCH_SIZE deliveries per subscription; subscriptions are served side
# by side by WEBHOOK_THREADS threads, and one that fails waits for the next pass.
WEBHOOK_BATCH_SIZE = int(os.environ.get("WEBHOOK_BATCH_SIZE", "200"))
WEBHOOK_SECONDS_PER_PASS = float(os.environ.get("WEBHOOK_SECONDS_PER_PASS", "40"))
WEBHOOK_THREADS = max(1, int(os.environ.get("WEBHOOK_THREADS", "8")))
# A failed delivery is retried after 1, 2, 4, ... minutes (at most WEBHOOK_MAX_BACKOFF_MINUTES
# apart) until WEBHOOK_RETRY_HOURS after its first try; a subscription whose every try failed
# for WEBHOOK_DISABLE_AFTER_HOURS (and at least WEBHOOK_DISABLE_AFTER_FAILURES tries) is
# switched off, with a notice on its page.
WEBHOOK_MAX_BACKOFF_MINUTES = int(os.environ.get("WEBHOOK_MAX_BACKOFF_MINUTES", "240"))
WEBHOOK_RETRY_HOURS = float(os.environ.get("WEBHOOK_RETRY_HOURS", "24"))
WEBHOOK_DISABLE_AFTER_HOURS = float(os.environ.get("WEBHOOK_DISABLE_AFTER_HOURS", "24"))
WEBHOOK_DISABLE_AFTER_FAILURES = int(os.environ.get("WEBHOOK_DISABLE_AFTER_FAILURES", "10"))
# Invoices and credit notes issued here keep the buyer's name and address they were issued
# with for this many years (tax law: 10 in Germany, section 147 AO; set what yours requires),
# whatever the removal above does to the orders; after it, the buyer is blanked on them too.
INVOICE_RETENTION_YEARS = int(os.environ.get("INVOICE_RETENTION_YEARS", "10"))
# The font of the invoice PDFs, from the npm package dejavu-fonts-ttf (package.json).
INVOICE_FONT_DIR = BASE_DIR / "node_modules" / "dejavu-fonts-ttf" / "ttf"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django-axes says every successful login at INFO; lockouts come at WARNING.
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}

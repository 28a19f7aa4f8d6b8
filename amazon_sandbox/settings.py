"""Settings of the Amazon sandbox when it runs as its own server (`python -m amazon_sandbox`).

The sandbox is a stand-in for Amazon: it imports nothing of the product and keeps its state in
its own SQLite file under SANDBOX_DATA_DIR, so what it issued survives a restart.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("SANDBOX_DATA_DIR", BASE_DIR / "var" / "sandbox")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

# Not a secret: the sandbox holds no real data and signs nothing that matters.
SECRET_KEY = "amazon-sandbox-local-only"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = ["amazon_sandbox"]
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "amazon_sandbox.middleware.AmazonResponseMiddleware",
]
ROOT_URLCONF = "amazon_sandbox.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "sandbox.sqlite3",
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
APPEND_SLASH = False

# Amazon's clock, sped up: report processing delays, schedule periods, FBA regeneration windows
# and rate-limit refills run this many times faster, so that the demo and the tests need not wait
# minutes. Token, code and document-URL lifetimes are not scaled: tests move the sandbox clock
# forward through the control API instead (`POST /_control/clock`).
SANDBOX_TIME_FACTOR = float(os.environ.get("SANDBOX_TIME_FACTOR", "1"))
# How long a new report waits IN_QUEUE and then stays IN_PROGRESS, in Amazon seconds (divided by
# SANDBOX_TIME_FACTOR when a report is created).
SANDBOX_QUEUE_SECONDS = float(os.environ.get("SANDBOX_QUEUE_SECONDS", "30"))
SANDBOX_PROCESSING_SECONDS = float(os.environ.get("SANDBOX_PROCESSING_SECONDS", "60"))

# Where the sandbox pushes Amazon's notifications: an SQS-compatible server (moto's server mode
# in the demo and the tests). Empty: notifications are decided, but none can be delivered.
SANDBOX_SQS_ENDPOINT_URL = os.environ.get("SANDBOX_SQS_ENDPOINT_URL", "").strip()
# How often (real seconds) the publisher looks for finished reports to notify.
SANDBOX_NOTIFICATION_INTERVAL_SECONDS = float(
    os.environ.get("SANDBOX_NOTIFICATION_INTERVAL_SECONDS", "0.25")
)

# The one registered app. The defaults are the product's built-in sandbox credentials
# (config/settings.py), so the demo works without configuration.
SANDBOX_APP_ID = os.environ.get(
    "SANDBOX_APP_ID", "amzn1.sellerapps.app.00000000-0000-4000-8000-000000000000"
)
SANDBOX_APP_NAME = os.environ.get("SANDBOX_APP_NAME", "Amazon Order Import")
SANDBOX_LWA_CLIENT_ID = os.environ.get(
    "SANDBOX_LWA_CLIENT_ID", "amzn1.application-oa2-client.sandbox0demo"
)
SANDBOX_LWA_CLIENT_SECRET = os.environ.get("SANDBOX_LWA_CLIENT_SECRET", "sandbox-client-secret")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SANDBOX_LOG_LEVEL", "WARNING")},
    # 4xx answers are the sandbox doing its job, not warnings worth a line each.
    "loggers": {"django.request": {"level": "ERROR"}},
}

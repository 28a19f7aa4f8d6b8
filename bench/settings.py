"""Settings for `make bench`: the product's settings, with throwaway secrets and quiet parts.

The database comes from DATABASE_URL, which `bench.run` sets for every child process.
"""

import os
import tempfile

from cryptography.fernet import Fernet

os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="aoi-bench-var-"))
os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-" + "x" * 20)
os.environ.setdefault("TOKEN_ENCRYPTION_KEYS", Fernet.generate_key().decode())
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ["DEBUG"] = "0"  # DEBUG would keep every query in memory
os.environ.setdefault("DEMO_MODE", "1")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING_CONFIG = None

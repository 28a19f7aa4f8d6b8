"""Test settings: the product's settings with explicit secrets and fast, isolated parts."""

import os
import tempfile

from cryptography.fernet import Fernet

os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="aoi-test-var-"))
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)
os.environ.setdefault("TOKEN_ENCRYPTION_KEYS", Fernet.generate_key().decode())
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("DEMO_MODE", "1")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The scale-out run (`make test` runs it when PostgreSQL and Redis answer): the same suite on
# PostgreSQL, with Redis as the cache and django-q2's broker.
if os.environ.get("TEST_DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(os.environ["TEST_DATABASE_URL"])}
if os.environ.get("TEST_REDIS_URL"):
    REDIS_URL = os.environ["TEST_REDIS_URL"]
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    Q_CLUSTER = {**Q_CLUSTER, "redis": REDIS_URL}  # noqa: F405
    Q_CLUSTER.pop("orm", None)

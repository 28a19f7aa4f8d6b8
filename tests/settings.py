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
# The consumer handles messages one after the other here: its threads' connections would not
# see what a test wrote inside its transaction. The tests of the threads ask for them.
PUSH_CONSUMER_THREADS = 1
# For the same reason the consumer command hands every report to the worker here (no push lane);
# the lane's tests start one.
PUSH_IMPORT_THREADS = 0
# And a worker's discovery task checks its accounts one after the other; the tests of its
# threads ask for them.
DISCOVERY_THREADS = 1

# On SQLite the test database is a file, as the product's is (WAL, a writer waits its turn), not
# Django's default in-memory one: that one is shared between a process's threads in SQLite's
# shared-cache mode, where a write that meets another thread's read fails at once ("database
# table is locked") instead of waiting, and the tests of the worker's threads failed so now and
# then. pytest-xdist gives each of its processes a file of its own (a "_gw0" suffix).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(os.environ["VAR_DIR"], "test.sqlite3")}  # noqa: F405

# The scale-out run (`make test` runs it when PostgreSQL and Redis answer): the same suite on
# PostgreSQL, with Redis as the cache and django-q2's broker.
if os.environ.get("TEST_DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(os.environ["TEST_DATABASE_URL"])}
if os.environ.get("TEST_REDIS_URL"):
    from tests.scaleout import per_worker_redis_url

    REDIS_URL = per_worker_redis_url(os.environ["TEST_REDIS_URL"])
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    Q_CLUSTER = {**Q_CLUSTER, "redis": REDIS_URL}  # noqa: F405
    Q_CLUSTER.pop("orm", None)

# With TEST_DOCUMENTS_S3=1 (the scale-out run sets it) raw documents go to a bucket of the
# session's local S3 stand-in (moto, tests/moto_server.py) instead of the disk, so that the
# processes of a test share documents through it only, as the machines of a deployment do.
# One moto server per session: started here (and named in the environment for the `moto`
# fixture and child processes), or the one the environment already names.
if os.environ.get("TEST_DOCUMENTS_S3"):
    import atexit
    from pathlib import Path

    from tests.moto_server import CREDENTIALS, ENDPOINT_ENV, REGION, MotoServer

    if not os.environ.get(ENDPOINT_ENV):
        _moto = MotoServer.start(Path(os.environ["VAR_DIR"]) / "moto")
        atexit.register(_moto.stop)
        os.environ[ENDPOINT_ENV] = _moto.endpoint_url
    TEST_DOCUMENTS_S3_BUCKET = MotoServer(os.environ[ENDPOINT_ENV]).create_bucket("test-documents")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    STORAGES = {
        **STORAGES,  # noqa: F405
        "documents": documents_storage(  # noqa: F405
            bucket=TEST_DOCUMENTS_S3_BUCKET,
            # Each pytest-xdist worker has its own database, so its own report numbers: its
            # documents go under a prefix of their own in the session's shared bucket.
            prefix="-".join(filter(None, ("documents", os.environ.get("PYTEST_XDIST_WORKER")))),
            endpoint_url=os.environ[ENDPOINT_ENV],
        ),
    }

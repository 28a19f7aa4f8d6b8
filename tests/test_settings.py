"""Settings come from the environment; production refuses to start without its secrets."""

from __future__ import annotations

import os
import subprocess
import sys

from cryptography.fernet import Fernet
from django.conf import settings

PRODUCTION = {
    "SECRET_KEY": "a-long-production-secret-key-" + "k" * 40,
    "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "orders.example.com",
    "LWA_CLIENT_ID": "amzn1.application-oa2-client.0123456789abcdef",
    "LWA_CLIENT_SECRET": "client-secret-from-seller-central",
    "SPAPI_APP_ID": "amzn1.sellerapps.app.11111111-2222-3333-4444-555555555555",
}


def run_manage(
    args: list[str], env_overrides: dict[str, str], tmp_path
) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in PRODUCTION
        and key not in {"DEBUG", "DEMO_MODE", "AMAZON_SANDBOX_URL", "REDIS_URL", "DATABASE_URL"}
    }
    env.update({"VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"})
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_a_secret_stops_and_names_it(tmp_path):
    env = dict(PRODUCTION)
    del env["SECRET_KEY"]
    del env["LWA_CLIENT_SECRET"]
    result = run_manage(["check"], env, tmp_path)
    assert result.returncode != 0
    assert "Missing required setting(s): SECRET_KEY, LWA_CLIENT_SECRET" in result.stderr
    assert "Traceback" in result.stderr or "ImproperlyConfigured" in result.stderr


def test_production_values_pass_the_deploy_check(tmp_path):
    result = run_manage(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_demo_mode_generates_and_keeps_its_secrets(tmp_path):
    code = (
        "from django.conf import settings; "
        "print(settings.SECRET_KEY); print(settings.TOKEN_ENCRYPTION_KEYS[0])"
    )
    first = run_manage(["shell", "--no-imports", "-c", code], {"DEMO_MODE": "1"}, tmp_path)
    second = run_manage(["shell", "--no-imports", "-c", code], {"DEMO_MODE": "1"}, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    secret_key, fernet_key = first.stdout.split()
    assert len(secret_key) >= 50
    Fernet(fernet_key.encode())  # a valid key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_broker_and_database_follow_the_environment(tmp_path):
    code = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default']['ENGINE']); "
        "print(settings.Q_CLUSTER.get('redis'), settings.Q_CLUSTER.get('orm'))"
    )
    embedded = run_manage(["shell", "--no-imports", "-c", code], {"DEMO_MODE": "1"}, tmp_path)
    assert embedded.stdout.split() == ["django.db.backends.sqlite3", "None", "default"]
    scaled = run_manage(
        ["shell", "--no-imports", "-c", code],
        {
            "DEMO_MODE": "1",
            "DATABASE_URL": "postgres://user@127.0.0.1:5432/orders",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        },
        tmp_path,
    )
    assert scaled.stdout.split() == [
        "django.db.backends.postgresql",
        "redis://127.0.0.1:6379/0",
        "None",
    ], scaled.stderr


def test_sandbox_is_off_unless_configured(tmp_path):
    code = (
        "from django.conf import settings; "
        "print(settings.SPAPI_ENDPOINTS['eu']); print(settings.LWA_TOKEN_URL)"
    )
    production = run_manage(["shell", "--no-imports", "-c", code], PRODUCTION, tmp_path)
    assert production.stdout.split() == [
        "https://sellingpartnerapi-eu.amazon.com",
        "https://api.amazon.com/auth/o2/token",
    ], production.stderr
    sandboxed = run_manage(
        ["shell", "--no-imports", "-c", code],
        {"DEMO_MODE": "1", "AMAZON_SANDBOX_URL": "http://127.0.0.1:9/"},
        tmp_path,
    )
    assert sandboxed.stdout.split() == ["http://127.0.0.1:9/eu", "http://127.0.0.1:9/auth/o2/token"]


def test_the_database_keys_and_raw_reports_are_private_to_the_user(tmp_path):
    var = tmp_path / "var"
    code = (
        "from django.core.files.base import ContentFile; "
        "from django.core.files.storage import storages; "
        "documents = storages['documents']; "
        "print(documents.path(documents.save("
        "'reports/2026/12/raw.tsv', ContentFile(b'order-id'))))"
    )
    migrated = run_manage(["migrate", "-v", "0"], {"DEMO_MODE": "1"}, var)
    assert migrated.returncode == 0, migrated.stderr
    saved = run_manage(["shell", "--no-imports", "-c", code], {"DEMO_MODE": "1"}, var)
    assert saved.returncode == 0, saved.stderr
    raw = saved.stdout.strip()

    def mode(path) -> int:
        return os.stat(path).st_mode & 0o777

    assert mode(var) == 0o700
    for name in ("db.sqlite3", "secret_key", "token_encryption_key"):
        assert mode(var / name) == 0o600, name
    assert mode(raw) == 0o600
    assert mode(os.path.dirname(raw)) == 0o700
    assert mode(var / "media") == 0o700


STORAGE_FACTS = (
    "import json; from reports.models import Report; "
    "s = Report._meta.get_field('raw_file').storage._wrapped; "
    "c = getattr(s, 'client_config', None); "
    "print(json.dumps({'backend': type(s).__name__, 'bucket': getattr(s, 'bucket_name', None), "
    "'prefix': getattr(s, 'location', None), 'endpoint': getattr(s, 'endpoint_url', None), "
    "'acl': getattr(s, 'default_acl', None), 'overwrite': getattr(s, 'file_overwrite', None), "
    "'timeouts': c and [c.connect_timeout, c.read_timeout, c.retries], "
    "'root': str(getattr(s, 'base_location', ''))}))"
)


def test_documents_go_to_s3_with_timeouts_only_when_a_bucket_is_set(tmp_path):
    import json

    s3 = run_manage(
        ["shell", "--no-imports", "-c", STORAGE_FACTS],
        {
            "DEMO_MODE": "1",
            "DOCUMENTS_S3_BUCKET": "order-documents",
            "DOCUMENTS_S3_PREFIX": "/shop-1/documents/",
            "DOCUMENTS_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        },
        tmp_path,
    )
    assert s3.returncode == 0, s3.stderr
    assert json.loads(s3.stdout.strip().splitlines()[-1]) == {
        "backend": "DocumentS3Storage",
        "bucket": "order-documents",
        "prefix": "shop-1/documents",
        "endpoint": "http://127.0.0.1:9000",
        "acl": None,
        "overwrite": False,
        "timeouts": [5, 30, {"mode": "standard", "total_max_attempts": 3}],
        "root": "",
    }
    disk = run_manage(["shell", "--no-imports", "-c", STORAGE_FACTS], {"DEMO_MODE": "1"}, tmp_path)
    assert disk.returncode == 0, disk.stderr
    facts = json.loads(disk.stdout.strip().splitlines()[-1])
    assert (facts["backend"], facts["root"]) == ("FileSystemStorage", str(tmp_path / "media"))


def test_the_embedded_cache_keeps_every_access_token_of_a_thousand_accounts(tmp_path):
    # Without Redis the cache is a database table. Django's default there culls a third of the
    # entries whenever more than 300 are kept, so a fleet of over 300 accounts lost access
    # tokens at random and asked LWA for a new one on almost every call (bench-fleet on
    # PostgreSQL: 3,040 refreshes in four minutes, none with Redis).
    code = (
        "from django.core.cache import cache; "
        "from amazon_settings.models import SellerAccount; "
        "from amazon_settings.services import _access_token_cache_key as key; "
        "accounts = [SellerAccount(pk=n) for n in range(1, 1001)]; "
        "[cache.set(key(a), 'encrypted-token', timeout=3000) for a in accounts]; "
        "print(sum(cache.get(key(a)) is not None for a in accounts))"
    )
    assert run_manage(["createcachetable"], {"DEMO_MODE": "1"}, tmp_path).returncode == 0
    kept = run_manage(["shell", "--no-imports", "-c", code], {"DEMO_MODE": "1"}, tmp_path)
    assert kept.stdout.split() == ["1000"], kept.stderr

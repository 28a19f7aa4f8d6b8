"""The README's "PostgreSQL and Redis" section, run line by line as written on a fresh database.

Each `manage.py` line runs to completion; the web server and the worker lines start in the
background and must answer (the web) or keep running (the worker). Then the account of a demo
seller is connected, which needs the cache: the step that once failed with "no such table:
cache_table" when the README forgot `createcachetable`. Run with Redis, and without it (the
README marks Redis optional), each on its own new database.
"""

from __future__ import annotations

import os
import shlex
import signal
import string
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from django.conf import settings

from tests.amazon_fixtures import EU_SELLER
from tests.conftest import free_port
from tests.scaleout import empty_redis, fresh_postgres_database

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SECTION = "### PostgreSQL and Redis instead of the embedded defaults"
SERVERS = ("gunicorn", "qcluster", "consume_notifications")


def readme_commands() -> list[list[str]]:
    """The section's shell block, one command per line, comments dropped."""
    text = (Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    block = section[section.index("```sh\n") + len("```sh\n") :]
    block = block[: block.index("```")]
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def required_settings(sandbox, tmp_path: Path) -> dict[str, str]:
    """What the README's configuration table requires, as an operator would set it; Amazon is
    the sandbox. Nothing of the test process's own settings leaks in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "TEST_", "SANDBOX_"))
        and key not in {"DATABASE_URL", "REDIS_URL", "DEMO_MODE", "DEBUG", "VAR_DIR", "SECRET_KEY"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "VAR_DIR": str(tmp_path / "var"),
            "SECRET_KEY": "readme-test-" + "k" * 40,
            "ALLOWED_HOSTS": "127.0.0.1",
            "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "AMAZON_SANDBOX_URL": sandbox.base_url,
        }
    )
    return env


def run_readme(
    commands,
    env: dict[str, str],
    *,
    with_redis: bool,
    database_url: str,
    queue_url: str,
    bucket: str,
    tmp_path,
):
    """Run the block; answers the background servers by name and the web server's port."""
    servers: dict[str, subprocess.Popen] = {}
    port = free_port()
    for command in commands:
        if command[0] == "export":
            name, value = command[1].split("=", 1)
            if name == "DATABASE_URL":
                value = database_url
            elif name == "REDIS_URL":
                if not with_redis:
                    continue
                value = empty_redis()
            elif name == "PUSH_SQS_QUEUE_URL":
                value = queue_url
            elif name == "DOCUMENTS_S3_BUCKET":
                value = bucket
            env[name] = value
            continue
        # The variables the block exported, as the shell would expand them.
        command = [string.Template(word).safe_substitute(env) for word in command]
        if command[0] == ".venv/bin/gunicorn":
            args = [sys.executable, "-m", "gunicorn", *command[1:]]
        else:
            assert command[0] == ".venv/bin/python", command
            args = [sys.executable, *command[1:]]
        if "createsuperuser" in args:
            # The one interactive command, answered through Django's documented variables.
            args.append("--no-input")
            env = {
                **env,
                "DJANGO_SUPERUSER_USERNAME": "owner",
                "DJANGO_SUPERUSER_PASSWORD": "readme test password 7",
                "DJANGO_SUPERUSER_EMAIL": "owner@example.invalid",
            }
        server = next((name for name in SERVERS if name in args), None)
        if server == "gunicorn":
            args = [f"--bind=127.0.0.1:{port}" if a.startswith("--bind=") else a for a in args]
        if server:
            log = (tmp_path / f"{server}.log").open("w")
            servers[server] = subprocess.Popen(
                args,
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            continue
        result = subprocess.run(
            args, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"{shlex.join(command)} failed:\n{result.stderr}"
    return servers, port, env


def wait_for_health(port: int, servers, tmp_path: Path, seconds: float = 60) -> tuple[int, dict]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert servers["gunicorn"].poll() is None, (tmp_path / "gunicorn.log").read_text()
        try:
            # As the README's proxy sends it: from a trusted address, the scheme is HTTPS.
            answer = requests.get(
                f"http://127.0.0.1:{port}/health/",
                headers={"X-Forwarded-Proto": "https"},
                timeout=5,
            )
            return answer.status_code, answer.json()
        except (requests.ConnectionError, requests.Timeout):
            # Not listening yet, or its workers still loading the product (slow on a busy
            # machine): asked again until the deadline.
            time.sleep(0.2)
    raise AssertionError(f"the web server did not answer in {seconds}s")


SHOW_PARALLEL = (
    "from django.db import connection; cursor = connection.cursor(); "
    "cursor.execute('SHOW max_parallel_workers_per_gather'); print(cursor.fetchone()[0])"
)


@pytest.mark.parametrize("with_redis", [True, False], ids=["with-redis", "without-redis"])
def test_the_readme_postgres_section_works_as_written(sandbox, sqs, tmp_path, with_redis):
    sandbox.reset()
    commands = readme_commands()
    assert [c[1] for c in commands if c[0] == "export"] == [
        "DATABASE_URL=postgres://orders:secret@127.0.0.1:5432/orders",
        "REDIS_URL=redis://127.0.0.1:6379/0",
        "TRUSTED_PROXY_IPS=127.0.0.1",
        "PUSH_SQS_QUEUE_URL=https://sqs.eu-west-1.amazonaws.com/123456789012/amazon-order-import",
        "DOCUMENTS_S3_BUCKET=my-order-documents",
    ]
    env = required_settings(sandbox, tmp_path)
    # The queue is the local SQS server's; boto3's standard configuration points at it.
    queue_url, _ = sqs.create_queue(f"readme-{tmp_path.name[-20:]}")
    # The documents' bucket is the local S3 server's (the same moto server).
    bucket = sqs.create_bucket(f"readme-{tmp_path.name[-20:]}".lower().replace("_", "-"))
    env.update(
        {
            "AWS_ENDPOINT_URL_SQS": sqs.endpoint_url,
            "DOCUMENTS_S3_ENDPOINT_URL": sqs.endpoint_url,
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "readme",
            "AWS_SECRET_ACCESS_KEY": "readme",
        }
    )
    with fresh_postgres_database() as database_url:
        servers, port, env = run_readme(
            commands,
            env,
            with_redis=with_redis,
            database_url=database_url,
            queue_url=queue_url,
            bucket=bucket,
            tmp_path=tmp_path,
        )
        try:
            assert set(servers) == set(SERVERS)
            assert wait_for_health(port, servers, tmp_path) == (200, {"status": "ok"})
            token_file = tmp_path / "token"
            token_file.write_text(sandbox.refresh_token(EU_SELLER, "eu"))
            connect = subprocess.run(
                [
                    sys.executable,
                    "manage.py",
                    "connect_account",
                    "--selling-partner-id",
                    EU_SELLER,
                    "--region",
                    "eu",
                    "--refresh-token-file",
                    str(token_file),
                ],
                cwd=settings.BASE_DIR,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert connect.returncode == 0, connect.stderr
            # The app's connections plan without parallel workers (DATABASE_PARALLEL_WORKERS).
            parallel = subprocess.run(
                [sys.executable, "manage.py", "shell", "--no-imports", "-c", SHOW_PARALLEL],
                cwd=settings.BASE_DIR,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert parallel.stdout.split() == ["0"], parallel.stderr
            for server in ("qcluster", "consume_notifications"):
                assert servers[server].poll() is None, (tmp_path / f"{server}.log").read_text()
        finally:
            for process in servers.values():
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

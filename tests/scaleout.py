"""PostgreSQL and Redis for the tests that run the product in separate processes."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

import psycopg
import redis

ADMIN_URL = os.environ.get("SCALEOUT_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def per_worker_redis_url(url: str) -> str:
    """`url` for this test process: under pytest-xdist each worker (gw0, gw1, ...) takes its own
    Redis database, two numbers below the previous worker's (13, 11, 9, ... for the processes'
    database; 14, 12, 10, ... for the test settings' cache and broker), so that workers never
    empty or read each other's queues."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    base, _, number = url.rpartition("/")
    database = int(number or 0) - 2 * int(worker[2:])
    if database < 0:
        raise RuntimeError(f"Too many test processes for the Redis databases below {url}.")
    return f"{base}/{database}"


REDIS_URL = per_worker_redis_url(os.environ.get("SCALEOUT_REDIS_URL", "redis://127.0.0.1:6379/13"))
# The start of each new database's name (several runs on one server keep apart by it).
DATABASE_PREFIX = os.environ.get("SCALEOUT_DATABASE_PREFIX", "aoi")


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test; dropped afterwards. Yields its URL."""
    name = f"{DATABASE_PREFIX}_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_redis() -> str:
    """The Redis database the scale-out processes share, emptied. Returns its URL."""
    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).flushdb()
    return REDIS_URL

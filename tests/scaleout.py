"""PostgreSQL and Redis for the tests that run the product in separate processes."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

import psycopg
import redis

ADMIN_URL = os.environ.get("SCALEOUT_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SCALEOUT_REDIS_URL", "redis://127.0.0.1:6379/13")
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

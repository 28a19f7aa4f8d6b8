"""Exit 0 when PostgreSQL and Redis answer on the addresses given, else 1 (for `make test`)."""

from __future__ import annotations

import sys

import psycopg
import redis


def main(database_url: str, redis_url: str) -> int:
    try:
        # The database itself is created by the tests; the server's own one must answer.
        server = database_url.rsplit("/", 1)[0] + "/postgres"
        psycopg.connect(server, connect_timeout=3).close()
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except Exception as error:  # any failure means "not available", said in one line
        print(f"PostgreSQL/Redis not reachable ({error}); skipping the scale-out run.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

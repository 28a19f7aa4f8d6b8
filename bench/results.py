"""What every benchmark reports alongside its figures: the machine, and the generated part of
BENCHMARKS.md it replaces; plus the PostgreSQL server's administration the benchmarks share."""

from __future__ import annotations

import os
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"


def machine() -> dict[str, str]:
    """CPUs, CPU model, RAM, OS, Python and Django of this machine, by name."""
    import django

    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return {
        "CPUs (nproc)": str(os.cpu_count()),
        "CPU model": cpu,
        "RAM": ram,
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "Django": django.get_version(),
    }


def write_section(
    section: str, *, start_mark: str, end_mark: str, heading: str, path: Path = BENCHMARKS_MD
) -> None:
    """Replace the generated part of BENCHMARKS.md (or `path`) between the markers with
    `section`; the first time, append it under `heading`."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{start_mark}\n{section}{end_mark}"
    if start_mark in text and end_mark in text:
        head, _, rest = text.partition(start_mark)
        _, _, tail = rest.partition(end_mark)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + f"\n\n{heading}\n\n" + block + "\n"
    path.write_text(text)


def libpq_url(url: str) -> str:
    """A Django-style `postgres://` URL as libpq spells it."""
    return url.replace("postgres://", "postgresql://", 1)


def database_url(admin_url: str, database: str) -> str:
    """The URL of `database` on the server `admin_url` points at."""
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{database}"


def postgres_admin(admin_url: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE) on the server."""
    import psycopg

    with psycopg.connect(libpq_url(admin_url), autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql)  # type: ignore[arg-type]  # names are ours, not user input


def postgres_version(admin_url: str) -> str:
    """The server's version ("15.20"); raises psycopg's OperationalError when unreachable."""
    import psycopg

    with psycopg.connect(libpq_url(admin_url), autocommit=True, connect_timeout=10) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return row[0].split()[0] if row else "?"

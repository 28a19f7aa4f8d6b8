"""`make bench-export`: 1,000,000 orders exported as CSV and XLSX through the real view.

On PostgreSQL (`BENCH_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/postgres), for
each size (100,000 and 1,000,000 orders, one item each: `bench.seeding.seed_orders`), a fresh
database is migrated and seeded; then each format is exported in a child process of its own,
through Django's test client as an Operator (buyer columns included): `GET /orders/export.csv`
and `/orders/export.xlsx`, the streamed body read to the end and thrown away.

Per export it reports the time to the first byte, the whole time, the size, and the child's
peak resident set (VmHWM) before the request and at the end. Memory is flat when the peak
stays the same for ten times as many orders. `BENCH_EXPORT_SIZES=10000` runs other sizes;
`BENCH_DB_PREFIX` names the databases (default `aoi_bench_export`). Writes BENCHMARKS.md
between its markers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.results import (
    BENCHMARKS_MD,
    database_url,
    machine,
    postgres_admin,
    postgres_version,
    write_section,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
SIZES = (100_000, 1_000_000)
FORMATS = ("csv", "xlsx")
START_MARK = "<!-- bench-export:start -->"
END_MARK = "<!-- bench-export:end -->"
ACCOUNT_ID = "A2MUELLERHW7QX"


def run_child(kind: str, *, url: str, **options: object) -> dict:
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="bench.settings")
    command = [sys.executable, "-m", "bench.export", "child", kind]
    for name, value in options.items():
        command += [f"--{name}", str(value)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise RuntimeError(f"The bench child {kind!r} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _vm_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child_seed(args: argparse.Namespace) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    from amazon_settings.models import SellerAccount
    from bench import seeding

    call_command("migrate", verbosity=0)
    account = SellerAccount.objects.create(
        selling_partner_id=ACCOUNT_ID, region="eu", display_name="Bench seller"
    )
    started = time.perf_counter()
    seeded = [seeding.SeededAccount(account.pk, seeding.EU_MARKETPLACES)]
    seeding.seed_orders(seeded, args.orders, now=datetime(2026, 6, 1, tzinfo=UTC))
    seeding.analyze()
    return {"seed_seconds": time.perf_counter() - started}


def child_export(args: argparse.Namespace) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment

    from core.roles import OPERATORS, setup_roles

    setup_test_environment()
    user = get_user_model().objects.create_user(username=f"bench-{args.format}")
    user.groups.add(setup_roles()[OPERATORS])
    client = Client()
    client.force_login(user)
    client.get("/orders/")  # load the URLconf, templates and the connection before measuring
    before_kb = _vm_kb("VmHWM")
    started = time.perf_counter()
    response = client.get(f"/orders/export.{args.format}")
    if response.status_code != 200:
        raise RuntimeError(f"The export answered {response.status_code}")
    size, first_byte = 0, None
    for chunk in response.streaming_content:
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(chunk)
    response.close()
    return {
        "seconds": time.perf_counter() - started,
        "first_byte_seconds": first_byte or 0.0,
        "bytes": size,
        "peak_before_mb": before_kb / 1024,
        "peak_mb": _vm_kb("VmHWM") / 1024,
    }


CHILDREN = {"seed": child_seed, "export": child_export}


def render_markdown(info: dict, rows: list[dict], pg_version: str) -> str:
    lines = [
        f"### Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "Machine: "
        + "; ".join(f"{key} {value}" for key, value in info.items() if key != "load")
        + f"; PostgreSQL {pg_version}; load average at the start "
        + f"{info.get('load', '?')} (other work on the machine slows the times, not the memory).",
        "",
        "Orders with one item each, exported through `/orders/export.<format>` by the test "
        "client (an Operator: every column), the body read to the end. Peak RSS is the child "
        "process's VmHWM: before the request (Django, the URLconf, a first page) and at the end.",
        "",
        "| orders | format | rows | time | first byte | size | peak RSS before | peak RSS after "
        "| growth |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['orders']:,} | {row['format'].upper()} | {row['orders']:,} "
            f"| {row['seconds']:.0f} s | {row['first_byte_seconds']:.1f} s "
            f"| {row['bytes'] / 1024 / 1024:.0f} MiB | {row['peak_before_mb']:.0f} MiB "
            f"| {row['peak_mb']:.0f} MiB | {row['peak_mb'] - row['peak_before_mb']:.0f} MiB |"
        )
    lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    admin_url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    prefix = os.environ.get("BENCH_DB_PREFIX", "aoi_bench_export")
    sizes = (
        tuple(int(size) for size in os.environ.get("BENCH_EXPORT_SIZES", "").split(",") if size)
        or SIZES
    )
    pg_version = postgres_version(admin_url)
    info = machine()
    info["load"] = f"{os.getloadavg()[0]:.1f}"
    names = {size: f"{prefix}_{size}" for size in sizes}
    rows: list[dict] = []
    try:
        for size, name in names.items():
            postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
            postgres_admin(admin_url, f'CREATE DATABASE "{name}"')
            seeded = run_child("seed", url=database_url(admin_url, name), orders=size)
            print(f"{size:,} orders seeded in {seeded['seed_seconds']:.0f} s", flush=True)
        # Format by format, so each format's sizes stand side by side as early as possible;
        # the section is written after every export, a run cut short keeps what it measured.
        for export_format in FORMATS:
            for size, name in names.items():
                url = database_url(admin_url, name)
                result = run_child("export", url=url, format=export_format)
                rows.append({"orders": size, "format": export_format, **result})
                print(json.dumps(rows[-1]), flush=True)
                write_section(
                    render_markdown(info, rows, pg_version),
                    start_mark=START_MARK,
                    end_mark=END_MARK,
                    heading="## Latest `make bench-export`",
                )
    finally:
        for name in names.values():
            postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
    print(render_markdown(info, rows, pg_version))
    print(f"Written to {BENCHMARKS_MD.name}.")


def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.export child")
    parser.add_argument("kind", choices=sorted(CHILDREN))
    parser.add_argument("--orders", type=int, default=0)
    parser.add_argument("--format", choices=FORMATS, default="csv")
    args = parser.parse_args(argv)
    print(json.dumps(CHILDREN[args.kind](args)))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child_main(sys.argv[2:])
    else:
        main()

"""`make bench-webhooks`: webhook delivery throughput against a local receiver.

On PostgreSQL (`BENCH_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/postgres), in a
fresh database (`BENCH_DB_PREFIX`, default `aoi_bench_webhooks`): `BENCH_WEBHOOK_EVENTS` orders
(default 10,000, one item each: `bench.seeding.seed_orders`) and an `order.created` event for
each in the change log, for 1 and then for 4 subscriptions at once. The worker's delivery pass
(`api.delivery.deliver_webhooks`, the product's settings: 200 per round, 8 threads) runs until
every event is delivered to every subscription; the receiver is the tests'
(`tests.webhook_receiver`) in a process of its own, checking each signature, answering 204 over
keep-alive connections.

Reports deliveries per second (POSTs answered 2xx, the whole time of the passes: reading the
change log, making and claiming deliveries, building the API's bodies, signing, sending and
recording each try) and the receiver's count of bad signatures (must be 0). Writes
BENCHMARKS.md between its markers.
"""

from __future__ import annotations

import argparse
import json
import os
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
START_MARK = "<!-- bench-webhooks:start -->"
END_MARK = "<!-- bench-webhooks:end -->"
SUBSCRIPTIONS = (1, 4)


def run_child(*, url: str, events: int, subscriptions: int) -> dict:
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="bench.settings")
    command = [
        sys.executable,
        "-m",
        "bench.webhooks",
        "child",
        f"--events={events}",
        f"--subscriptions={subscriptions}",
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise RuntimeError(f"The bench child failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child(args: argparse.Namespace) -> dict:
    import django

    django.setup()
    import requests
    from django.core.management import call_command

    from amazon_settings.models import SellerAccount
    from api import delivery, webhooks
    from api.models import WebhookDelivery, WebhookSubscription
    from bench import seeding
    from core.changes import record_changes
    from orders.models import Order

    call_command("migrate", verbosity=0)
    secrets = []
    for number in range(args.subscriptions):
        _, secret = webhooks.create_subscription(
            name=f"Receiver {number}",
            url="http://127.0.0.1:9/",
            events=["order.created"],
            acting_user=None,
        )
        secrets.append(secret)
    account = SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX", region="eu", display_name="Bench seller"
    )
    seeded = [seeding.SeededAccount(account.pk, seeding.EU_MARKETPLACES)]
    seeding.seed_orders(seeded, args.events, now=datetime(2026, 6, 1, tzinfo=UTC))
    ids = list(Order.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), 5000):
        record_changes(
            kind="order",
            event_type="order.created",
            account_id=account.pk,
            entity_ids=ids[start : start + 5000],
        )
    seeding.analyze()
    receiver = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tests.webhook_receiver", ",".join(secrets)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = receiver.stdout.readline().strip()
        WebhookSubscription.objects.update(url=url)
        expected = len(ids) * args.subscriptions
        passes = 0
        started = time.perf_counter()
        while WebhookDelivery.objects.filter(status="delivered").count() < expected:
            passes += 1
            delivery.deliver_webhooks()
            if passes > 1000:
                raise RuntimeError("Not delivered after 1,000 passes")
        seconds = time.perf_counter() - started
        stats = requests.get(url, timeout=10).json()
    finally:
        receiver.stdin.close()
        receiver.wait(timeout=30)
    return {
        "events": len(ids),
        "subscriptions": args.subscriptions,
        "deliveries": expected,
        "seconds": seconds,
        "passes": passes,
        "received": stats["received"],
        "bad_signatures": stats["bad_signatures"],
    }


def render_markdown(info: dict, rows: list[dict], pg_version: str) -> str:
    lines = [
        f"### Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "Machine: "
        + "; ".join(f"{key} {value}" for key, value in info.items() if key != "load")
        + f"; PostgreSQL {pg_version}; load average at the start {info.get('load', '?')} "
        "(other work on the machine slows the figures).",
        "",
        "`order.created` events of orders with one item each, delivered by the worker's pass "
        "(`api.delivery.deliver_webhooks`, default settings) to the tests' receiver in its own "
        "process on 127.0.0.1 (signature checked, 204). Time: from the first pass to the last "
        "delivery recorded.",
        "",
        "| events | subscriptions | deliveries | passes | time | deliveries/s | received "
        "| bad signatures |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['events']:,} | {row['subscriptions']} | {row['deliveries']:,} "
            f"| {row['passes']} | {row['seconds']:.1f} s "
            f"| {row['deliveries'] / row['seconds']:,.0f} | {row['received']:,} "
            f"| {row['bad_signatures']} |"
        )
    lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    admin_url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    prefix = os.environ.get("BENCH_DB_PREFIX", "aoi_bench_webhooks")
    events = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "10000"))
    pg_version = postgres_version(admin_url)
    info = machine()
    info["load"] = f"{os.getloadavg()[0]:.1f}"
    rows: list[dict] = []
    for subscriptions in SUBSCRIPTIONS:
        name = f"{prefix}_{subscriptions}"
        postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
        postgres_admin(admin_url, f'CREATE DATABASE "{name}"')
        try:
            result = run_child(
                url=database_url(admin_url, name), events=events, subscriptions=subscriptions
            )
        finally:
            postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
        rows.append(result)
        print(json.dumps(result), flush=True)
        write_section(
            render_markdown(info, rows, pg_version),
            start_mark=START_MARK,
            end_mark=END_MARK,
            heading="## Latest `make bench-webhooks`",
        )
    print(render_markdown(info, rows, pg_version))
    print(f"Written to {BENCHMARKS_MD.name}.")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        parser = argparse.ArgumentParser(prog="bench.webhooks child")
        parser.add_argument("--events", type=int, default=10_000)
        parser.add_argument("--subscriptions", type=int, default=1)
        print(json.dumps(child(parser.parse_args(sys.argv[2:]))))
    else:
        main()

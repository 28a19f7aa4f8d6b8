"""`make bench`: import speed and memory against a floor, and page times on big tables.

Usage: `python -m bench.run` (all sizes) or `BENCH_QUICK=1 python -m bench.run` (10k rows only,
no page measurement). `BENCH_POSTGRES_URL` names the PostgreSQL server (default
postgres://postgres@127.0.0.1:5432/postgres); without a reachable server only SQLite runs.

Every measurement runs in its own child process (`python -m bench.run child ...`) on its own
database, so one measurement's memory or caches never colour the next:

* import: a fresh migrated database, the document imported once (first import), then the same
  document again in a second child on that database (re-import);
* floor: the same rows read with the `csv` module and inserted with `executemany`, in one
  transaction, into a plain table with the order item's columns, on a fresh database;
* memory: the child's peak resident set size (`resource.getrusage(RUSAGE_SELF).ru_maxrss`)
  minus its resident set size just before the import started, i.e. what the import added;
* pages (PostgreSQL): 1,000,000 orders (one item each) and 20,000 reports inserted with SQL,
  then each page requested through Django's test client; server time is the time the client
  call takes in-process (URL routing, view, queries, template rendering).

One module of some 750 lines on purpose: the parent and its children are one script
(`python -m bench.run` and `python -m bench.run child …`), and everything a child measures is
here to read next to how the parent reports it.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.results import (
    BENCHMARKS_MD,
    database_url,
    machine,
    postgres_admin,
    postgres_version,
    write_section,
)

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / "var" / "bench"
SIZES = (10_000, 100_000)
QUICK_SIZES = (10_000,)
PAGE_ORDERS = 1_000_000
PAGE_REPORTS = 20_000
PAGE_REQUESTS = 50
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
ACCOUNT_ID = "A2MUELLERHW7QX"
START_MARK = "<!-- bench:start -->"
END_MARK = "<!-- bench:end -->"

# Goals (issue "Orders … fast").
FIRST_IMPORT_FACTOR = 3.0
REIMPORT_FACTOR = 1.5
MEMORY_LIMIT_MB = 200
PAGE_P95_MS = 100

REPORT_NAMES = {
    "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING": "MFN flat file",
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING": "FBA shipments",
}


@dataclass
class Backend:
    """One database server: hands out fresh, migrated databases and removes them after."""

    name: str
    admin_url: str = ""  # PostgreSQL only
    workdir: Path | None = None
    template: str = ""
    created: list[str] = field(default_factory=list)

    def prepare(self) -> None:
        """Migrate a template database once; `fresh()` copies it."""
        if self.name == "sqlite":
            self.workdir = Path(tempfile.mkdtemp(prefix="aoi-bench-sqlite-"))
            self.template = str(self.workdir / "template.sqlite3")
            run_child("migrate", url=f"sqlite:///{self.template}")
        else:
            self.template = f"aoi_bench_{os.getpid()}_template"
            self._admin(f'CREATE DATABASE "{self.template}"')
            self.created.append(self.template)
            run_child("migrate", url=self._url(self.template))

    def fresh(self, label: str) -> str:
        """The URL of a new database holding the migrated schema and the bench account."""
        if self.name == "sqlite":
            assert self.workdir is not None
            path = self.workdir / f"{label}.sqlite3"
            shutil.copyfile(self.template, path)
            return f"sqlite:///{path}"
        name = f"aoi_bench_{os.getpid()}_{label}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return self._url(name)

    def cleanup(self) -> None:
        if self.name == "sqlite":
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
            return
        for name in reversed(self.created):
            self._admin(f'DROP DATABASE IF EXISTS "{name}"')
        self.created.clear()

    def version(self) -> str:
        if self.name == "sqlite":
            import sqlite3

            return sqlite3.sqlite_version
        return postgres_version(self.admin_url)

    def _admin(self, sql: str) -> None:
        postgres_admin(self.admin_url, sql)

    def _url(self, database: str) -> str:
        return database_url(self.admin_url, database)


def postgres_backend() -> Backend | None:
    url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    backend = Backend("postgresql", admin_url=url)
    try:
        backend.version()
    except Exception as error:
        print(f"PostgreSQL at {url} is not reachable ({error}); measuring SQLite only.")
        return None
    return backend


def run_child(kind: str, *, url: str, **options: Any) -> dict:
    """Run `python -m bench.run child <kind>` on the database `url`; its JSON result."""
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="bench.settings")
    env.pop("BENCH_QUICK", None)
    command = [sys.executable, "-m", "bench.run", "child", kind]
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise RuntimeError(f"The bench child {kind!r} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _setup_django() -> None:
    import django

    django.setup()


def _rss_now_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak_delta_mb(before_kb: int) -> float:
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return max(0, peak_kb - before_kb) / 1024


def child_migrate(args: argparse.Namespace) -> dict:
    _setup_django()
    from django.core.management import call_command

    from amazon_settings.models import SellerAccount

    call_command("migrate", verbosity=0)
    SellerAccount.objects.create(
        selling_partner_id=ACCOUNT_ID, region="eu", display_name="Bench seller"
    )
    return {}


def child_import(args: argparse.Namespace) -> dict:
    _setup_django()
    from django.db import connection

    from amazon_settings.models import SellerAccount
    from bench.data import bench_seller
    from orders.importers.base import ImportContext
    from orders.importers.registry import get_importer

    account = SellerAccount.objects.get(selling_partner_id=ACCOUNT_ID)
    importer = get_importer(args.report_type)
    context = ImportContext(
        account=account,
        report_type=args.report_type,
        source_report_id=args.report_id,
        marketplace_ids=bench_seller().marketplace_ids,
    )
    connection.ensure_connection()
    sql_time = _SqlTime(connection)
    gc.collect()
    before = _rss_now_kb()
    started = time.perf_counter()
    with open(args.file, encoding="utf-8", newline="") as stream, sql_time:
        result = importer.import_document(stream, context=context)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "sql_seconds": sql_time.seconds,
        "memory_mb": _peak_delta_mb(before),
        "rows": result.rows,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "failed": result.failed,
    }


class _SqlTime:
    """Seconds spent waiting for the database during an import: every statement's execution,
    timed by a `connection.execute_wrapper` hook (the bulk writes and key lookups of
    `orders.services.sql` run through Django's cursor wrappers too). Fetching the rows of a
    SELECT afterwards is not counted."""

    def __init__(self, connection) -> None:
        self.seconds = 0.0
        self._connection = connection

    def _timed(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started

    def __enter__(self):
        self._wrapping = self._connection.execute_wrapper(self._timed)
        self._wrapping.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._wrapping.__exit__(*exc)


FLOOR_COLUMNS = (
    "amazon_order_id",
    "order_item_id",
    "sku",
    "asin",
    "product_name",
    "quantity_ordered",
    "quantity_shipped",
    "item_price",
    "item_tax",
    "shipping_price",
    "shipping_tax",
    "source_report_id",
    "source_line",
)


def child_floor(args: argparse.Namespace) -> dict:
    """The floor: csv + executemany into a plain table shaped like orders_orderitem."""
    _setup_django()
    from django.db import connection, transaction

    pk = (
        "integer PRIMARY KEY AUTOINCREMENT"
        if connection.vendor == "sqlite"
        else "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE bench_floor (id {pk}, amazon_order_id varchar(32) NOT NULL, "
            "order_item_id varchar(120) NOT NULL, sku varchar(100) NOT NULL, "
            "asin varchar(20) NOT NULL, product_name varchar(500) NOT NULL, "
            "quantity_ordered integer NOT NULL, quantity_shipped integer NOT NULL, "
            "item_price numeric(14, 2) NOT NULL, item_tax numeric(14, 2) NOT NULL, "
            "shipping_price numeric(14, 2) NOT NULL, shipping_tax numeric(14, 2) NOT NULL, "
            "source_report_id bigint NULL, source_line integer NULL)"
        )
    placeholders = ", ".join(["%s"] * len(FLOOR_COLUMNS))
    sql = f"INSERT INTO bench_floor ({', '.join(FLOOR_COLUMNS)}) VALUES ({placeholders})"  # noqa: S608
    gc.collect()
    before = _rss_now_kb()
    started = time.perf_counter()
    rows = 0
    with (
        open(args.file, encoding="utf-8", newline="") as stream,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        for batch in _floor_batches(stream, args.report_id):
            cursor.executemany(sql, batch)
            rows += len(batch)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "memory_mb": _peak_delta_mb(before), "rows": rows}


def _floor_batches(stream, report_id: int, size: int = 2000) -> Iterator[list[tuple]]:
    reader = csv.reader(stream, delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader)
    at = {name: index for index, name in enumerate(header)}
    order = at.get("order-id", at.get("amazon-order-id"))
    item = at.get("order-item-id", at.get("amazon-order-item-id"))
    quantity = at.get("quantity-purchased", at.get("quantity-shipped"))
    shipped = at.get("quantity-shipped")
    asin = at.get("asin")
    money = [at["item-price"], at["item-tax"], at["shipping-price"], at["shipping-tax"]]
    batch: list[tuple] = []
    for line, fields in enumerate(reader, start=2):
        batch.append(
            (
                fields[order],
                fields[item],
                fields[at["sku"]],
                fields[asin] if asin is not None else "",
                fields[at["product-name"]][:500],
                int(fields[quantity]),
                int(fields[shipped]) if shipped is not None else 0,
                *(Decimal(fields[i] or "0") for i in money),
                report_id,
                line,
            )
        )
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def child_pages(args: argparse.Namespace) -> dict:
    """Seed 1M orders and 20k reports, then time the Orders, Processing and home pages."""
    _setup_django()
    from django.contrib.auth import get_user_model
    from django.core.paginator import Paginator
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import Resolver404, resolve

    from amazon_settings.models import SellerAccount
    from bench import seeding
    from core.roles import OPERATORS, setup_roles
    from orders.selectors import order_list

    setup_test_environment()
    account = SellerAccount.objects.get(selling_partner_id=ACCOUNT_ID)
    started = time.perf_counter()
    seeded = [seeding.SeededAccount(account.pk, seeding.EU_MARKETPLACES)]
    now = datetime.now(UTC)
    seeding.seed_orders(seeded, args.orders, now=now)
    seeding.seed_reports(seeded, args.reports, now=now)
    seeding.analyze()
    seed_seconds = time.perf_counter() - started

    user = get_user_model().objects.create_user(username="bench", password="bench-password-1")  # noqa: S106
    # Every page needs a role (core/roles.py); an Operator sees them all, buyers' data included.
    user.groups.add(setup_roles()[OPERATORS])
    client = Client()
    client.force_login(user)

    def timed(label: str, call) -> dict:
        for _ in range(3):  # warm the connection, caches and template loader
            call()
        queries = []
        with connection.execute_wrapper(
            lambda run, sql, *rest: queries.append(sql) or run(sql, *rest)
        ):
            call()
        times = []
        for _ in range(args.requests):
            begin = time.perf_counter()
            call()
            times.append((time.perf_counter() - begin) * 1000)
        times.sort()
        return {
            "label": label,
            "p50_ms": statistics.median(times),
            "p95_ms": times[max(0, round(0.95 * len(times)) - 1)],
            "queries": len(queries),
        }

    def get(path: str):
        def call():
            response = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} answered {response.status_code}")
            return response

        return call

    results = []
    try:
        resolve("/orders/")
        orders_page = True
    except Resolver404:
        orders_page = False
    if orders_page:
        results.append(timed("Orders page `/orders/`", get("/orders/")))
    else:

        def first_page():
            page = Paginator(order_list(), 50).get_page(1)
            return [list(order.items.all()) for order in page]

        results.append(
            timed("`order_list()` first page of 50 + count (no `/orders/` yet)", first_page)
        )
    results.append(timed("Processing page `/reports/`", get("/reports/")))
    results.append(timed("Home page `/`", get("/")))
    return {"seed_seconds": seed_seconds, "orders_page": orders_page, "pages": results}


def child_document(args: argparse.Namespace) -> dict:
    from bench.data import ensure_document

    return {"path": str(ensure_document(CACHE_DIR, args.report_type, args.rows))}


CHILDREN = {
    "document": child_document,
    "migrate": child_migrate,
    "import": child_import,
    "floor": child_floor,
    "pages": child_pages,
}


@dataclass
class ImportRow:
    backend: str
    report_type: str
    rows: int
    floor: dict
    first: dict
    again: dict

    @property
    def first_factor(self) -> float:
        return self.first["seconds"] / self.floor["seconds"]

    @property
    def again_factor(self) -> float:
        return self.again["seconds"] / self.floor["seconds"]


def measure_imports(backend: Backend, sizes: tuple[int, ...], files: dict) -> list[ImportRow]:
    rows = []
    for size in sizes:
        for report_type, name in REPORT_NAMES.items():
            path = files[(report_type, size)]
            label = f"{'mfn' if 'FLAT' in report_type else 'fba'}_{size}"
            floor = run_child("floor", url=backend.fresh(f"floor_{label}"), file=path, report_id=1)
            url = backend.fresh(f"import_{label}")
            options = {"file": path, "report_type": report_type}
            first = run_child("import", url=url, report_id=1, **options)
            again = run_child("import", url=url, report_id=2, **options)
            if again["created"] or again["updated"] or first["failed"]:
                raise RuntimeError(f"{name} {size}: the re-import was not a no-op: {again}")
            row = ImportRow(backend.name, name, size, floor, first, again)
            print(
                f"  {backend.name:10} {name:14} {size:>7,} rows: floor {floor['seconds']:6.2f} s,"
                f" first {first['seconds']:6.2f} s ({row.first_factor:.1f}x,"
                f" SQL {first['sql_seconds']:.2f} s),"
                f" re-import {again['seconds']:6.2f} s ({row.again_factor:.1f}x),"
                f" memory {first['memory_mb']:.0f}/{again['memory_mb']:.0f} MB",
                flush=True,
            )
            rows.append(row)
    return rows


def render_markdown(
    info: dict[str, str], imports: list[ImportRow], pages: dict | None, quick: bool
) -> str:
    out = [
        f"### Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC" + (" (BENCH_QUICK)" if quick else "")
    ]
    out.append("")
    out += [f"- {name}: {value}" for name, value in info.items()]
    out += [
        "",
        "Import: rows per second (higher is better); the factor is the time over the floor's"
        f" time (goals: first import ≤ {FIRST_IMPORT_FACTOR:g}x, re-import ≤"
        f" {REIMPORT_FACTOR:g}x). Memory: peak RSS growth of the importing child process"
        f" (`ru_maxrss` - RSS before the import; goal < {MEMORY_LIMIT_MB} MB, flat in size)."
        ' "Of which SQL": the first import\'s time waiting for the database (writes of'
        " orders, items and shipment lines with all their indexes, key lookups), also over the"
        " floor's whole time.",
        "",
        "| Database | Report | Rows | Floor rows/s | First import rows/s | x floor |"
        " of which SQL | Re-import rows/s | x floor | Peak RSS Δ first / re-import |"
        " Floor RSS Δ |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in imports:
        out.append(
            f"| {r.backend} | {r.report_type} | {r.rows:,} | {r.rows / r.floor['seconds']:,.0f}"
            f" | {r.rows / r.first['seconds']:,.0f} | {r.first_factor:.2f}"
            f" | {r.first['sql_seconds'] / r.floor['seconds']:.2f}x"
            f" | {r.rows / r.again['seconds']:,.0f} | {r.again_factor:.2f}"
            f" | {r.first['memory_mb']:.0f} / {r.again['memory_mb']:.0f} MB"
            f" | {r.floor['memory_mb']:.0f} MB |"
        )
    if pages:
        out += [
            "",
            f"Pages on PostgreSQL with {pages['orders']:,} orders (one item each) and"
            f" {pages['reports']:,} reports, {PAGE_REQUESTS} requests each after 3 warm-ups,"
            f" Django test client in-process (goal p95 < {PAGE_P95_MS} ms). Seeding took"
            f" {pages['seed_seconds']:.0f} s.",
            "",
            "| Page | p50 ms | p95 ms | Queries |",
            "|---|---:|---:|---:|",
        ]
        for p in pages["pages"]:
            out.append(f"| {p['label']} | {p['p50_ms']:.1f} | {p['p95_ms']:.1f} | {p['queries']} |")
    elif not quick:
        out += ["", "Pages: not measured (no PostgreSQL server reachable)."]
    return "\n".join(out) + "\n"


def main() -> None:
    quick = os.environ.get("BENCH_QUICK", "").strip() not in ("", "0")
    sizes = QUICK_SIZES if quick else SIZES
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    from bench.data import document_path

    # A stopped run (Ctrl-C, kill) still drops its databases (the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    started = time.perf_counter()
    files = {}
    for report_type in REPORT_NAMES:
        # The biggest first: smaller documents are its first rows.
        for size in sorted(sizes, reverse=True):
            print(f"Document: {REPORT_NAMES[report_type]}, {size:,} rows…", flush=True)
            path = document_path(CACHE_DIR, report_type, size)
            if not path.exists():
                # In a child: Linux children inherit the parent's ru_maxrss high-water mark, and
                # the generator's gigabyte would then hide every later memory figure.
                run_child("document", url="", report_type=report_type, rows=size)
            files[(report_type, size)] = path

    backends = [Backend("sqlite")]
    postgres = postgres_backend()
    if postgres is not None:
        backends.append(postgres)
    info = machine()
    imports: list[ImportRow] = []
    pages = None
    for backend in backends:
        try:
            info[f"{backend.name} version"] = backend.version()
            print(f"Migrating a {backend.name} template database…", flush=True)
            backend.prepare()
            imports += measure_imports(backend, sizes, files)
            if backend.name == "postgresql" and not quick:
                print(f"Pages: seeding {PAGE_ORDERS:,} orders, {PAGE_REPORTS:,} reports…")
                pages = run_child(
                    "pages",
                    url=backend.fresh("pages"),
                    orders=PAGE_ORDERS,
                    reports=PAGE_REPORTS,
                    requests=PAGE_REQUESTS,
                )
                pages |= {"orders": PAGE_ORDERS, "reports": PAGE_REPORTS}
        finally:
            backend.cleanup()
    section = render_markdown(info, imports, pages, quick)
    print()
    print(section)
    write_section(
        section, start_mark=START_MARK, end_mark=END_MARK, heading="## Latest `make bench`"
    )
    print(f"Written to {BENCHMARKS_MD.name} ({time.perf_counter() - started:.0f} s in all).")


def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.run child")
    parser.add_argument("kind", choices=sorted(CHILDREN))
    parser.add_argument("--file")
    parser.add_argument("--report-type")
    parser.add_argument("--report-id", type=int, default=1)
    parser.add_argument("--rows", type=int, default=0)
    parser.add_argument("--orders", type=int, default=PAGE_ORDERS)
    parser.add_argument("--reports", type=int, default=PAGE_REPORTS)
    parser.add_argument("--requests", type=int, default=PAGE_REQUESTS)
    args = parser.parse_args(argv)
    result = CHILDREN[args.kind](args)
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child_main(sys.argv[2:])
    else:
        main()

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
import platform
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
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / "var" / "bench"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
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
        import psycopg

        with psycopg.connect(_libpq_url(self.admin_url), autocommit=True) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return row[0].split()[0] if row else "?"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(_libpq_url(self.admin_url), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]  # names are ours, not user input

    def _url(self, database: str) -> str:
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{database}"


def _libpq_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


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
    from orders.selectors import order_list

    setup_test_environment()
    account = SellerAccount.objects.get(selling_partner_id=ACCOUNT_ID)
    started = time.perf_counter()
    _seed_orders(account, args.orders)
    _seed_reports(account, args.reports)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seed_seconds = time.perf_counter() - started

    user = get_user_model().objects.create_user(username="bench", password="bench-password-1")  # noqa: S106
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


def _seed_orders(account, count: int) -> None:
    """Insert `count` orders with one item each, straight in SQL (generate_series)."""
    from django.db import connection

    from orders.models import Order, OrderItem

    now = datetime.now(UTC)
    first = now - timedelta(days=730)
    step = (now - first) / count
    expressions = {
        "account_id": "%(account)s",
        "amazon_order_id": "lpad((g %% 1000)::text, 3, '0') || '-' || lpad(g::text, 7, '0')"
        " || '-' || lpad(((g::bigint * 7919) %% 10000000)::text, 7, '0')",
        "marketplace_id": "(ARRAY['A1PA6795UKMFR9','A13V1IB3VIYZZH','APJ6JRA9NG5V4',"
        "'A1RKKUPIHCS9HS','A1F83G8C2ARO7P'])[1 + g %% 5]",
        "sales_channel": "(ARRAY['Amazon.de','Amazon.fr','Amazon.it','Amazon.es',"
        "'Amazon.co.uk'])[1 + g %% 5]",
        "fulfillment_channel": "CASE WHEN g %% 3 = 0 THEN 'AFN' ELSE 'MFN' END",
        "purchased_at": "%(first)s::timestamptz + (g * %(step)s::interval)",
        "last_updated_at": "%(first)s::timestamptz + (g * %(step)s::interval)",
        "status": "(ARRAY['Shipped','Shipped','Shipped','Unshipped','Canceled'])[1 + g %% 5]",
        "currency": "'EUR'",
        "items_total": "((g %% 9000) / 100.0 + 5)::numeric(14, 2)",
        "tax_total": "((g %% 9000) / 600.0)::numeric(14, 2)",
        "shipping_total": "((g %% 4) * 1.99)::numeric(14, 2)",
        "buyer_name": "'Buyer ' || (g %% 50000)",
        "buyer_email": "'b' || (g %% 50000) || '@marketplace.amazon.de'",
        "recipient_name": "'Buyer ' || (g %% 50000)",
        "ship_city": "'Berlin'",
        "ship_postal_code": "lpad((g %% 99999)::text, 5, '0')",
        "ship_country": "'DE'",
        "ship_service_level": "'Standard'",
        "created_at": "%(now)s",
        "changed_at": "%(now)s",
    }
    params = {"account": account.pk, "first": first, "step": step, "now": now}
    _insert_select(Order, expressions, count, params)
    items, orders = OrderItem._meta.db_table, Order._meta.db_table
    item_sql = (
        "INSERT INTO " + items + " (order_id, order_item_id, sku, asin, "
        "product_name, quantity_ordered, quantity_shipped, item_price, item_tax, "
        "shipping_price, shipping_tax) "
        "SELECT id, lpad(id::text, 14, '0'), 'SKU-' || (id %% 500), 'B0' || lpad((id %% 500)::text,"
        " 8, '0'), 'Product ' || (id %% 500), 1, 1, items_total, tax_total, shipping_total, 0 "
        "FROM " + orders
    )
    with connection.cursor() as cursor:
        cursor.execute(item_sql, [])  # with params, so "%%" means "%"


def _insert_select(model, expressions: dict[str, str], count: int, params: dict) -> None:
    """INSERT INTO model SELECT ... FROM generate_series(1, count): one statement, no Python
    per row. Fields without an expression get their Python default (or NULL)."""
    from django.db import connection

    columns, values = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(f.column)
        if f.column in expressions:
            values.append(expressions[f.column])
        else:
            key = f"default_{f.column}"
            params[key] = (
                f.get_db_prep_save(f.get_default(), connection)
                if f.has_default()
                else ("" if f.empty_strings_allowed and not f.null else None)
            )
            values.append(f"%({key})s")
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM generate_series(1, {int(count)}) AS g"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _seed_reports(account, count: int) -> None:
    from reports.models import Report

    statuses = [s for s, _ in Report.ImportStatus.choices]
    types = [
        "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
        "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING",
        "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
        "GET_AFN_INVENTORY_DATA",
    ]
    now = datetime.now(UTC)
    batch = []
    for n in range(count):
        status = statuses[n % len(statuses)]
        batch.append(
            Report(
                account=account,
                report_type=types[n % len(types)],
                marketplace_ids=["A1PA6795UKMFR9"],
                data_start=now - timedelta(days=n % 700 + 1),
                data_end=now - timedelta(days=n % 700),
                amazon_report_id=str(50_000_000 + n),
                amazon_status="DONE",
                import_status=status,
                rows_total=1000,
                rows_done=1000 if status == "imported" else 0,
                rows_created=n % 1000,
            )
        )
        if len(batch) == 2000:
            Report.objects.bulk_create(batch)
            batch = []
    Report.objects.bulk_create(batch)


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


def machine() -> dict[str, str]:
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


def write_benchmarks(section: str) -> None:
    """Replace the generated part of BENCHMARKS.md (between the markers) with `section`."""
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else "# Benchmarks\n"
    block = f"{START_MARK}\n{section}{END_MARK}"
    if START_MARK in text and END_MARK in text:
        head, _, rest = text.partition(START_MARK)
        _, _, tail = rest.partition(END_MARK)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## Latest `make bench`\n\n" + block + "\n"
    BENCHMARKS_MD.write_text(text)


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
    write_benchmarks(section)
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

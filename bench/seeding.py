"""Big tables for the page benchmarks, written straight in SQL on PostgreSQL.

`make bench` (its page timings) and `make bench-load` seed through here. Every table is filled
by one `INSERT … SELECT` over `generate_series` or over the rows seeded before it, so a million
orders cost no Python per row. The values follow `g`, the row's number, so a seeded database
is the same on every run; what a benchmark needs to vary (accounts and their marketplaces,
items per order, when orders were imported) is an argument.

PostgreSQL only: `generate_series`, arrays and `LATERAL` have no SQLite equivalent worth the
second dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# The span the orders' purchase dates cover: the Orders page's date filters and its pages of
# newest orders then read a realistic share of the table.
ORDER_HISTORY = timedelta(days=730)


@dataclass(frozen=True)
class SeededMarketplace:
    marketplace_id: str
    sales_channel: str
    currency: str


@dataclass(frozen=True)
class SeededAccount:
    """An account that receives seeded rows, with the marketplaces its orders are spread over."""

    pk: int
    marketplaces: tuple[SeededMarketplace, ...]


# `make bench`'s single account sells on the five big European marketplaces.
EU_MARKETPLACES = (
    SeededMarketplace("A1PA6795UKMFR9", "Amazon.de", "EUR"),
    SeededMarketplace("A13V1IB3VIYZZH", "Amazon.fr", "EUR"),
    SeededMarketplace("APJ6JRA9NG5V4", "Amazon.it", "EUR"),
    SeededMarketplace("A1RKKUPIHCS9HS", "Amazon.es", "EUR"),
    SeededMarketplace("A1F83G8C2ARO7P", "Amazon.co.uk", "GBP"),
)

REPORT_TYPES = (
    "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING",
    "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
    "GET_AFN_INVENTORY_DATA",
)


def insert_select(
    model: Any, expressions: dict[str, str], params: dict[str, Any], *, source: str
) -> int:
    """INSERT INTO model's table SELECT one expression per column FROM `source`: one statement,
    no Python per row. Fields without an expression get their Python default (or NULL, or ""
    where NULL is not allowed). Expressions and `source` are SQL of ours; values go in
    `params` (pyformat, so a literal "%" is written "%%"). Returns the rows inserted."""
    from django.db import connection

    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in expressions:
            values.append(expressions[field.column])
            continue
        key = f"default_{field.column}"
        params[key] = (
            field.get_db_prep_save(field.get_default(), connection)
            if field.has_default()
            else ("" if field.empty_strings_allowed and not field.null else None)
        )
        values.append(f"%({key})s")
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM {source}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _per_account(accounts: Sequence[SeededAccount], pick: str, params: dict[str, Any]) -> str:
    """SQL for the value `pick` ("marketplace_id", "sales_channel", "currency") of row `g`'s
    marketplace: row g belongs to account g % n and takes that account's marketplaces in turn."""
    n = len(accounts)
    branches = []
    for index, account in enumerate(accounts):
        key = f"{pick}_{index}"
        params[key] = [getattr(m, pick) for m in account.marketplaces]
        size = len(account.marketplaces)
        branches.append(f"WHEN {index} THEN (%({key})s::text[])[1 + (g / {n}) %% {size}]")
    return f"CASE g %% {n} {' '.join(branches)} END"


def seed_orders(
    accounts: Sequence[SeededAccount],
    count: int,
    *,
    now: datetime,
    extra_items: bool = False,
    imported_after_purchase: bool = False,
) -> None:
    """Insert `count` orders, row g for account g % len(accounts), purchased over the last two
    years (row `count` newest), each with one item; with `extra_items` every fifth order has a
    second item and every twentieth a third. `imported_after_purchase` dates each order's
    import (`created_at`) two hours after its purchase, as a worker importing all along would;
    otherwise every order was imported at `now`, as after one first import of everything."""

    from orders.models import Order, OrderItem

    if not accounts or any(not a.marketplaces for a in accounts):
        raise ValueError("every seeded account needs at least one marketplace")
    n = len(accounts)
    first = now - ORDER_HISTORY
    params: dict[str, Any] = {
        "accounts": [a.pk for a in accounts],
        "first": first,
        "step": ORDER_HISTORY / count,
        "now": now,
    }
    purchased = "%(first)s::timestamptz + (g * %(step)s::interval)"
    expressions = {
        "account_id": f"(%(accounts)s::bigint[])[1 + g %% {n}]",
        "amazon_order_id": "lpad((g %% 1000)::text, 3, '0') || '-' || lpad(g::text, 7, '0')"
        " || '-' || lpad(((g::bigint * 7919) %% 10000000)::text, 7, '0')",
        "marketplace_id": _per_account(accounts, "marketplace_id", params),
        "sales_channel": _per_account(accounts, "sales_channel", params),
        "currency": _per_account(accounts, "currency", params),
        "fulfillment_channel": "CASE WHEN g %% 3 = 0 THEN 'AFN' ELSE 'MFN' END",
        "purchased_at": purchased,
        "last_updated_at": purchased,
        "status": "(ARRAY['Shipped','Shipped','Shipped','Unshipped','Canceled'])[1 + g %% 5]",
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
        "created_at": f"LEAST({purchased} + interval '2 hours', %(now)s)"
        if imported_after_purchase
        else "%(now)s",
        "changed_at": "%(now)s",
    }
    insert_select(Order, expressions, params, source=f"generate_series(1, {int(count)}) AS g")
    items = "1 + (o.id %% 5 = 0)::int + (o.id %% 20 = 0)::int" if extra_items else "1"
    # Every other column (gift wrap, promotions, ...) gets its model default.
    insert_select(
        OrderItem,
        {
            "order_id": "o.id",
            "order_item_id": "lpad(o.id::text, 12, '0') || lpad(k::text, 2, '0')",
            "sku": "'SKU-' || ((o.id + 7 * (k - 1)) %% 500)",
            "asin": "'B0' || lpad(((o.id + 7 * (k - 1)) %% 500)::text, 8, '0')",
            "product_name": "'Product ' || ((o.id + 7 * (k - 1)) %% 500)",
            "quantity_ordered": "1",
            "quantity_shipped": "1",
            "item_price": "CASE WHEN k = 1 THEN o.items_total ELSE 9.99 END",
            "item_tax": "CASE WHEN k = 1 THEN o.tax_total ELSE 1.60 END",
            "shipping_price": "CASE WHEN k = 1 THEN o.shipping_total ELSE 0 END",
            "shipping_tax": "0",
        },
        {},
        source=(f"{Order._meta.db_table} AS o CROSS JOIN LATERAL generate_series(1, {items}) AS k"),
    )


def seed_reports(
    accounts: Sequence[SeededAccount],
    count: int,
    *,
    now: datetime,
    statuses: Sequence[str] | None = None,
    events_per_report: int = 0,
) -> None:
    """Create `count` reports spread over the accounts, report types and the last 700 days,
    taking `statuses` in turn (default: every import status). A benchmark with a live worker
    passes finished statuses only: a seeded report "still waiting for Amazon" would send the
    worker to ask Amazon about a report Amazon never made. Each report gets
    `events_per_report` history events (its details page lists them)."""
    from reports.models import Report, ReportEvent

    statuses = list(statuses or [s for s, _ in Report.ImportStatus.choices])
    batch = []
    for n in range(count):
        account = accounts[n % len(accounts)]
        status = statuses[n % len(statuses)]
        batch.append(
            Report(
                account_id=account.pk,
                report_type=REPORT_TYPES[n % len(REPORT_TYPES)],
                marketplace_ids=[account.marketplaces[0].marketplace_id],
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
    if events_per_report:
        insert_select(
            ReportEvent,
            {
                "report_id": "r.id",
                "at": "r.created_at + k * interval '1 minute'",
                "import_status": "r.import_status",
                "amazon_status": "r.amazon_status",
                "message": "'Step ' || k || ' of the report''s way through the worker.'",
            },
            {},
            source=f"{Report._meta.db_table} AS r"
            f" CROSS JOIN generate_series(1, {int(events_per_report)}) AS k",
        )


def seed_returns(*, every: int) -> int:
    """A return for the first item of every `every`-th order, twelve days after its purchase."""
    from orders.models import Order, OrderItem, Return

    return insert_select(
        Return,
        {
            "account_id": "o.account_id",
            "order_id": "o.id",
            "amazon_order_id": "o.amazon_order_id",
            "order_missing": "false",
            "returned_at": "o.purchased_at + interval '12 days'",
            "sku": "i.sku",
            "line_key": "'LPN' || lpad(o.id::text, 10, '0')",
            "asin": "i.asin",
            "fnsku": "'X00' || lpad((o.id %% 500)::text, 7, '0')",
            "product_name": "i.product_name",
            "quantity": "1",
            "fulfillment_center_id": "'LEJ1'",
            "detailed_disposition": "(ARRAY['SELLABLE','CUSTOMER_DAMAGED','DEFECTIVE'])"
            "[1 + o.id %% 3]",
            "reason": "(ARRAY['NOT_AS_DESCRIBED','UNWANTED_ITEM','DEFECTIVE'])[1 + o.id %% 3]",
            "status": "'Unit returned to inventory'",
            "license_plate_number": "'LPN' || lpad(o.id::text, 10, '0')",
        },
        {},
        source=f"{Order._meta.db_table} AS o JOIN {OrderItem._meta.db_table} AS i"
        " ON i.order_id = o.id AND i.order_item_id = lpad(o.id::text, 12, '0') || '01'"
        f" WHERE o.id %% {int(every)} = 0",
    )


def seed_invoices(*, every: int) -> int:
    """Amazon's VAT invoice (VCS) for every `every`-th order, issued the day after purchase."""
    from orders.models import Invoice, Order

    return insert_select(
        Invoice,
        {
            "account_id": "o.account_id",
            "order_id": "o.id",
            "amazon_order_id": "o.amazon_order_id",
            "number": "'INV-' || lpad(o.id::text, 10, '0')",
            "kind": "'invoice'",
            "source": "'amazon_vcs'",
            "issued_on": "(o.purchased_at + interval '1 day')::date",
            "transaction_id": "'T' || o.id",
            "shipment_id": "'S' || o.id",
            "currency": "o.currency",
            "net": "o.items_total - o.tax_total",
            "vat": "o.tax_total",
            "gross": "o.items_total",
        },
        {},
        source=f"{Order._meta.db_table} AS o WHERE o.id %% {int(every)} = 0",
    )


def seed_stock(
    accounts: Sequence[SeededAccount],
    *,
    now: datetime,
    skus: int,
    changes_per_level: int,
    snapshots: int,
) -> None:
    """Per account: `skus` SKUs in a sellable and an unsellable condition, each level with
    `changes_per_level` changes over the last days, and `snapshots` daily stock reports."""
    from orders.models import StockChange, StockLevel, StockSnapshot

    params: dict[str, Any] = {"accounts": [a.pk for a in accounts], "now": now}
    insert_select(
        StockLevel,
        {
            "account_id": "a",
            "sku": "'SKU-' || s",
            "condition": "c",
            "fnsku": "'X00' || lpad(s::text, 7, '0')",
            "asin": "'B0' || lpad(s::text, 8, '0')",
            "condition_type": "'NewItem'",
            "quantity": "CASE WHEN c = 'SELLABLE' THEN (s * 37) %% 400 ELSE s %% 4 END",
            "changed_at": "%(now)s - (s %% 48) * interval '1 hour'",
        },
        params,
        source="unnest(%(accounts)s::bigint[]) AS a"
        f" CROSS JOIN generate_series(0, {int(skus) - 1}) AS s"
        " CROSS JOIN unnest(ARRAY['SELLABLE','CUSTOMER_DAMAGED']) AS c",
    )
    insert_select(
        StockChange,
        {
            "level_id": "l.id",
            "at": "%(now)s - k * interval '6 hours' - (l.id %% 360) * interval '1 minute'",
            "previous_quantity": "l.quantity + k",
            "quantity": "l.quantity + k - 1",
        },
        {"now": now},
        source=f"{StockLevel._meta.db_table} AS l"
        f" CROSS JOIN generate_series(1, {int(changes_per_level)}) AS k",
    )
    insert_select(
        StockSnapshot,
        {
            "account_id": "a",
            "taken_at": "%(now)s - d * interval '1 day'",
            "rows": f"{int(skus) * 2}",
            "units": f"{int(skus) * 200}",
        },
        params,
        source="unnest(%(accounts)s::bigint[]) AS a"
        f" CROSS JOIN generate_series(0, {int(snapshots) - 1}) AS d",
    )


# As the client names them in the log (amazon_settings/spapi).
API_OPERATIONS = (
    ("Reports.getReports", "GET", "/reports/2021-06-30/reports"),
    ("Reports.createReport", "POST", "/reports/2021-06-30/reports"),
    ("Reports.getReport", "GET", "/reports/2021-06-30/reports/{id}"),
    ("Reports.getReportDocument", "GET", "/reports/2021-06-30/documents/{id}"),
    ("LWA.refreshToken", "POST", "/auth/o2/token"),
)


def seed_api_calls(accounts: Sequence[SeededAccount], count: int, *, now: datetime) -> int:
    """`count` calls to Amazon over the last 90 days (what Data exchange » Log keeps), one
    in fifty throttled or failed."""
    from amazon_settings.models import ApiCall

    n = len(accounts)
    params: dict[str, Any] = {
        "accounts": [a.pk for a in accounts],
        "operations": [o for o, _, _ in API_OPERATIONS],
        "methods": [m for _, m, _ in API_OPERATIONS],
        "paths": [p for _, _, p in API_OPERATIONS],
        "now": now,
        "step": timedelta(days=90) / count,
    }
    k = len(API_OPERATIONS)
    return insert_select(
        ApiCall,
        {
            "at": "%(now)s - g * %(step)s::interval",
            "account_id": f"(%(accounts)s::bigint[])[1 + g %% {n}]",
            "operation": f"(%(operations)s::text[])[1 + g %% {k}]",
            "method": f"(%(methods)s::text[])[1 + g %% {k}]",
            "path": f"replace((%(paths)s::text[])[1 + g %% {k}], '{{id}}', g::text)",
            "outcome": "CASE WHEN g %% 100 = 7 THEN 'throttled'"
            " WHEN g %% 100 = 53 THEN 'server_error' ELSE 'success' END",
            "http_status": "CASE WHEN g %% 100 = 7 THEN 429 WHEN g %% 100 = 53 THEN 503"
            " ELSE 200 END",
            "duration_ms": "40 + g %% 400",
            "request_id": "md5(g::text)",
            "error_code": "CASE WHEN g %% 100 = 7 THEN 'QuotaExceeded'"
            " WHEN g %% 100 = 53 THEN 'ServiceUnavailable' ELSE '' END",
        },
        params,
        source=f"generate_series(1, {int(count)}) AS g",
    )


def analyze() -> None:
    """Fresh planner statistics for every seeded table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def seed_load_mix(
    accounts: Sequence[SeededAccount], *, orders: int, reports: int, api_calls: int, now: datetime
) -> None:
    """The data of bench-load's page mix (also bench-render's): orders with extra items, reports
    mostly imported with their events, a return for 1 order in 40, an invoice for 1 in 2, stock
    with its history, logged calls; then fresh planner statistics."""
    from reports.models import Report

    finished = [
        Report.ImportStatus.IMPORTED,
        Report.ImportStatus.IMPORTED,
        Report.ImportStatus.IMPORTED,
        Report.ImportStatus.NO_DATA,
        Report.ImportStatus.FAILED,
        Report.ImportStatus.SKIPPED,
    ]
    seed_orders(accounts, orders, now=now, extra_items=True, imported_after_purchase=True)
    seed_reports(accounts, reports, now=now, statuses=finished, events_per_report=4)
    seed_returns(every=40)
    seed_invoices(every=2)
    seed_stock(accounts, now=now, skus=500, changes_per_level=10, snapshots=30)
    seed_api_calls(accounts, api_calls, now=now)
    analyze()

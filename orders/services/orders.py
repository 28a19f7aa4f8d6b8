"""Orders, their items and FBA shipment lines: the writes of the order importers.

`upsert_orders` reads what is stored of a batch's orders, asks the pure `plan_orders` what the
batch amounts to, and writes that plan (`write_order_plan`). Orders whose lines were written
before as they are cost one lookup (`import_digest`); all others take the same merge, a new
order being merged against nothing. New orders take the status a status report gave them
while they were not imported, if it is newer (`statuses.apply_waiting_statuses`).
`correct_orders` applies VAT corrections (VCS Lite).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from amazon_settings.models import SellerAccount
from core.changes import record_changes
from orders.models import Invoice, Order, OrderItem, OrderStatusChange, Return, ShipmentLine
from orders.services.order_plan import (
    OrderPlan,
    OrderRecord,
    StoredOrder,
    order_sums,
    plan_orders,
)
from orders.services.outcomes import Outcomes
from orders.services.sql import rows_by_key, rows_of_orders
from orders.services.statuses import apply_waiting_statuses
from orders.services.tables import table_writer, update_instances
from orders.services.values import merge_values, stamp, text_limits

ORDERS = table_writer(Order, unique_fields=["account", "amazon_order_id"])
ITEMS = table_writer(OrderItem, unique_fields=["order", "order_item_id"])
SHIPMENT_LINES = table_writer(
    ShipmentLine, unique_fields=["account", "shipment_id", "shipment_item_id"]
)


def _stored_orders(account: SellerAccount, order_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
    """(primary key, `import_digest`) of those of the account's orders that exist, by order id."""
    rows = rows_by_key(
        Order,
        fixed={"account_id": account.pk},
        key_fields=["amazon_order_id"],
        keys=[(order_id,) for order_id in order_ids],
        fields=["id", "import_digest"],
    )
    return {order_id: (pk, digest) for order_id, pk, digest in rows}


def orders_with_digests(*, account: SellerAccount, digests: Mapping[str, str]) -> set[str]:
    """The order ids (of `digests`' keys) whose stored `import_digest` is the one given."""
    stored = _stored_orders(account, digests)
    return {
        order_id
        for order_id, (_, digest) in stored.items()
        if digest and digest == digests[order_id]
    }


def shipment_lines_with_digests(
    *, account: SellerAccount, digests: Mapping[tuple[str, str], str]
) -> set[tuple[str, str]]:
    """The (shipment id, shipment item id) keys of `digests` whose stored line has that digest."""
    rows = rows_by_key(
        ShipmentLine,
        fixed={"account_id": account.pk},
        key_fields=["shipment_id", "shipment_item_id"],
        keys=digests,
        fields=["import_digest"],
    )
    return {
        (shipment_id, item_id)
        for shipment_id, item_id, digest in rows
        if digest and digests[(shipment_id, item_id)] == digest
    }


def upsert_orders(
    *, account: SellerAccount, records: Iterable[OrderRecord], source_report_id: int | None
) -> Outcomes:
    """Create or update orders with their items (and FBA shipment lines). Idempotent.

    A record whose digest is its stored order's `import_digest` is unchanged without being
    compared (re-imports, resets and overlapping reports cost a lookup per batch); every other
    one is merged into what is stored of its order, or into nothing for a new order (see
    `orders.services.order_plan`). Also links returns and invoices that arrived before their
    order. Runs inside the caller's transaction; raises only database errors.
    """
    records = list(records)
    if not records:
        return Outcomes()
    found = _stored_orders(account, {r.amazon_order_id for r in records})
    compared = {
        found[r.amazon_order_id][0]
        for r in records
        if r.amazon_order_id in found and not (r.digest and r.digest == found[r.amazon_order_id][1])
    }
    now = timezone.now()
    plan = plan_orders(
        records,
        stored=_load_orders(compared, with_lines=any(r.shipment_lines for r in records)),
        stored_digests={order_id: digest for order_id, (_, digest) in found.items()},
        account_id=account.pk,
        source_report_id=source_report_id,
        now=now,
    )
    write_order_plan(plan, account=account, now=now)
    return plan.outcomes


def _load_orders(order_pks: Iterable[int], *, with_lines: bool) -> dict[str, StoredOrder]:
    """The orders with those primary keys, with their items (and shipment lines), by order id.

    Orders by primary key: see rows_by_key on why not by account and order id.
    """
    order_pks = list(order_pks)
    if not order_pks:
        return {}
    attnames = [f.attname for f in Order._meta.concrete_fields]
    stored = {
        row["id"]: StoredOrder(row=row)
        for row in Order.objects.filter(pk__in=order_pks).values(*attnames)
    }
    for item in rows_of_orders(OrderItem, order_pks):
        stored[item["order_id"]].items[item["order_item_id"]] = item
    if with_lines:
        for line in rows_of_orders(ShipmentLine, order_pks):
            key = (line["shipment_id"], line["shipment_item_id"])
            stored[line["order_id"]].lines[key] = line
    return {order.row["amazon_order_id"]: order for order in stored.values()}


def write_order_plan(
    plan: OrderPlan, *, account: SellerAccount, now: datetime | None = None
) -> None:
    """Write a plan: orders, then items, then shipment lines, each table with one upsert on its
    unique key (a statement per 2,000 rows); the primary keys of new rows fill the foreign keys
    of the rows after them. Then the digests of orders that are otherwise unchanged, the
    status changes, and what waited for a new order: returns, invoices and statuses reported
    before it was imported. Runs inside the caller's transaction."""
    now = now or timezone.now()
    new_orders = plan.has_new_orders
    order_pks: dict[str, int] = {}
    if plan.orders:
        written = ORDERS.upsert(ORDERS.rows(plan.orders), returning=new_orders)
        order_pks = {order_id: pk for (_, order_id), pk in written.items()}
    if plan.status_changes:
        for planned in plan.status_changes:
            if planned.change.order_id is None:
                planned.change.order_id = order_pks[planned.amazon_order_id]
        OrderStatusChange.objects.bulk_create([planned.change for planned in plan.status_changes])
    for item in plan.items:
        if item.row["order_id"] is None:
            item.row["order_id"] = order_pks[item.amazon_order_id]
    new_items = any(line.row["item_id"] is None for line in plan.lines)
    item_pks = ITEMS.upsert(ITEMS.rows(item.row for item in plan.items), returning=new_items)
    for line in plan.lines:
        row = line.row
        if row["order_id"] is None:
            row["order_id"] = order_pks[line.amazon_order_id]
        if row["item_id"] is None:
            row["item_id"] = item_pks[(row["order_id"], line.order_item_id)]
    SHIPMENT_LINES.upsert(SHIPMENT_LINES.rows(line.row for line in plan.lines))
    if plan.digests:
        table, quote = Order._meta.db_table, connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {quote(table)} SET {quote('import_digest')} = %s WHERE id = %s",  # noqa: S608
                plan.digests,
            )
    _record_order_changes(plan, order_pks=order_pks, account=account, now=now)
    if new_orders:
        link_waiting_records(account=account)
        apply_waiting_statuses(
            account=account,
            orders=[
                (order_pks[row["amazon_order_id"]], row["amazon_order_id"], row)
                for row in plan.orders
                if "id" not in row
            ],
            now=now,
        )


def _record_order_changes(
    plan: OrderPlan, *, order_pks: Mapping[str, int], account: SellerAccount, now: datetime
) -> None:
    """One change event per order the plan creates or changes (itself, an item or a shipment
    line): `order.created`, `order.cancelled` when its status became Canceled, else
    `order.updated`. Orders whose digest alone is written did not change."""
    created = [order_pks[row["amazon_order_id"]] for row in plan.orders if "id" not in row]
    touched = [row["id"] for row in plan.orders if "id" in row]
    touched += [item.row["order_id"] for item in plan.items]
    touched += [line.row["order_id"] for line in plan.lines]
    cancelled = {
        planned.change.order_id
        for planned in plan.status_changes
        if planned.change.to_status == Order.Status.CANCELED
    }
    cancelled.difference_update(created)
    new = set(created)
    for event_type, ids in (
        ("order.created", created),
        ("order.cancelled", [pk for pk in touched if pk in cancelled]),
        ("order.updated", [pk for pk in touched if pk not in cancelled and pk not in new]),
    ):
        record_changes(
            kind="order", event_type=event_type, account_id=account.pk, entity_ids=ids, now=now
        )


def link_waiting_records(*, account: SellerAccount) -> int:
    """Attach the account's returns and invoices that were imported before their order and
    whose order is imported now. Returns how many. One statement per table, whatever the
    number of orders (usually nothing waits)."""
    quote = connection.ops.quote_name
    orders = quote(Order._meta.db_table)
    linked = 0
    for model, also in ((Return, f", {quote('order_missing')} = %s"), (Invoice, "")):
        table = quote(model._meta.db_table)
        order_of = (
            f"(SELECT o.{quote('id')} FROM {orders} o WHERE o.{quote('account_id')} = "  # noqa: S608
            f"{table}.{quote('account_id')} AND o.{quote('amazon_order_id')} = "
            f"{table}.{quote('amazon_order_id')})"
        )
        sql = (
            f"UPDATE {table} SET {quote('order_id')} = {order_of}{also} "  # noqa: S608
            f"WHERE {quote('account_id')} = %s AND {quote('order_id')} IS NULL "
            f"AND {order_of} IS NOT NULL"
        )
        params = [False, account.pk] if also else [account.pk]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            linked += cursor.rowcount
    return linked


@dataclass
class OrderCorrection:
    """What a VAT report says of one order: order fields, and item taxes by order item id."""

    line: int  # the first document line of the order
    values: dict[str, Any] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)


def correct_orders(
    *,
    account: SellerAccount,
    corrections: Mapping[str, OrderCorrection],
    source_report_id: int | None,
) -> dict[str, bool]:
    """Apply VAT corrections to existing orders (VCS Lite): order fields and MFN item taxes.

    `corrections` are by order id. Orders that are not imported are skipped. Items of FBA
    orders are left alone: the FBA shipments report is their source, and correcting them here
    would flip back and forth. Returns, per order id found, whether anything changed.
    Idempotent.
    """
    result: dict[str, bool] = {}
    if not corrections:
        return result
    orders = list(Order.objects.filter(account=account, amazon_order_id__in=list(corrections)))
    items: dict[int, list[OrderItem]] = defaultdict(list)
    for item in OrderItem.objects.filter(order__in=orders):
        items[item.order_id].append(item)
    changed_orders, changed_items = [], []
    now = timezone.now()
    order_limits, item_limits = text_limits(Order), text_limits(OrderItem)
    for order in orders:
        correction = corrections[order.amazon_order_id]
        changed = merge_values(vars(order), correction.values, order_limits)
        if order.fulfillment_channel != Order.FulfillmentChannel.AFN:
            for item in items[order.pk]:
                values = correction.items.get(item.order_item_id)
                if values and merge_values(vars(item), values, item_limits):
                    stamp(vars(item), report_id=source_report_id, line=correction.line)
                    changed_items.append(item)
                    changed = True
            if items[order.pk] and merge_values(
                vars(order), order_sums(vars(i) for i in items[order.pk]), {}
            ):
                changed = True
        if changed:
            stamp(vars(order), report_id=source_report_id, line=correction.line)
            order.changed_at = now
            changed_orders.append(order)
        result[order.amazon_order_id] = changed
    update_instances(Order, changed_orders, ORDERS.update_fields)
    update_instances(OrderItem, changed_items, ITEMS.update_fields)
    record_changes(
        kind="order",
        event_type="order.updated",
        account_id=account.pk,
        entity_ids=[order.pk for order in changed_orders],
        now=now,
    )
    return result

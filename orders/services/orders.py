"""Orders, their items and FBA shipment lines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from amazon_settings.models import SellerAccount
from orders.bulk import instances_of_orders, new_instance, rows_by_key
from orders.models import (
    Invoice,
    Order,
    OrderItem,
    Return,
    ShipmentLine,
)
from orders.services.outcomes import _RANK, CREATED, UNCHANGED, UPDATED, Outcomes
from orders.services.tables import PROVENANCE as _PROVENANCE
from orders.services.tables import _writer
from orders.services.tables import apply_values as _apply
from orders.services.tables import stamp as _stamp
from orders.services.tables import write as _write

_ZERO = Decimal("0.00")

ORDER_DATA_FIELDS = [
    "marketplace_id",
    "sales_channel",
    "fulfillment_channel",
    "purchased_at",
    "last_updated_at",
    "status",
    "is_business_order",
    "currency",
    "items_total",
    "tax_total",
    "shipping_total",
    "buyer_name",
    "buyer_email",
    "buyer_phone",
    "buyer_company_name",
    "purchase_order_number",
    "recipient_name",
    "ship_address_1",
    "ship_address_2",
    "ship_address_3",
    "ship_city",
    "ship_state",
    "ship_postal_code",
    "ship_country",
    "ship_phone",
    "ship_service_level",
    "buyer_vat_number",
    "seller_vat_number",
]
_ORDER_WRITE_FIELDS = [*ORDER_DATA_FIELDS, *_PROVENANCE, "changed_at", "import_digest"]
ITEM_DATA_FIELDS = [
    "sku",
    "asin",
    "product_name",
    "quantity_ordered",
    "quantity_shipped",
    "item_price",
    "item_tax",
    "shipping_price",
    "shipping_tax",
]
_ITEM_WRITE_FIELDS = [*ITEM_DATA_FIELDS, *_PROVENANCE]
SHIPMENT_LINE_DATA_FIELDS = [
    "quantity",
    "item_price",
    "item_tax",
    "shipping_price",
    "shipping_tax",
    "carrier",
    "tracking_number",
    "fulfillment_center_id",
    "shipped_at",
    "reported_at",
    "estimated_arrival_at",
]
_LINE_WRITE_FIELDS = [*SHIPMENT_LINE_DATA_FIELDS, "item", "order", *_PROVENANCE, "import_digest"]
_MONEY_SUMS = ("item_price", "item_tax", "shipping_price", "shipping_tax")


@dataclass
class ShipmentLineRecord:
    shipment_id: str
    shipment_item_id: str
    order_item_id: str
    line: int
    values: dict[str, Any]
    digest: str = ""  # of the document line (ShipmentLine.import_digest)


@dataclass
class ItemRecord:
    order_item_id: str
    line: int
    values: dict[str, Any]


@dataclass
class OrderRecord:
    """One order as one document shows it, with the lines that carry it.

    `values` are Order fields the report knows; `on_create` only fills a new order (e.g. the
    status an MFN report implies). With `shipment_lines`, the items' quantities and amounts are
    the sums over their lines (FBA shipments); otherwise `items` carry them directly.
    """

    amazon_order_id: str
    line: int
    values: dict[str, Any] = field(default_factory=dict)
    on_create: dict[str, Any] = field(default_factory=dict)
    items: dict[str, ItemRecord] = field(default_factory=dict)
    shipment_lines: list[ShipmentLineRecord] = field(default_factory=list)
    row_lines: list[int] = field(default_factory=list)
    # Digest of the document lines this record was read from and of how they were read (see
    # Order.import_digest); empty when the importer has none (never skipped).
    digest: str = ""

    def lines(self) -> list[int]:
        """Every document line this record was read from."""
        if self.row_lines:
            return self.row_lines
        found = {self.line, *(i.line for i in self.items.values())}
        found.update(sl.line for sl in self.shipment_lines)
        return sorted(found)


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

    Each record takes one of three ways, by what is stored under its order id:
    - the same `import_digest`: these lines were written before and nothing since came from
      this kind of document, so it is unchanged without being compared (re-imports, resets
      and overlapping reports cost a lookup per batch);
    - nothing: a new order, inserted straight from the record (`_insert_new_orders`);
    - otherwise: merged field by field into what is stored (`_merge_orders`).

    Also links returns and invoices that arrived before their order. Runs inside the caller's
    transaction; raises only database errors.
    """
    records = list(records)
    outcomes = Outcomes()
    if not records:
        return outcomes
    stored = _stored_orders(account, {r.amazon_order_id for r in records})
    fresh: list[OrderRecord] = []
    merge: list[OrderRecord] = []
    again: list[OrderRecord] = []
    seen: set[str] = set()
    for record in records:
        order_id = record.amazon_order_id
        if order_id in seen:
            # The same order twice in one batch (XML messages): written after the first.
            again.append(record)
            continue
        seen.add(order_id)
        found = stored.get(order_id)
        if found is None:
            fresh.append(record)
        elif record.digest and found[1] == record.digest:
            for line in record.lines():
                outcomes.mark(line, UNCHANGED)
        else:
            merge.append(record)
    if merge:
        _merge_orders(
            account=account,
            records=merge,
            order_pks=[stored[r.amazon_order_id][0] for r in merge],
            source_report_id=source_report_id,
            outcomes=outcomes,
        )
    if fresh:
        _insert_new_orders(
            account=account, records=fresh, source_report_id=source_report_id, outcomes=outcomes
        )
    if again:
        later = upsert_orders(account=account, records=again, source_report_id=source_report_id)
        for line, outcome in later.by_line.items():
            outcomes.mark(line, outcome)
    return outcomes


def _merge_orders(
    *,
    account: SellerAccount,
    records: list[OrderRecord],
    order_pks: list[int],
    source_report_id: int | None,
    outcomes: Outcomes,
) -> None:
    """Compare records with their orders, all stored (`order_pks`; by primary key: see
    rows_by_key on why not by account and order id), items and lines; write what differs.
    New orders take `_insert_new_orders` instead."""
    now = timezone.now()
    orders = {o.amazon_order_id: o for o in Order.objects.filter(pk__in=order_pks)}
    digest_only: list[tuple[str, int]] = []
    existing_pks = [o.pk for o in orders.values()]
    items: dict[int, dict[str, OrderItem]] = defaultdict(dict)
    lines: dict[int, dict[tuple[str, str], ShipmentLine]] = defaultdict(dict)
    if existing_pks:
        for item in instances_of_orders(OrderItem, existing_pks):
            items[item.order_id][item.order_item_id] = item
        if any(r.shipment_lines for r in records):
            for sl in instances_of_orders(ShipmentLine, existing_pks):
                lines[sl.order_id][(sl.shipment_id, sl.shipment_item_id)] = sl

    changed_orders = []
    new_items, changed_items = [], []
    new_lines, changed_lines = [], []
    for record in records:
        order = orders[record.amazon_order_id]
        order_changed = _apply(order, record.values)
        order_items = items[order.pk]
        order_lines = lines[order.pk]
        item_state: dict[str, tuple[OrderItem, bool, bool]] = {}

        for item_record in record.items.values():
            _merge_item(
                order, order_items, item_state, item_record.order_item_id, item_record.values
            )

        line_state: list[tuple[ShipmentLineRecord, ShipmentLine, bool, bool, bool]] = []
        line_items: dict[int, OrderItem] = {}
        for line_record in record.shipment_lines:
            key = (line_record.shipment_id, line_record.shipment_item_id)
            shipment_line = order_lines.get(key)
            line_new = shipment_line is None
            if shipment_line is None:
                shipment_line = new_instance(
                    ShipmentLine,
                    account=account,
                    order=order,
                    shipment_id=line_record.shipment_id,
                    shipment_item_id=line_record.shipment_item_id,
                )
                order_lines[key] = shipment_line
            line_changed = _apply(shipment_line, line_record.values)
            if shipment_line.import_digest != line_record.digest:
                # Written even when nothing else changed: the next import can skip the line.
                shipment_line.import_digest = line_record.digest
                digest_changed = True
            else:
                digest_changed = False
            item = order_items.get(line_record.order_item_id)
            if item is None:
                item = _merge_item(order, order_items, item_state, line_record.order_item_id, {})
            line_items[id(shipment_line)] = item
            if shipment_line.item_id is None and (line_new or item.pk):
                shipment_line.item = item
                line_changed = line_changed or not line_new
            line_state.append((line_record, shipment_line, line_new, line_changed, digest_changed))

        sum_changed: set[str] = set()
        if record.shipment_lines:
            # FBA: an item's shipped quantity and amounts are the sums over its shipment lines
            # (those stored and those of this document).
            item_by_pk = {i.pk: i for i in order_items.values() if i.pk}
            per_item: dict[str, list[ShipmentLine]] = defaultdict(list)
            for sl in order_lines.values():
                item = line_items.get(id(sl)) or item_by_pk.get(sl.item_id)
                if item is not None:
                    per_item[item.order_item_id].append(sl)
            for item_id, item_lines in per_item.items():
                item = order_items[item_id]
                sums = _item_sums([sl.__dict__ for sl in item_lines], item.quantity_ordered)
                if _apply(item, sums):
                    # Changed as a sum of lines: written, but counted on those lines only.
                    sum_changed.add(item_id)
                    item_state.setdefault(item_id, (item, False, False))

        totals = _order_totals([i.__dict__ for i in order_items.values()])
        totals_changed = any(getattr(order, k) != v for k, v in totals.items())
        for name, value in totals.items():
            setattr(order, name, value)

        if order_changed or totals_changed:
            _stamp(order, report_id=source_report_id, line=record.line)
            order.changed_at = now
            order.import_digest = record.digest
            changed_orders.append(order)
        elif order.import_digest != record.digest:
            # Nothing changed, but these lines are now known to be what is stored.
            digest_only.append((record.digest, order.pk))

        for item_id, (item, created, changed) in item_state.items():
            line = record.items[item_id].line if item_id in record.items else record.line
            if created:
                _stamp(item, report_id=source_report_id, line=line)
                new_items.append(item)
            elif changed or item_id in sum_changed:
                _stamp(item, report_id=source_report_id, line=line)
                changed_items.append(item)

        order_outcome = UPDATED if order_changed else UNCHANGED
        if record.shipment_lines:
            for line_record, shipment_line, line_new, line_changed, digest_changed in line_state:
                _, item_created, item_changed = item_state.get(
                    line_record.order_item_id, (None, False, False)
                )
                if line_new:
                    _stamp(shipment_line, report_id=source_report_id, line=line_record.line)
                    new_lines.append(shipment_line)
                    outcome = CREATED
                elif line_changed:
                    _stamp(shipment_line, report_id=source_report_id, line=line_record.line)
                    changed_lines.append(shipment_line)
                    outcome = UPDATED
                else:
                    if digest_changed:
                        changed_lines.append(shipment_line)
                    outcome = UPDATED if (item_changed or order_changed) else UNCHANGED
                outcomes.mark(line_record.line, max(outcome, order_outcome, key=_RANK.get))
        else:
            for item_id, item_record in record.items.items():
                _, item_created, item_changed = item_state[item_id]
                if item_created:
                    outcome = CREATED
                elif item_changed or order_changed:
                    outcome = UPDATED
                else:
                    outcome = UNCHANGED
                outcomes.mark(item_record.line, max(outcome, order_outcome, key=_RANK.get))
            if not record.items:
                outcomes.mark(record.line, order_outcome)

    _write(
        Order,
        [],
        changed_orders,
        unique_fields=["account", "amazon_order_id"],
        update_fields=_ORDER_WRITE_FIELDS,
    )
    _write(
        OrderItem,
        new_items,
        _unique(changed_items),
        unique_fields=["order", "order_item_id"],
        update_fields=_ITEM_WRITE_FIELDS,
    )
    _write(
        ShipmentLine,
        new_lines,
        changed_lines,
        unique_fields=["account", "shipment_id", "shipment_item_id"],
        update_fields=_LINE_WRITE_FIELDS,
    )
    if digest_only:
        table, quote = Order._meta.db_table, connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {quote(table)} SET {quote('import_digest')} = %s WHERE id = %s",  # noqa: S608
                digest_only,
            )


def _item_sums(lines: list[Mapping[str, Any]], quantity_ordered: int) -> dict[str, Any]:
    """An FBA item's quantities and amounts: the sums over its shipment lines."""
    sums: dict[str, Any] = {
        name: sum((line[name] for line in lines), _ZERO) for name in _MONEY_SUMS
    }
    shipped = sum(line["quantity"] for line in lines)
    sums["quantity_shipped"] = shipped
    sums["quantity_ordered"] = max(quantity_ordered, shipped)
    return sums


def _order_totals(items: Iterable[Mapping[str, Any]]) -> dict[str, Decimal]:
    """An order's sums over its items."""
    items_total = tax_total = shipping_total = _ZERO
    for item in items:
        items_total += item["item_price"]
        tax_total += item["item_tax"] + item["shipping_tax"]
        shipping_total += item["shipping_price"]
    return {"items_total": items_total, "tax_total": tax_total, "shipping_total": shipping_total}


def _filled(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values a record brings: an empty string or None never erases (see the module doc)."""
    return {k: v for k, v in values.items() if v is not None and v != ""}


def _insert_new_orders(
    *,
    account: SellerAccount,
    records: list[OrderRecord],
    source_report_id: int | None,
    outcomes: Outcomes,
) -> None:
    """Insert orders that are not stored yet, with their items and shipment lines.

    What `_merge_orders` does for an order it finds nothing of, without model instances or
    comparisons: rows are built as dicts from the records and written as tuples. Every line
    is counted as created.
    """
    orders_w = _writer(Order, ["account", "amazon_order_id"], _ORDER_WRITE_FIELDS)
    items_w = _writer(OrderItem, ["order", "order_item_id"], _ITEM_WRITE_FIELDS)
    lines_w = _writer(
        ShipmentLine, ["account", "shipment_id", "shipment_item_id"], _LINE_WRITE_FIELDS
    )
    now = timezone.now()
    order_rows: list[tuple] = []
    # Per order: its items' rows (dicts, order_id still missing) and its shipment lines'.
    pending: list[tuple[str, dict[str, dict[str, Any]], list[tuple[str, dict[str, Any]]]]] = []
    for record in records:
        items: dict[str, dict[str, Any]] = {}
        for item_record in record.items.values():
            item = items_w.blank()
            item.update(_filled(item_record.values))
            item.update(
                order_item_id=item_record.order_item_id,
                source_report_id=source_report_id,
                source_line=item_record.line,
            )
            items[item_record.order_item_id] = item
        lines: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        for line_record in record.shipment_lines:
            key = (line_record.shipment_id, line_record.shipment_item_id)
            if key in lines:  # the same shipment line twice: later values win, as on merge
                lines[key][1].update(_filled(line_record.values))
                lines[key][1]["import_digest"] = line_record.digest
                continue
            line = lines_w.blank()
            line.update(_filled(line_record.values))
            line.update(
                account_id=account.pk,
                shipment_id=line_record.shipment_id,
                shipment_item_id=line_record.shipment_item_id,
                source_report_id=source_report_id,
                source_line=line_record.line,
                import_digest=line_record.digest,
            )
            lines[key] = (line_record.order_item_id, line)
            if line_record.order_item_id not in items:
                item = items_w.blank()
                item.update(
                    order_item_id=line_record.order_item_id,
                    source_report_id=source_report_id,
                    source_line=record.line,
                )
                items[line_record.order_item_id] = item
        if lines:
            per_item: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for item_id, line in lines.values():
                per_item[item_id].append(line)
            for item_id, item_lines in per_item.items():
                item = items[item_id]
                item.update(_item_sums(item_lines, item["quantity_ordered"]))

        order = orders_w.blank()
        order.update(_filled(record.on_create))
        order.update(_filled(record.values))
        order.update(_order_totals(items.values()))
        order.update(
            account_id=account.pk,
            amazon_order_id=record.amazon_order_id,
            source_report_id=source_report_id,
            source_line=record.line,
            changed_at=now,
            import_digest=record.digest,
        )
        order_rows.append(orders_w.row(order))
        pending.append((record.amazon_order_id, items, list(lines.values())))
        if record.shipment_lines:
            for line_record in record.shipment_lines:
                outcomes.mark(line_record.line, CREATED)
        else:
            for item_record in record.items.values():
                outcomes.mark(item_record.line, CREATED)
            if not record.items:
                outcomes.mark(record.line, CREATED)

    order_pks = {key[1]: pk for key, pk in orders_w.upsert(order_rows, returning=True).items()}
    item_rows = []
    for order_id, items, _ in pending:
        order_pk = order_pks[order_id]
        for item in items.values():
            item["order_id"] = order_pk
            item_rows.append(items_w.row(item))
    with_lines = [(order_id, lines) for order_id, _, lines in pending if lines]
    item_pks = items_w.upsert(item_rows, returning=bool(with_lines))
    if with_lines:
        line_rows = []
        for order_id, lines in with_lines:
            order_pk = order_pks[order_id]
            for item_id, line in lines:
                line["order_id"] = order_pk
                line["item_id"] = item_pks[(order_pk, item_id)]
                line_rows.append(lines_w.row(line))
        lines_w.upsert(line_rows)
    link_waiting_records(account=account)


def _merge_item(
    order: Order,
    order_items: dict[str, OrderItem],
    item_state: dict[str, tuple[OrderItem, bool, bool]],
    item_id: str,
    values: Mapping[str, Any],
) -> OrderItem:
    """Find or start the order's item and apply values; remember (created, changed) per item."""
    item = order_items.get(item_id)
    created = item is None
    if item is None:
        item = new_instance(OrderItem, order=order, order_item_id=item_id)
        order_items[item_id] = item
    changed = _apply(item, values)
    previous = item_state.get(item_id)
    if previous:
        created, changed = previous[1] or created, previous[2] or changed
    item_state[item_id] = (item, created, changed)
    return item


def _unique(objs: list) -> list:
    seen: set[int] = set()
    unique = []
    for obj in objs:
        if id(obj) not in seen:
            seen.add(id(obj))
            unique.append(obj)
    return unique


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


def correct_orders(
    *,
    account: SellerAccount,
    corrections: Mapping[str, tuple[int, dict[str, Any], dict[str, dict[str, Any]]]],
    source_report_id: int | None,
) -> dict[str, bool]:
    """Apply VAT corrections to existing orders (VCS Lite): order fields and MFN item taxes.

    `corrections` maps an order id to (line, order values, {order_item_id: item values}).
    Orders that are not imported are skipped. Items of FBA orders are left alone: the FBA
    shipments report is their source, and correcting them here would flip back and forth.
    Returns, per order id found, whether anything changed. Idempotent.
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
    for order in orders:
        line, order_values, item_values = corrections[order.amazon_order_id]
        changed = _apply(order, order_values)
        if order.fulfillment_channel != Order.FulfillmentChannel.AFN:
            for item in items[order.pk]:
                values = item_values.get(item.order_item_id)
                if values and _apply(item, values):
                    _stamp(item, report_id=source_report_id, line=line)
                    changed_items.append(item)
                    changed = True
            tax = sum((i.item_tax + i.shipping_tax for i in items[order.pk]), _ZERO)
            if items[order.pk] and order.tax_total != tax:
                order.tax_total = tax
                changed = True
        if changed:
            _stamp(order, report_id=source_report_id, line=line)
            order.changed_at = now
            changed_orders.append(order)
        result[order.amazon_order_id] = changed
    _write(Order, [], changed_orders, unique_fields=[], update_fields=_ORDER_WRITE_FIELDS)
    _write(OrderItem, [], changed_items, unique_fields=[], update_fields=_ITEM_WRITE_FIELDS)
    return result

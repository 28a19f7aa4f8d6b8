"""What to write for one batch of order records: a pure function from records and what is stored
to a plan. No database: `orders.services.orders` reads what is stored and writes the plan.

Every record is merged into its order as it stands at that point of the batch: as stored, as an
earlier record of the batch left it, or, for a new order, as nothing (a blank row with the
model's defaults). There is one merge, whatever the order's past:

- a record whose digest is the order's `import_digest` brings the lines written before as they
  are: every line is unchanged, nothing is compared;
- otherwise the record's values merge into the order's row, its items and its shipment lines
  (`merge_values`: empty never erases); an FBA item's quantities and amounts become the sums
  over its shipment lines, and the order's sums those over its items (`order_sums`). The
  status and Amazon's last update time merge by `statuses.merge_status`: a record that knows an
  older state of the order than the row changes neither, and a changed status of an order that
  existed before the record is planned as an `OrderStatusChange`.

A line is `created` when its order, item or shipment line did not exist before its record,
`updated` when it changed its record or the order/item it belongs to, `unchanged` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from orders.models import LINE_AMOUNT_FIELDS, Order, OrderItem, OrderStatusChange, ShipmentLine
from orders.services.outcomes import CREATED, UNCHANGED, UPDATED, Outcomes
from orders.services.statuses import STATUS_FIELDS, StatusMerge, merge_status, status_change
from orders.services.values import blank_row, merge_values, stamp, text_limits

_ZERO = Decimal("0.00")
_ORDER_LIMITS = text_limits(Order)
_ITEM_LIMITS = text_limits(OrderItem)
_LINE_LIMITS = text_limits(ShipmentLine)

Row = dict[str, Any]  # a table row's values by attname ("order_id"), primary key as "id"
LineKey = tuple[str, str]  # (shipment id, shipment item id)


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
    # For a report without a last-updated date: the latest time its lines show Amazon updated
    # the order (FBA: a shipment's reporting date), which the status holds at. Like the totals,
    # derived from the lines: a later one is written, but counts as no change of a line.
    status_at: datetime | None = None

    def lines(self) -> list[int]:
        """Every document line this record was read from."""
        if self.row_lines:
            return self.row_lines
        found = {self.line, *(i.line for i in self.items.values())}
        found.update(sl.line for sl in self.shipment_lines)
        return sorted(found)


@dataclass
class StoredOrder:
    """An order as stored, with its items and shipment lines (rows with their primary keys)."""

    row: Row
    items: dict[str, Row] = field(default_factory=dict)  # by order item id
    lines: dict[LineKey, Row] = field(default_factory=dict)


@dataclass(slots=True)
class ItemWrite:
    """An item row to write; `order_id` is None while its order is new."""

    amazon_order_id: str
    row: Row


@dataclass(slots=True)
class LineWrite:
    """A shipment line row to write; `order_id` and `item_id` are None while those are new."""

    amazon_order_id: str
    order_item_id: str
    row: Row


@dataclass(slots=True)
class StatusChangeWrite:
    """A status change to record; its `order_id` is None while the order is new."""

    amazon_order_id: str
    change: OrderStatusChange


@dataclass
class OrderPlan:
    """The writes one batch amounts to, and each document line's outcome.

    Rows without an "id" are new. Each row is written once, with what every record of the batch
    made of it. `digests` are (import_digest, order pk) of orders that are otherwise unchanged.
    """

    orders: list[Row] = field(default_factory=list)
    items: list[ItemWrite] = field(default_factory=list)
    lines: list[LineWrite] = field(default_factory=list)
    digests: list[tuple[str, int]] = field(default_factory=list)
    status_changes: list[StatusChangeWrite] = field(default_factory=list)
    outcomes: Outcomes = field(default_factory=Outcomes)

    @property
    def has_new_orders(self) -> bool:
        return any("id" not in row for row in self.orders)


@dataclass(slots=True)
class _Order:
    """An order as the batch so far leaves it."""

    row: Row
    items: dict[str, Row]
    lines: dict[LineKey, Row]
    # The order item id each shipment line belongs to (None: the line points at no item).
    line_items: dict[LineKey, str | None]
    new: bool  # not stored, and no record of the batch merged into it yet
    write: bool = False
    digest_only: bool = False
    items_to_write: dict[str, None] = field(default_factory=dict)  # an ordered set
    lines_to_write: dict[LineKey, None] = field(default_factory=dict)


def plan_orders(
    records: Iterable[OrderRecord],
    *,
    stored: Mapping[str, StoredOrder],
    stored_digests: Mapping[str, str],
    account_id: int,
    source_report_id: int | None,
    now: datetime,
) -> OrderPlan:
    """The plan for `records`, merged in their order (the same order twice merges twice).

    `stored_digests` holds the `import_digest` of every stored order of the batch; `stored` the
    rows of those a record must be compared with (every stored order whose digest some record
    of the batch does not match). `now` stamps new rows and changed orders.
    """
    planner = _Planner(stored, stored_digests, account_id, source_report_id, now)
    for record in records:
        planner.add(record)
    return planner.plan()


@dataclass
class _Planner:
    """The orders of a batch as the records so far leave them, and the lines' outcomes."""

    stored: Mapping[str, StoredOrder]
    stored_digests: Mapping[str, str]
    account_id: int
    report_id: int | None
    now: datetime
    orders: dict[str, _Order] = field(default_factory=dict)
    outcomes: Outcomes = field(default_factory=Outcomes)
    status_changes: list[StatusChangeWrite] = field(default_factory=list)

    def add(self, record: OrderRecord) -> None:
        order = self.orders.get(record.amazon_order_id)
        digest = (
            order.row["import_digest"] if order else self.stored_digests.get(record.amazon_order_id)
        )
        if record.digest and record.digest == digest:
            for line in record.lines():
                self.outcomes.mark(line, UNCHANGED)
            return
        if order is None:
            order = self.orders[record.amazon_order_id] = self._start(record.amazon_order_id)
        self._merge(order, record)

    def _start(self, order_id: str) -> _Order:
        found = self.stored.get(order_id)
        if found is None:
            row = blank_row(Order, now=self.now)
            row.update(account_id=self.account_id, amazon_order_id=order_id)
            return _Order(row=row, items={}, lines={}, line_items={}, new=True)
        items = {item_id: dict(item) for item_id, item in found.items.items()}
        item_ids_by_pk = {item["id"]: item_id for item_id, item in items.items()}
        lines = {key: dict(line) for key, line in found.lines.items()}
        line_items = {key: item_ids_by_pk.get(line["item_id"]) for key, line in lines.items()}
        return _Order(
            row=dict(found.row), items=items, lines=lines, line_items=line_items, new=False
        )

    def _item(self, order: _Order, item_id: str, created: set[str]) -> Row:
        """The order's item, started blank (and noted in `created`) when it has none yet."""
        item = order.items.get(item_id)
        if item is None:
            item = order.items[item_id] = blank_row(OrderItem, now=self.now)
            item.update(order_id=order.row.get("id"), order_item_id=item_id)
            created.add(item_id)
        return item

    def _merge(self, order: _Order, record: OrderRecord) -> None:
        row = order.row
        order_new, order.new = order.new, False
        if order_new and record.on_create:
            merge_values(row, record.on_create, _ORDER_LIMITS)
        values = record.values
        status_changed = time_derived = False
        if "status" in values or "last_updated_at" in values or record.status_at is not None:
            merged = self._merge_status(order, record, order_new)
            if merged.refused:  # an older state of the order than the row's: left out
                values = {k: v for k, v in values.items() if k not in STATUS_FIELDS}
            elif merged.changed:
                status_changed = merged.previous is not None or "last_updated_at" in values
                time_derived = not status_changed
        order_changed = merge_values(row, values, _ORDER_LIMITS) or status_changed

        created_items: set[str] = set()
        changed_items: set[str] = set()
        for item_record in record.items.values():
            item = self._item(order, item_record.order_item_id, created_items)
            if merge_values(item, item_record.values, _ITEM_LIMITS):
                changed_items.add(item_record.order_item_id)

        # A line counts what it brought: its order, item or shipment line new (created), or
        # a change to one of them (updated).
        created_lines: set[LineKey] = set()
        for line_record in record.shipment_lines:
            outcome = self._merge_line(order, line_record, created_items, created_lines)
            if order_new:
                outcome = CREATED
            elif outcome is None:
                changed = order_changed or line_record.order_item_id in changed_items
                outcome = UPDATED if changed else UNCHANGED
            self.outcomes.mark(line_record.line, outcome)
        if not record.shipment_lines:
            for item_id, item_record in record.items.items():
                if order_new or item_id in created_items:
                    outcome = CREATED
                elif order_changed or item_id in changed_items:
                    outcome = UPDATED
                else:
                    outcome = UNCHANGED
                self.outcomes.mark(item_record.line, outcome)
            if not record.items:
                outcome = CREATED if order_new else UPDATED if order_changed else UNCHANGED
                self.outcomes.mark(record.line, outcome)

        touched = created_items | changed_items
        if record.shipment_lines:
            touched |= self._sum_lines(order)
        for item_id, item in order.items.items():  # in the document's order
            if item_id in touched:
                item_record = record.items.get(item_id)
                line = item_record.line if item_record is not None else record.line
                stamp(item, report_id=self.report_id, line=line)
                order.items_to_write[item_id] = None

        totals_changed = merge_values(row, order_sums(order.items.values()), {})
        if order_new or order_changed or totals_changed or time_derived:
            stamp(row, report_id=self.report_id, line=record.line)
            row["changed_at"] = self.now
            row["import_digest"] = record.digest
            order.write = True
        elif row["import_digest"] != record.digest:
            # Nothing changed, but these lines are now known to be what is stored.
            row["import_digest"] = record.digest
            order.digest_only = True

    def _merge_status(self, order: _Order, record: OrderRecord, order_new: bool) -> StatusMerge:
        """Merge the record's status and time (`merge_status`), planning the record of a
        changed status of an order that existed before."""
        status = record.values.get("status")
        at = record.values.get("last_updated_at") or record.status_at
        merged = merge_status(order.row, status=status, at=at)
        if merged.previous and not order_new:
            change = status_change(
                order_id=order.row.get("id"),
                previous=merged.previous,
                status=status,
                at=at,
                source_report_id=self.report_id,
                source_line=record.line,
                now=self.now,
            )
            self.status_changes.append(StatusChangeWrite(record.amazon_order_id, change))
        return merged

    def _merge_line(
        self,
        order: _Order,
        record: ShipmentLineRecord,
        created_items: set[str],
        created_lines: set[LineKey],
    ) -> str | None:
        """Merge one shipment line; its outcome when the line itself is new or changed, None
        when that depends on its item and order."""
        key = (record.shipment_id, record.shipment_item_id)
        line = order.lines.get(key)
        created_here = line is None
        if line is None:
            line = order.lines[key] = blank_row(ShipmentLine, now=self.now)
            line.update(
                account_id=self.account_id,
                order_id=order.row.get("id"),
                shipment_id=record.shipment_id,
                shipment_item_id=record.shipment_item_id,
            )
            order.line_items[key] = None
            created_lines.add(key)
        changed = merge_values(line, record.values, _LINE_LIMITS)
        item = self._item(order, record.order_item_id, created_items)
        if order.line_items[key] is None:
            order.line_items[key] = record.order_item_id
            line["item_id"] = item.get("id")  # None for a new item: set when it is written
            changed = changed or key not in created_lines
        if line["import_digest"] != record.digest:
            # Written even when nothing else changed: the next import can skip the line.
            line["import_digest"] = record.digest
            order.lines_to_write[key] = None
        if created_here or changed:
            stamp(line, report_id=self.report_id, line=record.line)
            order.lines_to_write[key] = None
        if key in created_lines:
            return CREATED
        return UPDATED if changed else None

    def _sum_lines(self, order: _Order) -> set[str]:
        """FBA: an item's shipped quantity and amounts are the sums over its shipment lines
        (stored and of this batch). The ids of the items that changed."""
        per_item: dict[str, list[Row]] = {}
        for key, item_id in order.line_items.items():
            if item_id is not None:
                per_item.setdefault(item_id, []).append(order.lines[key])
        changed = set()
        for item_id, lines in per_item.items():
            item = order.items[item_id]
            if merge_values(item, _item_sums(lines, item["quantity_ordered"]), {}):
                changed.add(item_id)
        return changed

    def plan(self) -> OrderPlan:
        plan = OrderPlan(outcomes=self.outcomes, status_changes=self.status_changes)
        for order_id, order in self.orders.items():
            if order.write:
                plan.orders.append(order.row)
            elif order.digest_only:
                plan.digests.append((order.row["import_digest"], order.row["id"]))
            plan.items.extend(ItemWrite(order_id, order.items[i]) for i in order.items_to_write)
            plan.lines.extend(
                LineWrite(order_id, order.line_items[key] or "", order.lines[key])
                for key in order.lines_to_write
            )
        return plan


def _item_sums(lines: list[Row], quantity_ordered: int) -> dict[str, Any]:
    """An FBA item's quantities and amounts: the sums over its shipment lines."""
    if len(lines) == 1:  # the usual case: the line's own values, nothing to add
        (line,) = lines
        sums = {name: line[name] for name in LINE_AMOUNT_FIELDS}
        shipped = line["quantity"]
    else:
        shipped = 0
        sums = dict.fromkeys(LINE_AMOUNT_FIELDS, _ZERO)
        for line in lines:
            shipped += line["quantity"]
            for name in LINE_AMOUNT_FIELDS:
                sums[name] += line[name]
    sums["quantity_shipped"] = shipped
    sums["quantity_ordered"] = max(quantity_ordered, shipped)
    return sums


def order_sums(items: Iterable[Mapping[str, Any]]) -> dict[str, Decimal]:
    """An order's stored sums over its items (rows, or model instances' `vars()`): item
    prices, all tax (item, shipping and gift wrap), shipping prices, gift wrap prices and the
    promotion discounts (item and shipping). `Order.total` adds them up."""
    items_total = tax_total = shipping_total = gift_wrap_total = promotion_total = _ZERO
    for item in items:
        items_total += item["item_price"]
        tax_total += item["item_tax"] + item["shipping_tax"] + item["gift_wrap_tax"]
        shipping_total += item["shipping_price"]
        gift_wrap_total += item["gift_wrap_price"]
        promotion_total += item["item_promotion_discount"] + item["ship_promotion_discount"]
    return {
        "items_total": items_total,
        "tax_total": tax_total,
        "shipping_total": shipping_total,
        "gift_wrap_total": gift_wrap_total,
        "promotion_total": promotion_total,
    }

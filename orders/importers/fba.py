"""FBA shipments (GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING / _GENERAL) and FBA returns.

Shipments: one row per shipment item. Each row upserts the AFN order, its item (keyed by
`amazon-order-item-id`, which these files always carry) and the shipment line (keyed by
shipment-id + shipment-item-id, or a fallback when a row has no shipment-item-id: see
`ShipmentLine`). An order shipped in two parcels is one order with two shipment ids. Buyer and
bill-to columns are often empty here (no PII access): empty never erases. Every amount column
(prices, taxes, gift wrap, promotion discounts) is stored on the line as the row gives it;
amounts that do not add up get a row warning (`orders.importers.amounts`).

Returns: one row per returned unit batch; linked to the order when it is imported, otherwise
kept and flagged `order_missing` until the order arrives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from orders import stored_texts as texts
from orders.importers.amounts import amount_warnings
from orders.importers.base import ImportContext
from orders.importers.cells import (
    RowProblem,
    parse_datetime,
    parse_id,
    parse_money,
    parse_quantity,
)
from orders.importers.common import (
    BuyerColumns,
    OrderRowsState,
    column_length,
    required,
    required_value,
)
from orders.importers.driver import Digester, DocumentState, GroupedRowImporter
from orders.importers.parsing import Row, Table
from orders.models import Order, ShipmentLine
from orders.services.order_plan import ItemRecord, OrderRecord, ShipmentLineRecord
from orders.services.orders import (
    orders_with_digests,
    shipment_lines_with_digests,
    upsert_orders,
)
from orders.services.outcomes import Outcomes
from orders.services.returns import ReturnRecord, return_line_key, upsert_returns

SHIPMENT_REPORT_TYPES = (
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING",
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL",
)
RETURNS_REPORT_TYPES = ("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",)


class _ShipmentColumns(NamedTuple):
    """The columns of a shipments row (see Table.columns)."""

    amazon_order_item_id: str
    shipment_id: str
    shipment_item_id: str
    purchase_date: str
    quantity_shipped: str
    item_price: str
    item_tax: str
    shipping_price: str
    shipping_tax: str
    gift_wrap_price: str
    gift_wrap_tax: str
    item_promotion_discount: str
    ship_promotion_discount: str
    carrier: str
    tracking_number: str
    fulfillment_center_id: str
    shipment_date: str
    reporting_date: str
    estimated_arrival_date: str
    sku: str
    product_name: str
    sales_channel: str
    currency: str


class _LineColumns(NamedTuple):
    """The columns a shipment line's key is made of (see ShipmentLine)."""

    shipment_id: str
    shipment_item_id: str
    amazon_order_item_id: str


@dataclass
class _ShipmentsState(OrderRowsState):
    read: Callable[[list[str]], _ShipmentColumns]
    read_line_key: Callable[[list[str]], _LineColumns]
    # Digests of the current batch's orders and shipment lines (`already_imported`).
    order_digests: dict[str, str] = field(default_factory=dict)
    line_digests: dict[tuple[str, str], str] = field(default_factory=dict)


_TRACKING_NUMBER_LENGTH = column_length(ShipmentLine, "tracking_number")
_SHIPMENT_ITEM_ID_LENGTH = column_length(ShipmentLine, "shipment_item_id")


def fallback_shipment_item_id(order_item_id: str, occurrence: int) -> str:
    """The key of the `occurrence`-th row (from 1) without a shipment-item-id of one order item
    in one shipment of a document: the rule documented on ShipmentLine."""
    key = f"~{order_item_id}" if occurrence == 1 else f"~{order_item_id}~{occurrence}"
    if len(key) > _SHIPMENT_ITEM_ID_LENGTH:
        key = "~" + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    return key


def _line_key(
    shipment_id: str, shipment_item_id: str, order_item_id: str, taken: set[tuple[str, str]]
) -> tuple[str, str]:
    """A row's shipment line key, its fallback when it has no shipment item id: the first not
    `taken` by an earlier row of its order in the document. The key is added to `taken`."""
    if shipment_item_id:
        taken.add((shipment_id, shipment_item_id))
        return shipment_id, shipment_item_id
    occurrence = 1
    key = (shipment_id, fallback_shipment_item_id(order_item_id, occurrence))
    while key in taken:
        occurrence += 1
        key = (shipment_id, fallback_shipment_item_id(order_item_id, occurrence))
    taken.add(key)
    return key


class FbaShipmentsImporter(GroupedRowImporter[OrderRecord, _ShipmentsState]):
    """AFN orders, items and shipment lines from the FBA shipments report."""

    report_types = SHIPMENT_REPORT_TYPES
    order_column = "amazon-order-id"
    digests = True
    required_columns = (
        "amazon-order-id",
        "shipment-id",
        "shipment-item-id",
        "amazon-order-item-id",
        "purchase-date",
        "sku",
        "quantity-shipped",
    )

    def start(self, table: Table, context: ImportContext) -> _ShipmentsState:
        return _ShipmentsState(
            context=context,
            read=table.columns(_ShipmentColumns),
            read_buyer=table.columns(BuyerColumns),
            read_line_key=table.columns(_LineColumns),
        )

    def add_row(
        self, group: OrderRecord | None, row: Row, order_id: str, state: _ShipmentsState
    ) -> OrderRecord:
        columns = state.read(row.fields)
        item_id = parse_id(columns.amazon_order_item_id, column="amazon-order-item-id")
        shipment_id = parse_id(columns.shipment_id, column="shipment-id")
        shipment_item_id = parse_id(
            columns.shipment_item_id, column="shipment-item-id", required=False
        )
        if not shipment_item_id:
            taken = (
                {(line.shipment_id, line.shipment_item_id) for line in group.shipment_lines}
                if group is not None
                else set()
            )
            shipment_item_id = _line_key(shipment_id, "", item_id, taken)[1]
        purchased_at = parse_datetime(
            required(columns.purchase_date, "purchase-date"), column="purchase-date"
        )
        line_values = {
            "quantity": parse_quantity(columns.quantity_shipped, column="quantity-shipped"),
            "item_price": parse_money(columns.item_price, column="item-price"),
            "item_tax": parse_money(columns.item_tax, column="item-tax"),
            "shipping_price": parse_money(columns.shipping_price, column="shipping-price"),
            "shipping_tax": parse_money(columns.shipping_tax, column="shipping-tax"),
            "gift_wrap_price": parse_money(columns.gift_wrap_price, column="gift-wrap-price"),
            "gift_wrap_tax": parse_money(columns.gift_wrap_tax, column="gift-wrap-tax"),
            "item_promotion_discount": parse_money(
                columns.item_promotion_discount, column="item-promotion-discount"
            ),
            "ship_promotion_discount": parse_money(
                columns.ship_promotion_discount, column="ship-promotion-discount"
            ),
            "carrier": columns.carrier,
            "tracking_number": parse_id(
                columns.tracking_number,
                column="tracking-number",
                required=False,
                max_length=_TRACKING_NUMBER_LENGTH,
            ),
            "fulfillment_center_id": columns.fulfillment_center_id,
            "shipped_at": parse_datetime(columns.shipment_date, column="shipment-date"),
            "reported_at": parse_datetime(columns.reporting_date, column="reporting-date"),
            "estimated_arrival_at": parse_datetime(
                columns.estimated_arrival_date, column="estimated-arrival-date"
            ),
        }
        item_values = {"sku": required(columns.sku, "sku"), "product_name": columns.product_name}
        values = {
            "fulfillment_channel": Order.FulfillmentChannel.AFN,
            # In this report only once shipped; partial shipments are not visible here.
            "status": Order.Status.SHIPPED,
            "purchased_at": purchased_at,
            "sales_channel": columns.sales_channel,
            "marketplace_id": state.marketplace(columns.sales_channel),
            "currency": columns.currency,
            **state.buyer(row),
        }
        state.warnings.extend(amount_warnings(row.line, line_values))
        if group is None:
            group = OrderRecord(amazon_order_id=order_id, line=row.line)
        group.values.update({k: v for k, v in values.items() if v != "" and v is not None})
        # Amazon updated the order when it reported the shipment: a status report that knows
        # the order as it was before cannot undo "Shipped" (Order.last_updated_at).
        reported = line_values["reported_at"] or line_values["shipped_at"]
        if reported is not None and (group.status_at is None or reported > group.status_at):
            group.status_at = reported
        if item_id not in group.items:
            group.items[item_id] = ItemRecord(
                order_item_id=item_id, line=row.line, values=item_values
            )
        group.shipment_lines.append(
            ShipmentLineRecord(
                shipment_id=shipment_id,
                shipment_item_id=shipment_item_id,
                order_item_id=item_id,
                line=row.line,
                values=line_values,
            )
        )
        group.row_lines.append(row.line)
        return group

    def lines_of(self, group: OrderRecord) -> list[int]:
        return group.row_lines

    def set_digest(self, group: OrderRecord, state: _ShipmentsState) -> None:
        group.digest = state.order_digests[group.amazon_order_id]
        # Every written group was checked line by line: its order's digest did not match.
        for line_record in group.shipment_lines:
            line_record.digest = state.line_digests[
                (line_record.shipment_id, line_record.shipment_item_id)
            ]

    def already_imported(
        self, pending: dict[str, list[Row]], digester: Digester, state: _ShipmentsState
    ) -> set[str]:
        # These reports list an order's shipments apart (by date), so an order's rows may come
        # in several groups. A group that is the order's last written one matches the order's
        # digest; any other group is unchanged when each of its rows matches the digest kept
        # on its shipment line.
        account = state.context.account
        state.order_digests = {
            order_id: digester([row.text for row in rows]) for order_id, rows in pending.items()
        }
        unchanged = orders_with_digests(account=account, digests=state.order_digests)
        keys = {
            order_id: self._line_keys(rows, state)
            for order_id, rows in pending.items()
            if order_id not in unchanged
        }
        state.line_digests = {
            key: digester([row.text])
            for order_id, order_keys in keys.items()
            for key, row in zip(order_keys, pending[order_id], strict=True)
        }
        stored = shipment_lines_with_digests(account=account, digests=state.line_digests)
        unchanged.update(
            order_id
            for order_id, order_keys in keys.items()
            if all(key in stored for key in order_keys)
        )
        return unchanged

    def _line_keys(self, rows: list[Row], state: _ShipmentsState) -> list[tuple[str, str]]:
        """The shipment line key of each of one order's rows, as `add_row` makes them."""
        found = [state.read_line_key(row.fields) for row in rows]
        if all(columns.shipment_item_id for columns in found):  # the usual case
            return [(columns.shipment_id, columns.shipment_item_id) for columns in found]
        taken: set[tuple[str, str]] = set()
        return [_line_key(*columns, taken) for columns in found]

    def write(self, groups: list[OrderRecord], context: ImportContext) -> Outcomes:
        return upsert_orders(
            account=context.account, records=groups, source_report_id=context.source_report_id
        )


@dataclass
class _ReturnsState(DocumentState):
    # How often each content of a row without a license plate number was seen so far: such
    # rows are keyed by their content and its occurrence (see return_line_key).
    seen: dict[tuple[str, ...], int] = field(default_factory=dict)


class FbaReturnsImporter(GroupedRowImporter[list[ReturnRecord], _ReturnsState]):
    """Customer returns of FBA orders (GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA)."""

    report_types = RETURNS_REPORT_TYPES
    order_column = "order-id"
    required_columns = ("return-date", "order-id", "sku", "quantity")
    _CONTENT = (
        "asin",
        "fnsku",
        "quantity",
        "fulfillment-center-id",
        "detailed-disposition",
        "reason",
        "status",
        "customer-comments",
    )

    def start(self, table: Table, context: ImportContext) -> _ReturnsState:
        return _ReturnsState(context=context)

    def add_row(
        self, group: list[ReturnRecord] | None, row: Row, order_id: str, state: _ReturnsState
    ) -> list[ReturnRecord]:
        returned_at = parse_datetime(required_value(row, "return-date"), column="return-date")
        if returned_at is None:  # pragma: no cover - required_value guards it
            raise RowProblem(texts.stored_text(texts.EMPTY, column="return-date"))
        sku = required_value(row, "sku")
        lpn = row.get("license-plate-number")
        content = [order_id, sku, returned_at.isoformat(), *(row.get(c) for c in self._CONTENT)]
        occurrence = state.seen.get(tuple(content), 0) + 1
        values = {
            "asin": row.get("asin"),
            "fnsku": row.get("fnsku"),
            "product_name": row.get("product-name"),
            "quantity": parse_quantity(row.get("quantity")),
            "fulfillment_center_id": row.get("fulfillment-center-id"),
            "detailed_disposition": row.get("detailed-disposition"),
            "reason": row.get("reason"),
            "status": row.get("status"),
            "license_plate_number": lpn,
            "customer_comments": row.get("customer-comments"),
        }
        if not lpn:
            state.seen[tuple(content)] = occurrence
        record = ReturnRecord(
            amazon_order_id=order_id,
            sku=sku,
            returned_at=returned_at,
            line_key=return_line_key(lpn, content, occurrence),
            line=row.line,
            values=values,
        )
        return [*(group or []), record]

    def lines_of(self, group: list[ReturnRecord]) -> list[int]:
        return [r.line for r in group]

    def write(self, groups: list[list[ReturnRecord]], context: ImportContext) -> Outcomes:
        return upsert_returns(
            account=context.account,
            records=[r for group in groups for r in group],
            source_report_id=context.source_report_id,
        )

"""FBA shipments (GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING / _GENERAL) and FBA returns.

Shipments: one row per shipment item. Each row upserts the AFN order, its item (keyed by
`amazon-order-item-id`, which these files always carry) and the shipment line (keyed by
shipment-id + shipment-item-id). An order shipped in two parcels is one order
with two shipment ids. Buyer columns are often empty here (no PII access): empty never erases.

Returns: one row per returned unit batch; linked to the order when it is imported, otherwise
kept and flagged `order_missing` until the order arrives.
"""

from __future__ import annotations

from typing import Any

from orders.importers.base import ImportContext
from orders.importers.common import (
    BUYER_COLUMNS,
    BUYER_FIELDS,
    marketplace_for,
    required,
    required_value,
)
from orders.importers.driver import Digester, GroupedRowImporter
from orders.importers.parsing import (
    Row,
    RowProblem,
    Table,
    parse_datetime,
    parse_id,
    parse_money,
    parse_quantity,
)
from orders.models import Order
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


class FbaShipmentsImporter(GroupedRowImporter):
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

    _COLUMNS = (
        "amazon-order-item-id",
        "shipment-id",
        "shipment-item-id",
        "purchase-date",
        "quantity-shipped",
        "item-price",
        "item-tax",
        "shipping-price",
        "shipping-tax",
        "carrier",
        "tracking-number",
        "fulfillment-center-id",
        "shipment-date",
        "reporting-date",
        "estimated-arrival-date",
        "sku",
        "product-name",
        "sales-channel",
        "currency",
        *BUYER_COLUMNS,
    )

    def prepare(self, table: Table, state: dict) -> None:
        state["pick"] = table.picker(self._COLUMNS)
        pick_key = table.picker(("shipment-id", "shipment-item-id"))

        def line_key(fields: list[str]) -> tuple[str, str]:
            shipment_id, shipment_item_id = pick_key(fields)
            return shipment_id.strip(), shipment_item_id.strip()

        state["line_key"] = line_key

    def add_row(self, group: OrderRecord | None, row: Row, order_id: str, state: dict) -> Any:
        (
            item_id,
            shipment_id,
            shipment_item_id,
            purchase_date,
            quantity,
            item_price,
            item_tax,
            shipping_price,
            shipping_tax,
            carrier,
            tracking_number,
            fulfillment_center_id,
            shipment_date,
            reporting_date,
            estimated_arrival_date,
            sku,
            product_name,
            sales_channel,
            currency,
            *buyer,
        ) = [value.strip() for value in state["pick"](row.fields)]
        item_id = parse_id(item_id, column="amazon-order-item-id")
        shipment_id = parse_id(shipment_id, column="shipment-id")
        shipment_item_id = parse_id(shipment_item_id, column="shipment-item-id")
        purchased_at = parse_datetime(
            required(purchase_date, "purchase-date"), column="purchase-date"
        )
        line_values = {
            "quantity": parse_quantity(quantity, column="quantity-shipped"),
            "item_price": parse_money(item_price, column="item-price"),
            "item_tax": parse_money(item_tax, column="item-tax"),
            "shipping_price": parse_money(shipping_price, column="shipping-price"),
            "shipping_tax": parse_money(shipping_tax, column="shipping-tax"),
            "carrier": carrier[:60],
            "tracking_number": parse_id(
                tracking_number, column="tracking-number", required=False, max_length=80
            ),
            "fulfillment_center_id": fulfillment_center_id[:20],
            "shipped_at": parse_datetime(shipment_date, column="shipment-date"),
            "reported_at": parse_datetime(reporting_date, column="reporting-date"),
            "estimated_arrival_at": parse_datetime(
                estimated_arrival_date, column="estimated-arrival-date"
            ),
        }
        item_values = {"sku": required(sku, "sku"), "product_name": product_name[:500]}
        values = {
            "fulfillment_channel": Order.FulfillmentChannel.AFN,
            # In this report only once shipped; partial shipments are not visible here.
            "status": Order.Status.SHIPPED,
            "purchased_at": purchased_at,
            "sales_channel": sales_channel,
            "marketplace_id": marketplace_for(sales_channel, state["context"]),
            "currency": currency[:3],
            **dict(zip(BUYER_FIELDS, buyer, strict=True)),
        }
        if group is None:
            group = OrderRecord(amazon_order_id=order_id, line=row.line)
        group.values.update({k: v for k, v in values.items() if v != "" and v is not None})
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

    def set_digest(self, group: OrderRecord, state: dict) -> None:
        group.digest = state["order_digests"][group.amazon_order_id]
        # Every written group was checked line by line: its order's digest did not match.
        line_digests = state["line_digests"]
        for line_record in group.shipment_lines:
            line_record.digest = line_digests[
                (line_record.shipment_id, line_record.shipment_item_id)
            ]

    def already_imported(
        self,
        pending: dict[str, list[Row]],
        digester: Digester,
        context: ImportContext,
        state: dict,
    ) -> set[str]:
        # These reports list an order's shipments apart (by date), so an order's rows may come
        # in several groups. A group that is the order's last written one matches the order's
        # digest; any other group is unchanged when each of its rows matches the digest kept
        # on its shipment line.
        order_digests = state["order_digests"] = {
            order_id: digester([row.text for row in rows]) for order_id, rows in pending.items()
        }
        unchanged = orders_with_digests(account=context.account, digests=order_digests)
        line_key = state["line_key"]
        keys = {
            order_id: [line_key(row.fields) for row in rows]
            for order_id, rows in pending.items()
            if order_id not in unchanged
        }
        line_digests = state["line_digests"] = {
            key: digester([row.text])
            for order_id, order_keys in keys.items()
            for key, row in zip(order_keys, pending[order_id], strict=True)
        }
        stored = shipment_lines_with_digests(account=context.account, digests=line_digests)
        unchanged.update(
            order_id
            for order_id, order_keys in keys.items()
            if all(key in stored for key in order_keys)
        )
        return unchanged

    def write(self, groups: list[OrderRecord], context: ImportContext) -> Outcomes:
        return upsert_orders(
            account=context.account, records=groups, source_report_id=context.source_report_id
        )


class FbaReturnsImporter(GroupedRowImporter):
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

    def add_row(
        self, group: list[ReturnRecord] | None, row: Row, order_id: str, state: dict
    ) -> Any:
        returned_at = parse_datetime(required_value(row, "return-date"), column="return-date")
        if returned_at is None:  # pragma: no cover - required_value guards it
            raise RowProblem("return-date is empty")
        sku = required_value(row, "sku")
        lpn = row.get("license-plate-number")
        content = [order_id, sku, returned_at.isoformat(), *(row.get(c) for c in self._CONTENT)]
        seen: dict[tuple[str, ...], int] = state.setdefault("seen", {})
        occurrence = seen.get(tuple(content), 0) + 1
        values = {
            "asin": row.get("asin"),
            "fnsku": row.get("fnsku"),
            "product_name": row.get("product-name")[:500],
            "quantity": parse_quantity(row.get("quantity")),
            "fulfillment_center_id": row.get("fulfillment-center-id")[:20],
            "detailed_disposition": row.get("detailed-disposition")[:40],
            "reason": row.get("reason")[:80],
            "status": row.get("status")[:80],
            "license_plate_number": lpn[:40],
            "customer_comments": row.get("customer-comments")[:1000],
        }
        if not lpn:
            seen[tuple(content)] = occurrence
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

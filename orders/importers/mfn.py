"""MFN order reports: the flat files (EU _INVOICING, NA _SHIPPING) and their XML twins.

One row (flat) or one `Item` (XML) per order line, keyed by Amazon's order item id. A later
report of the same order updates it: quantities, amounts, status. The flat files have no status
column in the layouts we know (the US and EU ones in tests/data/report_headers.tsv); an order is
in them once it can be shipped, so a new order starts as Unshipped, an `order-status` column is
used where a file has one, and an order whose lines all show quantity 0 is taken as cancelled
(our reading: Amazon zeroes the quantity of cancelled lines in its order reports).

An order is in these reports once its payment cleared, so its `payments-date` (XML:
`OrderPostedDate`) is when Amazon last updated it as far as the report knows: a status report
that knows the order from before (still Pending) cannot take it back, and one that knows a later
change (a cancellation) replaces what the MFN report implies (orders.services.statuses).

Amounts: the flat layouts we know carry item and shipping prices and taxes; gift wrap,
promotion discounts with their ids and the bill-to address are read where a file has those
columns (some layouts do), and a column the file lacks changes nothing stored. The XML report
carries them all: `ItemPrice` components (Principal, Shipping, GiftWrap and their taxes),
`Promotion` elements (their Principal and Shipping components, `MerchantPromotionID`) and
`BillingData/Address`. Amounts that do not add up are imported with a row warning
(`orders.importers.amounts`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple, TextIO

from orders import stored_texts as texts
from orders.importers.amounts import FLAT_COLUMNS, amount_warnings
from orders.importers.base import ImportContext, ImportResult, RowError, RowWarning
from orders.importers.cells import (
    RowProblem,
    parse_bool,
    parse_datetime,
    parse_id,
    parse_money,
    parse_order_id,
    parse_quantity,
)
from orders.importers.common import (
    BuyerColumns,
    OrderRowsState,
    column_length,
    marketplace_for,
    required,
)
from orders.importers.driver import (
    BATCH_ORDERS,
    ORDER_ID_MAX_LENGTH,
    Digester,
    GroupedRowImporter,
    count_outcomes,
    run_document,
)
from orders.importers.parsing import Row, Table, iter_xml_messages, xml_text
from orders.models import Order, OrderItem
from orders.services.order_plan import ItemRecord, OrderRecord
from orders.services.orders import orders_with_digests, upsert_orders
from orders.services.outcomes import UNCHANGED, Outcomes

FLAT_REPORT_TYPES = (
    "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
)
XML_REPORT_TYPES = ("GET_ORDER_REPORT_DATA_INVOICING", "GET_ORDER_REPORT_DATA_SHIPPING")
_SKU_LENGTH = column_length(OrderItem, "sku")

_STATUS_BY_TEXT = {s.value.lower(): s.value for s in Order.Status if s.value}
_STATUS_BY_TEXT["cancelled"] = Order.Status.CANCELED


_ZERO = Decimal("0.00")

# The XML report's name of each amount: `ItemPrice` component types, and the types of a
# `Promotion`'s components.
_PRICE_COMPONENTS = {
    "Principal": "item_price",
    "Tax": "item_tax",
    "Shipping": "shipping_price",
    "ShippingTax": "shipping_tax",
    "GiftWrap": "gift_wrap_price",
    "GiftWrapTax": "gift_wrap_tax",
}
_PROMOTION_COMPONENTS = {
    "Principal": "item_promotion_discount",
    "Shipping": "ship_promotion_discount",
}
_PROMOTION_ID_FIELDS = {
    "item_promotion_discount": "item_promotion_id",
    "ship_promotion_discount": "ship_promotion_id",
}
# How row warnings and errors name each amount of the XML report.
_XML_COLUMNS = {
    **{name: kind for kind, name in _PRICE_COMPONENTS.items()},
    **{name: f"Promotion {kind}" for kind, name in _PROMOTION_COMPONENTS.items()},
}


def _status(text: str) -> str:
    return _STATUS_BY_TEXT.get(text.strip().lower().replace(" ", ""), "")


def _finish(record: OrderRecord) -> OrderRecord:
    quantities = [item.values.get("quantity_ordered", 1) for item in record.items.values()]
    if quantities and not any(quantities) and "status" not in record.values:
        record.values["status"] = Order.Status.CANCELED
    return record


class _FlatColumns(NamedTuple):
    """The columns of a flat file row an order is read from (see Table.columns)."""

    order_item_id: str
    purchase_date: str
    sku: str
    asin: str
    product_name: str
    quantity_purchased: str
    item_price: str
    item_tax: str
    shipping_price: str
    shipping_tax: str
    gift_wrap_price: str
    gift_wrap_tax: str
    item_promotion_discount: str
    ship_promotion_discount: str
    item_promotion_id: str
    ship_promotion_id: str
    sales_channel: str
    currency: str
    buyer_company_name: str
    purchase_order_number: str
    buyer_vat_number: str
    is_business_order: str
    order_status: str
    last_updated_date: str
    payments_date: str


# Amount columns that only some flat layouts have: read only where the file has them.
_OPTIONAL_AMOUNTS = (
    "gift_wrap_price",
    "gift_wrap_tax",
    "item_promotion_discount",
    "ship_promotion_discount",
)


@dataclass
class _FlatState(OrderRowsState):
    read: Callable[[list[str]], _FlatColumns]
    has_business_column: bool
    # Those of _OPTIONAL_AMOUNTS the file has.
    optional_amounts: tuple[str, ...]
    # The digest of each order of the current batch (`already_imported`, `set_digest`).
    digests: dict[str, str] = field(default_factory=dict)


class MfnFlatImporter(GroupedRowImporter[OrderRecord, _FlatState]):
    """GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING / _SHIPPING (TAB-separated)."""

    report_types = FLAT_REPORT_TYPES
    order_column = "order-id"
    digests = True
    required_columns = ("order-id", "order-item-id", "purchase-date", "sku", "quantity-purchased")

    def start(self, table: Table, context: ImportContext) -> _FlatState:
        return _FlatState(
            context=context,
            read=table.columns(_FlatColumns),
            read_buyer=table.columns(BuyerColumns),
            has_business_column=table.has("is-business-order"),
            optional_amounts=tuple(
                name for name in _OPTIONAL_AMOUNTS if table.has(FLAT_COLUMNS[name])
            ),
        )

    def add_row(
        self, group: OrderRecord | None, row: Row, order_id: str, state: _FlatState
    ) -> OrderRecord:
        columns = state.read(row.fields)
        item_id = parse_id(columns.order_item_id, column="order-item-id")
        purchased_at = parse_datetime(
            required(columns.purchase_date, "purchase-date"), column="purchase-date"
        )
        item_values = {
            "sku": required(columns.sku, "sku"),
            "asin": columns.asin,
            "product_name": columns.product_name,
            "quantity_ordered": parse_quantity(
                columns.quantity_purchased, column="quantity-purchased"
            ),
            "item_price": parse_money(columns.item_price, column="item-price"),
            "item_tax": parse_money(columns.item_tax, column="item-tax"),
            "shipping_price": parse_money(columns.shipping_price, column="shipping-price"),
            "shipping_tax": parse_money(columns.shipping_tax, column="shipping-tax"),
            "item_promotion_id": columns.item_promotion_id,
            "ship_promotion_id": columns.ship_promotion_id,
        }
        for name in state.optional_amounts:
            item_values[name] = parse_money(getattr(columns, name), column=FLAT_COLUMNS[name])
        values: dict[str, Any] = {
            "fulfillment_channel": Order.FulfillmentChannel.MFN,
            "purchased_at": purchased_at,
            "sales_channel": columns.sales_channel,
            "marketplace_id": state.marketplace(columns.sales_channel),
            "currency": columns.currency,
            **state.buyer(row),
            "buyer_company_name": columns.buyer_company_name,
            "purchase_order_number": columns.purchase_order_number,
            "buyer_vat_number": columns.buyer_vat_number,
        }
        if state.has_business_column:
            values["is_business_order"] = parse_bool(columns.is_business_order)
        if columns.order_status:
            status = _status(columns.order_status)
            if not status:
                raise RowProblem(
                    texts.stored_text(
                        texts.NOT_A_STATUS, column="order-status", value=repr(columns.order_status)
                    )
                )
            values["status"] = status
        if columns.last_updated_date:
            values["last_updated_at"] = parse_datetime(
                columns.last_updated_date, column="last-updated-date"
            )
        paid_at = parse_datetime(columns.payments_date, column="payments-date")
        # Everything parsed: only now touch the group, so a bad row leaves it as it was.
        state.warnings.extend(amount_warnings(row.line, item_values))
        if group is None:
            group = OrderRecord(
                amazon_order_id=order_id,
                line=row.line,
                on_create={"status": Order.Status.UNSHIPPED},
                status_at=paid_at,
            )
        group.values.update({k: v for k, v in values.items() if v != "" and v is not None})
        group.items[item_id] = ItemRecord(order_item_id=item_id, line=row.line, values=item_values)
        group.row_lines.append(row.line)
        return group

    def lines_of(self, group: OrderRecord) -> list[int]:
        return group.row_lines

    def set_digest(self, group: OrderRecord, state: _FlatState) -> None:
        group.digest = state.digests[group.amazon_order_id]

    def already_imported(
        self, pending: dict[str, list[Row]], digester: Digester, state: _FlatState
    ) -> set[str]:
        # One digest per order: MFN files list an order's rows together.
        state.digests = {
            order_id: digester([row.text for row in rows]) for order_id, rows in pending.items()
        }
        return orders_with_digests(account=state.context.account, digests=state.digests)

    def write(self, groups: list[OrderRecord], context: ImportContext) -> Outcomes:
        return upsert_orders(
            account=context.account,
            records=[_finish(g) for g in groups],
            source_report_id=context.source_report_id,
        )


class MfnXmlImporter:
    """GET_ORDER_REPORT_DATA_INVOICING / _SHIPPING: AmazonEnvelope of OrderReport messages.

    One message is one order and one counted row; its line is the `<Message>` tag's line.
    """

    report_types = XML_REPORT_TYPES
    # A truncated envelope is refused whole, so the document commits in one transaction.
    commits_per_batch = False

    def import_document(self, stream: TextIO, *, context: ImportContext) -> ImportResult:
        """Import one XML document in one transaction. Idempotent. Raises DocumentRejected
        when the document is not an XML envelope; a bad message becomes a RowError."""
        return run_document(context, lambda: self._run(stream, context))

    def _run(self, stream: TextIO, context: ImportContext) -> ImportResult:
        result = ImportResult()
        batch: list[OrderRecord] = []
        for message in iter_xml_messages(stream):
            result.rows += 1
            report = message.element.find("OrderReport")
            warnings: list[RowWarning] = []
            try:
                if report is None:
                    raise RowProblem(texts.NO_ORDER_REPORT)
                batch.append(self._record(report, message.line, context, warnings))
            except RowProblem as problem:
                result.errors.append(RowError(message.line, str(problem)))
                result.failed += 1
            else:
                result.warnings.extend(warnings)
            if len(batch) >= BATCH_ORDERS:
                self._flush(batch, context, result)
                batch = []
        self._flush(batch, context, result)
        return result

    def _flush(self, batch: list[OrderRecord], context: ImportContext, result) -> None:
        if batch:
            outcomes = upsert_orders(
                account=context.account,
                records=batch,
                source_report_id=context.source_report_id,
            )
            for record in batch:
                outcomes.by_line.setdefault(record.line, UNCHANGED)
            count_outcomes(outcomes, result)

    def _record(
        self, report, line: int, context: ImportContext, warnings: list[RowWarning]
    ) -> OrderRecord:
        """The order of one `OrderReport`; what does not add up in its amounts goes to
        `warnings`. Raises RowProblem."""
        order_id = parse_order_id(
            xml_text(report, "AmazonOrderID"),
            column="AmazonOrderID",
            max_length=ORDER_ID_MAX_LENGTH,
        )
        purchased_at = parse_datetime(xml_text(report, "OrderDate"), column="OrderDate")
        if purchased_at is None:
            raise RowProblem(texts.stored_text(texts.EMPTY, column="OrderDate"))
        address = "FulfillmentData/Address/"
        billing = "BillingData/Address/"
        sales_channel = xml_text(report, "SalesChannel")
        record = OrderRecord(
            amazon_order_id=order_id,
            line=line,
            on_create={"status": Order.Status.UNSHIPPED},
            row_lines=[line],
            status_at=parse_datetime(xml_text(report, "OrderPostedDate"), column="OrderPostedDate"),
        )
        currency = ""
        item_warnings: list[RowWarning] = []
        for item in report.findall("Item"):
            item_id = parse_id(xml_text(item, "AmazonOrderItemCode"), column="AmazonOrderItemCode")
            values: dict[str, Any] = {
                "sku": parse_id(xml_text(item, "SKU"), column="SKU", max_length=_SKU_LENGTH),
                "product_name": xml_text(item, "Title"),
                "quantity_ordered": parse_quantity(xml_text(item, "Quantity"), column="Quantity"),
            }
            for component in item.findall("ItemPrice/Component"):
                field_name = _PRICE_COMPONENTS.get(xml_text(component, "Type"))
                amount = component.find("Amount")
                if field_name is not None and amount is not None:
                    values[field_name] = parse_money(
                        amount.text or "", column=_XML_COLUMNS[field_name]
                    )
                    currency = currency or amount.get("currency", "")
            promotion_ids: dict[str, list[str]] = {}
            for promotion in item.findall("Promotion"):
                promotion_id = xml_text(promotion, "MerchantPromotionID")
                for component in promotion.findall("Component"):
                    field_name = _PROMOTION_COMPONENTS.get(xml_text(component, "Type"))
                    if field_name is None:
                        continue
                    amount = parse_money(
                        xml_text(component, "Amount"), column=_XML_COLUMNS[field_name]
                    )
                    values[field_name] = values.get(field_name, _ZERO) + amount
                    if promotion_id:
                        promotion_ids.setdefault(field_name, []).append(promotion_id)
            for field_name, ids in promotion_ids.items():
                values[_PROMOTION_ID_FIELDS[field_name]] = ",".join(dict.fromkeys(ids))
            # An item without some component has none of it: zero, as in the flat files.
            for field_name in _XML_COLUMNS:
                values.setdefault(field_name, _ZERO)
            item_warnings += amount_warnings(
                line, values, _XML_COLUMNS, prefix=f"AmazonOrderItemCode {item_id}: "
            )
            record.items[item_id] = ItemRecord(order_item_id=item_id, line=line, values=values)
        values = {
            "fulfillment_channel": Order.FulfillmentChannel.MFN,
            "purchased_at": purchased_at,
            "sales_channel": sales_channel,
            "marketplace_id": marketplace_for(sales_channel, context),
            "currency": currency,
            "buyer_email": xml_text(report, "BillingData/BuyerEmailAddress"),
            "buyer_name": xml_text(report, "BillingData/BuyerName"),
            "buyer_phone": xml_text(report, "BillingData/BuyerPhoneNumber"),
            "ship_service_level": xml_text(report, "FulfillmentData/FulfillmentServiceLevel"),
            "recipient_name": xml_text(report, address + "Name"),
            "ship_address_1": xml_text(report, address + "AddressFieldOne"),
            "ship_address_2": xml_text(report, address + "AddressFieldTwo"),
            "ship_address_3": xml_text(report, address + "AddressFieldThree"),
            "ship_city": xml_text(report, address + "City"),
            "ship_state": xml_text(report, address + "StateOrRegion"),
            "ship_postal_code": xml_text(report, address + "PostalCode"),
            "ship_country": xml_text(report, address + "CountryCode"),
            "ship_phone": xml_text(report, address + "PhoneNumber"),
            "billing_name": xml_text(report, billing + "Name"),
            "bill_address_1": xml_text(report, billing + "AddressFieldOne"),
            "bill_address_2": xml_text(report, billing + "AddressFieldTwo"),
            "bill_address_3": xml_text(report, billing + "AddressFieldThree"),
            "bill_city": xml_text(report, billing + "City"),
            "bill_state": xml_text(report, billing + "StateOrRegion"),
            "bill_postal_code": xml_text(report, billing + "PostalCode"),
            "bill_country": xml_text(report, billing + "CountryCode"),
        }
        record.values = {k: v for k, v in values.items() if v not in ("", None)}
        warnings += item_warnings
        return _finish(record)

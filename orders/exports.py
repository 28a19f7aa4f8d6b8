"""What the exports of Orders, Returns, Stock and Invoices hold: their columns and rows.

Each export reads the queryset its page lists (`orders.selectors`, called with the page's own
filters), so the file holds exactly the rows the page shows, in its order, all pages of them. The
one exception is a search of Orders: like its pages, the export ends with the search's newest
`selectors.SEARCH_REACH` (1,000) matches, because a search is looked for inside values and
reading all its matches could read every order; a longer export is had with the filters
(account, marketplace, channel, status, dates), which have no limit.

Rows are read with `QuerySet.iterator(chunk_size=CHUNK)`: the items of a chunk's orders come in
one query per chunk, so an export costs the same few queries per `CHUNK` orders however many
there are, and never holds more than one chunk.

Buyer data (`core.roles.can_view_buyer_data`): without it an export leaves out the columns that
name, reach or locate a buyer, the ones `orders.privacy` removes after the retention, and those
the order page hides (company, VAT number); the countries stay, as on the page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from core.exports import Column, ExportTable, Kind
from core.stored_texts import translate_stored
from orders import selectors
from orders.models import (
    LINE_AMOUNT_FIELDS,
    ORDER_TOTAL_FIELDS,
    Invoice,
    Order,
    OrderItem,
    Return,
)
from orders.privacy import INVOICE_PII_FIELDS, ORDER_PII_FIELDS, RETURN_PII_FIELDS

CHUNK = 2000

# Order fields the order page hides from who may not see buyers, beyond orders.privacy's.
ORDER_BUYER_FIELDS = frozenset({*ORDER_PII_FIELDS, "buyer_company_name", "buyer_vat_number"})
INVOICE_BUYER_FIELDS = frozenset({*INVOICE_PII_FIELDS, "buyer_vat_number"})
RETURN_BUYER_FIELDS = frozenset(RETURN_PII_FIELDS)

AMOUNT = Kind.AMOUNT

ORDER_COLUMNS = (
    Column("amazon_order_id", _("Order ID"), width=21),
    Column("purchased_at", _("Purchased"), Kind.DATETIME, width=19),
    Column("last_updated_at", _("Last updated"), Kind.DATETIME, width=19),
    Column("status", _("Status")),
    Column("account", _("Account"), width=20),
    Column("marketplace_id", _("Marketplace ID")),
    Column("sales_channel", _("Sales channel")),
    Column("fulfillment_channel", _("Channel"), width=8),
    Column("is_business_order", _("Business order"), Kind.BOOLEAN, width=9),
    Column("purchase_order_number", _("Purchase order number")),
    Column("currency", _("Currency"), width=8),
    Column("items_total", _("Order: items"), AMOUNT, width=11),
    Column("shipping_total", _("Order: shipping"), AMOUNT, width=11),
    Column("gift_wrap_total", _("Order: gift wrap"), AMOUNT, width=11),
    Column("promotion_total", _("Order: promotions"), AMOUNT, width=11),
    Column("total", _("Order: total"), AMOUNT, width=11),
    Column("tax_total", _("Order: tax"), AMOUNT, width=11),
    Column("buyer_name", _("Buyer"), width=20),
    Column("buyer_email", _("Buyer e-mail"), width=24),
    Column("buyer_phone", _("Buyer phone")),
    Column("buyer_company_name", _("Buyer company"), width=20),
    Column("buyer_vat_number", _("Buyer VAT number")),
    Column("recipient_name", _("Ship to: name"), width=20),
    Column("ship_address_1", _("Ship to: address 1"), width=24),
    Column("ship_address_2", _("Ship to: address 2"), width=20),
    Column("ship_address_3", _("Ship to: address 3"), width=20),
    Column("ship_postal_code", _("Ship to: postal code"), width=10),
    Column("ship_city", _("Ship to: city")),
    Column("ship_state", _("Ship to: state")),
    Column("ship_country", _("Ship to: country"), width=8),
    Column("ship_phone", _("Ship to: phone")),
    Column("ship_service_level", _("Service level")),
    Column("billing_name", _("Bill to: name"), width=20),
    Column("bill_address_1", _("Bill to: address 1"), width=24),
    Column("bill_address_2", _("Bill to: address 2"), width=20),
    Column("bill_address_3", _("Bill to: address 3"), width=20),
    Column("bill_postal_code", _("Bill to: postal code"), width=10),
    Column("bill_city", _("Bill to: city")),
    Column("bill_state", _("Bill to: state")),
    Column("bill_country", _("Bill to: country"), width=8),
    Column("seller_vat_number", _("Seller VAT number")),
    # The item: one row per item, the order's columns repeated on each (an order without
    # items is one row with these empty). Sum the order's amounts over line 1 only.
    Column("line", _("Line"), Kind.INTEGER, width=5),
    Column("order_item_id", _("Order item ID"), width=16),
    Column("sku", _("SKU"), width=18),
    Column("asin", _("ASIN"), width=12),
    Column("product_name", _("Product"), width=40),
    Column("quantity_ordered", _("Quantity ordered"), Kind.INTEGER, width=8),
    Column("quantity_shipped", _("Quantity shipped"), Kind.INTEGER, width=8),
    Column("item_price", _("Item price"), AMOUNT, width=11),
    Column("item_tax", _("Item tax"), AMOUNT, width=11),
    Column("shipping_price", _("Shipping price"), AMOUNT, width=11),
    Column("shipping_tax", _("Shipping tax"), AMOUNT, width=11),
    Column("gift_wrap_price", _("Gift wrap price"), AMOUNT, width=11),
    Column("gift_wrap_tax", _("Gift wrap tax"), AMOUNT, width=11),
    Column("item_promotion_discount", _("Item promotion discount"), AMOUNT, width=11),
    Column("ship_promotion_discount", _("Shipping promotion discount"), AMOUNT, width=11),
    Column("item_promotion_id", _("Item promotion IDs")),
    Column("ship_promotion_id", _("Shipping promotion IDs")),
)
# Columns read through a relation.
ORDER_FIELD_NAMES = {"account": "account__display_name"}
ITEM_FIELDS = (
    "order_item_id",
    "sku",
    "asin",
    "product_name",
    "quantity_ordered",
    "quantity_shipped",
    *LINE_AMOUNT_FIELDS,
    "item_promotion_id",
    "ship_promotion_id",
)

RETURN_COLUMNS = (
    Column("returned_at", _("Returned"), Kind.DATETIME, width=19),
    Column("amazon_order_id", _("Order ID"), width=21),
    Column("order_missing", _("Order not imported"), Kind.BOOLEAN, width=9),
    Column("account", _("Account"), width=20),
    Column("sku", _("SKU"), width=18),
    Column("asin", _("ASIN"), width=12),
    Column("fnsku", _("FNSKU"), width=12),
    Column("product_name", _("Product"), width=40),
    Column("quantity", _("Quantity"), Kind.INTEGER, width=8),
    Column("fulfillment_center_id", _("Fulfillment centre"), width=9),
    Column("detailed_disposition", _("Disposition")),
    Column("reason", _("Reason"), width=20),
    Column("status", _("Status"), width=20),
    Column("license_plate_number", _("License plate number")),
    Column("customer_comments", _("Customer comments"), width=40),
)

STOCK_COLUMNS = (
    Column("sku", _("SKU"), width=18),
    Column("account", _("Account"), width=20),
    Column("asin", _("ASIN"), width=12),
    Column("fnsku", _("FNSKU"), width=12),
    Column("sellable", _("Sellable"), Kind.INTEGER, width=9),
    Column("unsellable", _("Unsellable"), Kind.INTEGER, width=9),
    Column("changed_at", _("Changed"), Kind.DATETIME, width=19),
)

INVOICE_COLUMNS = (
    Column("number", _("Number"), width=18),
    Column("kind", _("Kind"), width=12),
    Column("status", _("Status"), width=10),
    Column("issued_on", _("Issued"), Kind.DATE, width=11),
    Column("amazon_order_id", _("Order ID"), width=21),
    Column("account", _("Account"), width=20),
    Column("source", _("Source"), width=18),
    Column("marketplace_id", _("Marketplace ID")),
    Column("transaction_id", _("Transaction ID"), width=18),
    Column("shipment_id", _("Shipment ID")),
    Column("delivered_on", _("Delivered"), Kind.DATE, width=11),
    Column("currency", _("Currency"), width=8),
    Column("net", _("Net"), AMOUNT, width=11),
    Column("vat", _("VAT"), AMOUNT, width=11),
    Column("gross", _("Gross"), AMOUNT, width=11),
    Column("original_number", _("Corrects invoice"), width=18),
    Column("is_corrected", _("Corrected by a credit note"), Kind.BOOLEAN, width=9),
    Column("cancelled_at", _("Cancelled"), Kind.DATETIME, width=19),
    Column("cancellation_reason", _("Cancellation reason"), width=30),
    Column("seller_name", _("Seller"), width=20),
    Column("seller_vat_id", _("Seller VAT ID")),
    Column("buyer_name", _("Buyer"), width=20),
    Column("buyer_address", _("Buyer address"), width=30),
    Column("buyer_vat_number", _("Buyer VAT number")),
    Column("url", _("Amazon's PDF"), width=30),
)


def _visible(columns: Sequence[Column], hidden: frozenset[str]) -> tuple[Column, ...]:
    return tuple(column for column in columns if column.key not in hidden)


def order_columns(*, buyer_data: bool) -> tuple[Column, ...]:
    return _visible(ORDER_COLUMNS, frozenset() if buyer_data else ORDER_BUYER_FIELDS)


def order_export(*, buyer_data: bool, **filters: Any) -> ExportTable:
    """The orders `selectors.order_list(**filters)` lists, one row per item; a search ends with
    its newest `SEARCH_REACH` matches, as the page does. Without `buyer_data`, neither the
    columns nor the search look at buyers."""
    orders = selectors.order_list(**filters, search_buyers=buyer_data).prefetch_related(None)
    if filters.get("search", "").strip():
        orders = orders[: selectors.SEARCH_REACH]
    columns = order_columns(buyer_data=buyer_data)
    return ExportTable(
        name="orders", title=_("Orders"), columns=columns, rows=_order_rows(orders, columns)
    )


def _order_rows(orders: QuerySet[Order], columns: Sequence[Column]) -> Iterator[list[Any]]:
    """One row per item, a chunk of orders at a time: the chunk's orders from the list's own
    query, then their items in one query. Read as tuples, not models: a million orders cost
    no model instances."""
    order_keys = [c.key for c in columns if c.key not in ITEM_FIELDS and c.key != "line"]
    fields = [ORDER_FIELD_NAMES.get(key, key) for key in order_keys if key != "total"]
    total_at = order_keys.index("total") if "total" in order_keys else None
    summed = [fields.index(name) for name in ORDER_TOTAL_FIELDS]
    blank_item: list[Any] = [None] * (1 + len(ITEM_FIELDS))
    chunk: list[tuple[int, list[Any]]] = []

    def flush() -> Iterator[list[Any]]:
        items: dict[int, list[tuple]] = {}
        for order_id, *item in (
            OrderItem.objects.filter(order_id__in=[pk for pk, _values in chunk])
            .order_by("order_id", "pk")
            .values_list("order_id", *ITEM_FIELDS)
        ):
            items.setdefault(order_id, []).append(item)
        for pk, values in chunk:
            lines = items.get(pk)
            if not lines:
                yield values + blank_item
                continue
            for line, item in enumerate(lines, start=1):
                yield [*values, line, *item]

    for pk, *values in orders.values_list("pk", *fields).iterator(chunk_size=CHUNK):
        if total_at is not None:
            # Order.total's definition: the sum of ORDER_TOTAL_FIELDS.
            values.insert(total_at, sum((values[i] for i in summed), Decimal("0.00")))
        chunk.append((pk, values))
        if len(chunk) == CHUNK:
            yield from flush()
            chunk = []
    if chunk:
        yield from flush()


def return_export(*, buyer_data: bool, **filters: Any) -> ExportTable:
    """The returns `selectors.return_list(**filters)` lists; the buyer's comments only with
    `buyer_data`."""
    columns = _visible(RETURN_COLUMNS, frozenset() if buyer_data else RETURN_BUYER_FIELDS)
    keys = [c.key for c in columns]

    def rows() -> Iterator[list[Any]]:
        for ret in selectors.return_list(**filters).iterator(chunk_size=CHUNK):
            yield [_return_value(ret, key) for key in keys]

    return ExportTable(name="returns", title=_("Returns"), columns=columns, rows=rows())


def _return_value(ret: Return, key: str) -> Any:
    return ret.account.display_name if key == "account" else getattr(ret, key)


def stock_export(**filters: Any) -> ExportTable:
    """The levels per SKU `selectors.stock_per_sku(**filters)` lists (no buyer data in it)."""
    keys = [c.key if c.key != "account" else "account__display_name" for c in STOCK_COLUMNS]

    def rows() -> Iterator[list[Any]]:
        for level in selectors.stock_per_sku(**filters).iterator(chunk_size=CHUNK):
            yield [level[key] for key in keys]

    return ExportTable(name="stock", title=_("Stock"), columns=STOCK_COLUMNS, rows=rows())


def invoice_export(*, buyer_data: bool, **filters: Any) -> ExportTable:
    """The invoices and credit notes `selectors.invoice_list(**filters)` lists; what a
    document prints of its buyer only with `buyer_data`."""
    columns = _visible(INVOICE_COLUMNS, frozenset() if buyer_data else INVOICE_BUYER_FIELDS)
    keys = [c.key for c in columns]

    def rows() -> Iterator[list[Any]]:
        for invoice in selectors.invoice_list(**filters).iterator(chunk_size=CHUNK):
            yield [_invoice_value(invoice, key) for key in keys]

    return ExportTable(name="invoices", title=_("Invoices"), columns=columns, rows=rows())


def _invoice_value(invoice: Invoice, key: str) -> Any:
    if key == "account":
        return invoice.account.display_name
    if key in ("kind", "source", "status"):
        return getattr(invoice, f"get_{key}_display")()
    if key == "cancellation_reason":
        return translate_stored(invoice.cancellation_reason)
    return getattr(invoice, key)

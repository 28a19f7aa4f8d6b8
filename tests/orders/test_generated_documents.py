"""Every report type, rendered by the sandbox generator: the right orders, exactly once.

Ground truth is `orders_between`; each report type selects by its own date (see the
generator's docstring), which `expected_order_ids` mirrors.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from amazon_sandbox.generator import orders_between
from orders.models import (
    Invoice,
    Order,
    OrderItem,
    Return,
    ShipmentLine,
    StockLevel,
    VatTransaction,
)
from reports.catalog import BY_REPORT_TYPE
from tests.orders.conftest import NOW, render, run_import, seller_for

START = NOW - timedelta(days=21)
MIDDLE = NOW - timedelta(days=11)
END = NOW - timedelta(days=1)

# The status report creates no records (tests/orders/test_order_statuses.py).
ORDER_TYPES = sorted(
    t
    for t, kind in BY_REPORT_TYPE.items()
    if t != "GET_AFN_INVENTORY_DATA" and not kind.tracks_statuses
)
MFN_TYPES = [t for t in ORDER_TYPES if "ORDER_REPORT" in t]
FBA_TYPES = [t for t in ORDER_TYPES if "FULFILLED_SHIPMENTS" in t]
VIDR = "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT"
VCS = "SC_VAT_TAX_REPORT"
VAT_TYPES = [VIDR, VCS]
RETURNS = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"


def in_range(moment: datetime, start: datetime, end: datetime) -> bool:
    return start <= moment < end


def expected_order_ids(report_type: str, start: datetime, end: datetime) -> set[str]:
    seller = seller_for(report_type)
    orders = orders_between(seller, start - timedelta(days=40), end, now=NOW)
    if report_type in MFN_TYPES:
        return {
            o.amazon_order_id
            for o in orders
            if o.fulfillment == "MFN"
            and o.status not in ("Pending", "Canceled")
            and in_range(o.purchase_date, start, end)
        }
    shipped = {
        o.amazon_order_id
        for o in orders
        for s in o.shipments
        if in_range(s.shipment_date, start, end)
        and (o.fulfillment == "AFN" or report_type in VAT_TYPES)
    }
    returned = {
        o.amazon_order_id for o in orders for r in o.returns if in_range(r.return_date, start, end)
    }
    if report_type in FBA_TYPES:
        return shipped
    if report_type == RETURNS:
        return returned
    if report_type == VCS:
        # Amazon's VCS report numbers only what Amazon invoices: every sale of a VCS seller, the
        # Amazon Business orders of a VCS Lite one.
        by_amazon = {
            o.amazon_order_id
            for o in orders
            if seller.vat_invoicing == "vcs" or o.is_business_order
        }
        return (shipped | returned) & by_amazon
    return shipped | returned


def rows_that_create(report_type: str, text: str, rows: int) -> int:
    """How many of a document's `rows` store a record: a VCS row without a number stores none."""
    if report_type == VCS:
        return sum(1 for row in csv.DictReader(io.StringIO(text)) if row["VAT Invoice Number"])
    return rows


def imported_order_ids(report_type: str) -> set[str]:
    if report_type == RETURNS:
        return set(Return.objects.values_list("amazon_order_id", flat=True))
    if report_type == VIDR:
        return set(VatTransaction.objects.values_list("amazon_order_id", flat=True))
    if report_type == VCS:
        return set(Invoice.objects.values_list("amazon_order_id", flat=True))
    return set(Order.objects.values_list("amazon_order_id", flat=True))


def record_counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (Order, OrderItem, ShipmentLine, Return, Invoice, VatTransaction, StockLevel)
    )


@pytest.mark.parametrize("report_type", ORDER_TYPES)
def test_imports_exactly_the_orders_of_the_range(account, report_type):
    expected = expected_order_ids(report_type, START, END)
    assert expected, "the range should hold orders"

    text = render(report_type, START, END)
    result = run_import(account, report_type, text)

    assert result.errors == []
    assert imported_order_ids(report_type) == expected
    assert result.created == rows_that_create(report_type, text, result.rows) > 0
    assert result.created + result.updated + result.unchanged + result.failed == result.rows


@pytest.mark.parametrize("report_type", sorted(BY_REPORT_TYPE))
def test_importing_twice_changes_nothing(account, report_type):
    text = render(report_type, START, END)
    first = run_import(account, report_type, text, source_report_id=1)
    counts = record_counts()

    second = run_import(account, report_type, text, source_report_id=2)

    assert first.rows > 0
    assert (second.rows, second.created, second.updated) == (first.rows, 0, 0)
    assert second.unchanged == second.rows
    assert record_counts() == counts
    # Provenance stays with the report that created the records.
    assert not Order.objects.filter(source_report_id=2).exists()


@pytest.mark.parametrize("report_type", ORDER_TYPES)
def test_overlapping_ranges_do_not_duplicate_and_count_the_overlap_unchanged(account, report_type):
    first = run_import(account, report_type, render(report_type, START, MIDDLE + timedelta(days=3)))
    overlap = render(report_type, MIDDLE, MIDDLE + timedelta(days=3))
    overlap_rows = run_import(account, report_type, overlap, dry_run=True).rows

    text = render(report_type, MIDDLE, END)
    second = run_import(account, report_type, text)

    assert first.rows and overlap_rows
    assert second.updated == 0
    assert second.created == rows_that_create(report_type, text, second.rows) - rows_that_create(
        report_type, overlap, overlap_rows
    )
    assert second.unchanged == second.rows - second.created >= overlap_rows
    assert imported_order_ids(report_type) == expected_order_ids(report_type, START, END)
    assert Order.objects.values("account", "amazon_order_id").distinct().count() == (
        Order.objects.count()
    )


@pytest.mark.parametrize("report_type", ORDER_TYPES)
def test_two_halves_equal_the_whole(account, other_account, report_type):
    run_import(account, report_type, render(report_type, START, MIDDLE))
    run_import(account, report_type, render(report_type, MIDDLE, END))
    run_import(other_account, report_type, render(report_type, START, END))

    def snapshot(acct):
        orders = Order.objects.filter(account=acct)
        return (
            sorted(orders.values_list("amazon_order_id", "status", "items_total", "tax_total")),
            sorted(
                OrderItem.objects.filter(order__account=acct).values_list(
                    "order__amazon_order_id", "order_item_id", "quantity_shipped", "item_price"
                )
            ),
            ShipmentLine.objects.filter(account=acct).count(),
            Return.objects.filter(account=acct).count(),
            sorted(
                Invoice.objects.filter(account=acct).values_list("transaction_id", "kind", "gross")
            ),
            sorted(
                VatTransaction.objects.filter(account=acct).values_list(
                    "transaction_id", "kind", "invoicing", "lines"
                ),
                key=str,
            ),
        )

    assert snapshot(account) == snapshot(other_account)


def test_stock_snapshot_has_every_row(account):
    text = render("GET_AFN_INVENTORY_DATA", START, END)
    result = run_import(account, "GET_AFN_INVENTORY_DATA", text)

    data = [line.split("\t") for line in text.splitlines()[1:]]
    assert StockLevel.objects.count() == result.rows == len(data)
    assert {(s.sku, s.condition, s.quantity) for s in StockLevel.objects.all()} == {
        (row[0], row[4], int(row[5])) for row in data
    }
    assert StockLevel.objects.filter(condition="UNSELLABLE").exists()


def test_fba_order_shipped_in_two_shipments_is_one_order(account):
    seller = seller_for("GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL")
    split = [
        o
        for o in orders_between(seller, START - timedelta(days=40), END, now=NOW)
        if len(o.shipments) == 2 and all(in_range(s.shipment_date, START, END) for s in o.shipments)
    ]
    assert split, "the generated range should hold a split FBA order"
    run_import(
        account,
        "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL",
        render("GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL", START, END),
    )

    order = Order.objects.get(amazon_order_id=split[0].amazon_order_id)
    assert set(order.shipment_lines.values_list("shipment_id", flat=True)) == {
        s.shipment_id for s in split[0].shipments
    }
    assert order.items.count() == len(split[0].items)
    assert order.items_total == sum(i.item_price for i in split[0].items)


@pytest.mark.parametrize(
    "report_type",
    ["GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL", "GET_ORDER_REPORT_DATA_INVOICING"],
)
def test_gift_wrap_promotions_and_billing_reach_the_orders_as_the_sandbox_made_them(
    account, report_type
):
    result = run_import(account, report_type, render(report_type, START, END))
    assert (result.errors, result.warnings) == ([], [])
    seller = seller_for(report_type)
    truth = {
        order.amazon_order_id: order
        for order in orders_between(seller, START - timedelta(days=40), END, now=NOW)
    }
    items = list(OrderItem.objects.select_related("order"))
    amounts = (
        "item_price",
        "shipping_price",
        "gift_wrap_price",
        "gift_wrap_tax",
        "item_promotion_discount",
        "ship_promotion_discount",
    )
    # The demo shows them: the range has gift wrap and both kinds of promotion.
    for name in amounts:
        assert any(getattr(item, name) for item in items), name
    for item in items:
        order = truth[item.order.amazon_order_id]
        made = order.item(item.order_item_id)
        assert [getattr(item, n) for n in amounts] == [getattr(made, n) for n in amounts]
        if report_type.startswith("GET_ORDER_REPORT"):  # the FBA report has no promotion ids
            assert (item.item_promotion_id, item.ship_promotion_id) == (
                made.item_promotion_id,
                made.ship_promotion_id,
            )
        assert (item.order.bill_city, item.order.bill_country) == (
            order.bill_city,
            order.bill_country_code,
        )
    # Each order comes to what its lines in the report add up to (an FBA order may have
    # shipped only part of its lines in the range).
    for order in Order.objects.prefetch_related("items"):
        made = truth[order.amazon_order_id]
        lines = [made.item(item.order_item_id) for item in order.items.all()]
        assert order.total == sum(
            (
                line.item_price
                + line.shipping_price
                + line.gift_wrap_price
                + line.item_promotion_discount
                + line.ship_promotion_discount
                for line in lines
            ),
            Decimal("0.00"),
        )

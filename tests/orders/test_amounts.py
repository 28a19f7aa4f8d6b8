"""Every amount of the MFN and FBA order reports is stored as the file gives it.

The property: for report documents with arbitrary amounts in every amount column (written in
each way Amazon's files write numbers), the stored amounts add up to the file's, column by
column: the order lines (items, FBA shipment lines), the orders' sums and `Order.total`. A row
whose amounts do not add up is imported as it stands, with a row warning on its line and only
then. Importing the document again changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.models import LINE_AMOUNT_FIELDS, Order, OrderItem, ShipmentLine
from tests.orders.conftest import run_import
from tests.testdata import report_headers

pytestmark = pytest.mark.django_db

MFN_FLAT = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
MFN_XML = "GET_ORDER_REPORT_DATA_INVOICING"
FBA = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL"

# The flat files' column of each amount field.
COLUMN = {name: name.replace("_", "-") for name in LINE_AMOUNT_FIELDS}
# Columns some MFN flat layouts add to the known one (Amazon's notes list them in brackets).
MFN_OPTIONAL_COLUMNS = [
    "gift-wrap-price",
    "gift-wrap-tax",
    "item-promotion-discount",
    "item-promotion-id",
    "ship-promotion-discount",
    "ship-promotion-id",
    "bill-address-1",
    "bill-city",
    "bill-postal-code",
    "bill-country",
]
# The XML report's ItemPrice component and Promotion component of each amount field.
XML_PRICE = {
    "item_price": "Principal",
    "item_tax": "Tax",
    "shipping_price": "Shipping",
    "shipping_tax": "ShippingTax",
    "gift_wrap_price": "GiftWrap",
    "gift_wrap_tax": "GiftWrapTax",
}
XML_PROMOTION = {"item_promotion_discount": "Principal", "ship_promotion_discount": "Shipping"}

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- What the documents hold --------------------------------------------------------------------


@dataclass
class Line:
    """One document row (XML: one Item), its amounts in cents by field name."""

    order_id: str
    item_id: str
    cents: dict[str, int]
    shipment_id: str = ""
    shipment_item_id: str = ""
    line: int = 0


@dataclass
class Document:
    text: str
    lines: list[Line] = field(default_factory=list)


def amount(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def does_not_add_up(cents: dict[str, int]) -> bool:
    """The rule of a row warning, said again in cents: a tax above its price, a discount that
    is positive or takes off more than its price."""
    for tax, price in (
        ("item_tax", "item_price"),
        ("shipping_tax", "shipping_price"),
        ("gift_wrap_tax", "gift_wrap_price"),
    ):
        if abs(cents[tax]) > abs(cents[price]):
            return True
    for discount, price in (
        ("item_promotion_discount", "item_price"),
        ("ship_promotion_discount", "shipping_price"),
    ):
        if cents[discount] > 0 or -cents[discount] > abs(cents[price]):
            return True
    return False


# Up to a billion either way: an order of three such lines still fits numeric(14, 2).
cents_values = st.one_of(
    st.integers(-(10**11), 10**11), st.integers(-2000, 2000), st.just(0)
).filter(lambda c: abs(c) < 10**11)
number_styles = st.sampled_from(["dot", "comma", "thousands", "empty_if_zero", "whole"])


@st.composite
def money_cells(draw) -> tuple[int, str]:
    """(cents, the cell as a report writes it): `12.34`, `12,34`, `1,234.56`, `""` for zero or
    `12` for a whole amount."""
    cents = draw(cents_values)
    text = f"{amount(cents):.2f}"
    style = draw(number_styles)
    if style == "comma":
        text = text.replace(".", ",")
    elif style == "thousands":
        text = f"{amount(cents):,.2f}"
    elif style == "empty_if_zero" and cents == 0:
        text = ""
    elif style == "whole" and cents % 100 == 0:
        text = str(cents // 100)
    return cents, text


promotion_ids = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-", max_size=20)


def order_id(index: int) -> str:
    return f"302-{index:07d}-{index * 7919 % 10_000_000:07d}"


@st.composite
def mfn_flat_documents(draw) -> Document:
    header = [*report_headers()[MFN_FLAT], *MFN_OPTIONAL_COLUMNS]
    document = Document(text="")
    rows = []
    for order_index in range(draw(st.integers(1, 4))):
        for item_index in range(draw(st.integers(1, 3))):
            cells = {name: draw(money_cells()) for name in LINE_AMOUNT_FIELDS}
            line = Line(
                order_id=order_id(order_index + 1),
                item_id=f"{order_index + 1:07d}{item_index:07d}",
                cents={name: cents for name, (cents, _) in cells.items()},
                line=len(rows) + 2,
            )
            values = {COLUMN[name]: text for name, (_, text) in cells.items()}
            values |= {
                "order-id": line.order_id,
                "order-item-id": line.item_id,
                "purchase-date": "2025-03-01T10:00:00+00:00",
                "sku": f"SKU-{item_index}",
                "quantity-purchased": "1",
                "currency": "EUR",
                "sales-channel": "Amazon.de",
                "item-promotion-id": draw(promotion_ids),
                "ship-promotion-id": draw(promotion_ids),
                "bill-city": "Köln",
                "bill-country": "DE",
            }
            rows.append([values.get(column, "") for column in header])
            document.lines.append(line)
    document.text = "\r\n".join("\t".join(r) for r in [header, *rows]) + "\r\n"
    return document


@st.composite
def fba_documents(draw) -> Document:
    header = report_headers()[FBA]
    document = Document(text="")
    rows = []
    for order_index in range(draw(st.integers(1, 3))):
        shipments = [f"D{order_index}S{n}" for n in range(draw(st.integers(1, 2)))]
        for item_index in range(draw(st.integers(1, 2))):
            item_id = f"{order_index + 1:07d}{item_index:07d}"
            for _ in range(draw(st.integers(1, 3))):
                cells = {name: draw(money_cells()) for name in LINE_AMOUNT_FIELDS}
                line = Line(
                    order_id=order_id(order_index + 1),
                    item_id=item_id,
                    cents={name: cents for name, (cents, _) in cells.items()},
                    shipment_id=draw(st.sampled_from(shipments)),
                    # Amazon ships rows without one: they get a fallback key.
                    shipment_item_id=draw(st.sampled_from(["", f"SI{len(rows)}"])),
                    line=len(rows) + 2,
                )
                values = {COLUMN[name]: text for name, (_, text) in cells.items()}
                values |= {
                    "amazon-order-id": line.order_id,
                    "shipment-id": line.shipment_id,
                    "shipment-item-id": line.shipment_item_id,
                    "amazon-order-item-id": item_id,
                    "purchase-date": "2025-03-01T10:00:00+00:00",
                    "shipment-date": "2025-03-02T10:00:00+00:00",
                    "sku": f"SKU-{item_index}",
                    "quantity-shipped": "1",
                    "currency": "EUR",
                    "sales-channel": "Amazon.de",
                    "bill-city": "Köln",
                    "bill-country": "DE",
                }
                rows.append([values.get(column, "") for column in header])
                document.lines.append(line)
    document.text = "\r\n".join("\t".join(r) for r in [header, *rows]) + "\r\n"
    return document


@st.composite
def mfn_xml_documents(draw) -> Document:
    document = Document(text="")
    messages = []
    line_number = 4  # the envelope's first Message starts on line 4
    for order_index in range(draw(st.integers(1, 3))):
        items = []
        for item_index in range(draw(st.integers(1, 3))):
            cents = {name: draw(cents_values) for name in LINE_AMOUNT_FIELDS}
            item_id = f"{order_index + 1:07d}{item_index:07d}"
            document.lines.append(Line(order_id(order_index + 1), item_id, cents, line=line_number))
            components = "".join(
                f"<Component><Type>{kind}</Type>"
                f'<Amount currency="EUR">{amount(cents[name]):.2f}</Amount></Component>'
                for name, kind in XML_PRICE.items()
            )
            promotions = "".join(
                f"<Promotion><MerchantPromotionID>{draw(promotion_ids)}</MerchantPromotionID>"
                f"<Component><Type>{kind}</Type>"
                f'<Amount currency="EUR">{amount(cents[name]):.2f}</Amount></Component>'
                "</Promotion>"
                for name, kind in XML_PROMOTION.items()
            )
            items.append(
                f"<Item><AmazonOrderItemCode>{item_id}</AmazonOrderItemCode>"
                f"<SKU>SKU-{item_index}</SKU><Quantity>1</Quantity>"
                f"<ItemPrice>{components}</ItemPrice>{promotions}</Item>"
            )
        messages.append(
            "<Message><OrderReport>"
            f"<AmazonOrderID>{order_id(order_index + 1)}</AmazonOrderID>"
            "<OrderDate>2025-03-01T10:00:00+00:00</OrderDate>"
            "<BillingData><Address><City>Köln</City><CountryCode>DE</CountryCode></Address>"
            f"</BillingData>{''.join(items)}<SalesChannel>Amazon.de</SalesChannel>"
            "</OrderReport></Message>\n"
        )
        line_number += 1
    document.text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<AmazonEnvelope>\n'
        "<MessageType>OrderReport</MessageType>\n" + "".join(messages) + "</AmazonEnvelope>\n"
    )
    return document


# --- The property -------------------------------------------------------------------------------


def stored_sums(model, names) -> dict[str, Decimal]:
    # Added up here: SQLite's SUM of a decimal column is a float.
    rows = list(model.objects.values_list(*names))
    return {name: sum((row[i] for row in rows), Decimal("0.00")) for i, name in enumerate(names)}


def file_sums(lines: list[Line]) -> dict[str, Decimal]:
    return {name: amount(sum(line.cents[name] for line in lines)) for name in LINE_AMOUNT_FIELDS}


def assert_amounts_are_the_files(document: Document, *, with_lines: bool) -> None:
    expected = file_sums(document.lines)
    # Column by column: the order lines, then the FBA items (sums of their shipment lines).
    if with_lines:
        assert stored_sums(ShipmentLine, LINE_AMOUNT_FIELDS) == expected
        assert ShipmentLine.objects.count() == len(document.lines)
    assert stored_sums(OrderItem, LINE_AMOUNT_FIELDS) == expected
    # The orders' sums and their totals, order by order.
    per_order: dict[str, list[Line]] = defaultdict(list)
    for line in document.lines:
        per_order[line.order_id].append(line)
    orders = {o.amazon_order_id: o for o in Order.objects.all()}
    assert orders.keys() == per_order.keys()
    for order_id_, lines in per_order.items():
        sums, order = file_sums(lines), orders[order_id_]
        assert order.items_total == sums["item_price"]
        assert order.shipping_total == sums["shipping_price"]
        assert order.gift_wrap_total == sums["gift_wrap_price"]
        assert order.tax_total == sums["item_tax"] + sums["shipping_tax"] + sums["gift_wrap_tax"]
        assert order.promotion_total == (
            sums["item_promotion_discount"] + sums["ship_promotion_discount"]
        )
        assert order.total == (
            sums["item_price"]
            + sums["shipping_price"]
            + sums["gift_wrap_price"]
            + sums["item_promotion_discount"]
            + sums["ship_promotion_discount"]
        )
        assert order.bill_city == "Köln" and order.bill_country == "DE"


def check(account, report_type: str, document: Document, *, with_lines: bool = False) -> None:
    with transaction.atomic():
        result = run_import(account, report_type, document.text)
        assert (result.errors, result.failed) == ([], 0)
        assert_amounts_are_the_files(document, with_lines=with_lines)
        # Imported as they stand, and warned of on their line: those rows and only those.
        warned = {warning.line_number for warning in result.warnings}
        assert warned == {line.line for line in document.lines if does_not_add_up(line.cents)}
        # Run it twice: the same document changes nothing.
        again = run_import(account, report_type, document.text)
        assert again.unchanged == again.rows == result.rows
        assert_amounts_are_the_files(document, with_lines=with_lines)
        transaction.set_rollback(True)


@PROPERTY
@given(document=mfn_flat_documents())
def test_mfn_flat_file_amounts_are_stored_column_by_column(account, document):
    check(account, MFN_FLAT, document)


@PROPERTY
@given(document=mfn_xml_documents())
def test_mfn_xml_amounts_are_stored_component_by_component(account, document):
    check(account, MFN_XML, document)


@PROPERTY
@given(document=fba_documents())
def test_fba_shipment_amounts_are_stored_column_by_column(account, document):
    check(account, FBA, document, with_lines=True)


# --- Row warnings, one by one -------------------------------------------------------------------


def one_document(report_type: str, **cells: str) -> str:
    """A document of one row of `report_type`'s layout: an order of one item, `cells` (by
    column name, `_` for `-`) over the defaults."""
    values = {
        "order-id": order_id(1),
        "amazon-order-id": order_id(1),
        "order-item-id": "00000010000000",
        "amazon-order-item-id": "00000010000000",
        "shipment-id": "DS1",
        "shipment-item-id": "SI1",
        "purchase-date": "2025-03-01T10:00:00+00:00",
        "sku": "SKU-1",
        "quantity-purchased": "1",
        "quantity-shipped": "1",
        "currency": "EUR",
        "item-price": "9.99",
        "item-tax": "1.60",
        "shipping-price": "2.99",
        "shipping-tax": "0.48",
    } | {name.replace("_", "-"): value for name, value in cells.items()}
    header = report_headers()[report_type]
    return "\t".join(header) + "\r\n" + "\t".join(values.get(c, "") for c in header) + "\r\n"


def test_a_tax_larger_than_its_price_is_imported_as_it_stands_with_a_warning(account):
    result = run_import(account, MFN_FLAT, one_document(MFN_FLAT, item_tax="12.00"))

    assert (result.created, result.failed, result.errors) == (1, 0, [])
    assert [(w.line_number, w.reason) for w in result.warnings] == [
        (2, "item-tax 12.00 is more than item-price 9.99; imported as it stands")
    ]
    item = OrderItem.objects.get()
    assert (item.item_price, item.item_tax) == (Decimal("9.99"), Decimal("12.00"))


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (
            {"item_promotion_discount": "-15.00"},
            "item-promotion-discount -15.00 takes off more than item-price 9.99; "
            "imported as it stands",
        ),
        (
            {"ship_promotion_discount": "-3.00"},
            "ship-promotion-discount -3.00 takes off more than shipping-price 2.99; "
            "imported as it stands",
        ),
        (
            {"item_promotion_discount": "2.00"},
            "item-promotion-discount 2.00 is positive: Amazon writes discounts as negative "
            "amounts, and the order's total adds it as it stands",
        ),
        (
            {"gift_wrap_price": "0.00", "gift_wrap_tax": "0.50"},
            "gift-wrap-tax 0.50 is more than gift-wrap-price 0.00; imported as it stands",
        ),
    ],
)
def test_promotions_and_gift_wrap_that_do_not_add_up_are_warned_of(account, cells, reason):
    result = run_import(account, FBA, one_document(FBA, **cells))

    assert [(w.line_number, w.reason) for w in result.warnings] == [(2, reason)]
    line = ShipmentLine.objects.get()
    for name, value in cells.items():
        assert getattr(line, name) == Decimal(value)


def test_amounts_that_add_up_have_no_warning(account):
    text = one_document(
        FBA, item_promotion_discount="-9.99", ship_promotion_discount="-2.99", gift_wrap_price="3"
    )
    result = run_import(account, FBA, text)

    assert result.warnings == []
    assert Order.objects.get().total == Decimal("3.00")


def test_a_warned_row_of_an_order_that_fails_is_not_warned_of(account):
    header = report_headers()[MFN_FLAT]
    warned = one_document(MFN_FLAT, item_tax="12.00").split("\r\n")[1]
    bad = one_document(MFN_FLAT, order_item_id="00000010000001", quantity_purchased="x")
    text = one_document(MFN_FLAT, item_tax="12.00") + bad.split("\r\n")[1] + "\r\n"
    assert text.split("\r\n")[:2] == ["\t".join(header), warned]

    result = run_import(account, MFN_FLAT, text)

    assert (result.failed, len(result.errors), result.warnings) == (2, 1, [])
    assert not Order.objects.exists()


def test_an_xml_warning_names_the_item(account):
    document = Document(text="")
    cents = dict.fromkeys(LINE_AMOUNT_FIELDS, 0) | {"item_price": 999, "item_tax": 1200}
    items = (
        "<Item><AmazonOrderItemCode>00000010000000</AmazonOrderItemCode><SKU>S</SKU>"
        "<Quantity>1</Quantity><ItemPrice>"
        + "".join(
            f"<Component><Type>{kind}</Type><Amount>{amount(cents[name]):.2f}</Amount></Component>"
            for name, kind in XML_PRICE.items()
        )
        + "</ItemPrice></Item>"
    )
    document.text = (
        "<AmazonEnvelope>\n<Message><OrderReport>"
        f"<AmazonOrderID>{order_id(1)}</AmazonOrderID>"
        f"<OrderDate>2025-03-01T10:00:00+00:00</OrderDate>{items}</OrderReport></Message>\n"
        "</AmazonEnvelope>\n"
    )

    result = run_import(account, MFN_XML, document.text)

    assert [(w.line_number, w.reason) for w in result.warnings] == [
        (
            2,
            "AmazonOrderItemCode 00000010000000: Tax 12.00 is more than Principal 9.99; "
            "imported as it stands",
        )
    ]
    assert OrderItem.objects.get().item_tax == Decimal("12.00")

"""Report files in Amazon's layouts (tests/data/samples) imported field by field.

Real files where their license lets us ship them; elsewhere files written for this project
that reproduce the quirks of real ones (tests/data/PROVENANCE.md says which is which).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from orders.models import Invoice, Order, OrderItem, Return, ShipmentLine
from tests.orders.conftest import run_import, sample

FBA = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL"
MFN = "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING"


def read(prefix: str) -> str:
    (path,) = sample(prefix)
    return path.read_text(encoding="utf-8")


def test_fba_us_2020_pacific_dates_and_leading_zero_item_id(account):
    result = run_import(account, FBA, read(f"{FBA}__eolabs"), source_report_id=7)

    assert (result.rows, result.created, result.failed) == (4, 4, 0)
    order = Order.objects.get(amazon_order_id="100-3590565-0113041")
    assert order.purchased_at == datetime(2020, 12, 18, 14, 32, 18, tzinfo=UTC)
    assert order.fulfillment_channel == "AFN"
    assert order.status == "Shipped"
    assert order.marketplace_id == "ATVPDKIKX0DER"
    assert (order.ship_city, order.ship_state, order.ship_postal_code) == (
        "MOSCOW MILLS",
        "MO",
        "63362-1259",
    )
    assert (order.items_total, order.currency) == (Decimal("25.88"), "USD")
    item = order.items.get()
    assert (item.order_item_id, item.sku, item.quantity_shipped) == (
        "05064862834820",
        "XD-41TE-U8PF",
        1,
    )
    line = ShipmentLine.objects.get(shipment_id="ZHQgSDB3K")
    assert line.shipment_item_id == "D0fX2q2ZN"
    assert (line.carrier, line.tracking_number, line.fulfillment_center_id) == (
        "AMZN_US",
        "TBA105532241004",
        "CMH1",
    )
    assert line.shipped_at == datetime(2020, 12, 19, 20, 14, 7, tzinfo=UTC)
    assert line.item == item
    assert (order.source_report_id, order.source_line) == (7, 2)
    assert (line.source_report_id, line.source_line) == (7, 2)


def test_fba_us_2013_two_shipment_items_of_one_line_and_sku_with_comma(account):
    result = run_import(account, FBA, read(f"{FBA}__written_us_2013"))

    assert (result.rows, result.failed) == (5, 0)
    assert Order.objects.count() == 4  # distinct amazon-order-id values of the 5 rows
    order = Order.objects.get(amazon_order_id="111-1000002-1000002")
    assert order.shipment_lines.count() == 2
    item = order.items.get()
    assert (item.order_item_id, item.quantity_shipped, item.item_price) == (
        "52100000000002",
        2,
        Decimal("23.98"),
    )
    assert order.items_total == Decimal("23.98")
    assert order.ship_state == "PA."
    assert Order.objects.get(amazon_order_id="107-1000003-1000003").ship_state == "CALIFORNIA"
    leading_zero = OrderItem.objects.get(order__amazon_order_id="107-1000003-1000003")
    assert leading_zero.order_item_id == "00028500000004"
    comma = OrderItem.objects.get(order__amazon_order_id="002-1000001-1000001")
    assert comma.sku == "CHARGER-2A,690000000001"
    assert comma.order.purchased_at == datetime(2013, 5, 22, 5, 16, 50, tzinfo=UTC)


def test_fba_de_2012_bare_quotes_in_product_names_and_umlauts(account):
    result = run_import(account, FBA, read(f"{FBA}__written_de_2012"))

    assert (result.rows, result.failed) == (4, 0)
    first = Order.objects.get(amazon_order_id="303-2000001-2000001")
    assert first.marketplace_id == "A1PA6795UKMFR9"
    assert first.items.get().product_name == 'Hülle für 6 "E Ink Touch Screen Display Reader ('
    assert first.shipment_lines.get().carrier == "DP"
    assert first.ship_city == "Hänigsen"
    austria = Order.objects.get(amazon_order_id="303-2000002-2000002")
    assert (austria.ship_state, austria.ship_country) == ("Oberösterreich", "AT")
    two = Order.objects.get(amazon_order_id="303-2000003-2000003")
    assert sorted(two.shipment_lines.values_list("shipment_item_id", flat=True)) == [
        "DDEITEM03",
        "DDEITEM04",
    ]
    assert two.items.count() == 2


def test_fba_jp_spreadsheet_scientific_ids_are_row_errors(account):
    result = run_import(account, FBA, read(f"{FBA}__written_jp_2017"))

    assert result.rows == 5
    assert result.failed == 3
    assert [e.line_number for e in result.errors] == [4, 5, 6]
    assert "scientific notation" in result.errors[0].reason
    assert set(Order.objects.values_list("amazon_order_id", flat=True)) == {
        "249-3000001-3000001",
        "249-3000002-3000002",
    }
    line = ShipmentLine.objects.get(order__amazon_order_id="249-3000002-3000002")
    assert line.shipped_at == datetime(2017, 6, 5, 10, 38, 33, tzinfo=UTC)
    assert (line.shipping_price, line.tracking_number) == (Decimal("175.00"), "443659263412")


def test_mfn_documentation_sample_multiline_quoted_name_and_header_spellings(account):
    result = run_import(account, MFN, read(f"{MFN}__eolabs"))

    assert (result.rows, result.created, result.failed) == (1, 1, 0)
    order = Order.objects.get(amazon_order_id="103-26010-55904")
    assert order.fulfillment_channel == "MFN"
    assert order.status == "Unshipped"
    assert order.purchased_at == datetime(2011, 2, 9, 10, 46, 57, tzinfo=UTC)
    assert (order.buyer_name, order.buyer_phone) == ("Joe Customer", "404-555-1212")
    assert (order.ship_address_1, order.ship_city, order.ship_postal_code) == (
        "123 Main Street",
        "LAWRENCE",
        "90044-2463",
    )
    assert (order.items_total, order.shipping_total) == (Decimal("19.49"), Decimal("3.99"))
    item = order.items.get()
    assert item.order_item_id == "394929210114"
    assert item.product_name.startswith("The Structure of Aikido:")
    assert "Relationships (Structure of Aikido, Vol 1)" in item.product_name


def test_mfn_us_2017_row(account):
    result = run_import(account, MFN, read(f"{MFN}__herseus"), source_report_id=3)

    assert (result.rows, result.created) == (1, 1)
    order = Order.objects.get(amazon_order_id="114-0149180-7966659")
    assert order.purchased_at == datetime(2017, 9, 23, 21, 18, 23, tzinfo=UTC)
    assert (order.sales_channel, order.marketplace_id) == ("Amazon.com", "ATVPDKIKX0DER")
    assert (order.ship_city, order.ship_state, order.ship_country) == ("Owensboro", "KY", "US")
    item = order.items.get()
    assert (item.order_item_id, item.sku, item.quantity_ordered, item.item_price) == (
        "59686379847882",
        "AUSC2A13-02",
        1,
        Decimal("9.88"),
    )
    assert (item.source_report_id, item.source_line) == (3, 2)


def test_returns_sample_kept_without_its_order(account):
    result = run_import(
        account,
        "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
        read("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"),
    )

    assert (result.rows, result.created) == (1, 1)
    ret = Return.objects.get()
    assert (ret.amazon_order_id, ret.sku, ret.quantity) == (
        "114-4000001-4000001",
        "MATTRESS-PAD-UPC",
        1,
    )
    assert ret.returned_at == datetime(2025, 6, 5, 15, 31, 40, tzinfo=UTC)
    assert (ret.detailed_disposition, ret.reason, ret.status) == (
        "CUSTOMER_DAMAGED",
        "NOT_COMPATIBLE",
        "IMMEDIATE_DONATION",
    )
    assert (ret.license_plate_number, ret.line_key) == ("LPNTEST0000001", "LPNTEST0000001")
    assert (ret.fnsku, ret.fulfillment_center_id, ret.customer_comments) == (
        "B000000RET",
        "LEX1",
        "",
    )
    assert ret.order is None and ret.order_missing


def test_vcs_sample_invoice(account):
    result = run_import(account, "SC_VAT_TAX_REPORT", read("SC_VAT_TAX_REPORT"))

    assert (result.rows, result.created) == (1, 1)
    invoice = Invoice.objects.get()
    assert (invoice.number, invoice.kind, invoice.source) == (
        "INV-DE-1000000001-2021-00001",
        "invoice",
        "amazon_vcs",
    )
    assert invoice.amazon_order_id == "028-5000001-5000001"
    assert (invoice.gross, invoice.vat, invoice.net) == (
        Decimal("14.53"),
        Decimal("2.32"),
        Decimal("12.21"),
    )
    assert (invoice.currency, invoice.issued_on) == ("EUR", date(2021, 11, 30))
    assert (invoice.transaction_id, invoice.shipment_id) == ("15500000000001", "15500000000001")
    assert invoice.url.startswith("https://www.Amazon.de/gp/invoice/download.html?v=urn%3aalx")
    assert invoice.order is None

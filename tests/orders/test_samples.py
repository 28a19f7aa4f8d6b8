"""Real Amazon report files (shared/samples, read at test time) imported field by field."""

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
    result = run_import(account, FBA, read(f"{FBA}__liccoCode_elcuk3__10833010723"))

    assert (result.rows, result.failed) == (50, 0)
    assert Order.objects.count() == 42  # distinct amazon-order-id values of the 50 rows
    order = Order.objects.get(amazon_order_id="111-2304676-8425019")
    assert order.shipment_lines.count() == 2
    item = order.items.get()
    assert (item.order_item_id, item.quantity_shipped, item.item_price) == (
        "52188637691362",
        2,
        Decimal("23.98"),
    )
    assert order.items_total == Decimal("23.98")
    assert order.ship_state == "PA."
    comma = OrderItem.objects.get(order__amazon_order_id="002-6938819-9352268")
    assert comma.sku == "11UNMIC5P-2A5FTUS,690494327082"
    assert comma.order.purchased_at == datetime(2013, 5, 22, 5, 16, 50, tzinfo=UTC)


def test_fba_de_2012_bare_quotes_in_product_names_and_umlauts(account):
    result = run_import(account, FBA, read(f"{FBA}__liccoCode_elcuk3__13934056984"))

    assert (result.rows, result.failed) == (50, 0)
    first = Order.objects.get(amazon_order_id="303-5711808-8961904")
    assert first.marketplace_id == "A1PA6795UKMFR9"
    assert first.items.get().product_name.endswith('6 "E Ink Touch Screen Display Reader (')
    assert first.shipment_lines.get().carrier == "DP"
    assert Order.objects.get(amazon_order_id="028-5355067-8497922").ship_city == "Hänigsen"
    two = Order.objects.get(amazon_order_id="303-4744037-6924302")
    assert sorted(two.shipment_lines.values_list("shipment_item_id", flat=True)) == [
        "DFw3GfVlR",
        "DjwhGCVlR",
    ]


def test_fba_jp_excel_scientific_ids_are_row_errors(account):
    result = run_import(account, FBA, read(f"{FBA}__takatatranmien"))

    assert result.rows == 17
    assert result.failed == 15
    assert {e.line_number for e in result.errors} <= set(range(4, 19))
    assert "scientific notation" in result.errors[0].reason
    assert result.errors[0].line_number == 4
    assert set(Order.objects.values_list("amazon_order_id", flat=True)) == {
        "249-0814575-0394263",
        "249-2755740-9626201",
    }
    line = ShipmentLine.objects.get(order__amazon_order_id="249-2755740-9626201")
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
    assert (ret.amazon_order_id, ret.sku, ret.quantity) == ("114-2962899-5762619", "LVA1004-UPC", 1)
    assert ret.returned_at == datetime(2025, 6, 5, 15, 31, 40, tzinfo=UTC)
    assert (ret.detailed_disposition, ret.reason, ret.status) == (
        "CUSTOMER_DAMAGED",
        "NOT_COMPATIBLE",
        "IMMEDIATE_DONATION",
    )
    assert (ret.license_plate_number, ret.line_key) == ("LPNNC5N165ZVR", "LPNNC5N165ZVR")
    assert (ret.fnsku, ret.fulfillment_center_id, ret.customer_comments) == (
        "B00TZ73MUY",
        "LEX1",
        "",
    )
    assert ret.order is None and ret.order_missing


def test_vcs_sample_invoice(account):
    result = run_import(account, "SC_VAT_TAX_REPORT", read("SC_VAT_TAX_REPORT"))

    assert (result.rows, result.created) == (1, 1)
    invoice = Invoice.objects.get()
    assert (invoice.number, invoice.kind, invoice.source) == (
        "INV-DE-1305902485-2021-10882",
        "invoice",
        "amazon_vcs",
    )
    assert invoice.amazon_order_id == "028-2366379-9105113"
    assert (invoice.gross, invoice.vat, invoice.net) == (
        Decimal("14.53"),
        Decimal("2.32"),
        Decimal("12.21"),
    )
    assert (invoice.currency, invoice.issued_on) == ("EUR", date(2021, 11, 30))
    assert (invoice.transaction_id, invoice.shipment_id) == ("15566533008039", "15566533008039")
    assert invoice.url.startswith("https://www.Amazon.de/gp/invoice/download.html?v=urn%3aalx")
    assert invoice.order is None

"""The sandbox's seller history and report documents: deterministic, consistent, Amazon-shaped.

Headers are checked against the header lines recorded, with their sources, in
``tests/data/report_headers.tsv``.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from amazon_sandbox import generator
from amazon_sandbox.catalog import (
    DEMO_SELLERS,
    MARKETPLACES,
    REPORT_TYPES,
    DemoSeller,
    fleet_seller,
    fleet_seller_id,
    fleet_sellers,
    marketplace_by_country,
    seller_by_id,
)
from amazon_sandbox.generator import (
    COLUMNS,
    HISTORY_DAYS,
    AddedOrders,
    RenderedReport,
    orders_between,
    render_report,
)
from tests.testdata import report_headers

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
EU = seller_by_id("A2MUELLERHW7QX", "eu")
NA = seller_by_id("A3CEDARRIDGE9K", "na")
SMALL = seller_by_id("A1KERZENWERK5D", "eu")
DE = "A1PA6795UKMFR9"
FR = "A13V1IB3VIYZZH"
MFN_ORDERS = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"

EU_TYPES = sorted(t for t, s in REPORT_TYPES.items() if "eu" in s.regions)
NA_TYPES = sorted(t for t, s in REPORT_TYPES.items() if "na" in s.regions)
RANGED_TYPES = sorted(t for t, s in REPORT_TYPES.items() if not s.ignores_date_range)


def seller_for(report_type: str) -> DemoSeller:
    return EU if "eu" in REPORT_TYPES[report_type].regions else NA


def render(
    report_type: str,
    start: datetime,
    end: datetime,
    *,
    seller: DemoSeller | None = None,
    marketplace_ids: tuple[str, ...] | None = None,
    now: datetime = NOW,
    added: tuple[AddedOrders, ...] = (),
) -> RenderedReport:
    seller = seller or seller_for(report_type)
    return render_report(
        report_type,
        seller=seller,
        marketplace_ids=marketplace_ids or seller.marketplace_ids,
        data_start=start,
        data_end=end,
        now=now,
        added=added,
    )


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def tsv_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t")
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def csv_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def parse_xml(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - our own generated document, not untrusted input


def data_lines(report: RenderedReport) -> list[str]:
    """The rows of a document as comparable strings (XML: each OrderReport element)."""
    if report.file_format == "xml":
        root = parse_xml(report.text)
        return [
            ET.tostring(m.find("OrderReport"), encoding="unicode") for m in root.iter("Message")
        ]
    return report.text.split("\r\n")[1:-1]


# ---------------------------------------------------------------------------------------------
# Catalogue


def test_catalogue_has_the_product_report_types_with_their_rules():
    product_types = {
        "GET_AFN_INVENTORY_DATA",
        "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
        "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING",
        "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL",
        "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT",
        "SC_VAT_TAX_REPORT",
        "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
        "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
    }
    xml_twins = {"GET_ORDER_REPORT_DATA_INVOICING", "GET_ORDER_REPORT_DATA_SHIPPING"}
    assert product_types | xml_twins | {"GET_VAT_TRANSACTION_DATA"} <= set(REPORT_TYPES)
    for name in xml_twins:
        spec = REPORT_TYPES[name]
        assert (spec.file_format, spec.requestable, spec.schedulable) == ("xml", False, True)
    assert REPORT_TYPES["SC_VAT_TAX_REPORT"].file_format == "csv"
    assert REPORT_TYPES["GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL"].max_range_days == 31
    assert REPORT_TYPES["GET_AFN_INVENTORY_DATA"].regeneration_window_seconds == 30 * 60
    assert REPORT_TYPES["GET_AFN_INVENTORY_DATA"].ignores_date_range
    assert REPORT_TYPES[
        "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
    ].regeneration_window_seconds == (4 * 3600)
    restricted = {t for t, s in REPORT_TYPES.items() if s.restricted}
    assert restricted == {
        "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
        "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
        "GET_ORDER_REPORT_DATA_INVOICING",
        "GET_ORDER_REPORT_DATA_SHIPPING",
        "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT",
    }
    for spec in REPORT_TYPES.values():
        codecs.lookup(spec.eu_charset)
        codecs.lookup(spec.na_charset)


def test_demo_sellers_cover_both_regions():
    assert EU is not None and NA is not None and SMALL is not None
    countries = {MARKETPLACES[m].country_code for m in EU.marketplace_ids}
    assert countries == {"DE", "FR", "IT", "ES", "GB"}
    assert not EU.store_name.isascii()
    assert {MARKETPLACES[m].country_code for m in NA.marketplace_ids} == {"US", "CA"}
    assert SMALL.marketplace_ids == (DE,)
    for seller in DEMO_SELLERS:
        assert re.fullmatch(r"A[A-Z0-9]{12,13}", seller.selling_partner_id)
        assert all(MARKETPLACES[m].region == seller.region for m in seller.marketplace_ids)
    assert seller_by_id(EU.selling_partner_id, "na") is None
    assert seller_by_id("A0NOSUCHSELLER", "eu") is None
    assert marketplace_by_country("UK").name == "Amazon.co.uk"
    assert marketplace_by_country("UK").country_code == "GB"


# ---------------------------------------------------------------------------------------------
# The history


def test_history_is_deterministic_and_independent_of_the_range_asked():
    month = orders_between(EU, days_ago(30), NOW, now=NOW)
    week = orders_between(EU, days_ago(10), days_ago(3), now=NOW)
    assert orders_between(EU, days_ago(30), NOW, now=NOW) == month
    assert week == [o for o in month if days_ago(10) <= o.purchase_date < days_ago(3)]
    assert [o.purchase_date for o in month] == sorted(o.purchase_date for o in month)


def test_history_looks_like_a_real_shop():
    orders = orders_between(EU, days_ago(120), NOW, now=NOW)
    # About orders_per_day, half of them fulfilled by Amazon.
    assert 4.5 * 120 < len(orders) < 7.5 * 120
    afn = sum(o.fulfillment == "AFN" for o in orders)
    assert 0.4 < afn / len(orders) < 0.6
    assert any(o.cancelled and o.fulfillment == "MFN" for o in orders)
    assert not any(o.cancelled for o in orders if o.fulfillment == "AFN")
    assert {o.marketplace_id for o in orders} == set(EU.marketplace_ids)
    assert len({o.amazon_order_id for o in orders}) == len(orders)
    rates = {"DE": "0.19", "FR": "0.20", "IT": "0.22", "ES": "0.21", "GB": "0.20"}
    for order in orders:
        assert re.fullmatch(r"(302|303|305|028)-\d{7}-\d{7}", order.amazon_order_id)
        assert order.currency == ("GBP" if order.country_code == "GB" else "EUR")
        assert 1 <= len(order.items) <= 3
        for item in order.items:
            assert item.vat_rate == Decimal(rates[order.country_code])
            # EU prices include VAT: the tax is the VAT share of the gross price.
            net = item.item_price / (1 + item.vat_rate)
            assert abs(item.item_price - net - item.item_tax) <= Decimal("0.01")
        for ret in order.returns:
            shipment = next(s for s in order.shipments if s.shipment_id == ret.shipment_id)
            assert timedelta(days=5) <= ret.return_date - shipment.shipment_date
            assert ret.return_date - shipment.shipment_date <= timedelta(days=31)
    na_orders = orders_between(NA, days_ago(30), NOW, now=NOW)
    assert all(re.fullmatch(r"11[1-4]-\d{7}-\d{7}", o.amazon_order_id) for o in na_orders)
    assert {o.currency for o in na_orders} == {"USD", "CAD"}


def test_history_starts_two_years_back():
    assert (
        orders_between(EU, days_ago(HISTORY_DAYS + 30), days_ago(HISTORY_DAYS + 1), now=NOW) == []
    )
    assert orders_between(EU, days_ago(HISTORY_DAYS - 1), days_ago(HISTORY_DAYS - 5), now=NOW)


def test_nothing_after_now_exists():
    earlier = NOW - timedelta(days=3, hours=5)
    orders = orders_between(EU, days_ago(10), NOW + timedelta(days=5), now=earlier)
    assert orders and all(o.purchase_date <= earlier for o in orders)
    for order in orders:
        assert all(s.reporting_date <= earlier for s in order.shipments)
        assert all(r.return_date <= earlier for r in order.returns)
        assert order.last_updated <= earlier
    later = orders_between(EU, days_ago(10), NOW, now=NOW)
    assert len(later) > len(orders)
    # Time only adds facts: an order known earlier keeps its identity and its lines.
    by_id = {o.amazon_order_id: o for o in later}
    for order in orders:
        assert by_id[order.amazon_order_id].items == order.items

    for report_type in RANGED_TYPES:
        report = render(report_type, days_ago(10), NOW + timedelta(days=1), now=earlier)
        assert report.row_count
        for moment in row_dates(report_type, report):
            assert moment <= earlier, report_type


# The date each report type selects its rows by.
ROW_DATE = {
    "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING": "purchase-date",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING": "purchase-date",
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL": "reporting-date",
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING": "reporting-date",
    "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA": "return-date",
    "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT": "shipment-date",
    "SC_VAT_TAX_REPORT": "Tax Calculation Date",
    "GET_VAT_TRANSACTION_DATA": "TAX_CALCULATION_DATE",
    "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL": "last-updated-date",
}


def row_dates(report_type: str, report: RenderedReport) -> list[datetime]:
    if report.file_format == "xml":
        root = parse_xml(report.text)
        return [datetime.fromisoformat(d.text) for d in root.iter("OrderDate")]
    column = ROW_DATE[report_type]
    _, rows = (csv_rows if report.file_format == "csv" else tsv_rows)(report.text)
    if report_type == "SC_VAT_TAX_REPORT":
        # Day precision only ("27-Nov-2021 UTC"): compare the start of the day.
        return [datetime.strptime(r[column], "%d-%b-%Y UTC").replace(tzinfo=UTC) for r in rows]
    if report_type == "GET_VAT_TRANSACTION_DATA":
        return [datetime.strptime(r[column], "%d-%m-%Y").replace(tzinfo=UTC) for r in rows]
    return [datetime.fromisoformat(r[column]) for r in rows]


# ---------------------------------------------------------------------------------------------
# Documents: determinism, overlap, splitting


@pytest.mark.parametrize("report_type", sorted(REPORT_TYPES))
def test_rendering_is_deterministic(report_type):
    first = render(report_type, days_ago(20), NOW)
    second = render(report_type, days_ago(20), NOW)
    assert first == second
    assert first.file_format == REPORT_TYPES[report_type].file_format


@pytest.mark.parametrize("report_type", RANGED_TYPES)
def test_overlapping_ranges_carry_identical_rows(report_type):
    first = Counter(data_lines(render(report_type, days_ago(30), days_ago(10))))
    second = Counter(data_lines(render(report_type, days_ago(20), NOW)))
    overlap = Counter(data_lines(render(report_type, days_ago(20), days_ago(10))))
    assert overlap, "the overlap should not be empty"
    assert overlap <= first
    assert overlap <= second


@pytest.mark.parametrize("report_type", RANGED_TYPES)
def test_a_range_split_in_two_adds_up_to_the_whole(report_type):
    middle = days_ago(11) + timedelta(hours=7, minutes=13)
    whole = render(report_type, days_ago(25), NOW)
    left = render(report_type, days_ago(25), middle)
    right = render(report_type, middle, NOW)
    assert left.row_count + right.row_count == whole.row_count
    assert Counter(data_lines(left)) + Counter(data_lines(right)) == Counter(data_lines(whole))


def test_the_same_order_has_the_same_values_in_every_report():
    orders = orders_between(EU, days_ago(20), days_ago(5), now=NOW)
    mfn = next(o for o in orders if o.fulfillment == "MFN" and not o.cancelled)
    afn = next(o for o in orders if o.fulfillment == "AFN" and o.shipments)
    _, flat = tsv_rows(render("GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING", days_ago(30), NOW).text)
    xml = parse_xml(render("GET_ORDER_REPORT_DATA_INVOICING", days_ago(30), NOW).text)
    flat_lines = [r for r in flat if r["order-id"] == mfn.amazon_order_id]
    report = next(
        m.find("OrderReport")
        for m in xml.iter("Message")
        if m.findtext("OrderReport/AmazonOrderID") == mfn.amazon_order_id
    )
    assert len(flat_lines) == len(mfn.items) == len(report.findall("Item"))
    for row, element in zip(flat_lines, report.findall("Item"), strict=True):
        assert row["order-item-id"] == element.findtext("AmazonOrderItemCode")
        assert row["sku"] == element.findtext("SKU")
        assert row["item-price"] == element.findtext("ItemPrice/Component[Type='Principal']/Amount")
    assert report.findtext("OrderDate") == flat_lines[0]["purchase-date"]

    _, fba = tsv_rows(
        render("GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING", days_ago(30), NOW).text
    )
    _, vcs = csv_rows(render("SC_VAT_TAX_REPORT", days_ago(30), NOW).text)
    fba_items = {
        r["amazon-order-item-id"]: r for r in fba if r["amazon-order-id"] == afn.amazon_order_id
    }
    vcs_items = {(r["Order ID"], r["ASIN"]) for r in vcs if r["Transaction Type"] == "SHIPMENT"}
    for shipment in afn.shipments:
        for shipment_item in shipment.items:
            row = fba_items[shipment_item.order_item_id]
            assert row["shipment-id"] == shipment.shipment_id
            item = afn.item(shipment_item.order_item_id)
            assert row["item-price"] == f"{item.item_price:.2f}"
            assert (afn.amazon_order_id, item.asin) in vcs_items


# ---------------------------------------------------------------------------------------------
# Headers and layout


@pytest.mark.parametrize("report_type", sorted(report_headers()))
def test_headers_are_the_real_ones(report_type):
    expected = report_headers()[report_type]
    report = render(report_type, days_ago(5), NOW)
    parse = csv_rows if report.file_format == "csv" else tsv_rows
    header, _ = parse(report.text)
    assert header == expected
    assert COLUMNS[report_type] == expected


def test_every_flat_type_has_a_header_check():
    flat = {t for t, s in REPORT_TYPES.items() if s.file_format != "xml"}
    assert flat == set(report_headers())


@pytest.mark.parametrize("report_type", sorted(REPORT_TYPES))
def test_documents_parse_back_into_row_count_rows(report_type):
    report = render(report_type, days_ago(31), NOW)
    assert report.row_count > 0
    if report.file_format == "xml":
        root = parse_xml(report.text)
        assert root.tag == "AmazonEnvelope"
        assert root.findtext("MessageType") == "OrderReport"
        assert len(root.findall("Message")) == report.row_count
        for message in root.iter("Message"):
            assert message.find("OrderReport/Item/ItemPrice/Component/Amount").get("currency")
        return
    parse = csv_rows if report.file_format == "csv" else tsv_rows
    _, rows = parse(report.text)
    assert len(rows) == report.row_count
    for row in rows:
        # No missing and no surplus fields: every line has exactly the header's columns.
        assert None not in row
        assert all(value is not None for value in row.values())
    # Every line ends with CRLF, as in the real files.
    assert report.text.endswith("\r\n")
    assert report.text.count("\n") == report.text.count("\r\n") == report.row_count + 1


def test_vcs_is_quoted_like_the_sample():
    text = render("SC_VAT_TAX_REPORT", days_ago(10), NOW).text
    header_line, first_line = text.split("\r\n")[:2]
    assert header_line.startswith('"Marketplace ID","Merchant ID","Order Date",')
    assert ",ASIN,SKU,Quantity," in header_line
    assert re.match(r'[A-Z]{2},\d{11},"\d\d-[A-Z][a-z]{2}-\d{4} UTC",SHIPMENT,FALSE,', first_line)
    _, rows = csv_rows(text)
    # A SKU with a comma survives thanks to quoting.
    assert any("," in r["SKU"] for r in rows)
    # Amazon numbers and links what it invoices, the Amazon Business orders of this VCS Lite
    # seller; the seller issues the rest.
    by_amazon = [r for r in rows if r["Is Amazon Invoiced"] == "true"]
    assert by_amazon and len(by_amazon) < len(rows)
    assert all(r["VAT Invoice Number"].startswith(("INV-", "CN-")) for r in by_amazon)
    assert all(r["Invoice Url"].startswith("https://www.amazon.") for r in by_amazon)
    others = [r for r in rows if r not in by_amazon]
    assert all(r["Is Amazon Invoiced"] == "false" for r in others)
    assert not any(r["VAT Invoice Number"] or r["Invoice Url"] for r in others)


def test_na_dates_use_pacific_time_and_eu_dates_utc():
    winter = datetime(2025, 1, 20, tzinfo=UTC)
    summer = datetime(2025, 7, 20, tzinfo=UTC)
    for when, offset in ((winter, "-08:00"), (summer, "-07:00")):
        _, rows = tsv_rows(
            render(
                "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING", when - timedelta(days=5), when, now=when
            ).text
        )
        assert rows and all(r["purchase-date"].endswith(offset) for r in rows)
    _, rows = tsv_rows(render("GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING", days_ago(5), NOW).text)
    assert rows and all(r["purchase-date"].endswith("+00:00") for r in rows)
    for row in rows:
        datetime.fromisoformat(row["purchase-date"])


# ---------------------------------------------------------------------------------------------
# Charsets


@pytest.mark.parametrize("report_type", EU_TYPES)
def test_eu_documents_encode_to_cp1252_and_carry_accents(report_type):
    report = render(report_type, days_ago(31), NOW, seller=EU)
    report.text.encode("cp1252")  # raises if a character is not representable
    report.text.encode(REPORT_TYPES[report_type].eu_charset)
    if report_type != "GET_AFN_INVENTORY_DATA":  # the stock file carries no names
        assert not report.text.isascii()


def test_eu_buyer_names_have_umlauts_and_accents():
    _, rows = tsv_rows(render("GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING", days_ago(60), NOW).text)
    names = {r["buyer-name"] for r in rows} | {r["ship-city"] for r in rows}
    assert any(not n.isascii() for n in names)
    assert any(c in "".join(names) for c in "äöüßÄÖÜ")
    assert any(c in "".join(names) for c in "éèñçàìù")


@pytest.mark.parametrize("report_type", NA_TYPES)
def test_na_documents_are_utf8(report_type):
    assert REPORT_TYPES[report_type].na_charset == "UTF-8"
    report = render(report_type, days_ago(31), NOW, seller=NA)
    report.text.encode("utf-8")


def test_na_order_report_has_non_ascii_text():
    text = render("GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING", days_ago(31), NOW, seller=NA).text
    assert not text.isascii()


# ---------------------------------------------------------------------------------------------
# FBA specifics


def test_some_fba_order_is_split_into_two_shipments():
    _, rows = tsv_rows(
        render("GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL", days_ago(31), NOW).text
    )
    shipments_per_order: dict[str, set[str]] = {}
    for row in rows:
        shipments_per_order.setdefault(row["amazon-order-id"], set()).add(row["shipment-id"])
        assert row["fulfillment-channel"] == "AFN"
        assert row["shipment-item-id"] and row["fulfillment-center-id"] and row["carrier"]
        assert row["tracking-number"]
    assert any(len(ids) == 2 for ids in shipments_per_order.values())
    # Keyed by (amazon-order-id, shipment-item-id): no duplicates.
    keys = [(r["amazon-order-id"], r["shipment-item-id"]) for r in rows]
    assert len(keys) == len(set(keys))


def test_returns_reference_shipped_orders_of_the_history():
    _, rows = tsv_rows(render("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", days_ago(30), NOW).text)
    assert rows
    history = {o.amazon_order_id: o for o in orders_between(EU, days_ago(80), NOW, now=NOW)}
    for row in rows:
        order = history[row["order-id"]]
        returned = datetime.fromisoformat(row["return-date"])
        assert order.fulfillment == "AFN"
        assert any(s.shipment_date < returned for s in order.shipments)
        assert row["sku"] in {i.sku for i in order.items}
        assert row["license-plate-number"].startswith("LPN")
        assert int(row["quantity"]) >= 1


def test_returns_produce_refund_rows_in_the_vat_reports():
    _, vcs = csv_rows(render("SC_VAT_TAX_REPORT", days_ago(30), NOW).text)
    _, vidr = tsv_rows(render("GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT", days_ago(30), NOW).text)
    returns = [r for r in vcs if r["Transaction Type"] == "RETURN"]
    assert returns
    assert all(r["OUR_PRICE Tax Inclusive Selling Price"].startswith("-") for r in returns)
    assert all(
        bool(r["Original VAT Invoice Number"]) == (r["Is Amazon Invoiced"] == "true")
        for r in returns
    )
    assert {r["transaction-type"] for r in vidr} == {"SHIPMENT", "REFUND"}


def test_vcs_lite_data_marks_what_amazon_invoices_with_amazon_s_number():
    _, vcs = csv_rows(render("SC_VAT_TAX_REPORT", days_ago(30), NOW).text)
    _, vidr = tsv_rows(render("GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT", days_ago(30), NOW).text)
    amazon_numbers = {r["VAT Invoice Number"] for r in vcs if r["Is Amazon Invoiced"] == "true"}
    by_amazon = [r for r in vidr if r["is-amazon-invoiced"] == "true"]
    assert by_amazon and len(by_amazon) < len(vidr)
    assert {r["invoice-number"] for r in by_amazon} == amazon_numbers
    assert all(r["is-business-order"] == "true" for r in by_amazon)
    pending = [r for r in vidr if r["is-amazon-invoiced"] == "false"]
    assert {r["invoice-status"] for r in pending} == {"InvoicePending"}
    assert not any(r["invoice-number"] for r in pending)
    assert {r["transaction-type"] for r in pending} == {"SHIPMENT", "REFUND"}


def test_a_vcs_seller_s_every_sale_is_invoiced_by_amazon():
    assert SMALL.vat_invoicing == "vcs"
    _, rows = tsv_rows(
        render("GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT", days_ago(60), NOW, seller=SMALL).text
    )
    assert rows and all(r["is-amazon-invoiced"] == "true" and r["invoice-number"] for r in rows)


def test_stock_snapshot_has_sellable_and_unsellable_rows():
    report = render("GET_AFN_INVENTORY_DATA", days_ago(1), NOW)
    _, rows = tsv_rows(report.text)
    assert {r["Warehouse-Condition-code"] for r in rows} == {"SELLABLE", "UNSELLABLE"}
    assert all(int(r["Quantity Available"]) >= 0 for r in rows)
    # A snapshot: the range does not matter, and it ignores the marketplace filter.
    assert render("GET_AFN_INVENTORY_DATA", days_ago(300), days_ago(299)) == report
    assert render("GET_AFN_INVENTORY_DATA", days_ago(1), NOW, marketplace_ids=(FR,)) == report


# ---------------------------------------------------------------------------------------------
# Filters, added orders, empty ranges


def test_marketplace_filter():
    _, rows = tsv_rows(
        render(
            "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING", days_ago(30), NOW, marketplace_ids=(FR,)
        ).text
    )
    assert rows and {r["sales-channel"] for r in rows} == {"Amazon.fr"}
    _, rows = csv_rows(render("SC_VAT_TAX_REPORT", days_ago(30), NOW, marketplace_ids=(DE,)).text)
    assert rows and {r["Marketplace ID"] for r in rows} == {"DE"}


def test_small_seller_sells_in_germany_only():
    orders = orders_between(SMALL, days_ago(60), NOW, now=NOW)
    assert orders and {o.marketplace_id for o in orders} == {DE}


def test_added_orders_appear_in_the_right_reports():
    placed = NOW - timedelta(hours=1)
    mfn = AddedOrders(placed_at=placed, count=3, fulfillment="MFN", marketplace_id=DE, batch_seed=1)
    afn = AddedOrders(placed_at=placed, count=2, fulfillment="AFN", marketplace_id=FR, batch_seed=2)
    before = {o.amazon_order_id for o in orders_between(EU, days_ago(1), NOW, now=NOW)}
    after = orders_between(EU, days_ago(1), NOW, now=NOW, added=(mfn, afn))
    new = [o for o in after if o.amazon_order_id not in before]
    assert len(new) == 5
    assert all(o.purchase_date == placed for o in new)
    new_mfn = {o.amazon_order_id for o in new if o.fulfillment == "MFN"}
    new_afn = {o.amazon_order_id for o in new if o.fulfillment == "AFN"}
    assert {MARKETPLACES[o.marketplace_id].country_code for o in new} == {"DE", "FR"}

    window = (NOW - timedelta(hours=2), NOW)
    _, flat = tsv_rows(
        render("GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING", *window, added=(mfn, afn)).text
    )
    _, fba = tsv_rows(
        render("GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING", *window, added=(mfn, afn)).text
    )
    assert new_mfn <= {r["order-id"] for r in flat}
    assert not new_afn & {r["order-id"] for r in flat}
    assert new_afn <= {r["amazon-order-id"] for r in fba}
    assert not new_mfn & {r["amazon-order-id"] for r in fba}
    # Not in the documents of a marketplace they were not placed in.
    _, fr_only = tsv_rows(
        render(
            "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
            *window,
            marketplace_ids=(FR,),
            added=(mfn,),
        ).text
    )
    assert not new_mfn & {r["order-id"] for r in fr_only}
    # Orders added after now do not exist yet.
    future = AddedOrders(
        placed_at=NOW + timedelta(minutes=5),
        count=4,
        fulfillment="MFN",
        marketplace_id=DE,
        batch_seed=3,
    )
    assert orders_between(EU, days_ago(1), NOW + timedelta(days=1), now=NOW, added=(future,)) == (
        orders_between(EU, days_ago(1), NOW + timedelta(days=1), now=NOW)
    )


ALL_ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
MFN_EU = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"


def order_ids(report: RenderedReport, column: str = "order-id") -> set[str]:
    return {row[column] for row in tsv_rows(report.text)[1]}


def test_some_paid_mfn_orders_are_cancelled_before_they_ship():
    orders = orders_between(EU, days_ago(120), days_ago(5), now=NOW)
    late = [o for o in orders if o.cancelled_after_payment]
    pending = [o for o in orders if o.cancelled and not o.cancelled_after_payment]
    # About one paid MFN order in twenty, besides those cancelled while pending.
    assert 5 <= len(late) <= len(orders) // 10 and pending
    for order in late:
        assert order.fulfillment == "MFN" and order.status == "Canceled" and not order.shipments
        assert order.payments_date < order.cancelled_at == order.last_updated
        assert order.cancelled_at.microsecond == 0
    # Amazon fulfils FBA orders itself: none is cancelled after payment.
    assert not any(o.cancelled for o in orders if o.fulfillment == "AFN")


def test_a_cancellation_after_payment_is_seen_in_the_report_by_last_update():
    order = next(
        o
        for o in orders_between(EU, days_ago(60), days_ago(5), now=NOW)
        if o.cancelled_after_payment
    )
    paid, cancelled = order.payments_date, order.cancelled_at
    before = cancelled - timedelta(minutes=1)
    (as_then,) = orders_between(
        EU, order.purchase_date, order.purchase_date + timedelta(seconds=1), now=before
    )
    assert as_then.status == "Unshipped" and as_then.last_updated == paid
    # The MFN order report lists it while it is paid and not cancelled, and no more after.
    day = (order.purchase_date - timedelta(hours=12), order.purchase_date + timedelta(hours=12))
    assert order.amazon_order_id in order_ids(render(MFN_EU, *day, now=before))
    assert order.amazon_order_id not in order_ids(render(MFN_EU, *day, now=NOW))

    # Listed by its last update: Unshipped at its payment, Cancelled at its cancellation.
    by_payment = render(ALL_ORDERS, paid, before, now=before)
    rows = [
        r for r in tsv_rows(by_payment.text)[1] if r["amazon-order-id"] == order.amazon_order_id
    ]
    assert len(rows) == len(order.items)
    assert {(r["order-status"], r["item-status"], r["fulfillment-channel"]) for r in rows} == {
        ("Unshipped", "Unshipped", "Merchant")
    }
    assert {r["last-updated-date"] for r in rows} == {paid.isoformat()}
    # A report of the same time made after the cancellation no longer lists it there ...
    assert order.amazon_order_id not in order_ids(
        render(ALL_ORDERS, paid, before, now=NOW), "amazon-order-id"
    )
    # ... but in the range holding the cancellation, with no quantity and no amounts.
    after = render(ALL_ORDERS, before, cancelled + timedelta(hours=1), now=NOW)
    rows = [r for r in tsv_rows(after.text)[1] if r["amazon-order-id"] == order.amazon_order_id]
    assert len(rows) == len(order.items)
    for row in rows:
        assert (row["order-status"], row["item-status"], row["quantity"]) == (
            "Cancelled",
            "Cancelled",
            "0",
        )
        assert (row["currency"], row["item-price"]) == ("", "")
        assert datetime.fromisoformat(row["last-updated-date"]) == cancelled


def test_the_report_by_last_update_lists_the_whole_region():
    # Amazon reportedly ignores the marketplaces asked for; so does the sandbox.
    window = (days_ago(3), NOW)
    german = tsv_rows(render(ALL_ORDERS, *window, marketplace_ids=(DE,)).text)[1]
    every = tsv_rows(render(ALL_ORDERS, *window).text)[1]
    assert german == every
    assert len({r["sales-channel"] for r in every}) > 1
    assert {r["fulfillment-channel"] for r in every} == {"Amazon", "Merchant"}


def test_added_orders_can_be_cancelled_after_their_payment():
    placed = NOW - timedelta(hours=3)
    batch = AddedOrders(
        placed_at=placed,
        count=2,
        fulfillment="MFN",
        marketplace_id=DE,
        batch_seed=7,
        cancel_after_seconds=3600,
    )
    before = {o.amazon_order_id for o in orders_between(EU, days_ago(1), NOW, now=NOW)}
    new = [
        o
        for o in orders_between(EU, days_ago(1), NOW, now=NOW, added=(batch,))
        if o.amazon_order_id not in before
    ]
    assert len(new) == 2
    for order in new:
        assert order.cancelled_after_payment and not order.shipments
        assert order.cancelled_at == order.payments_date + timedelta(hours=1)
        assert order.payments_date - placed <= timedelta(minutes=10)
    # Paid and not yet cancelled: Unshipped in the MFN order report.
    earlier = placed + timedelta(minutes=30)
    window = (placed - timedelta(hours=1), earlier)
    listed = order_ids(render(MFN_EU, *window, now=earlier, added=(batch,)))
    assert {o.amazon_order_id for o in new} <= listed


@pytest.mark.parametrize("report_type", RANGED_TYPES)
def test_a_range_without_orders_renders_only_the_header(report_type):
    before_history = days_ago(HISTORY_DAYS + 100)
    report = render(report_type, before_history, before_history + timedelta(days=10))
    assert report.row_count == 0
    if report.file_format == "xml":
        assert parse_xml(report.text).findall("Message") == []
    else:
        assert report.text.count("\r\n") == 1
        assert report.text.endswith("\r\n")


def test_naive_datetimes_and_unknown_types_are_refused():
    with pytest.raises(ValueError, match="aware"):
        orders_between(EU, datetime(2025, 1, 1), NOW, now=NOW)  # noqa: DTZ001
    with pytest.raises(ValueError, match="Unknown report type"):
        render("GET_NO_SUCH_REPORT", days_ago(1), NOW, seller=EU)


def test_fleet_sellers_exist_only_when_configured(monkeypatch):
    monkeypatch.delenv("SANDBOX_FLEET_SELLERS", raising=False)
    assert fleet_sellers() == ()
    fleet_sellers_first = fleet_seller_id(1)
    assert seller_by_id(fleet_sellers_first, "eu") is None

    monkeypatch.setenv("SANDBOX_FLEET_SELLERS", "3")
    monkeypatch.setenv("SANDBOX_FLEET_ORDERS_PER_DAY", "200")
    fleet = fleet_sellers()
    assert [s.selling_partner_id for s in fleet] == [
        "AFLEET0000001",
        "AFLEET0000002",
        "AFLEET0000003",
    ]
    assert seller_by_id(fleet_sellers_first, "eu") is fleet[0]
    assert seller_by_id(fleet_sellers_first, "na") is None
    assert seller_by_id(fleet_seller_id(4), "eu") is None
    assert len({s.seed for s in fleet} | {s.seed for s in DEMO_SELLERS}) == 6
    for seller in fleet:
        assert re.fullmatch(r"A[A-Z0-9]{12,13}", seller.selling_partner_id)
        assert seller.marketplace_ids == (DE,)


def test_fleet_sellers_place_orders_around_the_clock_deterministically(monkeypatch):
    monkeypatch.setenv("SANDBOX_FLEET_SELLERS", "2")
    monkeypatch.setenv("SANDBOX_FLEET_ORDERS_PER_DAY", "240")
    first, second = fleet_sellers()
    day = NOW - timedelta(days=2)
    orders = orders_between(first, day, day + timedelta(days=1), now=NOW)
    assert 150 < len(orders) < 350
    # Every hour of the day has some: orders arrive continuously, not in one batch.
    assert len({o.purchase_date.hour for o in orders}) == 24
    assert orders == orders_between(first, day, day + timedelta(days=1), now=NOW)
    others = orders_between(second, day, day + timedelta(days=1), now=NOW)
    assert [o.purchase_date for o in orders] != [o.purchase_date for o in others]


def _forget_generated_days() -> None:
    for name in ("_day_slots", "_day_order", "_day_orders"):
        if cached := getattr(generator, name, None):
            cached.cache_clear()


def test_a_short_report_makes_only_the_orders_inside_its_range(monkeypatch):
    # A fleet's scheduled reports finish by the hundred at once and each is built as it
    # finishes: a 15-minute report of a seller with 600 orders a day must not make the 600
    # orders of its whole day first (about a quarter of a second each, one after the other).
    seller = fleet_seller(3, 600.0)
    start = NOW - timedelta(minutes=15)
    _forget_generated_days()
    made = []
    real = generator._make_order
    monkeypatch.setattr(
        generator, "_make_order", lambda *a, **k: made.append(k["purchase"]) or real(*a, **k)
    )

    orders = orders_between(seller, start, NOW, now=NOW)

    assert 0 < len(orders) == len(made) < 20
    assert all(start <= moment < NOW for moment in made)


def test_a_day_is_the_same_whether_built_in_parts_or_whole():
    seller = fleet_seller(4, 600.0)
    day = datetime(2025, 3, 14, tzinfo=UTC)
    quarters = [day + timedelta(minutes=15 * n) for n in range(97)]
    _forget_generated_days()
    texts = [
        render(MFN_ORDERS, start, start + timedelta(minutes=15), seller=seller).text
        for start in quarters[40:44]
    ]
    parts = [
        order
        for start, end in itertools.pairwise(quarters)
        for order in orders_between(seller, start, end, now=NOW)
    ]
    _forget_generated_days()
    whole = orders_between(seller, day, day + timedelta(days=1), now=NOW)

    assert 500 < len(whole)
    assert parts == whole
    assert texts == [
        render(MFN_ORDERS, start, start + timedelta(minutes=15), seller=seller).text
        for start in quarters[40:44]
    ]

"""Exports of Orders, Returns, Stock and Invoices: CSV and XLSX, what the pages list, streamed."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import FileResponse, StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from amazon_settings.models import AccountMarketplace, SellerAccount
from core import exports as core_exports
from orders import exports, selectors
from orders.models import Invoice, Order, OrderItem, Return, StockLevel

pytestmark = pytest.mark.django_db

DE, FR = "A1PA6795UKMFR9", "A13V1IB3VIYZZH"
START = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
BUYER_COLUMNS = {"buyer_name", "buyer_email", "ship_address_1", "recipient_name", "billing_name"}


@pytest.fixture
def account() -> SellerAccount:
    account = SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX", region="eu", display_name="Müller"
    )
    for marketplace_id, country in ((DE, "DE"), (FR, "FR")):
        AccountMarketplace.objects.create(
            account=account, marketplace_id=marketplace_id, country_code=country, name=country
        )
    return account


def seed_orders(account: SellerAccount, count: int, *, first: int = 0) -> None:
    """`count` orders, one minute apart, with 0 to 3 items each and every kind of amount;
    bulk-created a thousand at a time."""
    for start in range(first, first + count, 1000):
        batch = []
        for n in range(start, min(start + 1000, first + count)):
            batch.append(
                Order(
                    account=account,
                    amazon_order_id=f"{n % 1000:03d}-{n:07d}-{n * 7919 % 10_000_000:07d}",
                    marketplace_id=DE if n % 2 else FR,
                    sales_channel="Amazon.de" if n % 2 else "Amazon.fr",
                    fulfillment_channel="AFN" if n % 3 == 0 else "MFN",
                    purchased_at=START + timedelta(minutes=n),
                    last_updated_at=START + timedelta(minutes=n, hours=2) if n % 4 else None,
                    status=["Shipped", "Unshipped", "Canceled", "Pending"][n % 4],
                    is_business_order=n % 7 == 0,
                    currency="EUR",
                    items_total=Decimal(n % 9000) / 100 + 5,
                    tax_total=Decimal(n % 900) / 100,
                    shipping_total=Decimal("4.99") if n % 2 else Decimal("0.00"),
                    gift_wrap_total=Decimal("2.50") if n % 5 == 0 else Decimal("0.00"),
                    promotion_total=Decimal("-1.25") if n % 6 == 0 else Decimal("0.00"),
                    buyer_name=f"Käufer {n}",
                    buyer_email=f"b{n}@marketplace.amazon.de",
                    buyer_phone="+49 30 1234" if n % 8 == 0 else "",
                    recipient_name=f"Empfänger {n}",
                    ship_address_1=f"Hauptstraße {n}",
                    ship_address_2="c/o Büro, 2. OG" if n % 9 == 0 else "",
                    ship_city="Berlin",
                    ship_postal_code=f"{n % 99999:05d}",
                    ship_country="DE",
                    billing_name=f"Rechnung {n}" if n % 3 == 0 else "",
                    bill_country="DE" if n % 3 == 0 else "",
                    buyer_vat_number="DE999999999" if n % 7 == 0 else "",
                    purchase_order_number=f"PO-{n}" if n % 7 == 0 else "",
                )
            )
        created = Order.objects.bulk_create(batch)
        items = []
        for order in created:
            n = int(order.amazon_order_id[4:11])
            for k in range(n % 4):
                items.append(
                    OrderItem(
                        order=order,
                        order_item_id=f"{n:012d}{k:02d}",
                        sku=f"SKU-{(n + k) % 500}",
                        asin=f"B0{(n + k) % 500:08d}",
                        product_name=f'Teekanne "Gusseisen", {k + 1} l',
                        quantity_ordered=k + 1,
                        quantity_shipped=k,
                        item_price=Decimal("19.99") * (k + 1),
                        item_tax=Decimal("3.19"),
                        shipping_price=Decimal("4.99"),
                        shipping_tax=Decimal("0.80"),
                        gift_wrap_price=Decimal("2.50") if k == 2 else Decimal("0.00"),
                        gift_wrap_tax=Decimal("0.40") if k == 2 else Decimal("0.00"),
                        item_promotion_discount=Decimal("-1.25") if n % 6 == 0 else Decimal(0),
                        ship_promotion_discount=Decimal("-4.99") if k == 1 else Decimal(0),
                        item_promotion_id="PROMO-1,PROMO-2" if n % 6 == 0 else "",
                    )
                )
        OrderItem.objects.bulk_create(items)


def csv_rows(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def xlsx_rows(response) -> list[list]:
    assert isinstance(response, FileResponse)
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = []
    for sheet in workbook.worksheets:
        sheet_rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        rows += sheet_rows if not rows else sheet_rows[1:]  # each sheet repeats the header
    workbook.close()
    return rows


def text(value) -> str:
    """A database value as the CSV writes it: ISO dates, times in the current time zone, plain
    decimal amounts with a dot."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # a spreadsheet would run it as a formula
    return str(value)


def expected_order_rows(columns: list[str]) -> list[list[str]]:
    """The export's rows as the database holds them, one per item, newest order first; read
    with plain queries, independently of the export."""
    orders = list(Order.objects.order_by("-purchased_at", "-pk").values())
    names = dict(SellerAccount.objects.values_list("pk", "display_name"))
    items: dict[int, list[dict]] = {}
    for item in OrderItem.objects.order_by("pk").values():
        items.setdefault(item["order_id"], []).append(item)
    rows = []
    for order in orders:
        order["account"] = names[order["account_id"]]
        order["total"] = (
            order["items_total"]
            + order["shipping_total"]
            + order["gift_wrap_total"]
            + order["promotion_total"]
        )
        for line, item in enumerate(items.get(order["id"], [None]), start=1):
            values = {**order, **(item or {}), "line": line if item else None}
            if item is None:
                values.update(dict.fromkeys(exports.ITEM_FIELDS))
            rows.append([text(values[key]) for key in columns])
    return rows


def test_the_csv_of_10000_orders_matches_the_database_field_by_field(account, logged_in_client):
    seed_orders(account, 10_000)
    response = logged_in_client.get(reverse("orders:export", args=["csv"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="orders-\d{4}-\d{2}-\d{2}\.csv"', response["Content-Disposition"]
    )
    header, *rows = csv_rows(response)
    columns = [c.key for c in exports.ORDER_COLUMNS]
    assert header == [str(c.header) for c in exports.ORDER_COLUMNS]
    expected = expected_order_rows(columns)
    assert len(rows) == len(expected) == OrderItem.objects.count() + 2500  # 2,500 without items
    for number, (row, wanted) in enumerate(zip(rows, expected, strict=True)):
        assert row == wanted, f"row {number + 1}"
    # A few cells written out, so the format is pinned down, not only mirrored.
    first = dict(zip(columns, rows[0], strict=True))
    assert first["purchased_at"] == "2025-01-08T07:39:00+01:00"  # Berlin, with the offset
    assert first["items_total"] == "14.99" and first["total"] == "19.98"
    assert first["is_business_order"] == "false" and first["line"] == "1"


def test_the_xlsx_opens_and_holds_the_same_rows(account, logged_in_client):
    seed_orders(account, 10_000)
    header, *rows = csv_rows(logged_in_client.get(reverse("orders:export", args=["csv"])))
    response = logged_in_client.get(reverse("orders:export", args=["xlsx"]))
    assert response.status_code == 200
    assert re.fullmatch(
        r'attachment; filename="orders-\d{4}-\d{2}-\d{2}\.xlsx"', response["Content-Disposition"]
    )
    xlsx_header, *xlsx = xlsx_rows(response)
    assert xlsx_header == header
    assert len(xlsx) == len(rows)
    kinds = [c.kind for c in exports.ORDER_COLUMNS]
    for number, (cells, row) in enumerate(zip(xlsx, rows, strict=True)):
        assert [as_csv(cell, kind) for cell, kind in zip(cells, kinds, strict=True)] == row, (
            f"row {number + 1}"
        )


def as_csv(cell, kind: core_exports.Kind) -> str:
    """An XLSX cell as the CSV writes the same value: real numbers, dates and booleans."""
    if cell is None:
        return ""
    if kind == core_exports.Kind.AMOUNT:
        assert isinstance(cell, float | int)
        return f"{cell:.2f}"
    if kind == core_exports.Kind.DATETIME:
        assert isinstance(cell, datetime)  # Berlin time, as Excel has no time zones
        return timezone.make_aware(cell).isoformat()
    if kind == core_exports.Kind.BOOLEAN:
        return "true" if cell else "false"
    if kind == core_exports.Kind.INTEGER:
        assert isinstance(cell, int)
        return str(cell)
    assert isinstance(cell, str)  # text stays text, as it is: the apostrophe is the CSV's
    return text(cell)


def test_an_export_honours_the_pages_filters(account, logged_in_client):
    seed_orders(account, 40)
    other = SellerAccount.objects.create(
        selling_partner_id="A3CEDARRIDGE9K", region="na", display_name="Cedar Ridge"
    )
    seed_orders(other, 10, first=1000)
    query = {
        "account": account.pk,
        "marketplace": DE,
        "status": "Unshipped",
        "since": "2025-01-01",
        "until": "2025-01-01",
    }
    page = logged_in_client.get(reverse("orders:list"), query)
    listed = [order.amazon_order_id for order in page.context["page"]]
    _, *rows = csv_rows(logged_in_client.get(reverse("orders:export", args=["csv"]), query))
    exported = list(dict.fromkeys(row[0] for row in rows))
    assert exported == listed
    assert len(listed) == 10  # odd n with n % 4 == 1 among 0..39: the filters did something
    # The page's export buttons carry its query string.
    body = page.content.decode()
    assert f'href="/orders/export.csv?{page.context["query"]}"'.replace("&", "&amp;") in body
    assert "/orders/export.xlsx?" in body


def test_a_search_exports_what_its_pages_list(account, logged_in_client, monkeypatch):
    """A search's pages end with its newest SEARCH_REACH matches; its export does too."""
    monkeypatch.setattr(selectors, "SEARCH_REACH", 7)
    seed_orders(account, 30)
    _, *rows = csv_rows(
        logged_in_client.get(reverse("orders:export", args=["csv"]), {"q": "Käufer"})
    )
    order_ids = list(dict.fromkeys(row[0] for row in rows))
    newest = Order.objects.order_by("-purchased_at").values_list("amazon_order_id", flat=True)
    assert order_ids == list(newest[:7])


def test_without_the_buyer_data_permission_buyer_columns_are_left_out(account, viewer_client):
    seed_orders(account, 12)
    Return.objects.create(
        account=account,
        amazon_order_id="000-0000001-0007919",
        returned_at=START,
        sku="SKU-1",
        line_key="LPN1",
        customer_comments="Bitte an Frau Schmidt, Gartenweg 3",
    )
    header, *rows = csv_rows(viewer_client.get(reverse("orders:export", args=["csv"])))
    keys = [c.key for c in exports.order_columns(buyer_data=False)]
    assert header == [str(c.header) for c in exports.order_columns(buyer_data=False)]
    assert not set(keys) & (exports.ORDER_BUYER_FIELDS | BUYER_COLUMNS)
    assert {"ship_country", "sku", "total"} <= set(keys)
    body = "\n".join(",".join(row) for row in rows)
    assert "Käufer" not in body and "@marketplace" not in body and "Hauptstraße" not in body
    xlsx_header, *_ = xlsx_rows(viewer_client.get(reverse("orders:export", args=["xlsx"])))
    assert xlsx_header == header
    # Nor does the search look at buyers for them.
    _, *found = csv_rows(
        viewer_client.get(reverse("orders:export", args=["csv"]), {"q": "Käufer 3"})
    )
    assert found == []
    returns = csv_rows(viewer_client.get(reverse("orders:returns_export", args=["csv"])))
    assert "Customer comments" not in returns[0] and "Schmidt" not in str(returns)


def test_with_the_permission_the_buyer_columns_are_there(account, logged_in_client):
    seed_orders(account, 3)
    header, *rows = csv_rows(logged_in_client.get(reverse("orders:export", args=["csv"])))
    row = dict(zip([c.key for c in exports.ORDER_COLUMNS], rows[0], strict=True))
    assert row["buyer_name"] == "Käufer 2" and row["ship_address_1"] == "Hauptstraße 2"
    assert "Buyer e-mail" in header


def test_cells_a_spreadsheet_would_run_as_formulas_are_defused(account, logged_in_client):
    order = Order.objects.create(
        account=account,
        amazon_order_id="303-1234567-1234567",
        purchased_at=START,
        buyer_name='=HYPERLINK("http://evil.example","klick")',
        items_total=Decimal("-3.00"),
    )
    OrderItem.objects.create(
        order=order, order_item_id="1", sku="-2+3", product_name="@SUM(A1:A9)", asin="+49"
    )
    OrderItem.objects.create(order=order, order_item_id="2", sku="\tTAB", product_name="Tee")
    header, *rows = csv_rows(logged_in_client.get(reverse("orders:export", args=["csv"])))
    first, second = (dict(zip(header, row, strict=True)) for row in rows)
    assert first["Buyer"] == '\'=HYPERLINK("http://evil.example","klick")'
    assert (first["SKU"], first["Product"], first["ASIN"]) == ("'-2+3", "'@SUM(A1:A9)", "'+49")
    assert second["SKU"] == "'\tTAB" and second["Product"] == "Tee"
    assert first["Order: items"] == "-3.00"  # a number stays a number
    # The XLSX keeps the text as it is, as text: never a formula.
    response = logged_in_client.get(reverse("orders:export", args=["xlsx"]))
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.worksheets[0]
    titles = [cell.value for cell in sheet[1]]
    buyer = sheet.cell(row=2, column=titles.index("Buyer") + 1)
    sku = sheet.cell(row=2, column=titles.index("SKU") + 1)
    assert (buyer.data_type, buyer.value) == ("s", '=HYPERLINK("http://evil.example","klick")')
    assert (sku.data_type, sku.value) == ("s", "-2+3")
    amount = sheet.cell(row=2, column=titles.index("Order: items") + 1)
    assert (amount.data_type, amount.value) == ("n", -3)


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_the_query_count_does_not_grow_with_the_orders(account, logged_in_client, export_format):
    def queries(count: int, first: int) -> int:
        seed_orders(account, count, first=first)
        with CaptureQueriesContext(connection) as captured:
            response = logged_in_client.get(reverse("orders:export", args=[export_format]))
            b"".join(response.streaming_content)
        return len(captured)

    few = queries(4, first=0)
    assert queries(60, first=100) == few  # 64 orders, 90 items: still one chunk


def test_an_order_export_reads_a_chunk_at_a_time(account, logged_in_client, monkeypatch):
    """Orders and their items come a chunk at a time: two queries per chunk, never one per
    order."""
    seed_orders(account, 40)
    monkeypatch.setattr(exports, "CHUNK", 10)
    table = exports.order_export(buyer_data=True)
    with CaptureQueriesContext(connection) as captured:
        rows = list(table.rows)
    assert len(rows) == OrderItem.objects.count() + 10
    item_queries = [q for q in captured if "orders_orderitem" in q["sql"]]
    assert len(item_queries) == 4


def test_invalid_filters_export_nothing_and_say_why(account, logged_in_client):
    seed_orders(account, 3)
    query = {"since": "2025-02-01", "until": "2025-01-01"}
    response = logged_in_client.get(reverse("orders:export", args=["csv"]), query, follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("orders:list") + "?")
    body = response.content.decode()
    assert "Nothing was exported: correct the filters first." in body
    assert "The end date must not be before the start date." in body
    assert logged_in_client.get("/orders/export.pdf").status_code == 404


def test_exports_need_a_login_and_a_role(account, client):
    url = reverse("orders:export", args=["csv"])
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    nobody = get_user_model().objects.create_user(username="nobody", password="x-y-z-12345")
    other = Client()
    other.force_login(nobody)
    assert other.get(url).status_code == 403


def test_returns_stock_and_invoices_exports(account, logged_in_client):
    seed_orders(account, 2)
    order = Order.objects.order_by("pk").first()
    for day, sku in ((1, "SKU-A"), (20, "SKU-B")):
        Return.objects.create(
            account=account,
            order=order,
            amazon_order_id=order.amazon_order_id,
            returned_at=START + timedelta(days=day),
            sku=sku,
            line_key=f"LPN{day}",
            quantity=day,
            customer_comments="zu klein",
        )
    header, *rows = csv_rows(
        logged_in_client.get(
            reverse("orders:returns_export", args=["csv"]), {"since": "2025-01-10"}
        )
    )
    assert [r[header.index("SKU")] for r in rows] == ["SKU-B"]
    assert rows[0][header.index("Returned")] == "2025-01-21T09:00:00+01:00"
    assert rows[0][header.index("Customer comments")] == "zu klein"

    for sku, condition, quantity in (
        ("A-1", "SELLABLE", 5),
        ("A-1", "DEFECTIVE", 2),
        ("B", "SELLABLE", 1),
    ):
        StockLevel.objects.create(
            account=account, sku=sku, condition=condition, quantity=quantity, changed_at=START
        )
    header, *rows = csv_rows(
        logged_in_client.get(reverse("orders:stock_export", args=["csv"]), {"q": "A-"})
    )
    assert header[:2] == ["SKU", "Account"]
    assert rows == [["A-1", "Müller", "", "", "5", "2", "2025-01-01T09:00:00+01:00"]]

    for number, kind, issued in (
        ("INV-1", Invoice.Kind.INVOICE, date(2025, 1, 2)),
        ("CN-1", Invoice.Kind.CREDIT_NOTE, date(2025, 1, 5)),
    ):
        Invoice.objects.create(
            account=account,
            order=order,
            amazon_order_id=order.amazon_order_id,
            number=number,
            kind=kind,
            source=Invoice.Source.GENERATED,
            issued_on=issued,
            currency="EUR",
            net=Decimal("10.00"),
            vat=Decimal("1.90"),
            gross=Decimal("11.90"),
            buyer_name="Käufer",
            buyer_address="Hauptstraße 1\n10115 Berlin",
        )
    header, *rows = csv_rows(
        logged_in_client.get(
            reverse("orders:invoices_export", args=["csv"]), {"kind": "credit_note"}
        )
    )
    row = dict(zip(header, rows[0], strict=True))
    assert len(rows) == 1
    assert (row["Number"], row["Kind"], row["Issued"], row["Gross"]) == (
        "CN-1",
        "Credit note",
        "2025-01-05",
        "11.90",
    )
    assert row["Buyer address"] == "Hauptstraße 1\n10115 Berlin"
    _, *xlsx = xlsx_rows(logged_in_client.get(reverse("orders:invoices_export", args=["xlsx"])))
    assert [r[0] for r in xlsx] == ["CN-1", "INV-1"]
    for name in ("orders:returns", "orders:stock", "orders:invoices"):
        assert "export-buttons" in logged_in_client.get(reverse(name)).content.decode()


def test_invoice_buyers_are_left_out_without_the_permission(account, viewer_client):
    Invoice.objects.create(
        account=account,
        amazon_order_id="303-1234567-1234567",
        number="INV-1",
        kind=Invoice.Kind.INVOICE,
        source=Invoice.Source.GENERATED,
        buyer_name="Käufer",
        buyer_address="Hauptstraße 1",
        buyer_vat_number="DE1",
    )
    header, *rows = csv_rows(viewer_client.get(reverse("orders:invoices_export", args=["csv"])))
    assert "Buyer" not in header and "Buyer VAT number" not in header
    assert "Käufer" not in str(rows) and rows[0][0] == "INV-1"


def test_a_long_xlsx_continues_on_a_second_sheet(account, logged_in_client, monkeypatch):
    monkeypatch.setattr(core_exports, "XLSX_MAX_ROWS", 4)  # the header and three rows
    seed_orders(account, 8)
    response = logged_in_client.get(reverse("orders:export", args=["xlsx"]))
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    lines = OrderItem.objects.count() + 2  # two of the eight orders have no items
    assert lines == 14
    assert workbook.sheetnames == ["Orders", "Orders (2)", "Orders (3)", "Orders (4)", "Orders (5)"]
    assert [sheet.max_row for sheet in workbook.worksheets] == [4, 4, 4, 4, 3]
    workbook.close()
    rows = xlsx_rows(logged_in_client.get(reverse("orders:export", args=["xlsx"])))
    assert len(rows) - 1 == lines

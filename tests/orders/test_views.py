"""Orders, order details, Returns, Stock, Invoices and the printable invoice."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from amazon_settings.models import AccountMarketplace, SellerAccount
from orders.models import (
    Invoice,
    Order,
    OrderItem,
    OrderStatusChange,
    Return,
    ShipmentLine,
    StockChange,
    StockLevel,
    StockSnapshot,
)
from tests.orders.conftest import NOW, render, run_import
from tests.reports.test_uploads import URLCONF
from tests.testdata import report_headers

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLCONF)]

DE = "A1PA6795UKMFR9"
FR = "A13V1IB3VIYZZH"
FBA_EU = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING"


@pytest.fixture
def account() -> SellerAccount:
    account = SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX", region="eu", display_name="Müller"
    )
    for marketplace_id, country in ((DE, "DE"), (FR, "FR")):
        AccountMarketplace.objects.create(
            account=account,
            marketplace_id=marketplace_id,
            country_code=country,
            name=f"Amazon.{country.lower()}",
            selected=True,
        )
    return account


@pytest.fixture
def other_account() -> SellerAccount:
    return SellerAccount.objects.create(
        selling_partner_id="A3CEDARRIDGE9K", region="na", display_name="Cedar Ridge"
    )


def make_order(account: SellerAccount, n: int, *, items: int = 2, **fields) -> Order:
    values = {
        "amazon_order_id": f"302-{n:07d}-{n:07d}",
        "marketplace_id": DE,
        "sales_channel": "Amazon.de",
        "fulfillment_channel": "MFN",
        "status": Order.Status.SHIPPED,
        "purchased_at": NOW - timedelta(hours=n),
        "currency": "EUR",
        "items_total": Decimal("19.99"),
        "buyer_name": f"Buyer {n}",
        "buyer_email": f"buyer{n}@marketplace.amazon.de",
        "source_report_id": 7,
        "source_line": n + 1,
        **fields,
    }
    order = Order.objects.create(account=account, **values)
    for index in range(items):
        OrderItem.objects.create(
            order=order,
            order_item_id=f"{n:05d}{index}",
            sku=f"SKU-{n}-{index}",
            quantity_ordered=1,
            item_price=Decimal("9.99"),
            source_report_id=7,
            source_line=n + 1,
        )
    return order


def order_ids(response) -> list[str]:
    return [order.amazon_order_id for order in response.context["page"]]


def test_orders_in_the_navigation_and_empty_list(logged_in_client):
    response = logged_in_client.get(reverse("orders:list"))
    assert response.status_code == 200
    assert "No orders match." in response.content.decode()
    menu = response.context["navigation"]
    entries = [child for entry in menu for child in entry.get("children", [entry])]
    assert any(entry["url_name"] == "orders:list" for entry in entries)
    assert 'href="/orders/"' in response.content.decode()


def test_list_filters(logged_in_client, account, other_account):
    mfn = make_order(account, 1)
    afn = make_order(account, 2, fulfillment_channel="AFN", marketplace_id=FR)
    pending = make_order(account, 3, status=Order.Status.PENDING)
    old = make_order(account, 4, purchased_at=NOW - timedelta(days=40))
    foreign = make_order(other_account, 5, marketplace_id="ATVPDKIKX0DER")
    url = reverse("orders:list")

    def ids(**query) -> set[str]:
        return set(order_ids(logged_in_client.get(url, query)))

    everything = {o.amazon_order_id for o in (mfn, afn, pending, old, foreign)}
    assert ids() == everything
    assert ids(account=other_account.pk) == {foreign.amazon_order_id}
    assert ids(marketplace=FR) == {afn.amazon_order_id}
    assert ids(channel="AFN") == {afn.amazon_order_id}
    assert ids(status="Pending") == {pending.amazon_order_id}
    old_day = (NOW - timedelta(days=40)).date().isoformat()
    assert ids(since=old_day, until=old_day) == {old.amazon_order_id}
    assert ids(since=(NOW - timedelta(days=2)).date().isoformat()) == everything - {
        old.amazon_order_id
    }


def test_invalid_filters_are_shown_not_applied(logged_in_client, account):
    make_order(account, 1)
    response = logged_in_client.get(
        reverse("orders:list"), {"since": "2025-03-10", "until": "2025-03-01"}
    )
    assert "The end date must not be before the start date." in response.content.decode()
    assert len(order_ids(response)) == 1


@pytest.mark.parametrize("page", ["orders:list", "orders:returns", "orders:invoices"])
@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"since": "0001-01-01"}, "Enter a date between the years 2000 and 2100."),
        ({"until": "9999-12-31"}, "Enter a date between the years 2000 and 2100."),
        ({"since": "1999-12-31", "until": "2101-01-01"}, "Enter a date between the years"),
    ],
)
def test_dates_beyond_any_order_are_a_field_error_not_a_500(
    logged_in_client, account, page, params, error
):
    make_order(account, 1)
    response = logged_in_client.get(reverse(page), params)
    assert response.status_code == 200
    assert error in response.content.decode()


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("302-0000002-0000002", [2]),
        ("SKU-3-1", [3]),
        ("buyer 1", [1]),
        ("buyer2@marketplace.amazon.de", [2]),
    ],
)
def test_search(logged_in_client, account, term, expected):
    for n in (1, 2, 3):
        make_order(account, n)
    response = logged_in_client.get(reverse("orders:list"), {"q": term})
    assert order_ids(response) == [f"302-{n:07d}-{n:07d}" for n in expected]
    assert 'id="where-is-panel"' not in response.content.decode()


def test_pagination_and_bounded_queries(logged_in_client, account):
    for n in range(1, 61):
        make_order(account, n, items=3)
    url = reverse("orders:list")
    logged_in_client.get(url)  # warm up: session, caches
    with CaptureQueriesContext(connection) as few:
        logged_in_client.get(url)
    for n in range(61, 121):
        make_order(account, n, items=3)

    with CaptureQueriesContext(connection) as many:
        response = logged_in_client.get(url)

    assert len(many) == len(few)
    page = response.content.decode()
    assert len(order_ids(response)) == 50
    assert "Page 1 of 3" in page and 'href="?page=2">Next<' in page
    assert "120 orders" in page
    assert order_ids(response)[0] == "302-0000001-0000001"  # newest purchase first
    last = logged_in_client.get(url, {"page": 3})
    assert len(order_ids(last)) == 20
    assert order_ids(last)[-1] == "302-0000120-0000120"


def test_a_single_page_needs_no_count(logged_in_client, account):
    """A page that is not full ends the list: its length is the count, no COUNT query runs."""
    for n in range(1, 6):
        make_order(account, n)
    with CaptureQueriesContext(connection) as queries:
        response = logged_in_client.get(reverse("orders:list"))
    page = response.content.decode()
    assert "5 orders" in page
    assert 'aria-label="Order pages"' not in page
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_next_and_previous_keep_the_filters(logged_in_client, account):
    for n in range(1, 56):
        make_order(account, n, fulfillment_channel="AFN")
    make_order(account, 56, fulfillment_channel="MFN")
    url = reverse("orders:list")

    first = logged_in_client.get(url, {"channel": "AFN"})
    body = first.content.decode()
    assert len(order_ids(first)) == 50
    assert 'href="?channel=AFN&page=2">Next<' in body
    assert ">Previous<" not in body
    assert "Page 1 of 2" in body and "55 orders" in body

    second = logged_in_client.get(url, {"channel": "AFN", "page": 2})
    body = second.content.decode()
    assert order_ids(second) == [f"302-{n:07d}-{n:07d}" for n in range(51, 56)]
    assert 'href="?channel=AFN&page=1">Previous<' in body
    assert ">Next<" not in body
    assert "Page 2 of 2" in body


@pytest.mark.parametrize("number", ["3", "99", "999999999999999999999999"])
def test_a_page_past_the_end_shows_the_last_page(logged_in_client, account, number):
    for n in range(1, 56):
        make_order(account, n)
    response = logged_in_client.get(reverse("orders:list"), {"page": number})
    assert response.status_code == 200
    assert response.context["page"].number == 2
    assert order_ids(response) == [f"302-{n:07d}-{n:07d}" for n in range(51, 56)]
    assert "Page 2 of 2" in response.content.decode()


@pytest.mark.parametrize("number", ["0", "-1", "two", ""])
def test_a_page_that_is_no_number_shows_the_first(logged_in_client, account, number):
    for n in range(1, 56):
        make_order(account, n)
    response = logged_in_client.get(reverse("orders:list"), {"page": number})
    assert response.context["page"].number == 1
    assert len(order_ids(response)) == 50


def test_more_orders_than_the_count_limit(logged_in_client, account, monkeypatch):
    """Past the limit the page says "N+ orders" and no page total; Next and Previous work."""
    monkeypatch.setattr("core.pagination.COUNT_LIMIT", 60)
    for n in range(1, 121):
        make_order(account, n, items=1)
    url = reverse("orders:list")

    body = logged_in_client.get(url).content.decode()
    assert "60+ orders" in body
    assert "Page 1</span>" in body and "Page 1 of" not in body
    assert 'href="?page=2">Next<' in body

    last = logged_in_client.get(url, {"page": 3})
    body = last.content.decode()
    assert len(order_ids(last)) == 20
    assert "120 orders" in body and "Page 3 of 3" in body  # the last page knows the total
    assert 'href="?page=2">Previous<' in body and ">Next<" not in body


def test_searching_a_missing_order_id_among_many_orders(logged_in_client, account):
    """The "where is" panel needs "nothing found", not a count of the whole table."""
    for n in range(1, 61):
        make_order(account, n)
    url = reverse("orders:list")

    with CaptureQueriesContext(connection) as queries:
        response = logged_in_client.get(url, {"q": "302-9999999-9999999"})
    body = response.content.decode()
    assert 'id="where-is-panel"' in body
    assert "Order 302-9999999-9999999 is not imported" in body
    assert "0 orders" in body
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]

    found = logged_in_client.get(url, {"q": "302-0000042-0000042"})
    assert order_ids(found) == ["302-0000042-0000042"]
    assert 'id="where-is-panel"' not in found.content.decode()


def test_list_query_count_has_a_ceiling(logged_in_client, account, django_assert_max_num_queries):
    for n in range(1, 61):
        make_order(account, n, items=2)
    # 10 today (session, user, filter choices, count, page, items, navigation); some headroom
    # for middleware, none for anything that grows with the rows.
    with django_assert_max_num_queries(14):
        response = logged_in_client.get(reverse("orders:list"), {"account": account.pk})
    assert response.status_code == 200


def test_detail_shows_everything_with_provenance(logged_in_client, account):
    order = make_order(account, 1, fulfillment_channel="AFN", ship_city="Berlin")
    item = order.items.first()
    ShipmentLine.objects.create(
        account=account,
        order=order,
        item=item,
        shipment_id="DgTPl4Ysz",
        shipment_item_id="DZkSKa1",
        quantity=1,
        carrier="DHL",
        tracking_number="00340434",
        shipped_at=NOW,
        source_report_id=11,
        source_line=4,
    )
    Return.objects.create(
        account=account,
        order=order,
        amazon_order_id=order.amazon_order_id,
        returned_at=NOW,
        sku=item.sku,
        line_key="LPN1",
        quantity=1,
        reason="DEFECTIVE",
        source_report_id=12,
        source_line=2,
    )
    invoice = Invoice.objects.create(
        account=account,
        order=order,
        amazon_order_id=order.amazon_order_id,
        number="DE-2025-0001",
        kind=Invoice.Kind.INVOICE,
        source=Invoice.Source.AMAZON_VCS,
        issued_on=date(2025, 3, 15),
        currency="EUR",
        net=Decimal("16.80"),
        vat=Decimal("3.19"),
        gross=Decimal("19.99"),
        source_report_id=13,
        source_line=5,
    )

    response = logged_in_client.get(reverse("orders:detail", args=[order.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert order.amazon_order_id in page and "Berlin" in page
    assert item.sku in page
    assert "DgTPl4Ysz" in page and "00340434" in page
    assert "DEFECTIVE" in page
    assert "DE-2025-0001" in page
    assert reverse("orders:invoice_print", args=[invoice.pk]) in page
    source = re.search(r'id="order-source">(.*?)</dd>', page, re.S).group(1)
    assert f'href="{reverse("reports:detail", args=[7])}"' in source
    assert "Report 7, line 2" in source
    for report_id, line in ((11, 4), (12, 2), (13, 5)):
        assert f"Report {report_id}, line {line}" in page
        assert reverse("reports:detail", args=[report_id]) in page


def test_the_status_history_says_when_and_from_which_report(viewer_client, account):
    order = make_order(account, 1, status=Order.Status.UNSHIPPED)
    page = viewer_client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "No status change since the order was imported" in page
    assert 'id="order-cancelled"' not in page

    shipped_at = NOW - timedelta(days=2)
    cancelled_at = NOW - timedelta(days=1)
    for previous, status, at, report_id in (
        ("Unshipped", "Shipped", shipped_at, 30),
        ("Shipped", "Canceled", cancelled_at, 31),
    ):
        OrderStatusChange.objects.create(
            order=order,
            from_status=previous,
            to_status=status,
            at=at,
            recorded_at=NOW,
            source_report_id=report_id,
            source_line=3,
        )
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELED)

    page = viewer_client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    alert = re.search(r'id="order-cancelled">(.*?)</div>', page, re.S).group(1)
    local = timezone.localtime(cancelled_at).strftime("%Y-%m-%d %H:%M")
    assert f"Amazon cancelled this order on {local} according to" in alert
    assert reverse("reports:detail", args=[31]) in alert and "report 31, line 3" in alert
    assert "Do not ship it." in alert
    history = re.search(r'id="order-status-history">(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r'data-to-status="(\w+)"', history) == ["Shipped", "Canceled"]
    assert "before: Shipped." in history

    listing = viewer_client.get(reverse("orders:list")).content.decode()
    row = re.search(rf"{order.amazon_order_id}.*?</tr>", listing, re.S).group(0)
    assert "Canceled" in row and "do not ship" in row


def test_detail_of_an_unknown_order_is_404(logged_in_client):
    assert logged_in_client.get(reverse("orders:detail", args=[999])).status_code == 404


def test_detail_of_an_imported_fba_order(logged_in_client, account):
    start = NOW - timedelta(days=10)
    result = run_import(
        account, FBA_EU, render(FBA_EU, start, NOW - timedelta(days=1)), source_report_id=42
    )
    assert result.created and not result.failed
    line = ShipmentLine.objects.select_related("order").first()

    response = logged_in_client.get(reverse("orders:detail", args=[line.order_id]))

    page = response.content.decode()
    assert line.shipment_id in page
    assert f"Report 42, line {line.order.source_line}" in page
    listing = logged_in_client.get(reverse("orders:list"), {"channel": "AFN"})
    assert line.order.amazon_order_id in order_ids(listing)


def test_searching_a_missing_order_id_offers_where_is(logged_in_client, account):
    make_order(account, 1)
    response = logged_in_client.get(reverse("orders:list"), {"q": "305-1234567-7654321"})
    page = response.content.decode()
    assert 'id="where-is-panel"' in page
    assert f'action="{reverse("reports:where_is")}"' in page
    assert 'name="order_id" value="305-1234567-7654321"' in page
    assert 'type="date" name="date"' in page


def test_returns_page(logged_in_client, account):
    order = make_order(account, 1)
    Return.objects.create(
        account=account,
        order=order,
        amazon_order_id=order.amazon_order_id,
        returned_at=NOW,
        sku="SKU-RET",
        line_key="LPN1",
        quantity=2,
        reason="NOT_AS_DESCRIBED",
    )
    Return.objects.create(
        account=account,
        amazon_order_id="028-1111111-2222222",
        order_missing=True,
        returned_at=NOW - timedelta(days=3),
        sku="SKU-ORPHAN",
        line_key="LPN2",
        quantity=1,
    )
    url = reverse("orders:returns")

    page = logged_in_client.get(url).content.decode()
    assert "SKU-RET" in page and "NOT_AS_DESCRIBED" in page
    assert reverse("orders:detail", args=[order.pk]) in page
    assert "order missing" in page
    searched = logged_in_client.get(url, {"q": "SKU-ORPHAN"})
    assert [r.sku for r in searched.context["page"]] == ["SKU-ORPHAN"]


def test_stock_page(logged_in_client, account):
    sellable = StockLevel.objects.create(
        account=account, sku="MUG-1", condition="SELLABLE", quantity=40, changed_at=NOW
    )
    StockLevel.objects.create(
        account=account, sku="MUG-1", condition="CUSTOMER_DAMAGED", quantity=3, changed_at=NOW
    )
    StockLevel.objects.create(
        account=account, sku="MUG-1", condition="DEFECTIVE", quantity=2, changed_at=NOW
    )
    StockLevel.objects.create(
        account=account, sku="CUP-2", condition="SELLABLE", quantity=5, changed_at=NOW
    )
    StockChange.objects.create(
        level=sellable, at=NOW, previous_quantity=45, quantity=40, source_report_id=21
    )
    StockSnapshot.objects.create(
        account=account, taken_at=NOW, rows=4, units=50, source_report_id=21
    )

    response = logged_in_client.get(reverse("orders:stock"))

    rows = {row["sku"]: row for row in response.context["page"]}
    assert (rows["MUG-1"]["sellable"], rows["MUG-1"]["unsellable"]) == (40, 5)
    assert (rows["CUP-2"]["sellable"], rows["CUP-2"]["unsellable"]) == (5, 0)
    page = response.content.decode()
    assert "45 → 40" in page and "(-5)" in page
    assert f"{reverse('reports:processing')}?status=held" in page
    assert reverse("reports:detail", args=[21]) in page
    searched = logged_in_client.get(reverse("orders:stock"), {"q": "CUP"})
    assert [row["sku"] for row in searched.context["page"]] == ["CUP-2"]


def make_invoice(account, order, number, **fields) -> Invoice:
    values = {
        "kind": Invoice.Kind.INVOICE,
        "source": Invoice.Source.AMAZON_VCS,
        "issued_on": date(2025, 3, 15),
        "currency": "EUR",
        "net": Decimal("16.80"),
        "vat": Decimal("3.19"),
        "gross": Decimal("19.99"),
        **fields,
    }
    return Invoice.objects.create(
        account=account,
        order=order,
        amazon_order_id=order.amazon_order_id if order else "028-9999999-9999999",
        number=number,
        **values,
    )


def test_invoices_page_filters(logged_in_client, account):
    order = make_order(account, 1)
    make_invoice(account, order, "INV-1")
    make_invoice(
        account,
        order,
        "CN-1",
        kind=Invoice.Kind.CREDIT_NOTE,
        source=Invoice.Source.GENERATED,
        issued_on=date(2025, 3, 20),
        original_number="INV-1",
    )
    make_invoice(account, None, "INV-ORPHAN", issued_on=date(2025, 2, 1))
    url = reverse("orders:invoices")

    def numbers(**query) -> list[str]:
        return [i.number for i in logged_in_client.get(url, query).context["page"]]

    assert numbers() == ["CN-1", "INV-1", "INV-ORPHAN"]
    assert numbers(kind="credit_note") == ["CN-1"]
    assert numbers(source="generated") == ["CN-1"]
    assert numbers(since="2025-03-01", until="2025-03-15") == ["INV-1"]
    assert numbers(q=order.amazon_order_id) == ["CN-1", "INV-1"]
    assert "order missing" in logged_in_client.get(url).content.decode()


def test_invoice_print_page(logged_in_client, account):
    order = make_order(
        account,
        1,
        buyer_company_name="Kunde GmbH",
        ship_address_1="Hauptstr. 1",
        ship_postal_code="10115",
        ship_city="Berlin",
        ship_country="DE",
        seller_vat_number="DE123456789",
        buyer_vat_number="DE987654321",
    )
    invoice = make_invoice(account, order, "DE-2025-0001")

    response = logged_in_client.get(reverse("orders:invoice_print", args=[invoice.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "@media print" in page
    assert "navbar" not in page  # a page of its own, without the navigation
    assert "DE-2025-0001" in page and date_format(date(2025, 3, 15), "SHORT_DATE_FORMAT") in page
    assert "Müller" in page and "DE123456789" in page
    assert "Kunde GmbH" in page and "DE987654321" in page and "Berlin" in page
    assert "SKU-1-0" in page and "SKU-1-1" in page
    totals = re.search(r'id="invoice-totals">(.*?)</table>', page, re.S).group(1)
    assert "16.80 EUR" in totals and "3.19 EUR" in totals and "19.99 EUR" in totals


def test_credit_note_without_imported_order_prints(logged_in_client, account):
    credit = make_invoice(account, None, "CN-9", kind=Invoice.Kind.CREDIT_NOTE)
    page = logged_in_client.get(reverse("orders:invoice_print", args=[credit.pk])).content.decode()
    assert "Credit note" in page and "CN-9" in page
    assert "The order is not imported yet" in page


MFN_EU = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
# Columns some MFN layouts add to the known one: gift wrap, promotions and the bill-to address.
MFN_EXTRA_COLUMNS = [
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


def mfn_order_document(**cells: str) -> str:
    """An MFN flat file of one order of one item: 9.99 and 2.99 shipping, VAT included, and
    `cells` (column names with `_` for `-`) over that."""
    values = {
        "order-id": "302-1234567-7654321",
        "order-item-id": "12345678901234",
        "purchase-date": "2025-03-01T10:00:00+00:00",
        "sku": "MUG-1",
        "quantity-purchased": "1",
        "currency": "EUR",
        "item-price": "9.99",
        "item-tax": "1.60",
        "shipping-price": "2.99",
        "shipping-tax": "0.48",
        "sales-channel": "Amazon.de",
        "buyer-name": "Erika Mustermann",
    } | {name.replace("_", "-"): value for name, value in cells.items()}
    header = [*report_headers()[MFN_EU], *MFN_EXTRA_COLUMNS]
    return "\t".join(header) + "\r\n" + "\t".join(values.get(c, "") for c in header) + "\r\n"


def test_the_list_total_is_the_order_total_with_shipping(logged_in_client, account):
    """An order of 9.99 and 2.99 shipping comes to 12.98, on the list as on its page."""
    run_import(account, MFN_EU, mfn_order_document())
    order = Order.objects.get()

    listing = logged_in_client.get(reverse("orders:list")).content.decode()
    page = logged_in_client.get(reverse("orders:detail", args=[order.pk])).content.decode()

    assert re.findall(r'class="text-end text-nowrap order-total">([^<]*)<', listing) == [
        "12.98 EUR"
    ]
    assert re.search(r'class="text-end fw-bold order-total">([^<]*)<', page).group(1) == (
        "12.98 EUR"
    )


def test_the_order_page_shows_every_amount_and_the_billing_address(logged_in_client, account):
    run_import(
        account,
        MFN_EU,
        mfn_order_document(
            gift_wrap_price="3.00",
            gift_wrap_tax="0.48",
            item_promotion_discount="-1.00",
            item_promotion_id="SPRING-10",
            ship_promotion_discount="-2.99",
            ship_promotion_id="FreeShipping-7",
            bill_address_1="Rechnungsweg 5",
            bill_city="Bonn",
            bill_postal_code="53111",
            bill_country="DE",
        ),
    )
    order = Order.objects.get()
    # 9.99 + 2.99 shipping + 3.00 gift wrap - 1.00 - 2.99 promotions.
    assert order.total == Decimal("11.99")

    page = logged_in_client.get(reverse("orders:detail", args=[order.pk])).content.decode()

    amounts = re.search(r'id="order-amounts">(.*?)</table>', page, re.S).group(1)
    for css, value in (
        ("items-total", "9.99"),
        ("shipping-total", "2.99"),
        ("gift-wrap-total", "3.00"),
        ("promotion-total", "-3.99"),
        ("order-total", "11.99 EUR"),
        ("tax-total", "2.56"),
    ):
        assert re.search(rf'class="[^"]*\b{css}">{re.escape(value)}<', amounts), css
    items = re.search(r'id="order-items">(.*?)</table>', page, re.S).group(1)
    assert "3.00" in items and "SPRING-10" in items and "FreeShipping-7" in items
    bill_to = re.search(r'id="bill-to">(.*?)</dd>', page, re.S).group(1)
    assert "Rechnungsweg 5" in bill_to and "53111 Bonn" in bill_to

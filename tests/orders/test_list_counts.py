"""The Orders, Returns and Invoices pages never count every row of their table: the count they
show stops at `COUNT_LIMIT` ("1,000+"), so a page costs the same at a million rows as at a
thousand (an unbounded COUNT(*) over 500,000 invoices was most of the Invoices page's time)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from amazon_settings.models import SellerAccount
from core.pagination import COUNT_LIMIT
from orders.models import Invoice, Order, Return

START = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
def account(db) -> SellerAccount:
    return SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX", region="eu", display_name="Müller"
    )


def add_rows(account: SellerAccount, count: int) -> None:
    """`count` orders, each with a return and an invoice."""
    orders = Order.objects.bulk_create(
        Order(
            account=account,
            amazon_order_id=f"302-{n:07d}-0000001",
            purchased_at=START + timedelta(hours=n),
            currency="EUR",
        )
        for n in range(count)
    )
    Return.objects.bulk_create(
        Return(
            account=account,
            order=order,
            amazon_order_id=order.amazon_order_id,
            returned_at=order.purchased_at + timedelta(days=10),
            sku="SKU-1",
            line_key=f"LPN{order.pk}",
        )
        for order in orders
    )
    Invoice.objects.bulk_create(
        Invoice(
            account=account,
            order=order,
            amazon_order_id=order.amazon_order_id,
            number=f"INV-{order.pk}",
            kind=Invoice.Kind.INVOICE,
            source=Invoice.Source.AMAZON_VCS,
            issued_on=date(2025, 3, 2),
            gross=Decimal("19.99"),
        )
        for order in orders
    )


@pytest.mark.parametrize(
    ("url_name", "shown"),
    [("orders:list", "orders"), ("orders:returns", "returns"), ("orders:invoices", "documents")],
)
def test_a_list_page_counts_at_most_its_limit(logged_in_client, account, url_name, shown):
    add_rows(account, COUNT_LIMIT + 5)

    with CaptureQueriesContext(connection) as queries:
        response = logged_in_client.get(reverse(url_name))

    assert response.status_code == 200
    assert f"1,000+ {shown}" in response.content.decode()
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the page shows a count"
    assert all(f"LIMIT {COUNT_LIMIT + 1}" in sql for sql in counts), counts


@pytest.mark.parametrize(
    ("url_name", "shown"), [("orders:returns", "returns"), ("orders:invoices", "documents")]
)
def test_a_short_list_shows_its_exact_count_without_counting(
    logged_in_client, account, url_name, shown
):
    add_rows(account, 3)

    with CaptureQueriesContext(connection) as queries:
        response = logged_in_client.get(reverse(url_name))

    assert response.status_code == 200
    assert f">3 {shown}</p>" in response.content.decode()
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]

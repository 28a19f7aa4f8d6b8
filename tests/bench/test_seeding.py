"""The benchmarks' data (bench/seeding.py) on PostgreSQL: spread as promised, and pages show it.

Runs in `make test`'s scale-out run (PostgreSQL); the SQL is PostgreSQL's own.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import Count, F, Max, Min

from amazon_settings.models import ApiCall, SellerAccount
from bench import seeding
from orders.models import Invoice, Order, OrderItem, Return, StockChange, StockLevel, StockSnapshot
from reports.models import Report, ReportEvent

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EU = seeding.EU_MARKETPLACES
NA = (
    seeding.SeededMarketplace("ATVPDKIKX0DER", "Amazon.com", "USD"),
    seeding.SeededMarketplace("A2EUQ1WTGCTBG2", "Amazon.ca", "CAD"),
)


@pytest.fixture
def seeded(db):
    if connection.vendor != "postgresql":
        pytest.fail("bench/seeding.py writes PostgreSQL's SQL: run with TEST_DATABASE_URL")
    eu = SellerAccount.objects.create(selling_partner_id="A1EU", region="eu", display_name="EU")
    na = SellerAccount.objects.create(selling_partner_id="A1NA", region="na", display_name="NA")
    accounts = [seeding.SeededAccount(eu.pk, EU), seeding.SeededAccount(na.pk, NA)]
    seeding.seed_orders(accounts, 1000, now=NOW, extra_items=True, imported_after_purchase=True)
    return accounts, eu, na


def test_orders_are_spread_over_accounts_their_marketplaces_and_two_years(seeded):
    _, eu, na = seeded

    assert Order.objects.count() == 1000
    per_account = dict(Order.objects.values_list("account").annotate(n=Count("pk")))
    assert per_account == {eu.pk: 500, na.pk: 500}
    for account, own in ((eu, EU), (na, NA)):
        mine = Order.objects.filter(account=account)
        assert set(mine.values_list("marketplace_id", "sales_channel", "currency").distinct()) == {
            (m.marketplace_id, m.sales_channel, m.currency) for m in own
        }
    span = Order.objects.aggregate(first=Min("purchased_at"), last=Max("purchased_at"))
    assert (span["last"] - span["first"]).days >= 700
    assert span["last"] <= NOW
    # Imported two hours after the purchase, never after "now".
    assert not Order.objects.filter(created_at__gt=NOW).exists()
    assert Order.objects.filter(created_at__lt=NOW).count() == 999
    assert len(set(Order.objects.values_list("amazon_order_id", flat=True))) == 1000


def test_orders_have_one_to_three_items(seeded):
    per_order = Order.objects.order_by().annotate(n=Count("items")).values_list("n", flat=True)
    items = {n: list(per_order).count(n) for n in set(per_order)}
    # One item each, a second for every fifth order, a third for every twentieth.
    assert items == {1: 800, 2: 150, 3: 50}
    assert OrderItem.objects.count() == 1250


def test_the_other_pages_tables_follow_the_orders(seeded):
    accounts, _, _ = seeded

    seeding.seed_reports(
        accounts, 40, now=NOW, statuses=["imported", "failed"], events_per_report=3
    )
    assert Report.objects.count() == 40
    assert set(Report.objects.values_list("import_status", flat=True)) == {"imported", "failed"}
    assert ReportEvent.objects.count() == 120
    assert seeding.seed_returns(every=40) == Return.objects.count() == 25
    assert not Return.objects.exclude(account_id=F("order__account_id")).exists()
    assert seeding.seed_invoices(every=2) == Invoice.objects.count() == 500
    assert not Invoice.objects.exclude(amazon_order_id=F("order__amazon_order_id")).exists()
    seeding.seed_stock(accounts, now=NOW, skus=10, changes_per_level=3, snapshots=4)
    assert StockLevel.objects.count() == 2 * 10 * 2
    assert StockChange.objects.count() == 40 * 3
    assert StockSnapshot.objects.count() == 2 * 4
    assert seeding.seed_api_calls(accounts, 200, now=NOW) == ApiCall.objects.count() == 200
    outcomes = dict(ApiCall.objects.values_list("outcome").annotate(n=Count("pk")))
    assert outcomes == {"success": 196, "throttled": 2, "server_error": 2}


def test_the_pages_show_the_seeded_rows(seeded, logged_in_client):
    accounts, _, _ = seeded
    seeding.seed_reports(accounts, 10, now=NOW, statuses=["imported"], events_per_report=2)
    seeding.seed_returns(every=40)
    seeding.seed_invoices(every=2)
    seeding.seed_stock(accounts, now=NOW, skus=10, changes_per_level=3, snapshots=4)
    seeding.seed_api_calls(accounts, 200, now=NOW)
    seeding.analyze()
    order = Order.objects.order_by("-purchased_at").first()
    report = Report.objects.first()

    pages = {
        "/orders/": order.amazon_order_id,
        f"/orders/{order.pk}/": order.items.first().sku,
        "/orders/returns/": Return.objects.first().amazon_order_id,
        "/orders/invoices/": Invoice.objects.first().number,
        "/orders/stock/": "SKU-9",
        "/reports/": report.amazon_report_id,
        f"/reports/{report.pk}/": "Step 2 of the report",
        "/settings/log/": "Reports.getReports",
    }
    for path, shown in pages.items():
        response = logged_in_client.get(path)
        assert response.status_code == 200, path
        assert shown in response.content.decode(), path

"""The list pages and the home page cost the same number of queries however many rows they show
(no N+1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from amazon_settings.models import SellerAccount
from orders.models import Order, OrderItem
from reports.models import Report

N = 4
START = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
def account(db) -> SellerAccount:
    return SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX", region="eu", display_name="Müller"
    )


def add_reports(account: SellerAccount, count: int) -> None:
    offset = Report.objects.count()
    statuses = [s for s, _ in Report.ImportStatus.choices]
    Report.objects.bulk_create(
        Report(
            account=account,
            report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
            marketplace_ids=["A1PA6795UKMFR9"],
            data_start=START,
            data_end=START + timedelta(days=1),
            amazon_report_id=str(1000 + offset + n),
            amazon_status="DONE",
            import_status=statuses[(offset + n) % len(statuses)],
            last_error="Something went wrong" if n % 2 else "",
        )
        for n in range(count)
    )


def add_orders(account: SellerAccount, count: int) -> None:
    offset = Order.objects.count()
    orders = Order.objects.bulk_create(
        Order(
            account=account,
            amazon_order_id=f"302-{offset + n:07d}-0000001",
            marketplace_id="A1PA6795UKMFR9",
            sales_channel="Amazon.de",
            fulfillment_channel="MFN" if n % 2 else "AFN",
            status="Shipped",
            purchased_at=START + timedelta(hours=offset + n),
            currency="EUR",
            items_total=Decimal("19.99"),
            buyer_name=f"Buyer {n}",
        )
        for n in range(count)
    )
    OrderItem.objects.bulk_create(
        OrderItem(
            order=order,
            order_item_id=f"{order.pk}{k}",
            sku=f"SKU-{k}",
            quantity_ordered=1,
            item_price=Decimal("9.99"),
        )
        for order in orders
        for k in range(2)
    )


def query_count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries)


def test_processing_page_queries_do_not_grow_with_reports(logged_in_client, account):
    url = reverse("reports:processing")
    add_reports(account, N)
    few = query_count(logged_in_client, url)
    add_reports(account, 2 * N)
    assert Report.objects.count() == 3 * N
    assert query_count(logged_in_client, url) == few


def test_orders_page_queries_do_not_grow_with_orders(logged_in_client, account):
    url = reverse("orders:list")
    add_orders(account, N)
    few = query_count(logged_in_client, url)
    add_orders(account, 2 * N)
    assert Order.objects.count() == 3 * N
    assert query_count(logged_in_client, url) == few


def test_home_page_queries_do_not_grow_with_orders_reports_or_accounts(logged_in_client, account):
    url = reverse("home")
    # The reports' ranges fall inside the coverage timelines.
    SellerAccount.objects.update(import_orders_from=START - timedelta(days=1))
    add_orders(account, N)
    add_reports(account, N)
    few = query_count(logged_in_client, url)
    other = SellerAccount.objects.create(
        selling_partner_id="A3OTHERSELLER",
        region="na",
        display_name="Other",
        import_orders_from=START - timedelta(days=1),
    )
    add_orders(other, 2 * N)
    add_reports(other, 2 * N)
    add_orders(account, 2 * N)
    # All of them were imported today (counted by purchase date, they spread over days).
    response = logged_in_client.get(url, {"chart": "imported"})
    assert f'id="strip-{other.pk}"' in response.content.decode()
    assert f'data-count="{Order.objects.count()}"' in response.content.decode()
    assert query_count(logged_in_client, url) == few
    assert query_count(logged_in_client, f"{url}?chart=imported") == few


def add_idle_accounts(count: int) -> None:
    """Accounts with order import on whose report types are all looked after: nothing due."""
    from amazon_settings.crypto import encrypt_secret
    from reports.models import DiscoveryCursor
    from reports.services.cadences import ensure_cadences

    later = datetime.now(UTC) + timedelta(hours=1)
    for n in range(count):
        idle = SellerAccount.objects.create(
            selling_partner_id=f"A9IDLE{SellerAccount.objects.count():08d}",
            region="eu" if n % 2 else "na",
            display_name=f"Idle {n}",
            refresh_token_encrypted=encrypt_secret("Atzr|idle"),
            status=SellerAccount.Status.CONNECTED,
            order_import_active=True,
        )
        ensure_cadences(idle, now=later)
        DiscoveryCursor.objects.create(account=idle, checked_until=START, next_check_at=later)


def test_a_worker_pass_costs_the_same_however_many_accounts_are_idle(db):
    from reports.services import worker

    def pass_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert worker.tick() == 0
        return len(queries.captured_queries)

    add_idle_accounts(N)
    pass_queries()  # the first pass creates the worker's heartbeat row
    few = pass_queries()
    add_idle_accounts(5 * N)
    assert SellerAccount.objects.filter(order_import_active=True).count() == 6 * N
    assert pass_queries() == few


def worker_interval_queries() -> int:
    """The queries of everything the worker's schedules run each interval: the heartbeat, the
    pass over the accounts, the push pass and the waiting invoices."""
    from orders import tasks as order_tasks
    from reports import tasks

    with CaptureQueriesContext(connection) as queries:
        tasks.heartbeat()
        assert tasks.tick() == 0
        assert tasks.push_pass().subscriptions_looked_at == 0
        assert order_tasks.issue_waiting_invoices() == 0
    return len(queries.captured_queries)


def subscribe_idle_accounts() -> None:
    """Push active for every account, verified until later: nothing due in the push pass."""
    from amazon_settings.models import PushSubscription

    later = datetime.now(UTC) + timedelta(hours=1)
    PushSubscription.objects.bulk_create(
        [
            PushSubscription(
                account=account,
                state=PushSubscription.State.ACTIVE,
                subscription_id=f"sub-{account.pk}",
                active_since=START,
                next_attempt_at=later,
            )
            for account in SellerAccount.objects.filter(push__isnull=True)
        ]
    )


def test_the_worker_s_whole_interval_costs_the_same_however_many_accounts_are_idle(db, settings):
    # The fleet benchmark's goal (issue 14): a pass over 1,000 idle accounts costs no more than
    # 5x one over 100. Counted, not timed: the same queries for 5 and for 50 accounts.
    settings.PUSH_SQS_QUEUE_URL = "http://127.0.0.1:1/123456789012/amazon-order-import"
    settings.WORKER_INTERVAL_SECONDS = 300
    add_idle_accounts(5)
    subscribe_idle_accounts()
    worker_interval_queries()  # the first pass creates the heartbeat rows
    few = worker_interval_queries()
    add_idle_accounts(45)
    subscribe_idle_accounts()
    assert SellerAccount.objects.filter(push__state="active").count() == 50
    assert worker_interval_queries() == few


# What every page asks before its own content: the session, the user, the user's and their
# groups' permissions (once a request, however many checks), and on a full page the attention
# banner's accounts. A fragment (the Processing row that htmx polls) shows no menu or banner.
EVERY_REQUEST = 4
FULL_PAGE = EVERY_REQUEST + 1


@pytest.mark.parametrize(
    ("page", "own_queries"),
    [
        ("home", 7),
        ("orders", 4),
        ("order", 6),
        ("processing", 3),
        ("report", 5),
    ],
)
def test_the_main_pages_ask_what_they_show_and_the_shared_part_once(
    logged_in_client, account, page, own_queries
):
    add_orders(account, N)
    add_reports(account, N)
    urls = {
        "home": reverse("home"),
        "orders": reverse("orders:list"),
        "order": reverse("orders:detail", args=[Order.objects.first().pk]),
        "processing": reverse("reports:processing"),
        "report": reverse("reports:detail", args=[Report.objects.first().pk]),
    }
    assert query_count(logged_in_client, urls[page]) == FULL_PAGE + own_queries


def test_the_processing_row_asks_for_no_menu_or_banner(logged_in_client, account):
    add_reports(account, 1)
    url = reverse("reports:row", args=[Report.objects.get().pk])
    with CaptureQueriesContext(connection) as queries:
        response = logged_in_client.get(url, headers={"HX-Request": "true"})
    assert response.status_code in (200, 286)
    # The row's report (its account joined).
    assert len(queries.captured_queries) == EVERY_REQUEST + 1

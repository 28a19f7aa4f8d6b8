"""LimitedCountPaginator: pages without a full COUNT(*), and the `moment` date filter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from amazon_settings.models import SellerAccount
from core.pagination import COUNT_LIMIT, LimitedCountPaginator
from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders() -> list[Order]:
    """25 orders, newest first in the list as in the order they were created."""
    account = SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX", region="eu", display_name="Müller"
    )
    return Order.objects.bulk_create(
        Order(
            account=account,
            amazon_order_id=f"302-{n:07d}-0000001",
            purchased_at=datetime(2025, 3, 1, tzinfo=UTC).replace(hour=0, minute=59 - n),
        )
        for n in range(25)
    )


def paginator(*, per_page: int = 10, count_limit: int | None = None) -> LimitedCountPaginator:
    return LimitedCountPaginator(
        Order.objects.order_by("-purchased_at", "-pk"), per_page, count_limit=count_limit
    )


def ids(page) -> list[str]:
    return [order.amazon_order_id for order in page]


def test_first_page_reads_one_row_more_and_counts_on_demand(orders):
    pages = paginator()
    with CaptureQueriesContext(connection) as queries:
        page = pages.get_page(1)
    assert len(queries) == 1 and "LIMIT 11" in queries[0]["sql"]
    assert ids(page) == [o.amazon_order_id for o in orders[:10]]
    assert page.has_next() and not page.has_previous() and page.has_other_pages()
    assert page.next_page_number() == 2
    assert (page.start_index(), page.end_index()) == (1, 10)

    with CaptureQueriesContext(connection) as queries:
        assert (pages.count, pages.count_is_exact, pages.num_pages) == (25, True, 3)
    assert len(queries) == 1 and f"LIMIT {COUNT_LIMIT + 1}" in queries[0]["sql"]


def test_the_last_page_knows_the_count_without_a_query(orders):
    pages = paginator()
    page = pages.get_page(3)
    with CaptureQueriesContext(connection) as queries:
        assert (pages.count, pages.count_is_exact, pages.num_pages) == (25, True, 3)
    assert not queries
    assert ids(page) == [o.amazon_order_id for o in orders[20:]]
    assert not page.has_next() and page.previous_page_number() == 2
    assert (page.start_index(), page.end_index()) == (21, 25)


def test_past_the_limit_the_count_is_the_limit_and_not_exact(orders):
    pages = paginator(count_limit=12)
    pages.get_page(1)
    assert (pages.count, pages.count_is_exact, pages.num_pages) == (12, False, None)


def test_a_page_beyond_the_limit_needs_no_count(orders):
    pages = paginator(count_limit=12)
    page = pages.get_page(2)
    with CaptureQueriesContext(connection) as queries:
        assert (pages.count, pages.count_is_exact) == (12, False)
    assert not queries
    assert page.has_next()


@pytest.mark.parametrize("count_limit", [None, 12])
def test_past_the_end_is_the_last_page(orders, count_limit):
    pages = paginator(count_limit=count_limit)
    page = pages.get_page(7)
    assert page.number == 3
    assert ids(page) == [o.amazon_order_id for o in orders[20:]]
    assert (pages.count, pages.count_is_exact) == (25, True)


@pytest.mark.parametrize("number", [3, 999_999_999, "1" + "0" * 40])
def test_no_page_goes_deeper_than_max_pages(orders, number):
    pages = LimitedCountPaginator(
        Order.objects.order_by("-purchased_at", "-pk"), 10, count_limit=12, max_pages=2
    )
    with CaptureQueriesContext(connection) as queries:
        page = pages.get_page(number)
    # Page 2 of a list that goes on: its rows, one read with a bounded offset, and no Next.
    assert page.number == 2
    assert ids(page) == [o.amazon_order_id for o in orders[10:20]]
    assert not page.has_next() and page.deeper
    assert len(queries) == 1 and "LIMIT 11 OFFSET 10" in queries[0]["sql"]


def test_a_stale_link_past_the_end_counts_only_the_rows_before_it(orders):
    # 25 rows, more than the count limit: the last page is found by counting, but that count
    # can only meet rows before the page asked for, at most max_pages pages of them.
    pages = LimitedCountPaginator(
        Order.objects.filter(amazon_order_id__lt="302-0000023").order_by("-purchased_at", "-pk"),
        10,
        count_limit=12,
        max_pages=5,
    )
    page = pages.get_page(999)
    assert page.number == 3 and not page.deeper and not page.has_next()
    assert (pages.count, pages.count_is_exact) == (23, True)


@pytest.mark.parametrize("number", [None, "", "x", "1.5", 0, -3])
def test_anything_but_a_positive_number_is_the_first_page(orders, number):
    assert paginator().get_page(number).number == 1


def test_an_empty_list_is_one_empty_page():
    pages = paginator()
    page = pages.get_page(4)
    assert page.number == 1 and len(page) == 0
    assert not page.has_other_pages()
    assert (page.start_index(), page.end_index()) == (0, 0)
    assert (pages.count, pages.count_is_exact, pages.num_pages) == (0, True, 1)


def test_an_unordered_queryset_is_refused():
    with pytest.raises(ValueError, match="ordered queryset"):
        LimitedCountPaginator(Order.objects.order_by(), 10)


@pytest.mark.parametrize(
    "value",
    [
        datetime(2025, 3, 1, 23, 5, tzinfo=UTC),  # the next day in Berlin
        datetime(2025, 7, 1, 9, 30, 59, tzinfo=UTC),  # summer time
        None,
        "",
    ],
)
def test_moment_prints_what_the_date_filter_prints(value):
    template = Template(
        "{% load moments %}"
        '{{ value|moment }}|{{ value|date:"Y-m-d H:i" }}|{{ value|moment|default:"—" }}'
    )
    with timezone.override("Europe/Berlin"):
        fast, django, default = template.render(Context({"value": value})).split("|")
    assert fast == django
    assert default == (fast or "—")

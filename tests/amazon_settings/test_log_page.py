"""Data exchange » Log at many logged calls: the page never reads every call, neither for its
count nor for the operations its filter offers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from amazon_settings import selectors
from amazon_settings.models import ApiCall
from core.pagination import COUNT_LIMIT

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
OPERATIONS = ["Reports.getReport", "LWA.refreshToken", "Reports.createReport", "Orders.getOrders"]


def log_calls(count: int) -> None:
    ApiCall.objects.bulk_create(
        ApiCall(
            at=NOW - timedelta(minutes=n),
            operation=OPERATIONS[n % len(OPERATIONS)],
            method="GET",
            path="/reports/2021-06-30/reports",
            outcome=ApiCall.Outcome.SUCCESS,
        )
        for n in range(count)
    )


def test_the_filter_offers_each_logged_operation_once_sorted():
    log_calls(12)
    assert selectors.logged_operations() == sorted(OPERATIONS)


def test_no_logged_calls_offer_no_operations():
    assert selectors.logged_operations() == []


def test_the_log_counts_at_most_its_limit(logged_in_client):
    log_calls(COUNT_LIMIT + 5)

    with CaptureQueriesContext(connection) as queries:
        response = logged_in_client.get(reverse("amazon_settings:log"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Page 1</span>" in body and "Page 1 of" not in body
    assert ">Older<" in body
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert all(f"LIMIT {COUNT_LIMIT + 1}" in sql for sql in counts), counts
    assert not [q for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]
    for operation in OPERATIONS:
        assert f'<option value="{operation}"' in body


def test_a_short_log_shows_its_pages(logged_in_client):
    log_calls(60)
    first = logged_in_client.get(reverse("amazon_settings:log")).content.decode()
    assert "Page 1 of 2" in first
    last = logged_in_client.get(reverse("amazon_settings:log"), {"page": 9}).content.decode()
    assert "Page 2 of 2" in last and ">Newer<" in last and ">Older<" not in last


@pytest.mark.postgres
def test_the_operations_are_read_through_an_index():
    if connection.vendor != "postgresql":
        pytest.fail("the query plan is PostgreSQL's: run with TEST_DATABASE_URL")
    log_calls(20_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE amazon_settings_apicall")

    with CaptureQueriesContext(connection) as queries:
        assert selectors.logged_operations() == sorted(OPERATIONS)
    (query,) = queries.captured_queries
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {query['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Seq Scan on amazon_settings_apicall" not in plan, plan
    assert "apicall_operation_at" in plan, plan

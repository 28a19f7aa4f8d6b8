"""Every list page answers any query string without a server error and within a work budget.

Hypothesis drives the GET parameters of each page (its own filter names and made-up ones) with
arbitrary values: huge and negative numbers, far-off dates, other calendars' dates, text of any
kind. A page must answer below 500, and no query it runs may read more rows than its deepest
page (no OFFSET past `MAX_PAGES` pages, no unbounded page read).
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.pagination import MAX_PAGES

pytestmark = pytest.mark.django_db

# Each page and the parameters its form reads.
PAGES = {
    "/orders/": ["q", "account", "marketplace", "channel", "status", "since", "until", "page"],
    "/orders/returns/": ["q", "account", "since", "until", "page"],
    "/orders/stock/": ["q", "account", "page"],
    "/orders/invoices/": ["q", "account", "kind", "source", "since", "until", "page"],
    "/reports/": ["account", "kind", "status", "since", "until", "batch", "page"],
    "/settings/log/": ["account", "operation", "outcome", "since", "until", "page"],
    "/reports/where-is/": ["order_id", "date", "account"],
    "/reports/diagnosis/": ["account"],
}
LARGEST_PAGE = 50

values = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat(timespec="minutes")),
    st.sampled_from(
        ["0001-01-01", "9999-12-31", "9999-12-31T23:59", "2025-02-30", "1e309", "NaN", "-0", "%00"]
    ),
)


def query_strategy(names: list[str]):
    keys = st.one_of(st.sampled_from(names), st.text(min_size=1, max_size=8))
    return st.dictionaries(keys, values, max_size=6)


def largest_offset(sql: str) -> int:
    return max((int(n) for n in re.findall(r"OFFSET (\d+)", sql)), default=0)


@pytest.mark.parametrize("path", sorted(PAGES))
def test_any_query_string_answers_below_500_within_the_work_budget(logged_in_client, path):
    logged_in_client.raise_request_exception = False
    dates = [name for name in PAGES[path] if name in ("since", "until", "date")] or ["page"]

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(params=query_strategy(PAGES[path]))
    @example(params=dict.fromkeys(dates, "0001-01-01"))
    @example(params=dict.fromkeys(dates, "9999-12-31"))
    @example(params=dict.fromkeys(dates, "9999-12-31T23:59"))
    @example(params={"page": "999999999"})
    @example(params={"page": "1" + "0" * 30})
    def check(params):
        with CaptureQueriesContext(connection) as queries:
            response = logged_in_client.get(path, params)
        assert response.status_code < 500, (path, params, response.status_code)
        for query in queries:
            assert largest_offset(query["sql"]) <= MAX_PAGES * LARGEST_PAGE, query["sql"]

    check()

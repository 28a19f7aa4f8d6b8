"""The list pages read their newest rows through an index, a page at a time, however many rows
the table holds: a page that sorts the whole table for its first 50 rows slows with every
import (the Returns page joined every order to sort every return: 0.4 s at a million orders).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from amazon_settings.models import SellerAccount
from orders import selectors
from orders.models import Invoice, Order, Return

LIST_PAGES = {
    "orders": (selectors.order_list, Order),
    "returns": (selectors.return_list, Return),
    "invoices": (selectors.invoice_list, Invoice),
}


@pytest.mark.parametrize("page", sorted(LIST_PAGES))
def test_each_list_pages_order_is_an_index(page):
    selector, model = LIST_PAGES[page]
    ordering = [field.replace("pk", model._meta.pk.name) for field in selector().query.order_by]
    indexes = [list(index.fields) for index in model._meta.indexes]
    # An index that starts like the page's order (or is all of it) hands out the newest rows
    # first: the database stops after one page.
    assert any(
        fields and (ordering[: len(fields)] == fields or fields[: len(ordering)] == ordering)
        for fields in indexes
    ), f"{page}: no index serves ORDER BY {', '.join(ordering)}"


@pytest.mark.postgres
@pytest.mark.parametrize("page", ["returns", "invoices"])
def test_a_page_of_returns_or_invoices_does_not_read_every_order(db, page):
    from bench import seeding

    if connection.vendor != "postgresql":
        pytest.fail("the query plan is PostgreSQL's: run with TEST_DATABASE_URL")
    account = SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX", region="eu", display_name="Müller"
    )
    seeded = [seeding.SeededAccount(account.pk, seeding.EU_MARKETPLACES)]
    seeding.seed_orders(seeded, 30_000, now=datetime(2026, 6, 1, tzinfo=UTC))
    seeding.seed_returns(every=1)
    seeding.seed_invoices(every=1)
    seeding.analyze()
    selector, _ = LIST_PAGES[page]

    plan = selector()[:51].explain()

    assert "Seq Scan on orders_order" not in plan, plan
    assert {"returns": "return_returned", "invoices": "invoice_issued"}[page] in plan, plan

"""The Orders search: what a term matches, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from amazon_settings.models import SellerAccount
from orders import selectors
from orders.models import Order
from tests.orders.conftest import NOW
from tests.reports.test_uploads import URLCONF

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLCONF)]

SHORT_TERM_NOTICE = (
    "Matched against whole order IDs, SKUs and e-mail addresses only: to search inside them,"
    " enter at least 3 letters or digits in a row."
)


@pytest.fixture
def account() -> SellerAccount:
    return SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX", region="eu", display_name="Müller"
    )


def make_order(
    account: SellerAccount, n: int, *, skus: tuple[str, ...] = (), **fields: object
) -> Order:
    """Order `n`: purchased `n` hours before NOW (a higher `n` is older), with an item per SKU."""
    values = {
        "amazon_order_id": f"302-{n:07d}-{n:07d}",
        "purchased_at": NOW - timedelta(hours=n),
        "buyer_name": f"Buyer {n}",
        "buyer_email": f"buyer{n}@marketplace.amazon.de",
        **fields,
    }
    order = Order.objects.create(account=account, **values)
    for index, sku in enumerate(skus):
        order.items.create(order_item_id=f"{n:07d}{index:02d}", sku=sku, quantity_ordered=1)
    return order


def numbers(orders) -> list[int]:
    """The `n` each order was made with (make_order), in the order listed."""
    return [int(order.amazon_order_id.split("-")[1]) for order in orders]


@pytest.mark.parametrize("term", ["a", "A1", "-1-", "ab cd", "1_2", "é1", "AB-12-CD"])
def test_a_term_without_three_letters_or_digits_in_a_row_matches_whole_values(
    logged_in_client, account, term
):
    make_order(account, 1, skus=("AB-12-CD",))
    make_order(account, 2, skus=(f"{term}-2",))
    response = logged_in_client.get(reverse("orders:list"), {"q": term})
    assert response.status_code == 200
    assert SHORT_TERM_NOTICE in response.content.decode()
    assert numbers(response.context["page"]) == ([1] if term == "AB-12-CD" else [])


@pytest.mark.parametrize("term", ["SKU", "ab1", "x-123", "Müll", "302-0000001-0000001"])
def test_three_letters_or_digits_in_a_row_are_searched_inside(logged_in_client, account, term):
    make_order(account, 1, skus=(f"A{term}B",), amazon_order_id="302-0000001-0000001")
    response = logged_in_client.get(reverse("orders:list"), {"q": term})
    assert 'id="search-notice"' not in response.content.decode()
    assert numbers(response.context["page"]) == [1]


def test_a_short_term_matches_whole_values_only(account):
    make_order(account, 1, skus=("A1",))
    make_order(account, 2, skus=("A12", "XA1"))
    make_order(account, 3, buyer_email="a@b")

    assert numbers(selectors.order_list(search="A1")) == [1]
    assert numbers(selectors.order_list(search="a1")) == []
    assert numbers(selectors.order_list(search="A@B")) == [3]
    assert numbers(selectors.order_list(search="A@B", search_buyers=False)) == []

"""The Orders search: what a term matches, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from amazon_settings.models import SellerAccount
from orders import selectors
from orders.models import Order, OrderItem
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


# Orders whose IDs, SKUs, names and e-mail addresses overlap in many ways: an order found by
# several ways, or through several items, is listed once.
CATALOGUE = [
    # n, SKUs, buyer name, buyer e-mail, account ("other" for the second)
    (1, ("MUG-RED", "MUG-BLUE"), "Anna Becker", "anna@example.com", ""),
    (2, ("PLATE-9",), "Mugdha Rao", "m.rao@example.com", "other"),
    (3, ("CUP-1", "CUP-2", "CUP-3"), "Carl Mugler", "cup@example.com", ""),
    (4, (), "Dora Plate", "dora@example.com", ""),
    (5, ("BOWL-0000005",), "Eve Bowl", "0000005@example.com", "other"),
    (6, ("mug-small",), "Frank Stein", "mug@example.com", ""),
    (7, ("TEAPOT",), "Anna Teapot", "ANNA@EXAMPLE.COM", ""),
]
TERMS = ["mug", "MUG", "plate", "0000005", "302-000", "anna", "anna@example.com", "cup-", "xyz"]


@pytest.fixture
def catalogue(account) -> dict[int, Order]:
    other = SellerAccount.objects.create(
        selling_partner_id="A3CEDARRIDGE9K", region="na", display_name="Cedar Ridge"
    )
    return {
        n: make_order(
            other if which == "other" else account,
            n,
            skus=skus,
            buyer_name=name,
            buyer_email=email,
            status=Order.Status.UNSHIPPED if n % 2 else Order.Status.SHIPPED,
        )
        for n, skus, name, email, which in CATALOGUE
    }


def expected(term: str, *, search_buyers: bool, keep=lambda n: True) -> list[int]:
    """What the search should list, worked out here without a database: newest (lowest n)
    first."""
    wanted = term.upper()
    found = []
    for n, skus, name, email, _ in CATALOGUE:
        matches = wanted in f"302-{n:07d}-{n:07d}" or any(wanted in s.upper() for s in skus)
        if search_buyers:
            matches = matches or wanted in name.upper() or wanted == email.upper()
        if matches and keep(n):
            found.append(n)
    return found


@pytest.mark.parametrize("search_buyers", [True, False])
@pytest.mark.parametrize("term", TERMS)
def test_a_search_lists_each_matching_order_once_newest_first(catalogue, term, search_buyers):
    found = selectors.order_list(search=term, search_buyers=search_buyers)
    assert numbers(found) == expected(term, search_buyers=search_buyers)


@pytest.mark.parametrize("term", TERMS)
def test_a_search_keeps_the_other_filters(catalogue, account, term):
    found = selectors.order_list(
        search=term, account=account, status=Order.Status.UNSHIPPED, search_buyers=True
    )
    # Unshipped: odd n; the other account holds 2 and 5.
    keep = lambda n: n % 2 and n not in (2, 5)  # noqa: E731
    assert numbers(found) == expected(term, search_buyers=True, keep=keep)


def test_a_search_finds_what_the_catalogue_promises(catalogue):
    # The expectations above, spelled out once for a few terms, so they cannot drift together.
    assert expected("mug", search_buyers=True) == [1, 2, 3, 6]
    assert expected("mug", search_buyers=False) == [1, 6]
    assert expected("anna@example.com", search_buyers=True) == [1, 7]
    assert expected("0000005", search_buyers=False) == [5]


def test_buyers_are_searched_only_with_search_buyers(catalogue, logged_in_client, viewer_client):
    url = reverse("orders:list")
    assert numbers(logged_in_client.get(url, {"q": "Mugler"}).context["page"]) == [3]
    assert numbers(viewer_client.get(url, {"q": "Mugler"}).context["page"]) == []
    assert numbers(viewer_client.get(url, {"q": "cup@example.com"}).context["page"]) == []
    assert numbers(viewer_client.get(url, {"q": "CUP-2"}).context["page"]) == [3]


def test_a_search_lists_its_newest_matches_up_to_its_reach(account, monkeypatch):
    """On PostgreSQL each way to match contributes its newest matches only, as many as the
    reach; the list's first orders are still the newest of all matches, each once."""
    monkeypatch.setattr(selectors, "SEARCH_REACH", 4)
    # The ways take turns at being newest: the order ID, the buyer, the SKU; 8 and 9 match
    # twice, the buyer being the second way.
    for n in range(1, 13):
        way = n % 3
        make_order(
            account,
            n,
            amazon_order_id=f"TEA-{n:07d}-{n:07d}" if way == 0 else f"302-{n:07d}-{n:07d}",
            buyer_name="Tea Drinker" if way == 1 or n in (8, 9) else "Someone",
            skus=("TEA-SET", "TEA-CUP") if way == 2 else ("SAUCER",),
        )

    found = numbers(selectors.order_list(search="tea"))

    assert found[:5] == [1, 2, 3, 4, 5]
    assert found == sorted(set(found)) and set(found) <= set(range(1, 13))


def test_a_search_s_pages_end_at_its_reach(logged_in_client, account, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_REACH", 100)
    for n in range(1, 131):
        make_order(account, n, skus=("TEA-SET",))
    url = reverse("orders:list")

    second = logged_in_client.get(url, {"q": "tea", "page": 2})
    body = second.content.decode()
    assert numbers(second.context["page"]) == list(range(51, 101))
    assert 'id="deepest-page"' in body and ">Next<" not in body
    assert logged_in_client.get(url, {"q": "tea", "page": 3}).context["page"].number == 2
    # Without a search the pages go on.
    assert 'id="deepest-page"' not in logged_in_client.get(url, {"page": 2}).content.decode()


@pytest.mark.postgres
def test_a_search_reads_orders_and_items_through_indexes(account):
    """With few matches among many orders, the search's page and its count read the matches
    through the trigram indexes: the OR of the ways to match read every order and item."""
    from bench import seeding

    if connection.vendor != "postgresql":
        pytest.fail("the query plan is PostgreSQL's: run with TEST_DATABASE_URL")
    seeded = [seeding.SeededAccount(account.pk, seeding.EU_MARKETPLACES)]
    seeding.seed_orders(seeded, 30_000, now=datetime(2026, 6, 1, tzinfo=UTC), extra_items=True)
    with connection.cursor() as cursor:
        # What autovacuum does after a big import: new entries of a GIN index wait in a list
        # the planner counts as extra cost until they are merged in.
        for index in ("order_amazon_id_trgm", "order_buyer_name_trgm", "orderitem_sku_trgm"):
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
    seeding.analyze()
    seeded_id = Order.objects.get(amazon_order_id__startswith="345-0012345-").amazon_order_id

    # A SKU (one in 500 items): its items are read through their index, then its orders by id.
    sku_items = OrderItem.objects.filter(sku__icontains="SKU-123").values_list("order_id")
    assert "orderitem_sku_trgm" in sku_items[: selectors.SKU_MATCH_REACH + 1].explain()
    # A part of an order ID, a buyer's name, and the SKU.
    for term, index in [
        (seeded_id[4:11], "order_amazon_id_trgm"),
        ("Buyer 12345", "order_buyer_name_trgm"),
        ("SKU-123", "orders_order_pkey"),
    ]:
        found = selectors.order_list(search=term)
        for query in (found[:51], found.order_by().values("pk")[:1001]):
            plan = query.explain()
            assert not re.search(r"Seq Scan on orders_order(item)?\b", plan), plan
            assert index in plan, plan
            # Walking the newest orders and probing each one's items: what PostgreSQL chose
            # for the SKU's subquery at a million orders.
            assert term != "SKU-123" or "Nested Loop Semi Join" not in plan, plan
        assert found.exists()


@pytest.mark.parametrize("reach", [1, 2, 50])
def test_a_sku_s_orders_are_the_same_read_first_or_walked(account, monkeypatch, reach):
    """Up to `SKU_MATCH_REACH` matching items, a SKU's orders are read from the items first;
    beyond it, from a subquery. Either way the list is the same."""
    for n in range(1, 7):
        make_order(account, n, skus=("MUG-RED", "MUG-BLUE") if n % 2 else ("PLATE",))
    monkeypatch.setattr(selectors, "SKU_MATCH_REACH", reach)

    assert numbers(selectors.order_list(search="mug")) == [1, 3, 5]
    assert numbers(selectors.order_list(search="MUG-RED")) == [1, 3, 5]
    assert numbers(selectors.order_list(search="nothing-here")) == []


def test_a_rare_sku_s_orders_are_found_from_its_items_not_by_walking_the_orders(account):
    """With its matching items below the reach, the orders' query holds their ids and no
    subquery on the items: PostgreSQL walked the newest orders for such a subquery, probing
    each one's items (a quarter of a million orders for a SKU in one item of 500)."""
    make_order(account, 1, skus=("MUG-RED",))
    make_order(account, 2, skus=("PLATE",))

    found = selectors.order_list(search="mug-red")

    assert "orders_orderitem" not in str(found.query)
    assert numbers(found) == [1]


def test_a_sku_s_items_are_read_without_their_orders(account):
    """Only the set of the matching items' order ids counts: the read joins no order and sorts
    nothing (the items' default order joined each matching item to its order and sorted them
    newest first: a third of a second at 200,000 orders for a SKU in one item of 50)."""
    make_order(account, 1, skus=("MUG-RED",))

    with CaptureQueriesContext(connection) as queries:
        selectors.order_list(search="mug-red")

    (read,) = [q["sql"] for q in queries.captured_queries if "orders_orderitem" in q["sql"]]
    assert "JOIN" not in read.upper(), read
    assert "ORDER BY" not in read.upper(), read

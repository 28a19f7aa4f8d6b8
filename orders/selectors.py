"""Reads of the orders app: the Orders, Returns, Stock and Invoices pages, and what stops
invoices from being issued."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connections, router
from django.db.models import (
    Case,
    Max,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    prefetch_related_objects,
)
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from amazon_settings.models import AccountMarketplace, InvoicingMode, SellerAccount
from core.pagination import COUNT_LIMIT
from orders.importers.cells import AMAZON_ORDER_ID
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
    VatTransaction,
)

# A term is looked for inside order IDs, SKUs and names only when it holds three letters or
# digits in a row: a shorter one has no trigram (three characters) for an index to look up, so
# finding it anywhere in a value would read every row. Shorter terms match whole values only.
SUBSTRING_SEARCH = re.compile(r"[^\W_]{3}")

# A search lists its newest 1,000 matches, as many as a list counts (core/pagination.py); the
# Orders page ends a search's pages there. Older matches are reached through the filters.
SEARCH_REACH = COUNT_LIMIT

# A SKU is looked up among the items first (its trigram index), and the orders of at most this
# many matching items are listed; a SKU in more items than that is common enough for the
# newest orders to hold its matches soon, and is looked for by walking them.
SKU_MATCH_REACH = 20_000

NEWEST_FIRST = ("-purchased_at", "-pk")


def searches_inside(term: str) -> bool:
    """Whether `order_list` looks for `term` inside values (three letters or digits in a row),
    rather than only as a whole value."""
    return bool(SUBSTRING_SEARCH.search(term))


def order_list(
    *,
    account: SellerAccount | None = None,
    marketplace_id: str = "",
    channel: str = "",
    status: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    search: str = "",
    search_buyers: bool = True,
) -> QuerySet[Order]:
    """Orders newest first, filtered; `search` matches order id, SKU or buyer name/e-mail
    (the buyer only with `search_buyers`: who may not see buyers may not probe for them).

    A search that is a whole Amazon order ID (`123-1234567-1234567`) matches that order ID
    only, through its index. Any other term with three letters or digits in a row
    (`searches_inside`) is looked for inside the order ID, SKU and buyer name, and matches a
    whole buyer e-mail address; a shorter term matches a whole order ID, SKU or buyer e-mail
    only. A search's first `SEARCH_REACH` orders are its newest matches; beyond them the list
    may stop early. Items are prefetched and the account joined, so rendering a page costs the
    same number of queries however many orders and items there are. `until` is exclusive.
    """
    orders = Order.objects.all()
    if account is not None:
        orders = orders.filter(account=account)
    if marketplace_id:
        orders = orders.filter(marketplace_id=marketplace_id)
    if channel:
        orders = orders.filter(fulfillment_channel=channel)
    if status:
        orders = orders.filter(status=status)
    if since is not None:
        orders = orders.filter(purchased_at__gte=since)
    if until is not None:
        orders = orders.filter(purchased_at__lt=until)
    term = search.strip()
    if AMAZON_ORDER_ID.match(term):
        orders = orders.filter(amazon_order_id=term)
    elif term:
        orders = orders.filter(pk__in=_newest_matches(orders, term, search_buyers=search_buyers))
    return (
        orders.select_related("account")
        .prefetch_related(Prefetch("items", queryset=OrderItem.objects.order_by("pk")))
        .order_by(*NEWEST_FIRST)
    )


def _newest_matches(orders: QuerySet[Order], term: str, *, search_buyers: bool) -> QuerySet:
    """A subquery of the ids of `orders` that match `term`: for each way to match, its newest
    `SEARCH_REACH` + 1 matches, in a UNION (an order may be in it more than once).

    Each way to match is a query of its own, one the database answers from an index (migration
    0010: trigrams for the substrings, a B-tree for whole values), or, for a term most rows
    hold, by walking the newest orders until it has enough. Written as one WHERE that ORs them,
    the SKU's subquery kept PostgreSQL from using any index: it read every item and every
    order. The newest `SEARCH_REACH` + 1 of each way are enough for the list's first
    `SEARCH_REACH` + 1 orders, for its pages and its capped count.
    """
    if searches_inside(term):
        by_sku = OrderItem.objects.filter(sku__icontains=term)
        ways = [Q(amazon_order_id__icontains=term), _orders_of_items(by_sku)]
        buyer_ways = [Q(buyer_name__icontains=term), Q(buyer_email__iexact=term)]
    else:
        by_sku = OrderItem.objects.filter(sku=term)
        ways = [Q(amazon_order_id=term), _orders_of_items(by_sku)]
        buyer_ways = [Q(buyer_email__iexact=term)]
    if search_buyers:
        ways += buyer_ways
    connection = connections[router.db_for_read(Order)]
    parts = []
    for way in ways:
        part = orders.filter(way).values("pk")
        if connection.features.supports_slicing_ordering_in_compound:
            parts.append(part.order_by(*NEWEST_FIRST)[: SEARCH_REACH + 1])
        else:
            # SQLite cannot limit the parts of a UNION: every match is read, the pages are the
            # same.
            parts.append(part.order_by())
    return parts[0].union(*parts[1:], all=True)


def _orders_of_items(items: QuerySet[OrderItem]) -> Q:
    """The orders of `items`, as a condition on orders.

    The ids are read first, through the items' index, when there are at most
    `SKU_MATCH_REACH` matching items. Left inside the orders' query as a subquery, PostgreSQL
    chose to walk the newest orders and probe each one's items: for a SKU in one item of 500,
    a quarter of a million orders walked, on parallel workers, for the page and again for its
    count (about 1 CPU second each at a million orders, `make bench-load`). A SKU in more
    items is frequent enough for that walk to end soon.
    """
    # Unordered: the items' default order (their orders' newest first) joined every matching
    # item to its order and sorted them, where only the set of ids counts.
    order_ids = list(items.order_by().values_list("order_id", flat=True)[: SKU_MATCH_REACH + 1])
    if len(order_ids) <= SKU_MATCH_REACH:
        return Q(pk__in=set(order_ids))
    return Q(pk__in=items.values("order_id"))


def order_detail(order_id: int) -> Order:
    """One order with its items, shipment lines, returns, invoices and status changes. Raises
    Order.DoesNotExist."""
    return (
        Order.objects.select_related("account")
        .prefetch_related(
            Prefetch("items", queryset=OrderItem.objects.order_by("pk")),
            Prefetch(
                "shipment_lines",
                queryset=ShipmentLine.objects.select_related("item").order_by("shipped_at", "pk"),
            ),
            Prefetch("returns", queryset=Return.objects.order_by("returned_at", "pk")),
            Prefetch("invoices", queryset=Invoice.objects.order_by("issued_on", "pk")),
            Prefetch(
                "status_changes",
                queryset=OrderStatusChange.objects.order_by("recorded_at", "pk"),
            ),
        )
        .get(pk=order_id)
    )


def orders_by_amazon_id(amazon_order_id: str) -> QuerySet[Order]:
    """The imported orders with this Amazon order ID (one per account that has it)."""
    return Order.objects.select_related("account").filter(amazon_order_id=amazon_order_id.strip())


def return_list(
    *,
    account: SellerAccount | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str = "",
) -> QuerySet[Return]:
    """Returns newest first; `search` matches order id, SKU or ASIN; `until` is exclusive.

    The account and the order are joined, so a page costs one query however long it is.
    """
    returns = Return.objects.select_related("account", "order")
    if account is not None:
        returns = returns.filter(account=account)
    if since is not None:
        returns = returns.filter(returned_at__gte=since)
    if until is not None:
        returns = returns.filter(returned_at__lt=until)
    term = search.strip()
    if term:
        returns = returns.filter(
            Q(amazon_order_id__icontains=term) | Q(sku__icontains=term) | Q(asin__iexact=term)
        )
    return returns.order_by("-returned_at", "-pk")


SELLABLE = "SELLABLE"


def stock_per_sku(*, account: SellerAccount | None = None, search: str = "") -> QuerySet:
    """Current FBA units per account and SKU, as dicts: `sellable` (condition SELLABLE) and
    `unsellable` (every other condition), the newest change, the ASIN and FNSKU; by SKU."""
    levels = StockLevel.objects.all()
    if account is not None:
        levels = levels.filter(account=account)
    term = search.strip()
    if term:
        levels = levels.filter(
            Q(sku__icontains=term) | Q(fnsku__iexact=term) | Q(asin__iexact=term)
        )
    return (
        levels.values("account_id", "account__display_name", "sku")
        .annotate(
            sellable=Sum(Case(When(Q(condition=SELLABLE), then="quantity"), default=Value(0))),
            unsellable=Sum(Case(When(~Q(condition=SELLABLE), then="quantity"), default=Value(0))),
            asin=Max("asin"),
            fnsku=Max("fnsku"),
            changed_at=Max("changed_at"),
        )
        .order_by("sku", "account__display_name")
    )


def recent_stock_changes(
    *, account: SellerAccount | None = None, limit: int = 50
) -> list[StockChange]:
    """The latest changes of stock levels, newest first, with their SKU and account joined."""
    changes = StockChange.objects.select_related("level", "level__account")
    if account is not None:
        changes = changes.filter(level__account=account)
    return list(changes.order_by("-at", "-pk")[:limit])


def latest_stock_snapshots(*, account: SellerAccount | None = None) -> list[StockSnapshot]:
    """Per account, the size of the newest imported stock report."""
    snapshots = StockSnapshot.objects.select_related("account").order_by(
        "account_id", "-taken_at", "-pk"
    )
    if account is not None:
        snapshots = snapshots.filter(account=account)
    latest: dict[int, StockSnapshot] = {}
    # Few accounts, few snapshots each: picking the first per account here stays portable.
    for snapshot in snapshots[:500]:
        latest.setdefault(snapshot.account_id, snapshot)
    return list(latest.values())


def invoice_list(
    *,
    account: SellerAccount | None = None,
    kind: str = "",
    source: str = "",
    issued_from: date | None = None,
    issued_until: date | None = None,
    search: str = "",
) -> QuerySet[Invoice]:
    """Invoices and credit notes newest first; `issued_until` is inclusive (a date)."""
    invoices = Invoice.objects.select_related("account", "order")
    if account is not None:
        invoices = invoices.filter(account=account)
    if kind:
        invoices = invoices.filter(kind=kind)
    if source:
        invoices = invoices.filter(source=source)
    if issued_from is not None:
        invoices = invoices.filter(issued_on__gte=issued_from)
    if issued_until is not None:
        invoices = invoices.filter(issued_on__lte=issued_until)
    term = search.strip()
    if term:
        invoices = invoices.filter(Q(number__icontains=term) | Q(amazon_order_id__icontains=term))
    return invoices.order_by("-issued_on", "-pk")


def invoice_detail(invoice_id: int) -> Invoice:
    """One invoice with its account, order, the order's items and shipment lines.

    Raises Invoice.DoesNotExist.
    """
    return (
        Invoice.objects.select_related("account", "order")
        .prefetch_related(
            Prefetch("order__items", queryset=OrderItem.objects.order_by("pk")),
            Prefetch(
                "order__shipment_lines",
                queryset=ShipmentLine.objects.select_related("item").order_by("pk"),
            ),
        )
        .get(pk=invoice_id)
    )


def waiting_transactions(account: SellerAccount) -> QuerySet[VatTransaction]:
    """The account's sales and refunds waiting for a document issued here: nobody invoiced
    them, and their marketplace is in VCS Lite mode."""
    return VatTransaction.objects.filter(
        account=account,
        invoicing=VatTransaction.Invoicing.OPEN,
        marketplace_id__in=AccountMarketplace.objects.filter(
            account=account, invoicing_mode=InvoicingMode.VCS_LITE
        ).values("marketplace_id"),
    )


@dataclass(frozen=True)
class InvoicingStop:
    """Why an account's invoices are not issued: the VCS Lite marketplaces whose seller data is
    incomplete, with what is missing, and how many sales and refunds wait meanwhile."""

    account: SellerAccount
    missing: list[tuple[AccountMarketplace, list[str]]]
    waiting: int

    @property
    def message(self) -> str:
        """The stop in a sentence, in the active language."""
        parts = "; ".join(
            f"{marketplace.name}: {', '.join(str(field) for field in fields)}"
            for marketplace, fields in self.missing
        )
        if self.waiting:
            waiting = ngettext(
                "%(count)d sale or refund is waiting for its document; it is issued, numbered"
                " without gaps, as soon as the data is entered.",
                "%(count)d sales and refunds are waiting for their documents; they are issued,"
                " numbered without gaps, as soon as the data is entered.",
                self.waiting,
            ) % {"count": self.waiting}
        else:
            waiting = _("Nothing is waiting yet.")
        stopped = _(
            "Invoice generation for %(account)s is stopped: the seller's legal data that invoices"
            " print is missing (%(missing)s). Enter it under Settings » Invoicing."
        ) % {"account": self.account.display_name, "missing": parts}
        return f"{stopped} {waiting}"


def invoicing_stop(account: SellerAccount) -> InvoicingStop | None:
    """Why the account's invoices are not issued, or None when nothing stops them."""
    missing = account.invoicing_data_missing
    if not missing:
        return None
    return InvoicingStop(
        account=account, missing=missing, waiting=waiting_transactions(account).count()
    )


def invoicing_stops(accounts: Sequence[SellerAccount]) -> list[InvoicingStop]:
    """The stops of these accounts (the home page), in their order: a query for the
    marketplaces (prefetched onto `accounts`), and one count per stopped account."""
    prefetch_related_objects(list(accounts), "marketplaces")
    return [stop for account in accounts if (stop := invoicing_stop(account))]


# What a chart of orders per day counts by: the purchase date (what the seller sold when) or
# the moment the order was first imported.
COUNTED_BY = {"purchased": "purchased_at", "imported": "created_at"}


def orders_per_range(
    ranges: Sequence[tuple[datetime, datetime]], *, limit: int, by: str = "purchased"
) -> list[int]:
    """For each `[start, end)` of `ranges`, how many orders were purchased (`by="purchased"`)
    or imported (`by="imported"`) then, but counted only up to `limit` + 1: a figure above
    `limit` means "more than `limit`".

    One query, however many ranges. Each range is counted on its own with a LIMIT, so the work
    is bounded by `len(ranges) * (limit + 1)` index entries whatever the table holds, where
    counting every order of the day would read all of a first import's orders. It stays
    bounded only with an index on the column counted (`purchased_at`, `created_at`): without
    one each range scans the table. Orders without a purchase date are not counted by it.
    """
    if not ranges:
        return []
    connection = connections[router.db_for_read(Order)]
    quote = connection.ops.quote_name
    field = Order._meta.get_field(COUNTED_BY[by])
    table, column = quote(Order._meta.db_table), quote(field.column)
    # Written out rather than compiled from one queryset per range: compiling 30 querysets took
    # longer than running the query. Only quoted names go into the text; values are parameters.
    capped = (
        f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table}"  # noqa: S608
        f" WHERE {column} >= %s AND {column} < %s LIMIT %s) AS capped)"
    )
    params = []
    for start, end in ranges:
        params += [
            connection.ops.adapt_datetimefield_value(start),
            connection.ops.adapt_datetimefield_value(end),
            limit + 1,
        ]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join([capped] * len(ranges))}", params)
        return [int(count) for count in cursor.fetchone()]

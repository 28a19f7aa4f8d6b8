"""Reads of the orders app: the Orders page list and one order's detail."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet

from amazon_settings.models import SellerAccount
from orders.models import Invoice, Order, OrderItem, Return, ShipmentLine


def order_list(
    *,
    account: SellerAccount | None = None,
    marketplace_id: str = "",
    channel: str = "",
    status: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    search: str = "",
) -> QuerySet[Order]:
    """Orders newest first, filtered; `search` matches order id, SKU or buyer name/e-mail.

    Items are prefetched and the account joined, so rendering a page costs the same number of
    queries however many orders and items there are. `until` is exclusive.
    """
    orders = Order.objects.select_related("account").prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.order_by("pk"))
    )
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
    if term:
        # Items are searched through a subquery, so an order matching twice is listed once.
        by_sku = OrderItem.objects.filter(sku__icontains=term).values("order_id")
        orders = orders.filter(
            Q(amazon_order_id__icontains=term)
            | Q(buyer_name__icontains=term)
            | Q(buyer_email__iexact=term)
            | Q(pk__in=by_sku)
        )
    return orders.order_by("-purchased_at", "-pk")


def order_detail(order_id: int) -> Order:
    """One order with its items, shipment lines, returns and invoices. Raises Order.DoesNotExist."""
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
        )
        .get(pk=order_id)
    )

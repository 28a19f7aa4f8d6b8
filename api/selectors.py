"""Reads of the API: pages by keyset (id order, never OFFSET) and records by id for the change
pages, each with what its serializer needs in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Prefetch, QuerySet

from amazon_settings.models import AccountMarketplace, SellerAccount
from orders.models import Invoice, InvoiceLine, Order, Return, StockChange, StockLevel
from reports.models import Report


@dataclass(frozen=True)
class OrderFilters:
    marketplace: str | None = None
    status: str | None = None
    purchased_from: datetime | None = None
    purchased_to: datetime | None = None


def _scoped(queryset: QuerySet, account_ids: Iterable[int] | None, field: str = "account_id"):
    if account_ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": list(account_ids)})


def _page(queryset: QuerySet, *, after_id: int | None, limit: int) -> list:
    """Up to `limit` + 1 rows after `after_id` in id order: the extra one says another page
    follows."""
    if after_id is not None:
        queryset = queryset.filter(pk__gt=after_id)
    return list(queryset.order_by("pk")[: limit + 1])


def _with_lines(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.prefetch_related("items", "shipment_lines__item").annotate(
        last_shipped_at=Max("shipment_lines__shipped_at")
    )


def order_page(
    *,
    account_ids: Iterable[int] | None,
    filters: OrderFilters,
    after_id: int | None,
    limit: int,
) -> list[Order]:
    orders = _scoped(Order.objects.all(), account_ids)
    if filters.marketplace:
        orders = orders.filter(marketplace_id=filters.marketplace)
    if filters.status is not None:
        orders = orders.filter(status=filters.status)
    if filters.purchased_from:
        orders = orders.filter(purchased_at__gte=filters.purchased_from)
    if filters.purchased_to:
        orders = orders.filter(purchased_at__lt=filters.purchased_to)
    rows = _page(orders.only("pk"), after_id=after_id, limit=limit)
    found = orders_by_id([order.pk for order in rows])
    return [found[order.pk] for order in rows]


def orders_by_id(ids: Iterable[int]) -> dict[int, Order]:
    return {o.pk: o for o in _with_lines(Order.objects.filter(pk__in=list(ids)))}


def return_page(
    *, account_ids: Iterable[int] | None, marketplace: str | None, after_id: int | None, limit: int
) -> list[Return]:
    returns = _scoped(Return.objects.all(), account_ids)
    if marketplace:
        returns = returns.filter(order__marketplace_id=marketplace)
    return _page(returns, after_id=after_id, limit=limit)


def returns_by_id(ids: Iterable[int]) -> dict[int, Return]:
    return Return.objects.in_bulk(list(ids))


def stock_page(
    *, account_ids: Iterable[int] | None, after_id: int | None, limit: int
) -> list[StockLevel]:
    return _page(_scoped(StockLevel.objects.all(), account_ids), after_id=after_id, limit=limit)


def stock_levels_by_id(ids: Iterable[int]) -> dict[int, StockLevel]:
    return StockLevel.objects.in_bulk(list(ids))


def stock_history_page(*, level: StockLevel, after_id: int | None, limit: int) -> list[StockChange]:
    return _page(StockChange.objects.filter(level=level), after_id=after_id, limit=limit)


def stock_level(pk: int, *, account_ids: Iterable[int] | None) -> StockLevel | None:
    return _scoped(StockLevel.objects.filter(pk=pk), account_ids).first()


def _invoices() -> QuerySet[Invoice]:
    return Invoice.objects.prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("position"))
    )


def invoice_page(
    *,
    account_ids: Iterable[int] | None,
    marketplace: str | None,
    status: str | None,
    after_id: int | None,
    limit: int,
) -> list[Invoice]:
    invoices = _scoped(_invoices(), account_ids)
    if marketplace:
        invoices = invoices.filter(marketplace_id=marketplace)
    if status:
        invoices = invoices.filter(status=status)
    return _page(invoices, after_id=after_id, limit=limit)


def invoices_by_id(ids: Iterable[int]) -> dict[int, Invoice]:
    return {i.pk: i for i in _invoices().filter(pk__in=list(ids))}


def invoice(pk: int, *, account_ids: Iterable[int] | None) -> Invoice | None:
    return _scoped(Invoice.objects.filter(pk=pk), account_ids).first()


def account_page(
    *, account_ids: Iterable[int] | None, after_id: int | None, limit: int
) -> list[SellerAccount]:
    accounts = _scoped(SellerAccount.objects.all(), account_ids, field="pk").prefetch_related(
        Prefetch("marketplaces", queryset=AccountMarketplace.objects.order_by("marketplace_id"))
    )
    return _page(accounts, after_id=after_id, limit=limit)


def report_page(
    *,
    account_ids: Iterable[int] | None,
    status: str | None,
    after_id: int | None,
    limit: int,
) -> list[Report]:
    reports = _scoped(Report.objects.all(), account_ids)
    if status:
        reports = reports.filter(import_status=status)
    return _page(reports, after_id=after_id, limit=limit)

"""Orders, Returns, Stock and Invoices: what the imports brought in.

Every page validates its query string with a small form and reads through one selector. Where a
record came from is the report that last wrote it (`source_report_id`, `source_line`); the pages
link to that report by URL name, never by importing the reports app.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.pagination import LimitedCountPaginator
from core.roles import can_view_buyer_data
from orders import selectors
from orders.forms import InvoiceFilterForm, OrderFilterForm, ReturnFilterForm, StockFilterForm
from orders.models import Invoice, Order

PAGE_SIZE = 50
RECENT_STOCK_CHANGES = 50


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _page(request: HttpRequest, items: Any) -> Any:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _limited_page(request: HttpRequest, items: Any) -> Any:
    """A page of a list that grows with every import: no COUNT(*) over all of it
    (core/pagination.py)."""
    return LimitedCountPaginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    """The Orders table. A searched Amazon order ID that is not imported gets the "where is"
    panel, which links to the reports app's explanation."""
    form = OrderFilterForm(request.GET or None)
    # A million orders: no full COUNT(*) per page (orders/pagination.py).
    page = LimitedCountPaginator(
        selectors.order_list(
            **form.selector_filters(), search_buyers=can_view_buyer_data(request.user)
        ),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    # The count is exact at zero, so "nothing found" needs no full count either.
    missing_order_id = form.searched_order_id if not page.paginator.count else ""
    return render(
        request,
        "orders/list.html",
        {
            "form": form,
            "page": page,
            "query": _query_without_page(request),
            "missing_order_id": missing_order_id,
        },
    )


@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        order = selectors.order_detail(pk)
    except Order.DoesNotExist:
        raise Http404("No such order.") from None
    return render(request, "orders/detail.html", {"order": order})


@require_GET
def return_list(request: HttpRequest) -> HttpResponse:
    form = ReturnFilterForm(request.GET or None)
    return render(
        request,
        "orders/returns.html",
        {
            "form": form,
            "page": _limited_page(request, selectors.return_list(**form.selector_filters())),
            "query": _query_without_page(request),
        },
    )


@require_GET
def stock(request: HttpRequest) -> HttpResponse:
    """Current levels per SKU, recent changes, and a pointer to stock reports held by the guard
    (those live in Reports » Processing, filtered by status "held")."""
    form = StockFilterForm(request.GET or None)
    filters = form.selector_filters()
    account = filters.get("account")
    return render(
        request,
        "orders/stock.html",
        {
            "form": form,
            "page": _page(request, selectors.stock_per_sku(**filters)),
            "query": _query_without_page(request),
            "changes": selectors.recent_stock_changes(account=account, limit=RECENT_STOCK_CHANGES),
            "snapshots": selectors.latest_stock_snapshots(account=account),
        },
    )


@require_GET
def invoice_list(request: HttpRequest) -> HttpResponse:
    form = InvoiceFilterForm(request.GET or None)
    return render(
        request,
        "orders/invoices.html",
        {
            "form": form,
            "page": _limited_page(request, selectors.invoice_list(**form.selector_filters())),
            "query": _query_without_page(request),
        },
    )


@require_GET
def invoice_print(request: HttpRequest, pk: int) -> HttpResponse:
    """A printable invoice or credit note: a page of its own, without the navigation."""
    try:
        invoice = selectors.invoice_detail(pk)
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None
    return render(
        request,
        "orders/invoice_print.html",
        {"invoice": invoice, "lines": _invoice_lines(invoice)},
    )


def _invoice_lines(invoice: Invoice) -> list[dict[str, Any]]:
    """The lines an invoice covers: its shipment's lines when it names one, else the order's
    items. The totals printed are the invoice's own (net, VAT, gross), not sums of the lines."""
    order = invoice.order
    if order is None:
        return []
    shipment_lines = [
        line for line in order.shipment_lines.all() if line.shipment_id == invoice.shipment_id
    ]
    if invoice.shipment_id and shipment_lines:
        return [
            {
                "sku": line.item.sku if line.item else "",
                "name": line.item.product_name if line.item else line.shipment_item_id,
                "quantity": line.quantity,
                "price": line.item_price + line.shipping_price,
                "tax": line.item_tax + line.shipping_tax,
            }
            for line in shipment_lines
        ]
    return [
        {
            "sku": item.sku,
            "name": item.product_name,
            "quantity": item.quantity_ordered,
            "price": item.item_price + item.shipping_price,
            "tax": item.item_tax + item.shipping_tax,
        }
        for item in order.items.all()
    ]

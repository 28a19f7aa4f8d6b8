"""Orders, Returns, Stock and Invoices: what the imports brought in; Settings » Invoicing.

Every page validates its query string with a small form and reads through one selector. Where a
record came from is the report that last wrote it (`source_report_id`, `source_line`); the pages
link to that report by URL name, never by importing the reports app.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods

from amazon_settings.forms import MarketplaceInvoicingForm
from amazon_settings.models import InvoicingMode, SellerAccount
from core.exports import ExportFormat, ExportTable, export_response
from core.pagination import MAX_PAGES, LimitedCountPaginator
from core.roles import can_view_buyer_data
from orders import exports, selectors
from orders.forms import (
    InvoiceFilterForm,
    OrderFilterForm,
    ReturnFilterForm,
    StockFilterForm,
    WhereIsOrderForm,
)
from orders.invoice_documents import invoice_document
from orders.invoice_pdf import render_invoice_pdf
from orders.models import Invoice, Order
from orders.services.invoicing import ConfiguredInvoicing, configure_invoicing

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
    filters = form.selector_filters()
    # A million orders: no full COUNT(*) per page (core/pagination.py). A search lists its
    # newest matches only, so its pages end with them.
    max_pages = selectors.SEARCH_REACH // PAGE_SIZE if filters.get("search") else MAX_PAGES
    page = LimitedCountPaginator(
        selectors.order_list(**filters, search_buyers=can_view_buyer_data(request.user)),
        PAGE_SIZE,
        max_pages=max_pages,
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
            "where_is_form": WhereIsOrderForm(order_id=missing_order_id)
            if missing_order_id
            else None,
        },
    )


def _export(
    request: HttpRequest, form: Form, export_format: str, page_url: str, make: Any
) -> HttpResponse:
    """The page's rows as a download; with filters the page refuses, back to the page, which
    shows what to correct."""
    try:
        chosen = ExportFormat(export_format)
    except ValueError:
        raise Http404("No such export format.") from None
    if form.is_bound and not form.is_valid():
        messages.error(request, _("Nothing was exported: correct the filters first."))
        return redirect(f"{reverse(page_url)}?{request.GET.urlencode()}")
    table: ExportTable = make(**form.selector_filters())
    return export_response(table, chosen)


@require_GET
def order_export(request: HttpRequest, export_format: str) -> HttpResponse:
    """The orders the page lists with these filters, every page of them, one row per item."""
    buyer_data = can_view_buyer_data(request.user)
    return _export(
        request,
        OrderFilterForm(request.GET or None),
        export_format,
        "orders:list",
        lambda **filters: exports.order_export(buyer_data=buyer_data, **filters),
    )


@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        order = selectors.order_detail(pk)
    except Order.DoesNotExist:
        raise Http404("No such order.") from None
    status_changes = list(order.status_changes.all())
    return render(
        request,
        "orders/detail.html",
        {
            "order": order,
            "status_changes": status_changes,
            # What made the order what it is now, when a report after its import did.
            "status_change": next(
                (c for c in reversed(status_changes) if c.to_status == order.status), None
            ),
        },
    )


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
def return_export(request: HttpRequest, export_format: str) -> HttpResponse:
    buyer_data = can_view_buyer_data(request.user)
    return _export(
        request,
        ReturnFilterForm(request.GET or None),
        export_format,
        "orders:returns",
        lambda **filters: exports.return_export(buyer_data=buyer_data, **filters),
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
def stock_export(request: HttpRequest, export_format: str) -> HttpResponse:
    """The current levels per SKU, as the page lists them (not the recent changes)."""
    return _export(
        request,
        StockFilterForm(request.GET or None),
        export_format,
        "orders:stock",
        exports.stock_export,
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
def invoice_export(request: HttpRequest, export_format: str) -> HttpResponse:
    buyer_data = can_view_buyer_data(request.user)
    return _export(
        request,
        InvoiceFilterForm(request.GET or None),
        export_format,
        "orders:invoices",
        lambda **filters: exports.invoice_export(buyer_data=buyer_data, **filters),
    )


@require_GET
def invoice_print(request: HttpRequest, pk: int) -> HttpResponse:
    """An invoice or credit note as it prints: a page of its own, without the navigation. One
    issued here shows its snapshot (`orders.invoice_documents`)."""
    try:
        document = invoice_document(pk)
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None
    return render(request, "orders/invoice_print.html", {"document": document})


@require_GET
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The PDF of a document issued here (buyer data: `core.roles.BUYER_DATA_URL_NAMES`).
    Amazon's own documents are Amazon's PDFs, at their link."""
    try:
        document = invoice_document(pk)
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None
    if document.invoice.source != Invoice.Source.GENERATED:
        raise Http404("Only documents issued here have a PDF here; Amazon's are at their link.")
    response = HttpResponse(render_invoice_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.invoice.number}.pdf"'
    return response


MODE_EXPLANATIONS = {
    InvoicingMode.AMAZON: gettext_lazy(
        "Amazon's VAT Calculation Service (VCS) issues the invoices and credit notes and sends "
        "them to the buyers. Import “VCS - Invoices generated by Amazon” to list them here; "
        "nothing is issued here."
    ),
    InvoicingMode.VCS_LITE: gettext_lazy(
        "You issue the invoices and upload them to Amazon (VCS Lite). This dashboard issues an "
        "invoice for every sale and a credit note for every refund of “VCS Lite - Data” that "
        "Amazon does not invoice itself, numbered without gaps (INV-year-number, "
        "CN-year-number), with your legal data below. Lines marked as invoiced by Amazon, and "
        "sales that Amazon's VCS report covers, never get one; one issued before Amazon's "
        "arrived is cancelled, its number kept. Switching to this mode issues a document for "
        "every imported sale and refund that has none."
    ),
    InvoicingMode.NOT_HANDLED: gettext_lazy(
        "Invoices are issued elsewhere (your accounting software, a service). Amazon's data "
        "is still imported and Amazon's invoices listed, but nothing is issued here."
    ),
}


@require_http_methods(["GET", "POST"])
def invoicing_settings(request: HttpRequest, account_pk: int) -> HttpResponse:
    """Settings » Invoicing of one account: per marketplace, who issues the invoices and the
    seller's legal data they print. Saving issues what waited for it."""
    account = get_object_or_404(
        SellerAccount.objects.prefetch_related("marketplaces"), pk=account_pk
    )
    marketplaces = list(account.marketplaces.all())
    forms = {m.pk: MarketplaceInvoicingForm(instance=m, prefix=f"mp{m.pk}") for m in marketplaces}
    status = 200
    if request.method == "POST":
        marketplace = next(
            (m for m in marketplaces if str(m.pk) == request.POST.get("marketplace")), None
        )
        if marketplace is None:
            raise Http404("No such marketplace of this account.")
        form = MarketplaceInvoicingForm(
            request.POST, instance=marketplace, prefix=f"mp{marketplace.pk}"
        )
        forms[marketplace.pk] = form
        if form.is_valid():
            try:
                configured = configure_invoicing(
                    marketplace, acting_user=request.user, **form.cleaned_data
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _saved_message(configured))
                return redirect(
                    f"{reverse('orders:invoicing', args=[account.pk])}#marketplace-{marketplace.pk}"
                )
        # The instance took the refused values: show the account as it is stored.
        marketplace.refresh_from_db()
        status = 400
    return render(
        request,
        "orders/invoicing.html",
        {
            "account": account,
            "rows": [(m, forms[m.pk]) for m in marketplaces],
            "stop": selectors.invoicing_stop(account),
            "waiting": selectors.waiting_transactions(account).count(),
            "explanations": [(mode, MODE_EXPLANATIONS[mode]) for mode in InvoicingMode],
        },
        status=status,
    )


def _saved_message(configured: ConfiguredInvoicing) -> str:
    marketplace = configured.marketplace
    text = _("Invoicing of %(marketplace)s saved: %(mode)s.") % {
        "marketplace": marketplace.name,
        "mode": marketplace.get_invoicing_mode_display(),
    }
    issued = len(configured.result.issued)
    if issued:
        text += " " + ngettext(
            "%(count)d waiting document was issued.",
            "%(count)d waiting documents were issued.",
            issued,
        ) % {"count": issued}
    if configured.result.stop is not None:
        text += " " + configured.result.stop.message
    elif configured.still_waiting:
        text += " " + ngettext(
            "%(count)d more is issued by the background worker.",
            "%(count)d more are issued by the background worker.",
            configured.still_waiting,
        ) % {"count": configured.still_waiting}
    return text

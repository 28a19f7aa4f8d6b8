"""`/api/v1/`: the read-only REST API (django-ninja), its OpenAPI schema and its docs page.

Every operation takes a bearer token (`TokenAuth`) with the scope of its resource, and reads
only the token's accounts. Lists are pages in id order (`cursor`, never OFFSET); each resource
that changes also has `/changes`, read from the change log (`core.changes`) with a cursor that
never skips a change (`since`). Errors: one shape (`ErrorOut`), with the parameter named.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Query, Router, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger
from ninja.security import HttpBearer
from pydantic import Field, ValidationInfo, model_validator

from api import cursors, selectors, serializers
from api import schemas as s
from api.exceptions import ApiError, BadParameter, MissingScope, NotFound, RateLimited
from api.models import ApiToken, Scope
from api.services import authenticate_token, count_request
from core.changes import Position, events_after
from orders.invoice_documents import invoice_document
from orders.invoice_pdf import render_invoice_pdf
from orders.models import Invoice, Order
from reports.models import Report

logger = logging.getLogger("api.requests")
# Where Django reports a server error (its log handlers and mail to admins listen there).
server_errors = logging.getLogger("django.request")

MAX_LIMIT = 1000
ERRORS: dict[int, type[Schema]] = {
    400: s.ErrorOut,
    401: s.ErrorOut,
    403: s.ErrorOut,
    429: s.ErrorOut,
}
NOT_AUTHENTICATED = "Send 'Authorization: Bearer <token>' with an API token."
NOT_FOUND = "Nothing here: the operations are listed at /api/v1/schema/."


class TokenAuth(HttpBearer):
    """A valid, unrevoked token within its rate limit, holding `scope`; it is `request.auth`."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        api_token = authenticate_token(token)
        request.api_token = api_token  # for the request log
        count_request(api_token)
        if not api_token.has_scope(self.scope):
            raise MissingScope(f"This token lacks the scope “{self.scope}”.")
        return api_token


api = NinjaAPI(
    title="Amazon order import API",
    version="1",
    description=(
        "Read-only access to orders, returns, stock, invoices, seller accounts and reports. "
        "Authenticate with `Authorization: Bearer <token>` (Settings » API tokens). Lists are "
        "read a page at a time with `cursor`; `/changes` lists every change after the cursor "
        "`since` in commit order. Every error has the shape `ErrorOut`."
    ),
    urls_namespace="api",
    openapi_url="/schema/",
    docs_url="/docs/",
    docs=Swagger(settings={"persistAuthorization": True}),
)


def error_response(
    request: HttpRequest, status: int, code: str, message: str, field: str | None = None
) -> HttpResponse:
    """An answer in the one error shape (`ErrorOut`); a 401 also names the scheme to use."""
    response = api.create_response(
        request, {"error": {"code": code, "message": message, "field": field}}, status=status
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = error_response(request, exc.status, exc.code, exc.message, exc.field)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A fault of ours: reported as Django reports one, answered in the error shape."""
    server_errors.error(
        "Internal Server Error: %s",
        request.path,
        exc_info=exc,
        extra={"status_code": 500, "request": request},
    )
    message = "Something went wrong on our side: try again later."
    return error_response(request, 500, "server_error", message)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("query", "path")]
    field = location[-1] if location else None
    detail = first.get("msg", "invalid value")
    return error_response(request, 400, "invalid_parameter", f"Invalid `{field}`: {detail}.", field)


@api.exception_handler(AuthenticationError)
def _not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, "not_authenticated", NOT_AUTHENTICATED)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", NOT_FOUND)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error_response(request, exc.status_code, "error", str(exc))


def _accounts(token: ApiToken, account: int | None) -> list[int] | None:
    """The account ids a request reads: the token's (None: all), narrowed to `account`."""
    allowed = None
    ids = list(token.accounts.values_list("pk", flat=True))
    if ids:
        allowed = ids
    if account is None:
        return allowed
    if allowed is not None and account not in allowed:
        raise MissingScope(f"This token may not read account {account}.", field="account")
    return [account]


def check_query(request: HttpRequest, known: Iterable[str]) -> None:
    """Only the operation's query parameters, each once: a misspelt filter (`purchase_from`)
    would otherwise be dropped and silently widen the list. Raises BadParameter naming it."""
    known = set(known)
    for name in request.GET:
        if name not in known:
            raise BadParameter(f"Unknown parameter `{name}`.", field=name)
        if len(request.GET.getlist(name)) > 1:
            raise BadParameter(f"`{name}` is given more than once.", field=name)


class StrictQuery(Schema):
    """Query parameters checked by `check_query` once they are read."""

    @model_validator(mode="after")
    def _known_and_once(self, info: ValidationInfo) -> StrictQuery:
        request = (info.context or {}).get("request")
        if request is not None:
            check_query(request, type(self).model_fields)
        return self


class Paging(StrictQuery):
    cursor: str | None = Field(None, description="`next_cursor` of the previous page.")
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="Items per page.")
    account: int | None = Field(None, description="A seller account's id.")


class ChangesQuery(StrictQuery):
    since: str | None = Field(
        None, description="`next_cursor` of the last read; leave out to start from the first."
    )
    limit: int = Field(100, ge=1, le=MAX_LIMIT)
    account: int | None = Field(None, description="A seller account's id.")


def _page(kind: str, rows: list, limit: int, dump: Callable[[Any], dict]) -> dict[str, Any]:
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [dump(row) for row in rows],
        "next_cursor": cursors.page_cursor(kind, rows[-1].pk) if more else None,
    }


def _after(query: Paging | None, kind: str) -> int | None:
    if query is None or not query.cursor:
        return None
    return cursors.read_page_cursor(query.cursor, kind=kind)


def _changes(
    request: HttpRequest,
    query: ChangesQuery,
    *,
    kind: str,
    key: str,
    load: Callable[[list[int]], dict[int, Any]],
    dump: Callable[[Any], dict],
) -> dict[str, Any]:
    """A page of the kind's change log after `since`, each change with its record as it is
    now. The page ends before any change of a transaction that may still commit (see
    `core.changes`), so the next read from `next_cursor` misses nothing."""
    position = (
        cursors.read_changes_cursor(query.since, kind=kind) if query.since else Position.start()
    )
    account_ids = _accounts(request.auth, query.account)
    events = list(events_after(position, kind=kind, account_ids=account_ids)[: query.limit + 1])
    more = len(events) > query.limit
    events = events[: query.limit]
    records = load([event.entity_id for event in events])
    items = [
        {
            "event_id": event.pk,
            "event_type": event.event_type,
            "recorded_at": event.created_at,
            key: dump(records[event.entity_id]),
        }
        for event in events
        if event.entity_id in records
    ]
    if events:
        position = Position(txid=events[-1].txid, id=events[-1].pk)
    return {
        "items": items,
        "next_cursor": cursors.changes_cursor(kind, position),
        "has_more": more,
    }


orders_router = Router(auth=TokenAuth(Scope.READ_ORDERS), tags=["orders"])


class OrderQuery(Paging):
    marketplace: str | None = Field(None, description="An Amazon marketplace id.")
    status: Order.Status | None = Field(None, description="Amazon's order status.")
    purchased_from: datetime | None = Field(None, description="Purchased at or after (ISO 8601).")
    purchased_to: datetime | None = Field(None, description="Purchased before (ISO 8601).")


@orders_router.get("", response={200: s.OrderPage, **ERRORS}, url_name="orders")
def list_orders(request: HttpRequest, query: Query[OrderQuery]):
    """Orders with items, FBA shipments and every amount, in id order."""
    if query.purchased_from and query.purchased_to and query.purchased_from > query.purchased_to:
        raise BadParameter("`purchased_from` is after `purchased_to`.", field="purchased_from")
    viewer = serializers.Viewer.of(request.auth)
    rows = selectors.order_page(
        account_ids=_accounts(request.auth, query.account),
        filters=selectors.OrderFilters(
            marketplace=query.marketplace,
            status=query.status.value if query.status is not None else None,
            purchased_from=query.purchased_from,
            purchased_to=query.purchased_to,
        ),
        after_id=_after(query, "order"),
        limit=query.limit,
    )
    return _page("order", rows, query.limit, lambda o: serializers.order(o, viewer))


@orders_router.get(
    "/changes", response={200: s.OrderChangesPage, **ERRORS}, url_name="order_changes"
)
def order_changes(request: HttpRequest, query: Query[ChangesQuery]):
    """Every order created, updated or cancelled after `since`, in commit order."""
    viewer = serializers.Viewer.of(request.auth)
    return _changes(
        request,
        query,
        kind="order",
        key="order",
        load=selectors.orders_by_id,
        dump=lambda o: serializers.order(o, viewer),
    )


@orders_router.get(
    "/{order_id}", response={200: s.OrderOut, 404: s.ErrorOut, **ERRORS}, url_name="order"
)
def get_order(request: HttpRequest, order_id: int):
    """One order by its id here."""
    check_query(request, ())
    found = selectors.orders_by_id([order_id]).get(order_id)
    allowed = _accounts(request.auth, None)
    if found is None or (allowed is not None and found.account_id not in allowed):
        raise NotFound(f"No order {order_id} for this token.")
    return serializers.order(found, serializers.Viewer.of(request.auth))


returns_router = Router(auth=TokenAuth(Scope.READ_RETURNS), tags=["returns"])


class ReturnQuery(Paging):
    marketplace: str | None = Field(None, description="The marketplace of the return's order.")


@returns_router.get("", response={200: s.ReturnPage, **ERRORS}, url_name="returns")
def list_returns(request: HttpRequest, query: Query[ReturnQuery]):
    """Customer returns received at Amazon's fulfillment centres, in id order."""
    viewer = serializers.Viewer.of(request.auth)
    rows = selectors.return_page(
        account_ids=_accounts(request.auth, query.account),
        marketplace=query.marketplace,
        after_id=_after(query, "return"),
        limit=query.limit,
    )
    return _page("return", rows, query.limit, lambda r: serializers.return_line(r, viewer))


@returns_router.get(
    "/changes", response={200: s.ReturnChangesPage, **ERRORS}, url_name="return_changes"
)
def return_changes(request: HttpRequest, query: Query[ChangesQuery]):
    """Every return created or updated after `since`, in commit order."""
    viewer = serializers.Viewer.of(request.auth)
    return _changes(
        request,
        query,
        kind="return",
        key="return_line",
        load=selectors.returns_by_id,
        dump=lambda r: serializers.return_line(r, viewer),
    )


stock_router = Router(auth=TokenAuth(Scope.READ_STOCK), tags=["stock"])


@stock_router.get("", response={200: s.StockLevelPage, **ERRORS}, url_name="stock")
def list_stock(request: HttpRequest, query: Query[Paging]):
    """Current FBA stock per SKU and condition, in id order."""
    rows = selectors.stock_page(
        account_ids=_accounts(request.auth, query.account),
        after_id=_after(query, "stock"),
        limit=query.limit,
    )
    return _page("stock", rows, query.limit, serializers.stock_level)


@stock_router.get(
    "/changes", response={200: s.StockChangesPage, **ERRORS}, url_name="stock_changes"
)
def stock_changes(request: HttpRequest, query: Query[ChangesQuery]):
    """Every stock level that changed after `since`, in commit order."""
    return _changes(
        request,
        query,
        kind="stock",
        key="stock_level",
        load=selectors.stock_levels_by_id,
        dump=serializers.stock_level,
    )


class HistoryQuery(StrictQuery):
    cursor: str | None = None
    limit: int = Field(100, ge=1, le=MAX_LIMIT)


@stock_router.get(
    "/{level_id}/history",
    response={200: s.StockChangePage, 404: s.ErrorOut, **ERRORS},
    url_name="stock_history",
)
def stock_history(request: HttpRequest, level_id: int, query: Query[HistoryQuery]):
    """The recorded changes of one stock level, oldest first."""
    level = selectors.stock_level(level_id, account_ids=_accounts(request.auth, None))
    if level is None:
        raise NotFound(f"No stock level {level_id} for this token.")
    after = cursors.read_page_cursor(query.cursor, kind="stock_change") if query.cursor else None
    rows = selectors.stock_history_page(level=level, after_id=after, limit=query.limit)
    return _page("stock_change", rows, query.limit, serializers.stock_change)


invoices_router = Router(auth=TokenAuth(Scope.READ_INVOICES), tags=["invoices"])


class InvoiceQuery(Paging):
    marketplace: str | None = None
    status: Invoice.Status | None = None


@invoices_router.get("", response={200: s.InvoicePage, **ERRORS}, url_name="invoices")
def list_invoices(request: HttpRequest, query: Query[InvoiceQuery]):
    """Invoices and credit notes (Amazon's, the seller's and those issued here), in id order."""
    viewer = serializers.Viewer.of(request.auth)
    rows = selectors.invoice_page(
        account_ids=_accounts(request.auth, query.account),
        marketplace=query.marketplace,
        status=query.status.value if query.status is not None else None,
        after_id=_after(query, "invoice"),
        limit=query.limit,
    )
    return _page("invoice", rows, query.limit, lambda i: serializers.invoice(i, viewer))


@invoices_router.get(
    "/changes", response={200: s.InvoiceChangesPage, **ERRORS}, url_name="invoice_changes"
)
def invoice_changes(request: HttpRequest, query: Query[ChangesQuery]):
    """Every invoice issued, updated or cancelled after `since`, in commit order."""
    viewer = serializers.Viewer.of(request.auth)
    return _changes(
        request,
        query,
        kind="invoice",
        key="invoice",
        load=selectors.invoices_by_id,
        dump=lambda i: serializers.invoice(i, viewer),
    )


@invoices_router.get(
    "/{invoice_id}/pdf",
    response={200: None, 404: s.ErrorOut, **ERRORS},
    url_name="invoice_pdf",
    openapi_extra={
        "responses": {200: {"description": "The PDF", "content": {"application/pdf": {}}}}
    },
)
def invoice_pdf(request: HttpRequest, invoice_id: int):
    """The PDF of a document issued here. It prints the buyer: needs the `pii` scope too."""
    check_query(request, ())
    if not request.auth.has_scope(Scope.PII):
        raise MissingScope("The PDF prints the buyer: this token lacks the scope “pii”.")
    found = selectors.invoice(invoice_id, account_ids=_accounts(request.auth, None))
    if found is None or found.source != Invoice.Source.GENERATED:
        raise NotFound(f"No PDF of invoice {invoice_id} here: only documents issued here.")
    response = HttpResponse(
        render_invoice_pdf(invoice_document(found.pk)), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="{found.number}.pdf"'
    return response


accounts_router = Router(auth=TokenAuth(Scope.READ_ACCOUNTS), tags=["accounts"])


@accounts_router.get("", response={200: s.AccountPage, **ERRORS}, url_name="accounts")
def list_accounts(request: HttpRequest, query: Query[Paging]):
    """Seller accounts with their marketplaces and connection status."""
    rows = selectors.account_page(
        account_ids=_accounts(request.auth, query.account),
        after_id=_after(query, "account"),
        limit=query.limit,
    )
    return _page("account", rows, query.limit, serializers.account)


reports_router = Router(auth=TokenAuth(Scope.READ_REPORTS), tags=["reports"])


class ReportQuery(Paging):
    status: Report.ImportStatus | None = Field(None, description="The import status.")


@reports_router.get("", response={200: s.ReportPage, **ERRORS}, url_name="reports")
def list_reports(request: HttpRequest, query: Query[ReportQuery]):
    """Reports requested, discovered or uploaded, with Amazon's and the import's status."""
    rows = selectors.report_page(
        account_ids=_accounts(request.auth, query.account),
        status=query.status.value if query.status is not None else None,
        after_id=_after(query, "report"),
        limit=query.limit,
    )
    return _page("report", rows, query.limit, serializers.report)


api.add_router("/orders", orders_router)
api.add_router("/returns", returns_router)
api.add_router("/stock", stock_router)
api.add_router("/invoices", invoices_router)
api.add_router("/accounts", accounts_router)
api.add_router("/reports", reports_router)

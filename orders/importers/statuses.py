"""Status reports: GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL (TAB-separated).

Amazon documents this report as listing every order (MFN and FBA, any status, no buyer data)
updated within the requested range, with its status and the time of that update. A range that
starts where the previous one ended therefore brings every cancellation and status change
exactly once, whenever the order was placed; the "by order date" twin lists orders by purchase
date, so it would have to ask for old ranges again and again. The worker requests it on a
cadence (`reports.services.requesting`).

Its rows are order lines without an order item id, so they cannot be items (see OrderItem):
what this importer reads is per order, the status and the last-updated date, and it writes
nothing else (`orders.services.statuses.apply_order_statuses`). An order that is not imported
is not created; its status waits for the order import (`WaitingOrderStatus`).

Amazon's spellings are mapped to the Orders API statuses: `Cancelled` and `Canceled`, and the
detailed forms `Shipped - Delivered to Buyer` or `Pending - Waiting for Pick Up` by their first
word; `Shipping` (an order partly shipped, our reading) is PartiallyShipped. Any other value is
a row error that leaves that order as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.utils import timezone

from orders import stored_texts as texts
from orders.importers.base import ImportContext
from orders.importers.cells import RowProblem, parse_datetime
from orders.importers.common import required
from orders.importers.driver import DocumentState, GroupedRowImporter
from orders.importers.parsing import Row, Table
from orders.marketplaces import marketplace_for_sales_channel
from orders.models import Order
from orders.services.outcomes import Outcomes
from orders.services.statuses import ReportedStatus, apply_order_statuses

STATUS_REPORT_TYPES = ("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",)

_STATUS_BY_WORD = {
    "pending": Order.Status.PENDING,
    "unshipped": Order.Status.UNSHIPPED,
    "partiallyshipped": Order.Status.PARTIALLY_SHIPPED,
    "shipping": Order.Status.PARTIALLY_SHIPPED,
    "shipped": Order.Status.SHIPPED,
    "canceled": Order.Status.CANCELED,
    "cancelled": Order.Status.CANCELED,
    "unfulfillable": Order.Status.UNFULFILLABLE,
}


def order_status(text: str) -> str:
    """The Order.Status of an all-orders file's `order-status`; "" for an unknown value."""
    word = text.split(" - ", 1)[0].strip().lower().replace(" ", "")
    return _STATUS_BY_WORD.get(word, "")


class _StatusColumns(NamedTuple):
    order_status: str
    last_updated_date: str
    sales_channel: str


@dataclass
class _Group:
    """One order's rows: its status and last update (the newest of its rows)."""

    amazon_order_id: str
    status: str
    last_updated_at: datetime
    marketplace_id: str
    lines: list[int] = field(default_factory=list)


@dataclass
class _StatusState(DocumentState):
    read: Callable[[list[str]], _StatusColumns]


class OrderStatusImporter(GroupedRowImporter[_Group, _StatusState]):
    """Status and last update of known orders from the all-orders report by last update."""

    report_types = STATUS_REPORT_TYPES
    order_column = "amazon-order-id"
    required_columns = ("amazon-order-id", "last-updated-date", "order-status")

    def start(self, table: Table, context: ImportContext) -> _StatusState:
        return _StatusState(context=context, read=table.columns(_StatusColumns))

    def add_row(self, group: _Group | None, row: Row, order_id: str, state: _StatusState) -> _Group:
        columns = state.read(row.fields)
        status = order_status(required(columns.order_status, "order-status"))
        if not status:
            raise RowProblem(
                texts.stored_text(
                    texts.NOT_A_KNOWN_STATUS,
                    column="order-status",
                    value=repr(columns.order_status),
                )
            )
        updated_at = parse_datetime(
            required(columns.last_updated_date, "last-updated-date"), column="last-updated-date"
        )
        if group is None:
            marketplace = marketplace_for_sales_channel(columns.sales_channel)
            group = _Group(
                amazon_order_id=order_id,
                status=status,
                last_updated_at=updated_at,
                marketplace_id=marketplace.id if marketplace is not None else "",
            )
        elif updated_at > group.last_updated_at:
            # An order's rows carry one status and time; should they differ, the newest counts.
            group.status, group.last_updated_at = status, updated_at
        group.lines.append(row.line)
        return group

    def lines_of(self, group: _Group) -> list[int]:
        return group.lines

    def write(self, groups: list[_Group], context: ImportContext) -> Outcomes:
        return apply_order_statuses(
            account=context.account,
            statuses=[
                ReportedStatus(
                    amazon_order_id=g.amazon_order_id,
                    status=g.status,
                    last_updated_at=g.last_updated_at,
                    marketplace_id=g.marketplace_id,
                    lines=tuple(g.lines),
                )
                for g in groups
            ],
            source_report_id=context.source_report_id,
            marketplace_ids=context.marketplace_ids,
            now=timezone.now(),
        )

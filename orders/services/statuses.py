"""Order statuses after import: cancellations and other changes Amazon reports later.

An order report shows an order as it was when the report was made; a status report (all orders
by last update) shows every order updated in its range with its status and Amazon's time of
that update. One rule decides whether a report's status replaces the stored one
(`merge_status`), whichever importer brings it: a report that knows an older state of the order
than the stored `last_updated_at` changes nothing, so a report arriving late never undoes a
newer one. Every change of an imported order's status is kept as an `OrderStatusChange` with
the report that showed it.

`apply_order_statuses` is the status reports' write: it changes known orders only (never their
items) and keeps what it says of orders not imported yet as `WaitingOrderStatus`, which
`apply_waiting_statuses` applies when an order import creates them.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from amazon_settings.models import SellerAccount
from core.changes import record_changes
from orders.models import Order, OrderStatusChange, WaitingOrderStatus
from orders.services.outcomes import UNCHANGED, UPDATED, Outcomes
from orders.services.tables import table_writer, update_instances

# How long a status of an order that is not imported waits for its order: longer than any
# order report lags behind the orders it lists (FBA shipments: a day; requests: minutes).
WAITING_STATUS_DAYS = 60

STATUS_FIELDS = ("status", "last_updated_at")
_ORDER_FIELDS = ["status", "last_updated_at", "changed_at", "source_report_id", "source_line"]
WAITING = table_writer(WaitingOrderStatus, unique_fields=["account", "amazon_order_id"])


class StatusMerge(NamedTuple):
    """What `merge_status` did to an order's row."""

    changed: bool  # the status or the last update time changed
    previous: str | None  # the status before, when the status changed; else None
    refused: bool  # the report knows an older state of the order than the row: nothing changed


def merge_status(
    row: MutableMapping[str, Any], *, status: str | None, at: datetime | None
) -> StatusMerge:
    """Apply a reported status and Amazon's time of it to an order's values (by attname).

    Refused when both times are known and the report's is older than the row's
    `last_updated_at`. Otherwise the time moves forward (never back) and a non-empty status
    replaces the stored one; a report without a time (an MFN order report) is taken as news.
    """
    stored_at = row["last_updated_at"]
    if at is not None and stored_at is not None and at < stored_at:
        return StatusMerge(changed=False, previous=None, refused=True)
    changed = False
    if at is not None and at != stored_at:
        row["last_updated_at"] = at
        changed = True
    previous = None
    if status and status != row["status"]:
        previous = row["status"]
        row["status"] = status
        changed = True
    return StatusMerge(changed=changed, previous=previous, refused=False)


def status_change(
    *,
    order_id: int | None,
    previous: str,
    status: str,
    at: datetime | None,
    source_report_id: int | None,
    source_line: int | None,
    now: datetime,
) -> OrderStatusChange:
    """The record of one change (not saved); `order_id` may be filled in later."""
    return OrderStatusChange(
        order_id=order_id,
        from_status=previous,
        to_status=status,
        at=at,
        recorded_at=now,
        source_report_id=source_report_id,
        source_line=source_line,
    )


@dataclass(frozen=True)
class ReportedStatus:
    """One order's status as a status report shows it, with the document lines it came from."""

    amazon_order_id: str
    status: str
    last_updated_at: datetime
    marketplace_id: str
    lines: tuple[int, ...]

    @property
    def line(self) -> int:
        return self.lines[0]


def apply_order_statuses(
    *,
    account: SellerAccount,
    statuses: Sequence[ReportedStatus],
    source_report_id: int | None,
    marketplace_ids: Iterable[str],
    now: datetime,
) -> Outcomes:
    """Write what a status report says of the account's orders. Idempotent.

    A known order takes the reported status and time unless it knows a newer state
    (`merge_status`); a changed status is recorded as an `OrderStatusChange`. Items are never
    touched or created. The status of an order that is not imported waits for it
    (`WaitingOrderStatus`, the newest one per order) when the order is of one of
    `marketplace_ids` (all when empty); statuses that waited too long are dropped. Lines of a
    changed order count as updated, all others as unchanged. Runs inside the caller's
    transaction.
    """
    outcomes = Outcomes()
    if not statuses:
        return outcomes
    orders = {
        order_id: {"id": pk, "status": status, "last_updated_at": at}
        for order_id, pk, status, at in Order.objects.filter(
            account=account, amazon_order_id__in={s.amazon_order_id for s in statuses}
        ).values_list("amazon_order_id", "pk", "status", "last_updated_at")
    }
    changed_orders: list[Order] = []
    changes: list[OrderStatusChange] = []
    unknown: list[ReportedStatus] = []
    for reported in statuses:
        row = orders.get(reported.amazon_order_id)
        if row is None:
            unknown.append(reported)
            outcome = UNCHANGED
        else:
            merged = merge_status(row, status=reported.status, at=reported.last_updated_at)
            if merged.changed:
                changed_orders.append(
                    Order(
                        pk=row["id"],
                        status=row["status"],
                        last_updated_at=row["last_updated_at"],
                        changed_at=now,
                        source_report_id=source_report_id,
                        source_line=reported.line,
                    )
                )
            if merged.previous:
                changes.append(
                    status_change(
                        order_id=row["id"],
                        previous=merged.previous,
                        status=reported.status,
                        at=reported.last_updated_at,
                        source_report_id=source_report_id,
                        source_line=reported.line,
                        now=now,
                    )
                )
            outcome = UPDATED if merged.changed else UNCHANGED
        for line in reported.lines:
            outcomes.mark(line, outcome)
    update_instances(Order, changed_orders, _ORDER_FIELDS)
    OrderStatusChange.objects.bulk_create(changes)
    cancelled = {c.order_id for c in changes if c.to_status == Order.Status.CANCELED}
    for event_type, ids in (
        ("order.cancelled", [o.pk for o in changed_orders if o.pk in cancelled]),
        ("order.updated", [o.pk for o in changed_orders if o.pk not in cancelled]),
    ):
        record_changes(
            kind="order", event_type=event_type, account_id=account.pk, entity_ids=ids, now=now
        )
    marketplaces = set(marketplace_ids)
    _keep_waiting(
        account,
        [s for s in unknown if not marketplaces or s.marketplace_id in marketplaces],
        source_report_id=source_report_id,
        now=now,
    )
    WaitingOrderStatus.objects.filter(
        account=account, kept_at__lt=now - timedelta(days=WAITING_STATUS_DAYS)
    ).delete()
    return outcomes


def _keep_waiting(
    account: SellerAccount,
    statuses: list[ReportedStatus],
    *,
    source_report_id: int | None,
    now: datetime,
) -> None:
    """Store the statuses of orders that are not imported, each unless a newer one waits."""
    if not statuses:
        return
    stored = dict(
        WaitingOrderStatus.objects.filter(
            account=account, amazon_order_id__in={s.amazon_order_id for s in statuses}
        ).values_list("amazon_order_id", "last_updated_at")
    )
    newest: dict[str, ReportedStatus] = {}
    for reported in statuses:
        kept = newest.get(reported.amazon_order_id)
        if kept is None or reported.last_updated_at >= kept.last_updated_at:
            newest[reported.amazon_order_id] = reported
    rows = [
        {
            "account_id": account.pk,
            "amazon_order_id": s.amazon_order_id,
            "marketplace_id": s.marketplace_id,
            "status": s.status,
            "last_updated_at": s.last_updated_at,
            "kept_at": now,
            "source_report_id": source_report_id,
            "source_line": s.line,
        }
        for s in newest.values()
        if s.amazon_order_id not in stored or s.last_updated_at >= stored[s.amazon_order_id]
    ]
    WAITING.upsert(WAITING.rows(rows))


def apply_waiting_statuses(
    *, account: SellerAccount, orders: Sequence[tuple[int, str, dict[str, Any]]], now: datetime
) -> int:
    """Apply the waiting statuses of orders an import has just created, and forget them.

    `orders` are (primary key, order id, values with `status` and `last_updated_at` as
    written) of the new orders. A waiting status newer than what the order report said
    replaces it and is recorded as a change, stamped with the status report that brought it.
    Returns how many orders changed. One query when nothing waits.
    """
    # Usually nothing waits: one small query, and the import's batches pay nothing more.
    if not orders or not WaitingOrderStatus.objects.filter(account=account).exists():
        return 0
    by_order_id = {order_id: (pk, values) for pk, order_id, values in orders}
    found = list(
        WaitingOrderStatus.objects.filter(
            account=account, amazon_order_id__in=list(by_order_id)
        ).values_list(
            "amazon_order_id", "pk", "status", "last_updated_at", "source_report_id", "source_line"
        )
    )
    if not found:
        return 0
    changed_orders: list[Order] = []
    changes: list[OrderStatusChange] = []
    for order_id, _, status, at, report_id, line in found:
        pk, values = by_order_id[order_id]
        row = {"status": values["status"], "last_updated_at": values["last_updated_at"]}
        merged = merge_status(row, status=status, at=at)
        if merged.changed:
            changed_orders.append(
                Order(pk=pk, **row, changed_at=now, source_report_id=report_id, source_line=line)
            )
        if merged.previous:
            changes.append(
                status_change(
                    order_id=pk,
                    previous=merged.previous,
                    status=status,
                    at=at,
                    source_report_id=report_id,
                    source_line=line,
                    now=now,
                )
            )
    update_instances(Order, changed_orders, _ORDER_FIELDS)
    OrderStatusChange.objects.bulk_create(changes)
    WaitingOrderStatus.objects.filter(pk__in=[row[1] for row in found]).delete()
    return len(changed_orders)

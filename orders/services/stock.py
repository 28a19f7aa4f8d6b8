"""FBA stock: current levels, their changes, the size of each snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from amazon_settings.models import SellerAccount
from core.changes import record_changes
from orders import stored_texts as texts
from orders.models import StockChange, StockLevel, StockSnapshot
from orders.services.outcomes import CREATED, UNCHANGED, UPDATED, Outcomes
from orders.services.tables import table_writer
from orders.services.values import cut, merge_values, stamp, text_limits

STOCK_LEVELS = table_writer(StockLevel, unique_fields=["account", "sku", "condition"])
_LIMITS = text_limits(StockLevel)

# A stock report whose units or rows fall below this share of the previous report's is held for
# the seller to confirm: a truncated report would otherwise zero most of the stock.
STOCK_DROP_THRESHOLD = Decimal("0.5")


@dataclass
class StockRecord:
    sku: str
    condition: str
    line: int
    quantity: int
    values: dict[str, Any]


def stock_drop_reason(*, account: SellerAccount, rows: int, units: int) -> str:
    """Why a stock report of this size should be held, or "" when it may be imported."""
    try:
        previous = StockSnapshot.objects.filter(account=account).latest()
    except StockSnapshot.DoesNotExist:
        return ""
    limit = STOCK_DROP_THRESHOLD
    if previous.units and Decimal(units) < Decimal(previous.units) * limit:
        return texts.stored_text(
            texts.STOCK_UNITS_DROP,
            units=units,
            share=f"{int(limit * 100)} %",
            previous=previous.units,
        )
    if previous.rows and Decimal(rows) < Decimal(previous.rows) * limit:
        return texts.stored_text(
            texts.STOCK_ROWS_DROP, rows=rows, share=f"{int(limit * 100)} %", previous=previous.rows
        )
    return ""


def replace_stock(
    *, account: SellerAccount, records: list[StockRecord], source_report_id: int | None
) -> Outcomes:
    """Set current FBA stock to this full snapshot and record every change. Idempotent.

    A SKU/condition missing from the snapshot is set to 0 (a change is recorded). Rows of the
    same (SKU, condition) are summed. The guard (`stock_drop_reason`) is the caller's job.
    """
    outcomes = Outcomes()
    now = timezone.now()
    merged: dict[tuple[str, str], StockRecord] = {}
    for record in records:
        key = (cut(StockLevel, "sku", record.sku), cut(StockLevel, "condition", record.condition))
        if key in merged:
            merged[key].quantity += record.quantity
            outcomes.mark(record.line, UNCHANGED)
        else:
            merged[key] = StockRecord(*key, record.line, record.quantity, dict(record.values))
    existing = {(s.sku, s.condition): s for s in StockLevel.objects.filter(account=account)}
    new, changed, changes = [], [], []
    for key, record in merged.items():
        level = existing.pop(key, None)
        if level is None:
            level = StockLevel(
                account=account, sku=record.sku, condition=record.condition, changed_at=now
            )
            merge_values(vars(level), record.values, _LIMITS)
            level.quantity = record.quantity
            stamp(vars(level), report_id=source_report_id, line=record.line)
            new.append(level)
            outcomes.mark(record.line, CREATED)
            continue
        previous = level.quantity
        did_change = merge_values(vars(level), record.values, _LIMITS)
        if previous != record.quantity:
            level.quantity = record.quantity
            level.changed_at = now
            changes.append((level, previous))
            did_change = True
        if did_change:
            stamp(vars(level), report_id=source_report_id, line=record.line)
            changed.append(level)
        outcomes.mark(record.line, UPDATED if did_change else UNCHANGED)
    for level in existing.values():  # gone from the snapshot: no units left
        if level.quantity:
            changes.append((level, level.quantity))
            level.quantity, level.changed_at = 0, now
            level.source_report_id, level.source_line = source_report_id, None
            changed.append(level)
    STOCK_LEVELS.upsert_instances([*new, *changed])
    # New levels change from nothing (0 units) to their first quantity.
    changes = [*((level, 0) for level in new), *changes]
    history = [
        StockChange(
            level=level,
            at=now,
            previous_quantity=previous,
            quantity=level.quantity,
            source_report_id=source_report_id,
        )
        for level, previous in changes
    ]
    StockChange.objects.bulk_create(history, batch_size=500)
    record_changes(
        kind="stock",
        event_type="stock.changed",
        account_id=account.pk,
        entity_ids=[level.pk for level, _ in changes],
        now=now,
    )
    StockSnapshot.objects.create(
        account=account,
        taken_at=now,
        rows=len(records),
        units=sum(r.quantity for r in records),
        source_report_id=source_report_id,
    )
    return outcomes

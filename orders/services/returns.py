"""Customer returns: kept whether or not their order is imported yet."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from amazon_settings.models import SellerAccount
from core.changes import record_changes
from orders.models import Order, Return
from orders.services.outcomes import CREATED, UNCHANGED, UPDATED, Outcomes
from orders.services.tables import table_writer
from orders.services.values import cut, merge_values, stamp, text_limits

RETURNS = table_writer(
    Return, unique_fields=["account", "amazon_order_id", "sku", "returned_at", "line_key"]
)
_LIMITS = text_limits(Return)


@dataclass
class ReturnRecord:
    amazon_order_id: str
    sku: str
    returned_at: datetime
    line_key: str
    line: int
    values: dict[str, Any]


def return_line_key(license_plate_number: str, content: Iterable[str], occurrence: int) -> str:
    """The natural-key part of a return line: its LPN, else a hash of the row (see Return)."""
    if license_plate_number:
        return license_plate_number
    digest = hashlib.sha256("\t".join(content).encode()).hexdigest()[:40]
    return f"sha256:{digest}#{occurrence}"


def upsert_returns(
    *, account: SellerAccount, records: Iterable[ReturnRecord], source_report_id: int | None
) -> Outcomes:
    """Create or update returns, linked to their order or flagged `order_missing`. Idempotent."""
    records = list(records)
    outcomes = Outcomes()
    if not records:
        return outcomes
    ids = {r.amazon_order_id for r in records}
    orders = dict(
        Order.objects.filter(account=account, amazon_order_id__in=ids).values_list(
            "amazon_order_id", "pk"
        )
    )
    existing = {
        (r.amazon_order_id, r.sku, r.returned_at, r.line_key): r
        for r in Return.objects.filter(account=account, amazon_order_id__in=ids)
    }
    new, changed = [], []
    for record in records:
        sku, line_key = cut(Return, "sku", record.sku), cut(Return, "line_key", record.line_key)
        key = (record.amazon_order_id, sku, record.returned_at, line_key)
        ret = existing.get(key)
        order_pk = orders.get(record.amazon_order_id)
        if ret is None:
            ret = Return(
                account=account,
                amazon_order_id=record.amazon_order_id,
                sku=sku,
                returned_at=record.returned_at,
                line_key=line_key,
            )
            merge_values(vars(ret), record.values, _LIMITS)
            ret.order_id = order_pk
            ret.order_missing = order_pk is None
            stamp(vars(ret), report_id=source_report_id, line=record.line)
            existing[key] = ret
            new.append(ret)
            outcomes.mark(record.line, CREATED)
            continue
        if ret.pk is None:  # the same line twice in one batch
            outcomes.mark(record.line, UNCHANGED)
            continue
        did_change = merge_values(vars(ret), record.values, _LIMITS)
        if ret.order_id is None and order_pk is not None:
            ret.order_id, ret.order_missing = order_pk, False
            did_change = True
        if did_change:
            stamp(vars(ret), report_id=source_report_id, line=record.line)
            changed.append(ret)
        outcomes.mark(record.line, UPDATED if did_change else UNCHANGED)
    stored_pks = {ret.pk for ret in existing.values() if ret.pk is not None}
    RETURNS.upsert(RETURNS.rows(vars(ret) for ret in [*new, *changed]))
    # The new rows' keys are read back by the returns of these orders that were not there
    # before: the import holds the account's turn, so nobody else added any meanwhile.
    created = (
        []
        if not new
        else [
            pk
            for pk in Return.objects.filter(account=account, amazon_order_id__in=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
            if pk not in stored_pks
        ]
    )
    for event_type, pks in (
        ("return.created", created),
        ("return.updated", [ret.pk for ret in changed]),
    ):
        record_changes(kind="return", event_type=event_type, account_id=account.pk, entity_ids=pks)
    return outcomes

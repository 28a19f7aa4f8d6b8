"""Customer returns."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from amazon_settings.models import SellerAccount
from orders.models import (
    Order,
    Return,
)
from orders.services.outcomes import CREATED, UNCHANGED, UPDATED, Outcomes
from orders.services.tables import PROVENANCE as _PROVENANCE
from orders.services.tables import apply_values as _apply
from orders.services.tables import stamp as _stamp
from orders.services.tables import write as _write


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
        key = (record.amazon_order_id, record.sku, record.returned_at, record.line_key)
        ret = existing.get(key)
        values = dict(record.values)
        order_pk = orders.get(record.amazon_order_id)
        if ret is None:
            ret = Return(
                account=account,
                amazon_order_id=record.amazon_order_id,
                sku=record.sku,
                returned_at=record.returned_at,
                line_key=record.line_key,
            )
            _apply(ret, values)
            ret.order_id = order_pk
            ret.order_missing = order_pk is None
            _stamp(ret, report_id=source_report_id, line=record.line)
            existing[key] = ret
            new.append(ret)
            outcomes.mark(record.line, CREATED)
            continue
        if ret.pk is None:  # the same line twice in one batch
            outcomes.mark(record.line, UNCHANGED)
            continue
        did_change = _apply(ret, values)
        if ret.order_id is None and order_pk is not None:
            ret.order_id, ret.order_missing = order_pk, False
            did_change = True
        if did_change:
            _stamp(ret, report_id=source_report_id, line=record.line)
            changed.append(ret)
        outcomes.mark(record.line, UPDATED if did_change else UNCHANGED)
    fields = [
        "order",
        "order_missing",
        "asin",
        "fnsku",
        "product_name",
        "quantity",
        "fulfillment_center_id",
        "detailed_disposition",
        "reason",
        "status",
        "license_plate_number",
        "customer_comments",
        *_PROVENANCE,
    ]
    _write(
        Return,
        new,
        changed,
        unique_fields=["account", "amazon_order_id", "sku", "returned_at", "line_key"],
        update_fields=fields,
    )
    return outcomes

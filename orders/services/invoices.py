"""Documents with a number someone else gave them: Amazon's (VCS) and the seller's own.

Documents issued here are `orders.services.invoicing`'s; the sales and refunds they are made
from, `orders.services.vat_transactions`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from amazon_settings.models import SellerAccount
from core.changes import record_changes
from orders.models import Invoice, Order
from orders.services.outcomes import CREATED, UNCHANGED, UPDATED, Outcomes
from orders.services.tables import table_writer
from orders.services.values import cut, merge_values, stamp, text_limits

INVOICES = table_writer(Invoice, unique_fields=["account", "number", "kind"])
_LIMITS = text_limits(Invoice)


@dataclass
class InvoiceRecord:
    number: str
    kind: str
    line: int
    lines: list[int]
    values: dict[str, Any]


def upsert_invoices(
    *, account: SellerAccount, records: Iterable[InvoiceRecord], source_report_id: int | None
) -> Outcomes:
    """Create or update invoices with a number (Amazon's or the seller's), linked to their
    order when it is imported. Keyed by (account, number, kind). Idempotent.

    A document generated here is never changed by an import: when the seller uploaded it to
    Amazon, Amazon's reports list it under its number, which is then ours.
    """
    records = list(records)
    outcomes = Outcomes()
    if not records:
        return outcomes
    numbers = {cut(Invoice, "number", r.number) for r in records}
    existing = {
        (i.number, i.kind): i for i in Invoice.objects.filter(account=account, number__in=numbers)
    }
    order_ids = {r.values.get("amazon_order_id", "") for r in records}
    orders = dict(
        Order.objects.filter(account=account, amazon_order_id__in=order_ids).values_list(
            "amazon_order_id", "pk"
        )
    )
    new, changed = [], []
    for record in records:
        number = cut(Invoice, "number", record.number)
        invoice = existing.get((number, record.kind))
        if invoice is not None and invoice.source == Invoice.Source.GENERATED:
            for line in record.lines:
                outcomes.mark(line, UNCHANGED)
            continue
        created = invoice is None
        if invoice is None:
            invoice = Invoice(account=account, number=number, kind=record.kind)
        did_change = merge_values(vars(invoice), record.values, _LIMITS)
        order_pk = orders.get(invoice.amazon_order_id)
        if invoice.order_id is None and order_pk is not None:
            invoice.order_id = order_pk
            did_change = True
        if created:
            stamp(vars(invoice), report_id=source_report_id, line=record.line)
            new.append(invoice)
        elif did_change:
            stamp(vars(invoice), report_id=source_report_id, line=record.line)
            changed.append(invoice)
        outcome = CREATED if created else (UPDATED if did_change else UNCHANGED)
        for line in record.lines:
            outcomes.mark(line, outcome)
    INVOICES.upsert_instances([*new, *changed])
    for event_type, written in (("invoice.issued", new), ("invoice.updated", changed)):
        record_changes(
            kind="invoice",
            event_type=event_type,
            account_id=account.pk,
            entity_ids=[invoice.pk for invoice in written],
        )
    return outcomes

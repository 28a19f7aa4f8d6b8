"""Invoices and credit notes: Amazon's, the seller's, and those generated here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from amazon_settings.models import SellerAccount
from orders.models import Invoice, InvoiceSequence, Order
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


INVOICE_PREFIX = {Invoice.Kind.INVOICE: "INV", Invoice.Kind.CREDIT_NOTE: "CN"}


def upsert_invoices(
    *, account: SellerAccount, records: Iterable[InvoiceRecord], source_report_id: int | None
) -> Outcomes:
    """Create or update invoices with a number (Amazon's or the seller's), linked to their
    order when it is imported. Keyed by (account, number, kind). Idempotent."""
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
    return outcomes


def generate_missing_invoices(
    *,
    account: SellerAccount,
    records: Iterable[InvoiceRecord],
    issued_on: date,
    source_report_id: int | None,
) -> Outcomes:
    """Issue our own invoice or credit note for every transaction that has none yet.

    `records` carry `transaction_id` (and an empty number). A transaction that already has a
    document of that kind from any source gets nothing new. Numbers come from the account's
    `InvoiceSequence` row for (kind, year of `issued_on`), locked with `select_for_update`
    before the existing documents are read, so concurrent imports queue up and numbers have
    neither gaps nor duplicates (the counter rolls back with the import). Must run inside a
    transaction. Idempotent.
    """
    records = list(records)
    outcomes = Outcomes()
    if not records:
        return outcomes
    by_kind: dict[str, list[InvoiceRecord]] = defaultdict(list)
    for record in records:
        by_kind[record.kind].append(record)
    for kind, kind_records in sorted(by_kind.items()):
        sequence, _ = InvoiceSequence.objects.get_or_create(
            account=account, kind=kind, year=issued_on.year
        )
        sequence = InvoiceSequence.objects.select_for_update().get(pk=sequence.pk)
        txns = {r.values["transaction_id"] for r in kind_records}
        have = set(
            Invoice.objects.filter(account=account, kind=kind, transaction_id__in=txns).values_list(
                "transaction_id", flat=True
            )
        )
        order_ids = {r.values.get("amazon_order_id", "") for r in kind_records}
        orders = dict(
            Order.objects.filter(account=account, amazon_order_id__in=order_ids).values_list(
                "amazon_order_id", "pk"
            )
        )
        new = []
        for record in kind_records:
            txn = record.values["transaction_id"]
            if txn in have:
                for line in record.lines:
                    outcomes.mark(line, UNCHANGED)
                continue
            have.add(txn)
            sequence.last_number += 1
            number = f"{INVOICE_PREFIX[kind]}-{issued_on.year}-{sequence.last_number:06d}"
            invoice = Invoice(
                account=account,
                number=number,
                kind=kind,
                source=Invoice.Source.GENERATED,
                issued_on=issued_on,
            )
            merge_values(vars(invoice), record.values, _LIMITS)
            invoice.order_id = orders.get(invoice.amazon_order_id)
            stamp(vars(invoice), report_id=source_report_id, line=record.line)
            new.append(invoice)
            for line in record.lines:
                outcomes.mark(line, CREATED)
        if new:
            # Plain inserts: the sequence lock makes this the only writer of these numbers, and
            # a clash with the per-transaction constraint must fail loudly, not renumber.
            Invoice.objects.bulk_create(new, batch_size=500)
            sequence.save(update_fields=["last_number"])
    return outcomes

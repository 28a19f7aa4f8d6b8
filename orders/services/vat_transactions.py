"""The sales and refunds of Amazon's VCS Lite data, and who invoices each of them.

Every VCS Lite transaction is kept (`VatTransaction`), whatever the marketplace's invoicing
mode: its `invoicing` says who issued its document. Amazon's claim always wins: a transaction
that Amazon invoices (an `is-amazon-invoiced` line, or a document of Amazon's VCS report for the
same shipment or refund) is Amazon's, and an invoice generated here for it before Amazon's
arrived is cancelled, keeping its number (`settle_orders`). Numbering and issuing are
`orders.services.invoicing`.

Everything here runs inside the caller's transaction with the account row locked (the import
driver's batch, or the issuing service), so two imports of one account never decide the same
transaction at once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone, translation

from amazon_settings.models import SellerAccount
from core.audit import record_audit_event
from core.changes import record_changes
from orders import stored_texts as texts
from orders.models import Invoice, Order, VatTransaction
from orders.services.outcomes import CREATED, UNCHANGED, UPDATED, Outcomes
from orders.services.values import merge_values, stamp, text_limits

Invoicing = VatTransaction.Invoicing
_LIMITS = text_limits(VatTransaction)
# The audit log's action for a cancellation made by the product itself (an import, the
# clean-up command), not by a page: the audit log names page actions by their URL name.
CANCEL_ACTION = "orders:cancel_invoice"
# Orders settled per transaction by the clean-up.
_CLEAN_UP_BATCH = 1000


@dataclass
class TransactionRecord:
    """One VCS Lite transaction as a document's rows give it."""

    kind: str
    transaction_id: str
    line: int  # the first document line of the transaction
    lines: list[int] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    invoice_lines: list[dict[str, Any]] = field(default_factory=list)


def record_vat_transactions(
    *,
    account: SellerAccount,
    records: Iterable[TransactionRecord],
    source_report_id: int | None,
) -> tuple[Outcomes, list[int]]:
    """Create or update the transactions, linked to their orders, and decide who invoiced each
    one that has a document already (generated here, Amazon's, or the seller's own number).

    Keyed by (account, kind, transaction_id): idempotent, and a transaction listed by several
    documents is one row. Returns the per-line outcomes and the primary keys of the records'
    transactions that are still open. Amazon's claims are applied afterwards by
    `settle_orders`.
    """
    records = list(records)
    outcomes = Outcomes()
    if not records:
        return outcomes, []
    transaction_ids = {r.transaction_id for r in records}
    stored = {
        (t.kind, t.transaction_id): t
        for t in VatTransaction.objects.filter(account=account, transaction_id__in=transaction_ids)
    }
    documents = _documents_by_transaction(account, transaction_ids)
    orders = {
        order_id: (pk, marketplace_id)
        for order_id, pk, marketplace_id in Order.objects.filter(
            account=account, amazon_order_id__in={r.values["amazon_order_id"] for r in records}
        ).values_list("amazon_order_id", "pk", "marketplace_id")
    }
    new, changed = [], []
    links: list[tuple[Invoice, tuple[str, str]]] = []
    for record in records:
        key = (record.kind, record.transaction_id)
        txn = stored.get(key)
        created = txn is None
        if txn is None:
            txn = VatTransaction(
                account=account, kind=record.kind, transaction_id=record.transaction_id
            )
            stored[key] = txn
        did_change = merge_values(vars(txn), record.values, _LIMITS)
        if txn.lines != record.invoice_lines:
            txn.lines = record.invoice_lines
            did_change = True
        order_pk, marketplace_id = orders.get(txn.amazon_order_id, (None, ""))
        if txn.order_id is None and order_pk is not None:
            txn.order_id = order_pk
            did_change = True
        if not txn.marketplace_id and marketplace_id:
            txn.marketplace_id = marketplace_id
            did_change = True
        document = documents.get(key)
        if txn.invoicing == Invoicing.OPEN and document is not None:
            txn.invoicing = _invoicing_by_source(document)
            did_change = True
            if document.source == Invoice.Source.GENERATED and document.vat_transaction_id is None:
                links.append((document, key))
        if created:
            stamp(vars(txn), report_id=source_report_id, line=record.line)
            new.append(txn)
        elif did_change:
            stamp(vars(txn), report_id=source_report_id, line=record.line)
            changed.append(txn)
        for line in record.lines:
            outcomes.mark(line, CREATED if created else (UPDATED if did_change else UNCHANGED))
    VatTransaction.objects.bulk_create(new, batch_size=500)
    VatTransaction.objects.bulk_update(
        changed,
        [f.name for f in VatTransaction._meta.concrete_fields if not f.primary_key],
        batch_size=500,
    )
    # A generated invoice of an earlier version, which kept no transaction: now it has one.
    for invoice, key in links:
        invoice.vat_transaction_id = stored[key].pk
    Invoice.objects.bulk_update([invoice for invoice, _ in links], ["vat_transaction"])
    still_open = [
        stored[(r.kind, r.transaction_id)].pk
        for r in records
        if stored[(r.kind, r.transaction_id)].invoicing == Invoicing.OPEN
    ]
    return outcomes, still_open


def _documents_by_transaction(
    account: SellerAccount, transaction_ids: Collection[str]
) -> dict[tuple[str, str], Invoice]:
    """The stored documents of these transactions by (kind, transaction id): a generated one
    before the others, since it is the one that must not be issued twice."""
    found: dict[tuple[str, str], Invoice] = {}
    for document in Invoice.objects.filter(
        account=account, transaction_id__in=transaction_ids
    ).only("pk", "kind", "transaction_id", "source", "vat_transaction_id", "number"):
        key = (document.kind, document.transaction_id)
        if key not in found or document.source == Invoice.Source.GENERATED:
            found[key] = document
    return found


def _invoicing_by_source(document: Invoice) -> str:
    return {
        Invoice.Source.GENERATED: Invoicing.ISSUED,
        Invoice.Source.AMAZON_VCS: Invoicing.AMAZON,
    }.get(document.source, Invoicing.SELLER)


@dataclass(frozen=True)
class AmazonCoverage:
    """What Amazon's own documents of some orders cover: by (kind, transaction id), and an
    invoice also by (order id, shipment id). Values are Amazon's document numbers."""

    transactions: dict[tuple[str, str], str]
    shipments: dict[tuple[str, str], str]

    def number_for(self, *, kind: str, transaction_id: str, order_id: str, shipment_id: str) -> str:
        """Amazon's document for this sale or refund, "" if Amazon has none."""
        if transaction_id and (number := self.transactions.get((kind, transaction_id))):
            return number
        if kind == Invoice.Kind.INVOICE and shipment_id:
            return self.shipments.get((order_id, shipment_id), "")
        return ""


def amazon_coverage(account: SellerAccount, order_ids: Collection[str]) -> AmazonCoverage:
    """What Amazon's documents (VCS, or numbered `is-amazon-invoiced` lines) of these orders
    cover. One query."""
    transactions: dict[tuple[str, str], str] = {}
    shipments: dict[tuple[str, str], str] = {}
    for kind, transaction_id, order_id, shipment_id, number in Invoice.objects.filter(
        account=account, source=Invoice.Source.AMAZON_VCS, amazon_order_id__in=order_ids
    ).values_list("kind", "transaction_id", "amazon_order_id", "shipment_id", "number"):
        if transaction_id:
            transactions.setdefault((kind, transaction_id), number)
        if kind == Invoice.Kind.INVOICE and shipment_id:
            shipments.setdefault((order_id, shipment_id), number)
    return AmazonCoverage(transactions, shipments)


@dataclass(frozen=True)
class Cancellation:
    invoice: Invoice
    reason: str


def settle_orders(
    *,
    account: SellerAccount,
    order_ids: Collection[str],
    trigger: str,
    acting_user: AbstractBaseUser | None = None,
    dry_run: bool = False,
) -> list[Cancellation]:
    """Give Amazon what Amazon invoiced among these orders' sales and refunds.

    A transaction that Amazon invoices (its VCS Lite line says so, or Amazon's VCS report has a
    document for the same transaction or, for a sale, the same shipment) becomes Amazon's. An
    issued invoice generated here for such a sale or refund doubles Amazon's: it is cancelled
    (status, time and reason; its number stays, never reused), and each cancellation is
    written to the audit log with `trigger` (what found it). With `dry_run`, nothing is
    written: the cancellations that would be made are returned. Idempotent: a second run
    finds nothing. Runs in the caller's transaction.
    """
    if not order_ids:
        return []
    coverage = amazon_coverage(account, order_ids)
    transactions = list(
        VatTransaction.objects.filter(account=account, amazon_order_id__in=order_ids)
    )
    flagged = {(t.kind, t.transaction_id) for t in transactions if t.is_amazon_invoiced}
    cancellations = []
    for invoice in Invoice.objects.filter(
        account=account,
        source=Invoice.Source.GENERATED,
        status=Invoice.Status.ISSUED,
        amazon_order_id__in=order_ids,
    ):
        refund = invoice.kind == Invoice.Kind.CREDIT_NOTE
        number = coverage.number_for(
            kind=invoice.kind,
            transaction_id=invoice.transaction_id,
            order_id=invoice.amazon_order_id,
            shipment_id=invoice.shipment_id,
        )
        if number:
            template = texts.AMAZON_ISSUED_REFUND if refund else texts.AMAZON_ISSUED_SALE
            reason = texts.stored_text(template, number=number)
        elif (invoice.kind, invoice.transaction_id) in flagged:
            reason = texts.VCS_LITE_REFUND if refund else texts.VCS_LITE_SALE
        else:
            continue
        cancellations.append(Cancellation(invoice, reason))
    amazons = []
    for txn in transactions:
        claimed = txn.is_amazon_invoiced or coverage.number_for(
            kind=txn.kind,
            transaction_id=txn.transaction_id,
            order_id=txn.amazon_order_id,
            shipment_id=txn.shipment_id,
        )
        if claimed and txn.invoicing != Invoicing.AMAZON:
            txn.invoicing = Invoicing.AMAZON
            amazons.append(txn)
    if not dry_run:
        VatTransaction.objects.bulk_update(amazons, ["invoicing"], batch_size=500)
        cancel_invoices(cancellations, trigger=trigger, acting_user=acting_user)
    return cancellations


def _cancelled_detail(invoice: Invoice, *, reason: str, trigger: str) -> str:
    """The audit detail of a cancelled invoice, in English (the log translates it when shown)."""
    with translation.override("en"):
        kind = str(invoice.get_kind_display())
    return texts.stored_text(
        texts.INVOICE_CANCELLED, kind=kind, number=invoice.number, reason=reason, trigger=trigger
    )


def cancel_invoices(
    cancellations: list[Cancellation], *, trigger: str, acting_user: AbstractBaseUser | None
) -> None:
    """Mark the invoices cancelled with their reasons, and write one audit event for each.
    Their numbers stay: numbering keeps no gap and never reuses one."""
    if not cancellations:
        return
    now = timezone.now()
    limit = Invoice._meta.get_field("cancellation_reason").max_length
    for cancellation in cancellations:
        invoice = cancellation.invoice
        invoice.status = Invoice.Status.CANCELLED
        invoice.cancelled_at = now
        invoice.cancellation_reason = cancellation.reason[:limit]
    Invoice.objects.bulk_update(
        [c.invoice for c in cancellations],
        ["status", "cancelled_at", "cancellation_reason"],
        batch_size=500,
    )
    by_account: dict[int, list[int]] = {}
    for cancellation in cancellations:
        by_account.setdefault(cancellation.invoice.account_id, []).append(cancellation.invoice.pk)
    for account_id, invoice_pks in by_account.items():
        record_changes(
            kind="invoice",
            event_type="invoice.cancelled",
            account_id=account_id,
            entity_ids=invoice_pks,
            now=now,
        )
    for cancellation in cancellations:
        invoice = cancellation.invoice
        record_audit_event(
            user=acting_user,
            action=CANCEL_ACTION,
            object_type="invoice",
            object_id=str(invoice.pk),
            detail=_cancelled_detail(invoice, reason=cancellation.reason, trigger=trigger),
        )


def cancel_duplicate_invoices(
    *,
    account: SellerAccount | None = None,
    dry_run: bool = False,
    acting_user: AbstractBaseUser | None = None,
) -> list[Cancellation]:
    """Clean up data imported before Amazon's claims were applied: cancel every issued invoice
    generated here for a sale or refund that Amazon invoices (`settle_orders`), on one account
    or all. Each account's orders are settled a thousand at a time, each batch in its own
    transaction with the account row locked, as imports do. Idempotent; with `dry_run`,
    returns what would be cancelled and writes nothing."""
    accounts = [account] if account is not None else list(SellerAccount.objects.all())
    cancellations: list[Cancellation] = []
    for each in accounts:
        order_ids = sorted(
            set(
                Invoice.objects.filter(
                    account=each,
                    source=Invoice.Source.GENERATED,
                    status=Invoice.Status.ISSUED,
                ).values_list("amazon_order_id", flat=True)
            )
        )
        for start in range(0, len(order_ids), _CLEAN_UP_BATCH):
            with transaction.atomic():
                SellerAccount.objects.select_for_update().filter(pk=each.pk).first()
                cancellations += settle_orders(
                    account=each,
                    order_ids=order_ids[start : start + _CLEAN_UP_BATCH],
                    trigger="the clean-up command cancel_duplicate_invoices",
                    acting_user=acting_user,
                    dry_run=dry_run,
                )
    return cancellations

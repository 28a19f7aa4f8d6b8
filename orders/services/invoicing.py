"""Issuing invoices and credit notes here, for the marketplaces the seller set to VCS Lite.

Only a sale or refund of Amazon's VCS Lite data (`VatTransaction`) that nobody invoiced yet
(`OPEN`), of a marketplace in VCS Lite mode, gets a document here. Before the first one, the
seller's legal data of every such marketplace of the account must be complete
(`SellerAccount.invoicing_data_missing`): while any is missing, nothing of that account is
numbered, the sales wait, and Settings, the home page and "Orders missing?" say why
(`orders.selectors.invoicing_stops`). Once the data is saved (`configure_invoicing`), and on
every pass of the worker (`issue_all_waiting_invoices`), everything waiting is issued.

Numbers come from `InvoiceSequence`, one counter per (account, kind, year), taken under a row
lock in the same transaction that stores the documents, with the account row locked first as
imports do: concurrent imports, the worker and a seller saving Settings queue up, and a
rolled-back transaction gives its numbers back, so numbering has neither gaps nor duplicates.
The unique `Invoice.vat_transaction` makes a second document for one transaction impossible
whatever the order of the imports.

Each document stores what it prints (seller, buyer, dates, lines): see `Invoice`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from amazon_settings import services as account_services
from amazon_settings.models import AccountMarketplace, InvoicingMode, SellerAccount
from core.changes import record_changes
from orders.models import Invoice, InvoiceLine, InvoiceSequence, Order, VatTransaction
from orders.selectors import InvoicingStop, invoicing_stop, waiting_transactions

logger = logging.getLogger(__name__)

Invoicing = VatTransaction.Invoicing
INVOICE_PREFIX = {Invoice.Kind.INVOICE: "INV", Invoice.Kind.CREDIT_NOTE: "CN"}
# Issued while a seller waits for Settings to answer; the worker issues the rest.
ISSUED_PER_REQUEST = 1000
_ZERO = Decimal("0.00")


@dataclass
class IssueResult:
    issued: list[Invoice] = field(default_factory=list)
    stop: InvoicingStop | None = None
    # Credit notes that wait for the invoice they correct to be known.
    uncorrectable: int = 0


def issue_waiting_invoices(
    account: SellerAccount,
    *,
    only: Collection[int] | None = None,
    limit: int | None = None,
    issued_on: date | None = None,
) -> IssueResult:
    """Issue an invoice or credit note for each of the account's waiting sales and refunds
    (those of `only`, by primary key, when given, and the waiting refunds of their orders; at
    most `limit`), dated `issued_on` (today).

    Nothing is issued, and the stop is returned, while the seller's legal data of a VCS Lite
    marketplace is missing. Invoices are issued before credit notes, so that a refund can name
    the invoice of its sale issued in the same pass; a credit note whose invoice is not known
    yet (not imported) keeps waiting. Transactional (joins the caller's transaction, e.g. an
    import batch) and idempotent: an issued transaction is no longer waiting.
    """
    issued_on = issued_on or timezone.localdate()
    result = IssueResult()
    with transaction.atomic():
        # The account's turn, as imports take it (orders.importers.driver.write_transaction).
        SellerAccount.objects.select_for_update().filter(pk=account.pk).first()
        marketplaces = {
            m.marketplace_id: m
            for m in AccountMarketplace.objects.filter(
                account=account, invoicing_mode=InvoicingMode.VCS_LITE
            )
        }
        if not marketplaces:
            return result
        waiting = (
            waiting_transactions(account).select_related("order").order_by("happened_on", "pk")
        )
        if only is not None:
            # With them, the refunds of their orders that waited for the invoice they correct.
            only = list(only)
            orders = VatTransaction.objects.filter(pk__in=only).values("amazon_order_id")
            waiting = waiting.filter(
                Q(pk__in=only) | Q(kind=Invoice.Kind.CREDIT_NOTE, amazon_order_id__in=orders)
            )
        if limit is not None:
            waiting = waiting[:limit]
        waiting = list(waiting)
        if not waiting:
            return result
        result.stop = invoicing_stop(account)
        if result.stop is not None:
            return result
        by_kind: dict[str, list[VatTransaction]] = defaultdict(list)
        for txn in waiting:
            by_kind[txn.kind].append(txn)
        corrected = _issued_invoices_of({txn.amazon_order_id for txn in waiting}, account)
        for kind in (Invoice.Kind.INVOICE, Invoice.Kind.CREDIT_NOTE):
            if by_kind[kind]:
                result.issued += _issue(
                    account,
                    kind,
                    by_kind[kind],
                    marketplaces=marketplaces,
                    issued_on=issued_on,
                    corrected=corrected,
                    result=result,
                )
    if result.issued:
        logger.info("Issued %d documents for %s", len(result.issued), account)
    return result


def _issued_invoices_of(order_ids: Collection[str], account: SellerAccount):
    """The issued invoices (any source) of these orders, by order id: what credit notes
    correct."""
    found: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in Invoice.objects.filter(
        account=account,
        kind=Invoice.Kind.INVOICE,
        status=Invoice.Status.ISSUED,
        amazon_order_id__in=order_ids,
    ).order_by("issued_on", "pk"):
        found[invoice.amazon_order_id].append(invoice)
    return found


def _corrected_invoice(txn: VatTransaction, candidates: list[Invoice]) -> Invoice | None:
    """The invoice a refund corrects: the one of its shipment, else the one its data names,
    else its order's only invoice."""
    for invoice in candidates:
        if txn.shipment_id and invoice.shipment_id == txn.shipment_id:
            return invoice
    for invoice in candidates:
        if txn.original_number and invoice.number == txn.original_number:
            return invoice
    return candidates[0] if len(candidates) == 1 else None


def _issue(
    account: SellerAccount,
    kind: str,
    transactions: list[VatTransaction],
    *,
    marketplaces: dict[str, AccountMarketplace],
    issued_on: date,
    corrected: dict[str, list[Invoice]],
    result: IssueResult,
) -> list[Invoice]:
    sequence, _ = InvoiceSequence.objects.get_or_create(
        account=account, kind=kind, year=issued_on.year
    )
    sequence = InvoiceSequence.objects.select_for_update().get(pk=sequence.pk)
    new: list[Invoice] = []
    lines: list[list[InvoiceLine]] = []
    for txn in transactions:
        corrects = None
        if kind == Invoice.Kind.CREDIT_NOTE:
            corrects = _corrected_invoice(txn, corrected.get(txn.amazon_order_id, []))
            if corrects is None and not txn.original_number:
                result.uncorrectable += 1
                continue
        sequence.last_number += 1
        invoice = _document(
            txn,
            number=f"{INVOICE_PREFIX[kind]}-{issued_on.year}-{sequence.last_number:06d}",
            marketplace=marketplaces[txn.marketplace_id],
            issued_on=issued_on,
            corrects=corrects,
        )
        invoice_lines = _lines(txn)
        invoice.net = sum((line.net for line in invoice_lines), _ZERO)
        invoice.vat = sum((line.vat for line in invoice_lines), _ZERO)
        invoice.gross = sum((line.gross for line in invoice_lines), _ZERO)
        new.append(invoice)
        lines.append(invoice_lines)
    if not new:
        return []
    # Plain inserts: the sequence lock makes this the only writer of these numbers, and a
    # clash with a unique constraint (one document per transaction) must fail, not renumber.
    Invoice.objects.bulk_create(new, batch_size=500)
    for invoice, invoice_lines in zip(new, lines, strict=True):
        for line in invoice_lines:
            line.invoice_id = invoice.pk
    InvoiceLine.objects.bulk_create([line for group in lines for line in group], batch_size=500)
    VatTransaction.objects.filter(pk__in=[i.vat_transaction_id for i in new]).update(
        invoicing=Invoicing.ISSUED
    )
    sequence.save(update_fields=["last_number"])
    record_changes(
        kind="invoice",
        event_type="invoice.issued",
        account_id=account.pk,
        entity_ids=[invoice.pk for invoice in new],
    )
    if kind == Invoice.Kind.INVOICE:
        for invoice in new:
            corrected.setdefault(invoice.amazon_order_id, []).append(invoice)
    return new


def _document(
    txn: VatTransaction,
    *,
    number: str,
    marketplace: AccountMarketplace,
    issued_on: date,
    corrects: Invoice | None,
) -> Invoice:
    """A new document for the transaction with its snapshot of seller and buyer (totals are
    the sums of its lines, set once they are made)."""
    buyer_name, buyer_address, buyer_vat = _buyer(txn, txn.order)
    return Invoice(
        account_id=txn.account_id,
        order_id=txn.order_id,
        amazon_order_id=txn.amazon_order_id,
        number=number,
        kind=txn.kind,
        source=Invoice.Source.GENERATED,
        status=Invoice.Status.ISSUED,
        issued_on=issued_on,
        transaction_id=txn.transaction_id,
        shipment_id=txn.shipment_id,
        currency=txn.currency,
        vat_transaction=txn,
        corrected_invoice=corrects,
        original_number=corrects.number if corrects is not None else txn.original_number,
        marketplace_id=txn.marketplace_id,
        delivered_on=txn.happened_on,
        seller_name=marketplace.seller_legal_name,
        seller_address="\n".join(marketplace.seller_address_lines),
        seller_vat_id=marketplace.seller_vat_id,
        buyer_name=buyer_name,
        buyer_address=buyer_address,
        buyer_vat_number=buyer_vat,
        source_report_id=txn.source_report_id,
        source_line=txn.source_line,
    )


def _buyer(txn: VatTransaction, order: Order | None) -> tuple[str, str, str]:
    """(name, address, VAT number) the document bills: the VCS Lite data's billing details,
    else the order's buyer and ship-to address."""
    if txn.buyer_name or txn.buyer_company_name or txn.buyer_address_1:
        company, person = txn.buyer_company_name, txn.buyer_name
        street = [txn.buyer_address_1, txn.buyer_address_2, txn.buyer_address_3]
        place = (txn.buyer_postal_code, txn.buyer_city, txn.buyer_state, txn.buyer_country)
        vat = txn.buyer_vat_number
    elif order is not None:
        company, person = order.buyer_company_name, order.buyer_name or order.recipient_name
        street = [order.ship_address_1, order.ship_address_2, order.ship_address_3]
        place = (order.ship_postal_code, order.ship_city, order.ship_state, order.ship_country)
        vat = txn.buyer_vat_number or order.buyer_vat_number
    else:
        return "", "", txn.buyer_vat_number
    postal, city, state, country = place
    lines = [person if company and person != company else "", *street]
    lines += [" ".join(part for part in (postal, city) if part), state, country]
    return company or person, "\n".join(line for line in lines if line), vat


def _lines(txn: VatTransaction) -> list[InvoiceLine]:
    return [
        InvoiceLine(
            position=position,
            description=line["description"][:500],
            sku=line.get("sku", "")[:100],
            quantity=int(line.get("quantity", 1)),
            vat_rate=Decimal(line["vat_rate"]),
            net=Decimal(line["net"]),
            vat=Decimal(line["vat"]),
            gross=Decimal(line["gross"]),
        )
        for position, line in enumerate(txn.lines, start=1)
    ]


@dataclass(frozen=True)
class ConfiguredInvoicing:
    marketplace: AccountMarketplace
    result: IssueResult
    still_waiting: int


def configure_invoicing(
    marketplace: AccountMarketplace,
    *,
    invoicing_mode: str,
    seller_legal_name: str,
    seller_street: str,
    seller_postal_code: str,
    seller_city: str,
    seller_country: str,
    seller_vat_id: str,
    acting_user: AbstractBaseUser | None,
) -> ConfiguredInvoicing:
    """Save a marketplace's invoicing mode and seller data (Settings), then issue what waited
    for them, up to `ISSUED_PER_REQUEST` (the worker issues the rest within a pass). Raises
    ValidationError for a value the settings refuse."""
    marketplace = account_services.set_marketplace_invoicing(
        marketplace,
        invoicing_mode=invoicing_mode,
        seller_legal_name=seller_legal_name,
        seller_street=seller_street,
        seller_postal_code=seller_postal_code,
        seller_city=seller_city,
        seller_country=seller_country,
        seller_vat_id=seller_vat_id,
        acting_user=acting_user,
    )
    result = issue_waiting_invoices(marketplace.account, limit=ISSUED_PER_REQUEST)
    still_waiting = waiting_transactions(marketplace.account).count()
    return ConfiguredInvoicing(marketplace, result, still_waiting)


def issue_all_waiting_invoices(*, limit_per_account: int = 5000) -> int:
    """The worker's pass: issue what waits on every account whose seller data is complete.
    Cheap when nothing waits (one query). Idempotent. Returns how many were issued."""
    account_ids = (
        VatTransaction.objects.filter(invoicing=Invoicing.OPEN)
        .values_list("account_id", flat=True)
        .distinct()
    )
    issued = 0
    for account in SellerAccount.objects.filter(pk__in=list(account_ids)):
        issued += len(issue_waiting_invoices(account, limit=limit_per_account).issued)
    return issued

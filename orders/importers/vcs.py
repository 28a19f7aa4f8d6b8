"""VAT reports: VCS Lite data (GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT) and Amazon's VCS invoices
(SC_VAT_TAX_REPORT).

VCS Lite (TAB-separated, one row per order item and transaction): corrects the orders we have
(business flag, VAT numbers, VAT of merchant-fulfilled lines) and issues our own invoice
(SHIPMENT) or credit note (REFUND/RETURN) for every transaction that has none yet, numbered per
account without gaps (`orders.services.invoices.generate_missing_invoices`). A row that already
carries the seller's invoice number is stored as that invoice instead.

VCS (comma-separated CSV, one row per item): Amazon's invoices and credit notes, one document per
`VAT Invoice Number` with its amounts summed over the rows. Rows without an invoice number
(Amazon did not invoice them) are counted unchanged. Amounts are kept as the reports give them:
credit notes are negative.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TextIO

from django.utils import timezone

from orders.importers.base import ImportContext
from orders.importers.cells import RowProblem, parse_bool, parse_date, parse_id, parse_money
from orders.importers.common import column_length, required_value
from orders.importers.driver import DocumentState, GroupedRowImporter
from orders.importers.parsing import Row, Table, read_csv
from orders.models import Invoice
from orders.services.invoices import InvoiceRecord, generate_missing_invoices, upsert_invoices
from orders.services.orders import OrderCorrection, correct_orders
from orders.services.outcomes import UPDATED, Outcomes

VCS_LITE_REPORT_TYPES = ("GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT",)
VCS_REPORT_TYPES = ("SC_VAT_TAX_REPORT",)

_CREDIT_TYPES = {"REFUND", "RETURN"}
_TRANSACTION_ID_LENGTH = column_length(Invoice, "transaction_id")


def _kind(transaction_type: str) -> str:
    kind = transaction_type.strip().upper()
    if kind in _CREDIT_TYPES:
        return Invoice.Kind.CREDIT_NOTE
    if kind == "SHIPMENT":
        return Invoice.Kind.INVOICE
    raise RowProblem(f"transaction type {transaction_type!r} is not SHIPMENT, RETURN or REFUND")


class _OrderVat:
    """What one order's rows of a VAT report say: corrections and documents."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        self.lines: list[int] = []
        self.first_line = 0
        self.order_values: dict[str, Any] = {}
        self.item_values: dict[str, dict[str, Any]] = {}
        self.documents: dict[tuple[str, str], InvoiceRecord] = {}

    def add_amounts(
        self, key: tuple[str, str], line: int, values: dict[str, Any], amounts: tuple
    ) -> None:
        net, vat, gross = amounts
        record = self.documents.get(key)
        if record is None:
            record = InvoiceRecord(
                number=values.get("number", ""), kind=key[0], line=line, lines=[], values=values
            )
            record.values.update(net=Decimal("0.00"), vat=Decimal("0.00"), gross=Decimal("0.00"))
            self.documents[key] = record
        record.values["net"] += net
        record.values["vat"] += vat
        record.values["gross"] += gross
        record.lines.append(line)


class _VatImporter(GroupedRowImporter[_OrderVat, DocumentState]):
    """What both VAT importers share: one group per order, nothing kept across rows."""

    def start(self, table: Table, context: ImportContext) -> DocumentState:
        return DocumentState(context=context)

    def lines_of(self, group: _OrderVat) -> list[int]:
        return group.lines


class VcsLiteImporter(_VatImporter):
    """GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT (VIDR)."""

    report_types = VCS_LITE_REPORT_TYPES
    order_column = "order-id"
    required_columns = (
        "order-id",
        "transaction-id",
        "transaction-type",
        "item-vat-incl-amount",
        "item-vat-amount",
    )

    def add_row(
        self, group: _OrderVat | None, row: Row, order_id: str, state: DocumentState
    ) -> _OrderVat:
        kind = _kind(required_value(row, "transaction-type"))
        transaction_id = parse_id(
            row.get("transaction-id"), column="transaction-id", max_length=_TRANSACTION_ID_LENGTH
        )
        item_id = parse_id(row.get("order-item-id"), column="order-item-id", required=False)
        amounts = {}
        # Promotions are negative: the invoice is for what the buyer paid (Order.total).
        for part in ("item", "shipping", "gift-wrap", "item-promo", "shipping-promo", "gift-promo"):
            incl = parse_money(row.get(f"{part}-vat-incl-amount"), column=f"{part}-vat-incl-amount")
            vat = parse_money(row.get(f"{part}-vat-amount"), column=f"{part}-vat-amount")
            amounts[part] = (incl, vat)
        gross = sum((incl for incl, _ in amounts.values()), Decimal("0.00"))
        vat_total = sum((vat for _, vat in amounts.values()), Decimal("0.00"))
        shipped_on = parse_date(row.get("shipment-date"), column="shipment-date")
        number = row.get("invoice-number")
        order_values: dict[str, Any] = {
            "buyer_vat_number": row.get("buyer-vat-number"),
            "seller_vat_number": row.get("seller-vat-number"),
            "buyer_company_name": row.get("buyer-company-name"),
        }
        if row.has("is-business-order"):
            order_values["is_business_order"] = parse_bool(row.get("is-business-order"))
        values = {
            "amazon_order_id": order_id,
            "transaction_id": transaction_id,
            "shipment_id": row.get("shipping-id"),
            "currency": row.get("currency"),
            "original_number": row.get("original-vat-invoice-number"),
            "is_corrected": parse_bool(row.get("is-invoice-corrected")),
        }
        if number:
            values |= {"number": number, "source": Invoice.Source.VCS_LITE}
            values["issued_on"] = shipped_on
        if group is None:
            group = _OrderVat(order_id)
            group.first_line = row.line
        group.order_values.update({k: v for k, v in order_values.items() if v != ""})
        if kind == Invoice.Kind.INVOICE and item_id:
            # The VAT of a shipped line corrects the order item (MFN only, see correct_orders).
            group.item_values[item_id] = {
                "item_tax": amounts["item"][1],
                "shipping_tax": amounts["shipping"][1],
            }
        group.add_amounts(
            (kind, number or transaction_id),
            row.line,
            values,
            (gross - vat_total, vat_total, gross),
        )
        group.lines.append(row.line)
        return group

    def write(self, groups: list[_OrderVat], context: ImportContext) -> Outcomes:
        account, report_id = context.account, context.source_report_id
        changed = correct_orders(
            account=account,
            corrections={
                g.order_id: OrderCorrection(g.first_line, g.order_values, g.item_values)
                for g in groups
            },
            source_report_id=report_id,
        )
        documents = [d for g in groups for d in g.documents.values()]
        numbered = [d for d in documents if d.number]
        outcomes = upsert_invoices(account=account, records=numbered, source_report_id=report_id)
        generated = generate_missing_invoices(
            account=account,
            records=[d for d in documents if not d.number],
            issued_on=timezone.localdate(),
            source_report_id=report_id,
        )
        for line, outcome in generated.by_line.items():
            outcomes.mark(line, outcome)
        for group in groups:
            if changed.get(group.order_id):
                for line in group.lines:
                    outcomes.mark(line, UPDATED)
        return outcomes


class VcsImporter(_VatImporter):
    """SC_VAT_TAX_REPORT: Amazon's VAT Calculation Report (VCS), comma-separated."""

    report_types = VCS_REPORT_TYPES
    order_column = "Order ID"
    required_columns = ("Order ID", "Transaction Type", "VAT Invoice Number")
    _PARTS = ("OUR_PRICE", "SHIPPING", "GIFTWRAP")

    def read(self, stream: TextIO) -> Table:
        return read_csv(stream)

    def add_row(
        self, group: _OrderVat | None, row: Row, order_id: str, state: DocumentState
    ) -> _OrderVat:
        kind = _kind(required_value(row, "Transaction Type"))
        number = row.get("VAT Invoice Number")
        net = vat = gross = Decimal("0.00")
        for part in self._PARTS:
            gross += parse_money(row.get(f"{part} Tax Inclusive Selling Price"), column=part)
            gross += parse_money(row.get(f"{part} Tax Inclusive Promo Amount"), column=part)
            vat += parse_money(row.get(f"{part} Tax Amount"), column=part)
            vat += parse_money(row.get(f"{part} Tax Amount Promo"), column=part)
            net += parse_money(row.get(f"{part} Tax Exclusive Selling Price"), column=part)
            net += parse_money(row.get(f"{part} Tax Exclusive Promo Amount"), column=part)
        date_column = "Shipment Date" if kind == Invoice.Kind.INVOICE else "Tax Calculation Date"
        issued_on = parse_date(row.get(date_column), column=date_column) or parse_date(
            row.get("Tax Calculation Date"), column="Tax Calculation Date"
        )
        url = row.get("Invoice Url")
        if url and not url.lower().startswith(("https://", "http://")):
            raise RowProblem(f"Invoice Url: {url[:60]!r} is not a web address")
        values = {
            "number": number,
            "amazon_order_id": order_id,
            "source": Invoice.Source.AMAZON_VCS,
            "issued_on": issued_on,
            "transaction_id": row.get("Transaction ID"),
            "shipment_id": row.get("Shipment ID"),
            "currency": row.get("Currency"),
            "url": url,
            "original_number": row.get("Original VAT Invoice Number"),
            "is_corrected": parse_bool(row.get("Is Invoice Corrected")),
        }
        if group is None:
            group = _OrderVat(order_id)
            group.first_line = row.line
        if number:
            group.add_amounts((kind, number), row.line, values, (net, vat, gross))
        group.lines.append(row.line)
        return group

    def write(self, groups: list[_OrderVat], context: ImportContext) -> Outcomes:
        return upsert_invoices(
            account=context.account,
            records=[d for g in groups for d in g.documents.values()],
            source_report_id=context.source_report_id,
        )

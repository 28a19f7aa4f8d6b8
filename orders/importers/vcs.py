"""VAT reports: VCS Lite data (GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT) and Amazon's VCS invoices
(SC_VAT_TAX_REPORT).

VCS Lite (TAB-separated, one row per order item and transaction): corrects the orders we have
(business flag, VAT numbers, VAT of merchant-fulfilled lines) and keeps every sale (SHIPMENT)
and refund (REFUND/RETURN) as a `VatTransaction` with the invoice lines its rows give: the
item, shipping and gift wrap at their VAT rates, promotions as lines of their own. A row that
carries a number is stored as that document: Amazon's when the row `is-amazon-invoiced`, else
the seller's own. For a marketplace in VCS Lite mode, every sale and refund nobody invoiced
gets its invoice or credit note here, in the same transaction as the batch
(`orders.services.invoicing`); lines Amazon invoices never do.

VCS (comma-separated CSV, one row per item): Amazon's invoices and credit notes, one document per
`VAT Invoice Number` with its amounts summed over the rows. A row whose `Is Amazon Invoiced` is
false carries the seller's own number, if any: stored as the seller's document. Rows without a
number are counted unchanged. Amounts are kept as the reports give them: credit notes are
negative. An invoice generated here for a sale or refund Amazon invoices is cancelled
(`orders.services.vat_transactions.settle_orders`), whichever report came first.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from orders import stored_texts as texts
from orders.importers.base import ImportContext
from orders.importers.cells import (
    RowProblem,
    parse_bool,
    parse_date,
    parse_id,
    parse_money,
    parse_quantity,
)
from orders.importers.common import column_length, required_value
from orders.importers.driver import DocumentState, GroupedRowImporter
from orders.importers.parsing import Row, Table, read_csv
from orders.models import Invoice
from orders.services.invoices import InvoiceRecord, upsert_invoices
from orders.services.invoicing import issue_waiting_invoices
from orders.services.orders import OrderCorrection, correct_orders
from orders.services.outcomes import UPDATED, Outcomes
from orders.services.vat_transactions import (
    TransactionRecord,
    record_vat_transactions,
    settle_orders,
)

VCS_LITE_REPORT_TYPES = ("GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT",)
VCS_REPORT_TYPES = ("SC_VAT_TAX_REPORT",)

_CREDIT_TYPES = {"REFUND", "RETURN"}
_TRANSACTION_ID_LENGTH = column_length(Invoice, "transaction_id")
_ZERO = Decimal("0.00")
_HUNDRED = Decimal(100)
_RATE_PLACES = Decimal("0.01")
# The amounts of a VCS Lite row, as invoice lines: column prefix, what the line says, and the
# column naming its promotion (promotions reduce the price they follow).
_LINE_PARTS = (
    ("item", "", ""),
    ("item-promo", "Promotion", "item-promotion-id"),
    ("shipping", "Shipping", ""),
    ("shipping-promo", "Shipping promotion", "ship-promotion-id"),
    ("gift-wrap", "Gift wrap", ""),
    ("gift-promo", "Gift wrap promotion", "gift-promotion-id"),
)


def _kind(transaction_type: str) -> str:
    kind = transaction_type.strip().upper()
    if kind in _CREDIT_TYPES:
        return Invoice.Kind.CREDIT_NOTE
    if kind == "SHIPMENT":
        return Invoice.Kind.INVOICE
    raise RowProblem(texts.stored_text(texts.NOT_A_TRANSACTION_TYPE, value=repr(transaction_type)))


def _rate(value: str, *, column: str, net: Decimal, vat: Decimal) -> Decimal:
    """A VAT rate as a percentage: Amazon writes 0.19 or 19; without one, VAT over net."""
    text = value.strip().rstrip("%").replace(",", ".")
    if text:
        try:
            rate = Decimal(text)
        except InvalidOperation:
            raise RowProblem(
                texts.stored_text(texts.NOT_A_VAT_RATE, column=column, value=repr(value))
            ) from None
        if not rate.is_finite() or not 0 <= abs(rate) < 100:
            raise RowProblem(
                texts.stored_text(texts.NOT_A_VAT_RATE, column=column, value=repr(value))
            )
        return (rate * _HUNDRED if abs(rate) < 1 else rate).quantize(_RATE_PLACES)
    if net:
        return (vat / net * _HUNDRED).quantize(Decimal("0.1")).quantize(_RATE_PLACES)
    return _ZERO


def invoice_lines_of(row: Row) -> list[dict[str, Any]]:
    """The invoice lines of one VCS Lite row (amounts as text, for the JSON column): the item
    with its quantity, then each non-zero part. Raises RowProblem."""
    quantity = parse_quantity(row.get("quantity-purchased"), column="quantity-purchased")
    product = row.get("product-name") or row.get("sku") or row.get("asin")
    lines = []
    for part, label, promotion_column in _LINE_PARTS:
        gross = parse_money(row.get(f"{part}-vat-incl-amount"), column=f"{part}-vat-incl-amount")
        vat = parse_money(row.get(f"{part}-vat-amount"), column=f"{part}-vat-amount")
        excl = row.get(f"{part}-vat-excl-amount")
        net = parse_money(excl, column=f"{part}-vat-excl-amount") if excl else gross - vat
        if part != "item" and not (gross or vat or net):
            continue
        rate = _rate(row.get(f"{part}-vat-rate"), column=f"{part}-vat-rate", net=net, vat=vat)
        description = label or product
        if promotion_column and row.get(promotion_column):
            description = f"{label} {row.get(promotion_column)}"
        lines.append(
            {
                "description": description,
                "sku": row.get("sku") if part == "item" else "",
                "quantity": quantity if part == "item" else 1,
                "vat_rate": str(rate),
                "net": str(net),
                "vat": str(vat),
                "gross": str(gross),
            }
        )
    return lines


def _buyer_values(row: Row) -> dict[str, Any]:
    """Whom an invoice bills: the billing columns, else the ship-to ones."""
    billing = any(row.get(c) for c in ("billing-name", "bill-address-1", "bill-city"))
    prefix, place = ("bill-", "bill-") if billing else ("ship-", "ship-")
    name = row.get("billing-name") if billing else row.get("recipient-name")
    return {
        "buyer_name": name or row.get("buyer-name"),
        "buyer_company_name": row.get("buyer-company-name"),
        "buyer_vat_number": row.get("buyer-vat-number"),
        "buyer_address_1": row.get(f"{prefix}address-1"),
        "buyer_address_2": row.get(f"{prefix}address-2"),
        "buyer_address_3": row.get(f"{prefix}address-3"),
        "buyer_city": row.get(f"{place}city"),
        "buyer_state": row.get(f"{place}state"),
        "buyer_postal_code": row.get(f"{place}postal-code"),
        "buyer_country": row.get(f"{place}country"),
    }


class _OrderVat:
    """What one order's rows of a VAT report say: corrections, documents and transactions."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        self.lines: list[int] = []
        self.first_line = 0
        self.order_values: dict[str, Any] = {}
        self.item_values: dict[str, dict[str, Any]] = {}
        self.documents: dict[tuple[str, str], InvoiceRecord] = {}
        self.transactions: dict[tuple[str, str], TransactionRecord] = {}

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
        invoice_lines = invoice_lines_of(row)
        gross = sum((Decimal(line["gross"]) for line in invoice_lines), _ZERO)
        vat_total = sum((Decimal(line["vat"]) for line in invoice_lines), _ZERO)
        net_total = sum((Decimal(line["net"]) for line in invoice_lines), _ZERO)
        shipped_on = parse_date(row.get("shipment-date"), column="shipment-date")
        number = row.get("invoice-number")
        amazon_invoiced = parse_bool(row.get("is-amazon-invoiced"))
        order_values: dict[str, Any] = {
            "buyer_vat_number": row.get("buyer-vat-number"),
            "seller_vat_number": row.get("seller-vat-number"),
            "buyer_company_name": row.get("buyer-company-name"),
        }
        if row.has("is-business-order"):
            order_values["is_business_order"] = parse_bool(row.get("is-business-order"))
        if group is None:
            group = _OrderVat(order_id)
            group.first_line = row.line
        group.order_values.update({k: v for k, v in order_values.items() if v != ""})
        if kind == Invoice.Kind.INVOICE and item_id:
            # The VAT of a shipped line corrects the order item (MFN only, see correct_orders).
            group.item_values[item_id] = {
                "item_tax": parse_money(row.get("item-vat-amount"), column="item-vat-amount"),
                "shipping_tax": parse_money(
                    row.get("shipping-vat-amount"), column="shipping-vat-amount"
                ),
            }
        if number:
            source = Invoice.Source.AMAZON_VCS if amazon_invoiced else Invoice.Source.VCS_LITE
            group.add_amounts(
                (kind, number),
                row.line,
                {
                    "number": number,
                    "source": source,
                    "issued_on": shipped_on,
                    "amazon_order_id": order_id,
                    "transaction_id": transaction_id,
                    "shipment_id": row.get("shipping-id"),
                    "currency": row.get("currency"),
                    "original_number": row.get("original-vat-invoice-number"),
                    "is_corrected": parse_bool(row.get("is-invoice-corrected")),
                },
                (net_total, vat_total, gross),
            )
        record = group.transactions.get((kind, transaction_id))
        if record is None:
            record = group.transactions[(kind, transaction_id)] = TransactionRecord(
                kind=kind,
                transaction_id=transaction_id,
                line=row.line,
                values={
                    "amazon_order_id": order_id,
                    "marketplace_id": row.get("marketplace-id"),
                    "shipment_id": row.get("shipping-id"),
                    "happened_on": shipped_on,
                    "currency": row.get("currency"),
                    "is_amazon_invoiced": amazon_invoiced,
                    "document_number": number,
                    "original_number": row.get("original-vat-invoice-number"),
                    **_buyer_values(row),
                },
            )
        elif amazon_invoiced:
            # One line Amazon invoices makes the transaction Amazon's.
            record.values["is_amazon_invoiced"] = True
        record.lines.append(row.line)
        record.invoice_lines += invoice_lines
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
        outcomes = upsert_invoices(
            account=account,
            records=[d for g in groups for d in g.documents.values()],
            source_report_id=report_id,
        )
        recorded, still_open = record_vat_transactions(
            account=account,
            records=[t for g in groups for t in g.transactions.values()],
            source_report_id=report_id,
        )
        outcomes.update(recorded)
        settle_orders(
            account=account,
            order_ids=[g.order_id for g in groups],
            trigger=_trigger("VCS Lite data", report_id),
        )
        if still_open:
            issue_waiting_invoices(account, only=still_open)
        for group in groups:
            if changed.get(group.order_id):
                for line in group.lines:
                    outcomes.mark(line, UPDATED)
        return outcomes


def _trigger(what: str, report_id: int | None) -> str:
    return f"the import of {what}" + (f" (report {report_id})" if report_id else "")


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
            raise RowProblem(
                texts.stored_text(
                    texts.NOT_A_WEB_ADDRESS, column="Invoice Url", value=repr(url[:60])
                )
            )
        # Files without the column are from before it existed, when VCS meant Amazon's invoice.
        amazon_invoiced = not row.has("Is Amazon Invoiced") or parse_bool(
            row.get("Is Amazon Invoiced")
        )
        values = {
            "number": number,
            "amazon_order_id": order_id,
            "source": Invoice.Source.AMAZON_VCS if amazon_invoiced else Invoice.Source.VCS_LITE,
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
        outcomes = upsert_invoices(
            account=context.account,
            records=[d for g in groups for d in g.documents.values()],
            source_report_id=context.source_report_id,
        )
        settle_orders(
            account=context.account,
            order_ids=[g.order_id for g in groups],
            trigger=_trigger("Amazon's VCS report", context.source_report_id),
        )
        return outcomes

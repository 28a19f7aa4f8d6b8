"""What an invoice or credit note prints, for its page and its PDF alike.

A document generated here prints its snapshot alone (`Invoice.has_snapshot`): the seller,
buyer, dates and lines it was issued with, so a reprint after the buyer-data removal is the
same document. Amazon's and the seller's own documents, and those generated before snapshots
were kept, have none: they print what the order holds today.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from orders.models import Invoice, InvoiceLine, OrderItem, ShipmentLine

_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class DocumentLine:
    description: str
    sku: str
    quantity: int
    vat_rate: Decimal | None  # None: the order's lines do not say
    net: Decimal
    vat: Decimal
    gross: Decimal


@dataclass(frozen=True)
class RateTotal:
    """The net, VAT and gross of the lines at one VAT rate."""

    rate: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal


@dataclass(frozen=True)
class InvoiceDocument:
    invoice: Invoice
    seller_name: str
    seller_address: list[str]
    seller_vat_id: str
    buyer_name: str
    buyer_address: list[str]
    buyer_vat_number: str
    lines: list[DocumentLine]
    rate_totals: list[RateTotal]
    from_snapshot: bool

    @property
    def title(self) -> str:
        return self.invoice.get_kind_display()

    @property
    def corrects(self) -> Invoice | None:
        return self.invoice.corrected_invoice

    @property
    def date_label(self) -> str:
        if self.invoice.kind == Invoice.Kind.CREDIT_NOTE:
            return _("Refund date")
        return _("Delivery date")


def invoice_document(invoice_id: int) -> InvoiceDocument:
    """The document to print for an invoice. Raises Invoice.DoesNotExist."""
    invoice = (
        Invoice.objects.select_related("account", "order", "corrected_invoice")
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.order_by("position")),
            Prefetch("order__items", queryset=OrderItem.objects.order_by("pk")),
            Prefetch(
                "order__shipment_lines",
                queryset=ShipmentLine.objects.select_related("item").order_by("pk"),
            ),
        )
        .get(pk=invoice_id)
    )
    if invoice.has_snapshot:
        lines = [
            DocumentLine(
                line.description,
                line.sku,
                line.quantity,
                line.vat_rate,
                line.net,
                line.vat,
                line.gross,
            )
            for line in invoice.lines.all()
        ]
        return InvoiceDocument(
            invoice=invoice,
            seller_name=invoice.seller_name,
            seller_address=invoice.seller_address.splitlines(),
            seller_vat_id=invoice.seller_vat_id,
            buyer_name=invoice.buyer_name,
            buyer_address=invoice.buyer_address.splitlines(),
            buyer_vat_number=invoice.buyer_vat_number,
            lines=lines,
            rate_totals=_rate_totals(lines),
            from_snapshot=True,
        )
    order = invoice.order
    buyer_name, buyer_address = "", []
    if order is not None:
        buyer_name = order.buyer_company_name or order.buyer_name or order.recipient_name
        if order.buyer_company_name and order.buyer_name:
            buyer_address.append(order.buyer_name)
        buyer_address += [order.ship_address_1, order.ship_address_2]
        buyer_address.append(f"{order.ship_postal_code} {order.ship_city} {order.ship_country}")
    return InvoiceDocument(
        invoice=invoice,
        seller_name=invoice.account.display_name,
        seller_address=[
            _("Amazon seller %(seller_id)s") % {"seller_id": invoice.account.selling_partner_id}
        ],
        seller_vat_id=order.seller_vat_number if order is not None else "",
        buyer_name=buyer_name,
        buyer_address=[line.strip() for line in buyer_address if line.strip()],
        buyer_vat_number=order.buyer_vat_number if order is not None else "",
        lines=_order_lines(invoice),
        rate_totals=[],
        from_snapshot=False,
    )


def _rate_totals(lines: list[DocumentLine]) -> list[RateTotal]:
    by_rate: dict[Decimal, list[DocumentLine]] = defaultdict(list)
    for line in lines:
        by_rate[line.vat_rate or _ZERO].append(line)
    return [
        RateTotal(
            rate,
            sum((line.net for line in group), _ZERO),
            sum((line.vat for line in group), _ZERO),
            sum((line.gross for line in group), _ZERO),
        )
        for rate, group in sorted(by_rate.items())
    ]


def _order_lines(invoice: Invoice) -> list[DocumentLine]:
    """The lines an invoice without a snapshot covers: its shipment's lines when it names one,
    else the order's items. Its totals are the invoice's own, not sums of these."""
    order = invoice.order
    if order is None:
        return []
    shipment_lines = [
        line for line in order.shipment_lines.all() if line.shipment_id == invoice.shipment_id
    ]
    if invoice.shipment_id and shipment_lines:
        parts = [
            (
                line.item.product_name if line.item else line.shipment_item_id,
                line.item.sku if line.item else "",
                line.quantity,
                line.item_price + line.shipping_price,
                line.item_tax + line.shipping_tax,
            )
            for line in shipment_lines
        ]
    else:
        parts = [
            (
                item.product_name,
                item.sku,
                item.quantity_ordered,
                item.item_price + item.shipping_price,
                item.item_tax + item.shipping_tax,
            )
            for item in order.items.all()
        ]
    return [
        DocumentLine(name, sku, quantity, None, gross - tax, tax, gross)
        for name, sku, quantity, gross, tax in parts
    ]

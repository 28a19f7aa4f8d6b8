"""The PDF of an invoice or credit note issued here, made with fpdf2.

The font is DejaVu Sans from the npm package `dejavu-fonts-ttf` (`settings.INVOICE_FONT_DIR`):
fpdf2's built-in fonts know Latin-1 only, and buyers' names and addresses on Amazon's European
marketplaces need more (Polish, Czech, Swedish letters). fpdf2 embeds the subset of the font a
document uses, with the mapping back to Unicode, so the text can be copied and searched.

An invoice has no language of its own: its labels, dates and amounts are in the language active
when it is printed (the user's), as its page is.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from core.stored_texts import translate_stored
from orders.invoice_documents import InvoiceDocument

_FONT = "DejaVu"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}


def _money(amount: Decimal, currency: str = "") -> str:
    text = number_format(amount, 2, use_l10n=True, force_grouping=True)
    return f"{text} {currency}".strip()


def _day(day: date) -> str:
    return date_format(day, "SHORT_DATE_FORMAT")


def _rate(rate: Decimal | None) -> str:
    return "" if rate is None else f"{_rate_number(rate)} %"


def _rate_number(rate: Decimal | None) -> str:
    return "" if rate is None else number_format(rate.normalize(), use_l10n=True)


class _InvoicePdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        font_dir = Path(settings.INVOICE_FONT_DIR)
        for style, name in _FONT_FILES.items():
            path = font_dir / name
            if not path.is_file():
                raise ImproperlyConfigured(
                    f"The invoice font {path} is missing: install the npm packages "
                    "(make install, or npm ci)."
                )
            self.add_font(_FONT, style, str(path))
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=20)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(_FONT, "", 7)
        self.set_text_color(110)
        page = _("page %(number)s/%(pages)s") % {"number": self.page_no(), "pages": "{nb}"}
        self.cell(0, 4, f"{self.footer_text} · {page}", align="C")


def render_invoice_pdf(document: InvoiceDocument) -> bytes:
    """The document as an A4 PDF: seller, buyer, number and dates, the lines, the totals per
    VAT rate and in all; a credit note names the invoice it corrects; a cancelled document
    says so, with the reason."""
    invoice = document.invoice
    pdf = _InvoicePdf(f"{document.title} {invoice.number} · {document.seller_name}")
    pdf.set_title(f"{document.title} {invoice.number}")
    pdf.set_author(document.seller_name)
    pdf.set_creator("Amazon order import")
    pdf.add_page()
    width = pdf.epw

    # Seller, top right; the title and numbers, top left.
    top = pdf.get_y()
    pdf.set_xy(pdf.l_margin + width / 2, top)
    pdf.set_font(_FONT, "B", 10)
    pdf.multi_cell(width / 2, 5, document.seller_name, align="R")
    pdf.set_font(_FONT, "", 9)
    for line in document.seller_address:
        pdf.set_x(pdf.l_margin + width / 2)
        pdf.multi_cell(width / 2, 4.5, line, align="R")
    if document.seller_vat_id:
        pdf.set_x(pdf.l_margin + width / 2)
        pdf.multi_cell(
            width / 2, 4.5, _("VAT ID: %(vat_id)s") % {"vat_id": document.seller_vat_id}, align="R"
        )
    seller_bottom = pdf.get_y()

    pdf.set_xy(pdf.l_margin, top)
    pdf.set_font(_FONT, "B", 18)
    pdf.cell(width / 2, 9, document.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FONT, "", 9)
    facts = [
        (_("Number"), invoice.number),
        (_("Date"), _day(invoice.issued_on) if invoice.issued_on else "—"),
    ]
    if invoice.delivered_on:
        facts.append((document.date_label, _day(invoice.delivered_on)))
    facts.append((_("Amazon order"), invoice.amazon_order_id))
    if invoice.kind == invoice.Kind.CREDIT_NOTE and invoice.original_number:
        corrects = document.corrects
        original = invoice.original_number
        if corrects and corrects.issued_on:
            original = _("%(number)s of %(date)s") % {
                "number": original,
                "date": _day(corrects.issued_on),
            }
        facts.append((_("Corrects invoice"), original))
    for label, value in facts:
        pdf.cell(32, 5, label)
        pdf.set_font(_FONT, "B", 9)
        pdf.cell(width / 2 - 32, 5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(_FONT, "", 9)
    pdf.set_y(max(pdf.get_y(), seller_bottom) + 6)

    # The buyer.
    pdf.set_font(_FONT, "", 8)
    pdf.set_text_color(110)
    pdf.cell(0, 4, _("Bill to"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0)
    below = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}
    pdf.set_font(_FONT, "B", 10)
    pdf.multi_cell(width / 2, 5, document.buyer_name or "—", **below)
    pdf.set_font(_FONT, "", 9)
    for line in document.buyer_address:
        pdf.multi_cell(width / 2, 4.5, line, **below)
    if document.buyer_vat_number:
        pdf.multi_cell(
            width / 2, 4.5, _("VAT ID: %(vat_id)s") % {"vat_id": document.buyer_vat_number}, **below
        )
    pdf.ln(6)

    if invoice.is_cancelled:
        pdf.set_font(_FONT, "B", 11)
        pdf.set_text_color(176, 0, 32)
        if invoice.cancelled_at:
            cancelled = _("CANCELLED on %(date)s") % {
                "date": _day(timezone.localtime(invoice.cancelled_at))
            }
        else:
            cancelled = _("CANCELLED")
        reason = translate_stored(invoice.cancellation_reason)
        pdf.multi_cell(0, 5.5, f"{cancelled}: {reason}", **below)
        pdf.set_text_color(0)
        pdf.ln(3)

    # The lines.
    currency = invoice.currency
    pdf.set_font(_FONT, "", 8.5)
    with pdf.table(
        col_widths=(8, 78, 12, 16, 26, 24, 28),
        text_align=("RIGHT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=5,
        first_row_as_headings=True,
    ) as table:
        table.row(("#", _("Description"), _("Qty"), _("VAT %"), _("Net"), _("VAT"), _("Gross")))
        for position, line in enumerate(document.lines, start=1):
            description = f"{line.description}\nSKU {line.sku}" if line.sku else line.description
            table.row(
                (
                    str(position),
                    description,
                    str(line.quantity),
                    _rate_number(line.vat_rate),
                    _money(line.net),
                    _money(line.vat),
                    _money(line.gross),
                )
            )
    pdf.ln(4)

    # Totals: per VAT rate, then in all.
    rows = [
        (
            _("Net at %(rate)s") % {"rate": _rate(t.rate)},
            t.net,
            _("VAT %(rate)s") % {"rate": _rate(t.rate)},
            t.vat,
        )
        for t in document.rate_totals
    ]
    pdf.set_font(_FONT, "", 9)
    for net_label, net, vat_label, vat in rows:
        pdf.set_x(pdf.l_margin + width - 110)
        pdf.cell(35, 5, net_label)
        pdf.cell(20, 5, _money(net), align="R")
        pdf.cell(30, 5, vat_label, align="R")
        pdf.cell(25, 5, _money(vat), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for label, amount, bold in (
        (_("Total net"), invoice.net, False),
        (_("Total VAT"), invoice.vat, False),
        (_("Total"), invoice.gross, True),
    ):
        pdf.set_font(_FONT, "B" if bold else "", 10 if bold else 9)
        pdf.set_x(pdf.l_margin + width - 80)
        pdf.cell(40, 6, label)
        pdf.cell(40, 6, _money(amount, currency), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())

"""Invoices issued here: one per sale or refund whatever the order of the imports, never for
what Amazon invoices, numbered without gaps, stopped while the seller's legal data is missing,
credit notes naming their invoice, snapshots that outlive the buyer-data removal, the PDF, and
the clean-up of data imported in both modes."""

from __future__ import annotations

import html
import io
import threading
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from itertools import permutations

import pytest
from django.core.management import call_command
from django.db import IntegrityError, OperationalError, connection, transaction
from django.urls import reverse
from django.utils.formats import date_format
from pypdf import PdfReader

from amazon_settings.models import AccountMarketplace, InvoicingMode
from core.models import AuditEvent
from orders import selectors, tasks
from orders.models import Invoice, InvoiceLine, InvoiceSequence, Order, VatTransaction
from orders.privacy import remove_expired_invoice_buyers
from orders.services.invoicing import configure_invoicing
from orders.services.vat_transactions import CANCEL_ACTION
from reports.services.privacy import remove_personal_data
from tests.german import GERMAN, compiled_catalogue
from tests.orders.conftest import NOW, SELLER_DATA, render, run_import, set_invoicing

VIDR = "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT"
VCS = "SC_VAT_TAX_REPORT"
MFN = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
# Two months: refunds come with the sales they correct.
START = NOW - timedelta(days=61)
MIDDLE = NOW - timedelta(days=30)
END = NOW - timedelta(days=1)

Invoicing = VatTransaction.Invoicing


def tsv_edit(text: str, change) -> str:
    """The TAB document with `change(row_dict)` applied to each data row."""
    lines = text.split("\r\n")
    header = lines[0].split("\t")
    out = [lines[0]]
    for line in lines[1:]:
        if not line:
            continue
        row = dict(zip(header, line.split("\t"), strict=True))
        change(row)
        out.append("\t".join(row[column] for column in header))
    return "\r\n".join(out) + "\r\n"


def unflag(row: dict) -> None:
    """A VCS Lite row as a file that does not say what Amazon invoices would have it."""
    row.update({"is-amazon-invoiced": "false", "invoice-number": "", "invoice-status": ""})
    row["original-vat-invoice-number"] = ""


def documents(name: str) -> list[tuple[str, str]]:
    """(report type, text) of the imports a step name stands for."""
    halves = [(START, MIDDLE + timedelta(days=5)), (MIDDLE, END)]
    if name == "vidr":
        return [(VIDR, render(VIDR, START, END))]
    if name == "vidr_unflagged":
        return [(VIDR, tsv_edit(render(VIDR, START, END), unflag))]
    if name == "vidr_halves":
        return [(VIDR, render(VIDR, start, end)) for start, end in halves]
    if name == "vcs":
        return [(VCS, render(VCS, START, END))]
    if name == "vcs_halves":
        return [(VCS, render(VCS, start, end)) for start, end in halves]
    raise AssertionError(name)


SEQUENCES = sorted(
    {
        *permutations(("vidr", "vcs")),
        *permutations(("vidr_unflagged", "vcs")),
        *permutations(("vidr", "vidr_unflagged", "vcs")),
        ("vidr", "vidr"),
        ("vidr_unflagged", "vidr_unflagged", "vcs", "vcs"),
        ("vidr_unflagged", "vcs", "vidr_unflagged"),
        ("vcs", "vidr_unflagged", "vidr", "vcs"),
        ("vidr_halves", "vcs_halves", "vidr"),
        ("vcs_halves", "vidr_unflagged", "vidr_halves"),
        ("vidr_unflagged", "vcs_halves", "vidr_halves", "vcs"),
    }
)


def assert_one_document_per_sale(account) -> None:
    """Every sale and refund of the VCS Lite data has one issued document: Amazon's where
    Amazon invoices it, one generated here otherwise (a credit note whose invoice is not
    imported waits); generated numbers, cancelled ones included, have no gaps."""
    truth = {}
    for row in documents("vidr")[0][1].split("\r\n")[1:]:
        if row:
            cells = row.split("\t")
            kind = "invoice" if cells[5] == "SHIPMENT" else "credit_note"
            truth[(kind, cells[4])] = cells[9] == "true"
    assert truth and any(truth.values()) and not all(truth.values())
    issued = defaultdict(list)
    for invoice in Invoice.objects.filter(account=account, status=Invoice.Status.ISSUED):
        issued[(invoice.kind, invoice.transaction_id)].append(invoice.source)
    transactions = {
        (t.kind, t.transaction_id): t for t in VatTransaction.objects.filter(account=account)
    }
    assert set(transactions) == set(truth)
    for key, by_amazon in truth.items():
        sources = issued.get(key, [])
        txn = transactions[key]
        if by_amazon:
            assert sources == [Invoice.Source.AMAZON_VCS], key
            assert txn.invoicing == Invoicing.AMAZON, key
        elif sources:
            assert sources == [Invoice.Source.GENERATED], key
            assert txn.invoicing == Invoicing.ISSUED and txn.invoice.status == "issued", key
        else:
            # A refund of a sale before the range: its credit note waits for that invoice.
            assert key[0] == "credit_note" and txn.invoicing == Invoicing.OPEN, key
            assert not Invoice.objects.filter(
                account=account, amazon_order_id=txn.amazon_order_id, kind="invoice"
            ).exists()
    generated = Invoice.objects.filter(account=account, source=Invoice.Source.GENERATED)
    for kind, prefix in (("invoice", "INV"), ("credit_note", "CN")):
        numbers = sorted(generated.filter(kind=kind).values_list("issued_on", "number"))
        assert [number for _, number in numbers] == [
            f"{prefix}-{issued_on.year}-{n:06d}" for n, (issued_on, _) in enumerate(numbers, 1)
        ]
        if numbers:
            year = numbers[-1][0].year
            assert InvoiceSequence.objects.get(
                account=account, kind=kind, year=year
            ).last_number == (len(numbers))
    for invoice in generated.filter(status="cancelled"):
        assert truth[(invoice.kind, invoice.transaction_id)] is True
        assert invoice.cancellation_reason.startswith(("Amazon issued", "Amazon's VCS Lite"))


@pytest.mark.parametrize("sequence", SEQUENCES, ids="+".join)
def test_one_document_per_sale_whatever_the_order_of_the_imports(account, sequence):
    set_invoicing(account)
    for step in sequence:
        for report_type, text in documents(step):
            result = run_import(account, report_type, text)
            assert result.errors == [] and result.failed == 0

    assert_one_document_per_sale(account)
    cancelled = Invoice.objects.filter(status=Invoice.Status.CANCELLED)
    assert AuditEvent.objects.filter(action=CANCEL_ACTION).count() == cancelled.count()
    # A VCS Lite file that does not mark Amazon's lines, before any of Amazon's data, is the one
    # way to a duplicate: Amazon's data then cancels it.
    assert cancelled.exists() == (sequence[0] == "vidr_unflagged")


def test_re_imports_change_nothing_once_issued(account):
    set_invoicing(account)
    for report_type, text in documents("vidr") + documents("vcs"):
        run_import(account, report_type, text)
    numbers = sorted(Invoice.objects.values_list("number", "status", "gross"))

    for report_type, text in documents("vcs") + documents("vidr"):
        again = run_import(account, report_type, text)
        assert (again.created, again.updated) == (0, 0)

    assert sorted(Invoice.objects.values_list("number", "status", "gross")) == numbers


def test_lines_amazon_invoices_never_get_a_document_here(account):
    set_invoicing(account)
    run_import(account, VIDR, render(VIDR, START, END))

    amazon = VatTransaction.objects.filter(is_amazon_invoiced=True)
    assert amazon.exists()
    assert set(amazon.values_list("invoicing", flat=True)) == {Invoicing.AMAZON}
    assert not Invoice.objects.filter(
        source=Invoice.Source.GENERATED,
        transaction_id__in=amazon.values_list("transaction_id", flat=True),
    ).exists()
    # The numbers those lines carry are Amazon's documents.
    assert Invoice.objects.filter(source=Invoice.Source.AMAZON_VCS).count() > 0


@pytest.mark.parametrize("mode", [InvoicingMode.AMAZON, InvoicingMode.NOT_HANDLED])
def test_nothing_is_issued_outside_vcs_lite_mode(account, mode):
    set_invoicing(account, mode=mode)
    run_import(account, VIDR, render(VIDR, START, END))

    assert VatTransaction.objects.filter(invoicing=Invoicing.OPEN).exists()
    assert not Invoice.objects.filter(source=Invoice.Source.GENERATED).exists()
    assert not InvoiceSequence.objects.exists()
    assert selectors.invoicing_stop(account) is None


def test_the_database_refuses_a_second_document_for_one_sale(account):
    set_invoicing(account)
    run_import(account, VIDR, render(VIDR, START, END))
    invoice = Invoice.objects.filter(source=Invoice.Source.GENERATED).first()

    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            account=account,
            amazon_order_id=invoice.amazon_order_id,
            number="INV-DUPLICATE",
            kind=invoice.kind,
            source=Invoice.Source.GENERATED,
            transaction_id=f"{invoice.transaction_id}-other",
            vat_transaction=invoice.vat_transaction,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            account=account,
            amazon_order_id=invoice.amazon_order_id,
            number="INV-DUPLICATE-2",
            kind=invoice.kind,
            source=Invoice.Source.GENERATED,
            transaction_id=invoice.transaction_id,
        )


def test_a_refund_gets_a_credit_note_naming_the_invoice_it_corrects(account, logged_in_client):
    set_invoicing(account)
    run_import(account, VIDR, render(VIDR, START, END))

    credit_notes = Invoice.objects.filter(
        source=Invoice.Source.GENERATED, kind=Invoice.Kind.CREDIT_NOTE
    ).select_related("corrected_invoice")
    assert credit_notes.exists()
    for credit_note in credit_notes:
        corrected = credit_note.corrected_invoice
        assert corrected.kind == Invoice.Kind.INVOICE
        assert corrected.amazon_order_id == credit_note.amazon_order_id
        assert corrected.shipment_id == credit_note.shipment_id
        assert credit_note.original_number == corrected.number
        assert credit_note.gross < 0 < corrected.gross
    credit_note = credit_notes.first()
    page = logged_in_client.get(reverse("orders:invoice_print", args=[credit_note.pk]))
    text = html.unescape(page.content.decode())
    corrected = credit_note.corrected_invoice
    issued = date_format(corrected.issued_on, "SHORT_DATE_FORMAT")
    assert f">{corrected.number}</a> of {issued}" in text
    assert "Corrects invoice" in text and "Refund date" in text


def test_missing_seller_data_stops_numbering_then_everything_waiting_is_issued(
    account, logged_in_client
):
    marketplaces = set_invoicing(account, legal_data=False)
    for _, text in documents("vidr_halves"):
        run_import(account, VIDR, text)

    waiting = selectors.waiting_transactions(account).count()
    assert waiting > 0
    assert not Invoice.objects.filter(source=Invoice.Source.GENERATED).exists()
    assert not InvoiceSequence.objects.filter(last_number__gt=0).exists()
    stop = selectors.invoicing_stop(account)
    assert stop.waiting == waiting
    assert "Invoice generation for Müller is stopped" in stop.message
    assert "Amazon.de: legal name, street, postal code, city, country, VAT ID" in stop.message
    for path in ("/", "/settings/", f"/reports/diagnosis/{account.pk}/"):
        page = html.unescape(logged_in_client.get(path).content.decode())
        assert "Invoice generation for Müller is stopped" in page, path
    # The worker's pass issues nothing while the data is missing.
    assert tasks.issue_waiting_invoices() == 0

    # Saving one marketplace is not enough: the others are still missing.
    de = marketplaces[0]
    response = logged_in_client.post(
        reverse("orders:invoicing", args=[account.pk]),
        {"marketplace": de.pk, f"mp{de.pk}-invoicing_mode": "vcs_lite"}
        | {f"mp{de.pk}-{name}": value for name, value in SELLER_DATA.items()},
    )
    assert response.status_code == 302
    assert not Invoice.objects.filter(source=Invoice.Source.GENERATED).exists()
    for marketplace in marketplaces[1:-1]:
        configure_invoicing(marketplace, invoicing_mode="vcs_lite", acting_user=None, **SELLER_DATA)
    assert not Invoice.objects.filter(source=Invoice.Source.GENERATED).exists()
    # The last one lifts the stop: what waited is issued at once, numbered without gaps.
    configured = configure_invoicing(
        marketplaces[-1], invoicing_mode="vcs_lite", acting_user=None, **SELLER_DATA
    )

    assert configured.result.stop is None
    issued = configured.result.issued
    assert len(issued) == waiting - configured.result.uncorrectable > 0
    assert selectors.invoicing_stop(account) is None
    for kind, prefix in (("invoice", "INV"), ("credit_note", "CN")):
        numbers = sorted(i.number for i in issued if i.kind == kind)
        year = issued[0].issued_on.year
        assert numbers == [f"{prefix}-{year}-{n:06d}" for n in range(1, len(numbers) + 1)]
    assert_one_document_per_sale(account)


def test_the_worker_issues_what_waited_once_the_data_is_there(account):
    marketplaces = set_invoicing(account, legal_data=False)
    run_import(account, VIDR, render(VIDR, START, END))
    waiting = selectors.waiting_transactions(account).count()
    # Entered some other way than the Settings page (e.g. the admin): the worker finds it.
    AccountMarketplace.objects.filter(pk__in=[m.pk for m in marketplaces]).update(**SELLER_DATA)

    issued = tasks.issue_waiting_invoices()

    assert 0 < issued <= waiting
    assert tasks.issue_waiting_invoices() == 0  # twice: nothing more
    assert_one_document_per_sale(account)


def test_the_invoice_prints_its_snapshot_also_after_the_buyer_data_removal(
    account, logged_in_client
):
    set_invoicing(account)
    run_import(account, MFN, render(MFN, START, END))
    mfn_orders = set(Order.objects.values_list("amazon_order_id", flat=True))
    run_import(account, VIDR, render(VIDR, START, END))
    invoice = Invoice.objects.filter(
        source=Invoice.Source.GENERATED, kind="invoice", amazon_order_id__in=mfn_orders
    ).first()
    order = invoice.order
    assert order is not None and order.buyer_name
    txn = invoice.vat_transaction
    before = logged_in_client.get(reverse("orders:invoice_print", args=[invoice.pk]))
    page = html.unescape(before.content.decode())
    assert invoice.buyer_name and invoice.buyer_name in page
    street = invoice.buyer_address.splitlines()[0]
    assert street in page
    for text in (SELLER_DATA["seller_legal_name"], "Hauptstraße 5", "10115 Berlin", "Germany"):
        assert text in page
    assert "VAT ID: DE123456789" in page
    assert f'class="delivery-date">{date_format(txn.happened_on, "SHORT_DATE_FORMAT")}<' in page
    lines = list(invoice.lines.all())
    assert lines and sum(line.gross for line in lines) == invoice.gross
    assert lines[0].quantity > 0 and lines[0].vat_rate > 0
    assert lines[0].net + lines[0].vat == lines[0].gross
    assert 'class="rate-total"' in page

    removed = remove_personal_data(older_than_days=30, now=NOW + timedelta(days=90))

    assert removed.records > 0
    order.refresh_from_db()
    txn.refresh_from_db()
    assert order.buyer_name == "" and order.ship_address_1 == ""
    assert txn.buyer_name == "" and txn.buyer_address_1 == ""
    after = html.unescape(
        logged_in_client.get(reverse("orders:invoice_print", args=[invoice.pk])).content.decode()
    )
    assert invoice.buyer_name in after and street in after
    pdf = logged_in_client.get(reverse("orders:invoice_pdf", args=[invoice.pk]))
    assert invoice.buyer_name in pdf_text(pdf.content)


def test_the_buyer_of_a_sale_still_waiting_for_its_invoice_is_kept(account):
    set_invoicing(account, legal_data=False)
    run_import(account, VIDR, render(VIDR, START, END))

    remove_personal_data(older_than_days=30, now=NOW + timedelta(days=90))

    waiting = selectors.waiting_transactions(account)
    assert waiting.exists() and not waiting.filter(buyer_name="").exists()
    amazons = VatTransaction.objects.filter(invoicing=Invoicing.AMAZON)
    assert amazons.exists() and not amazons.exclude(buyer_name="").exists()


def test_issued_invoices_keep_their_buyer_for_the_legal_retention(account):
    def issued(on: date) -> Invoice:
        return Invoice.objects.create(
            account=account,
            amazon_order_id="302-1234567-1234567",
            number=f"INV-{on.year}-000001",
            transaction_id=f"SHIPMENT-{on.year}",
            kind="invoice",
            source=Invoice.Source.GENERATED,
            issued_on=on,
            seller_name="Müller Haushaltswaren GmbH",
            buyer_name="Erika Mustermann",
            buyer_address="Hauptstraße 1\n10115 Berlin",
            buyer_vat_number="DE999999999",
        )

    old, recent = issued(date(2014, 3, 1)), issued(date(2016, 3, 1))

    assert remove_expired_invoice_buyers(retention_years=10, now=NOW) == 1
    assert remove_expired_invoice_buyers(retention_years=10, now=NOW) == 0
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.buyer_name, old.buyer_address, old.buyer_vat_number) == ("", "", "DE999999999")
    assert (old.number, old.seller_name) == ("INV-2014-000001", "Müller Haushaltswaren GmbH")
    assert recent.buyer_name == "Erika Mustermann"


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_pdf_holds_the_number_the_seller_s_vat_id_and_any_buyer_s_letters(
    account, logged_in_client
):
    set_invoicing(account)

    def polish_buyer(row: dict) -> None:
        row["billing-name"] = "Łukasz Żółć-Świętosławski"
        row["bill-city"] = "Kraków"

    run_import(account, VIDR, tsv_edit(render(VIDR, START, END), polish_buyer))
    invoice = Invoice.objects.filter(source=Invoice.Source.GENERATED, kind="invoice").first()

    response = logged_in_client.get(reverse("orders:invoice_pdf", args=[invoice.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{invoice.number}.pdf"' in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert invoice.number in text
    assert "DE123456789" in text
    assert "Łukasz Żółć-Świętosławski" in text and "Kraków" in text
    assert SELLER_DATA["seller_legal_name"] in text
    assert f"{invoice.gross:,.2f} {invoice.currency}" in text


def test_only_documents_issued_here_have_a_pdf(account, logged_in_client):
    amazon = Invoice.objects.create(
        account=account,
        amazon_order_id="302-1234567-1234567",
        number="INV-DE-1",
        kind="invoice",
        source=Invoice.Source.AMAZON_VCS,
    )
    assert logged_in_client.get(reverse("orders:invoice_pdf", args=[amazon.pk])).status_code == 404


def test_a_cancelled_document_says_so_and_keeps_its_number(account, logged_in_client):
    set_invoicing(account)
    run_import(account, VIDR, tsv_edit(render(VIDR, START, END), unflag))
    run_import(account, VCS, render(VCS, START, END))

    cancelled = Invoice.objects.filter(status=Invoice.Status.CANCELLED).first()
    page = html.unescape(
        logged_in_client.get(reverse("orders:invoice_print", args=[cancelled.pk])).content.decode()
    )
    assert "Cancelled on" in page and cancelled.cancellation_reason in page
    assert cancelled.number in pdf_text(
        logged_in_client.get(reverse("orders:invoice_pdf", args=[cancelled.pk])).content
    )
    listing = logged_in_client.get(reverse("orders:invoices")).content.decode()
    assert "invoice-cancelled" in listing
    event = AuditEvent.objects.get(object_id=str(cancelled.pk))
    assert event.action == CANCEL_ACTION and cancelled.number in event.detail
    assert "Found by the import of Amazon's VCS report" in event.detail


# --- the clean-up of data imported in both modes ---------------------------------------------


def legacy_duplicates(account) -> list[Invoice]:
    """What an earlier version left: Amazon's VCS documents and, for the same sales, invoices
    generated here without a transaction or snapshot, numbered 1..n; plus one for a sale Amazon
    does not invoice."""
    run_import(account, VCS, render(VCS, START, END))
    amazon = list(Invoice.objects.filter(source=Invoice.Source.AMAZON_VCS, kind="invoice"))
    legacy = []
    for n, document in enumerate([*amazon, None], start=1):
        legacy.append(
            Invoice.objects.create(
                account=account,
                amazon_order_id=document.amazon_order_id if document else "302-7654321-7654321",
                number=f"INV-2024-{n:06d}",
                kind="invoice",
                source=Invoice.Source.GENERATED,
                issued_on=date(2024, 12, 1),
                transaction_id=document.transaction_id if document else "NOT-AMAZON-1",
                shipment_id=document.shipment_id if document else "NOT-AMAZON-1",
                gross=document.gross if document else Decimal("9.99"),
            )
        )
    InvoiceSequence.objects.create(account=account, kind="invoice", year=2024, last_number=n)
    return legacy


def test_the_clean_up_cancels_duplicates_keeps_numbers_and_audits_each(account):
    legacy = legacy_duplicates(account)
    out = io.StringIO()

    call_command("cancel_duplicate_invoices", "--dry-run", stdout=out)

    assert f"{len(legacy) - 1} duplicate documents would be cancelled." in out.getvalue()
    assert not Invoice.objects.filter(status=Invoice.Status.CANCELLED).exists()
    assert not AuditEvent.objects.exists()

    out = io.StringIO()
    call_command("cancel_duplicate_invoices", "--account", "A2MUELLERHW7QX", stdout=out)

    assert f"{len(legacy) - 1} duplicate documents cancelled" in out.getvalue()
    statuses = dict(Invoice.objects.filter(source="generated").values_list("number", "status"))
    assert statuses == {
        invoice.number: "cancelled" if invoice is not legacy[-1] else "issued" for invoice in legacy
    }
    for invoice in Invoice.objects.filter(status="cancelled"):
        assert invoice.cancellation_reason.startswith("Amazon issued INV-")
        assert invoice.cancelled_at is not None
    events = AuditEvent.objects.filter(action=CANCEL_ACTION)
    assert events.count() == len(legacy) - 1
    assert all("cancel_duplicate_invoices" in event.detail for event in events)
    # Numbering: nothing renumbered, deleted or handed out again.
    assert InvoiceSequence.objects.get(kind="invoice", year=2024).last_number == len(legacy)
    assert sorted(Invoice.objects.filter(source="generated").values_list("number", flat=True)) == [
        f"INV-2024-{n:06d}" for n in range(1, len(legacy) + 1)
    ]

    out = io.StringIO()
    call_command("cancel_duplicate_invoices", stdout=out)
    assert "0 duplicate documents cancelled" in out.getvalue()


def test_re_importing_vcs_lite_data_over_legacy_invoices_issues_no_second_one(account):
    set_invoicing(account)
    legacy_duplicates(account)
    # Legacy invoices of sales Amazon does not invoice: the VCS Lite data's own.
    text = render(VIDR, START, END)
    rows = [line.split("\t") for line in text.split("\r\n")[1:] if line]
    not_amazon = [cells for cells in rows if cells[9] == "false"]
    first = next(cells for cells in not_amazon if cells[5] == "SHIPMENT")
    Invoice.objects.create(
        account=account,
        amazon_order_id=first[1],
        number="INV-2024-LEGACY",
        kind="invoice",
        source=Invoice.Source.GENERATED,
        transaction_id=first[4],
    )

    run_import(account, VIDR, text)

    legacy = Invoice.objects.get(number="INV-2024-LEGACY")
    assert legacy.vat_transaction.transaction_id == first[4]
    assert legacy.vat_transaction.invoicing == Invoicing.ISSUED
    assert Invoice.objects.filter(transaction_id=first[4], kind="invoice").count() == 1


# --- Settings » Invoicing ---------------------------------------------------------------------


def test_the_invoicing_page_explains_the_modes_and_refuses_bad_data_field_by_field(
    account, logged_in_client
):
    (de, *_) = set_invoicing(account, mode=InvoicingMode.NOT_HANDLED, legal_data=False)
    url = reverse("orders:invoicing", args=[account.pk])
    page = html.unescape(logged_in_client.get(url).content.decode())
    for mode in InvoicingMode:
        assert str(mode.label) in page
    assert "never get one" in page

    response = logged_in_client.post(
        url,
        {
            "marketplace": de.pk,
            f"mp{de.pk}-invoicing_mode": "vcs_lite",
            f"mp{de.pk}-seller_legal_name": "Müller Haushaltswaren GmbH",
            f"mp{de.pk}-seller_vat_id": "DE 12345",
            f"mp{de.pk}-seller_country": "DE",
        },
    )

    assert response.status_code == 400
    form = response.context["rows"][0][1]
    assert form.errors["seller_vat_id"] == [
        "A VAT ID from DE is DE followed by 9 digits: check the characters after DE."
    ]
    for name in ("seller_street", "seller_postal_code", "seller_city"):
        assert form.errors[name] == [
            "Required in VCS Lite mode: every invoice issued here prints it."
        ]
    de.refresh_from_db()
    assert de.invoicing_mode == InvoicingMode.NOT_HANDLED

    response = logged_in_client.post(
        url,
        {"marketplace": de.pk, f"mp{de.pk}-invoicing_mode": "vcs_lite"}
        | {f"mp{de.pk}-{k}": v for k, v in SELLER_DATA.items()}
        | {f"mp{de.pk}-seller_vat_id": "de 123.456.789"},
    )
    assert response.status_code == 302
    de.refresh_from_db()
    assert (de.invoicing_mode, de.seller_vat_id) == ("vcs_lite", "DE123456789")
    assert AuditEvent.objects.get().action == "orders:invoicing"


@pytest.mark.parametrize(
    ("vat_id", "valid"),
    [
        ("DE123456789", True),
        ("ATU12345678", True),
        ("FRXX123456789", True),
        ("NL123456789B01", True),
        ("GB123456789", True),
        ("ESX1234567X", True),
        ("EL123456789", True),
        ("DE12345678", False),
        ("GR123456789", False),
        ("US123456789", False),
        ("NL123456789", False),
    ],
)
def test_vat_ids_are_checked_for_their_country_s_form(vat_id, valid):
    from django.core.exceptions import ValidationError

    from amazon_settings.vat_ids import validate_vat_id

    if valid:
        validate_vat_id(vat_id)
    else:
        with pytest.raises(ValidationError):
            validate_vat_id(vat_id)


# --- two at once ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_imports_and_the_worker_at_once_hand_out_each_number_once(account):
    set_invoicing(account)
    texts = [text for _, text in documents("vidr_halves")]
    failures = []
    barrier = threading.Barrier(3)

    def retrying(work) -> None:
        # SQLite's in-memory test database answers "locked" at once instead of waiting; the
        # pipeline retries, and so does this. On PostgreSQL they queue on the account's row.
        try:
            barrier.wait()
            deadline = time.monotonic() + 30
            while True:
                try:
                    work()
                    return
                except OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=retrying, args=(lambda t=t: run_import(account, VIDR, t),))
        for t in texts
    ] + [threading.Thread(target=retrying, args=(tasks.issue_waiting_invoices,))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    numbers = Counter(Invoice.objects.values_list("number", flat=True))
    assert max(numbers.values()) == 1
    assert InvoiceLine.objects.exists()
    assert_one_document_per_sale(account)


@pytest.mark.usefixtures(compiled_catalogue.__name__)
def test_a_cancellation_reason_reads_in_the_readers_language(account, logged_in_client):
    set_invoicing(account)
    run_import(account, VIDR, tsv_edit(render(VIDR, START, END), unflag))
    run_import(account, VCS, render(VCS, START, END))
    cancelled = Invoice.objects.filter(status=Invoice.Status.CANCELLED).first()
    # Stored in English, whoever reads it later.
    assert cancelled.cancellation_reason.startswith("Amazon issued ")
    number = cancelled.cancellation_reason.split()[2]
    what = (
        "dieselbe Erstattung" if cancelled.kind == Invoice.Kind.CREDIT_NOTE else "denselben Verkauf"
    )
    german = f"Amazon hat für {what} {number} ausgestellt (VCS)."

    page = html.unescape(
        logged_in_client.get(
            reverse("orders:invoice_print", args=[cancelled.pk]), **GERMAN
        ).content.decode()
    )
    assert german in page
    pdf = pdf_text(
        logged_in_client.get(reverse("orders:invoice_pdf", args=[cancelled.pk]), **GERMAN).content
    )
    assert german in " ".join(pdf.split())  # the PDF wraps the reason over lines
    export = logged_in_client.get(reverse("orders:invoices_export", args=["csv"]), **GERMAN)
    assert german in b"".join(export.streaming_content).decode("utf-8-sig")
    assert german in html.unescape(
        logged_in_client.get(reverse("orders:invoices"), **GERMAN).content.decode()
    )

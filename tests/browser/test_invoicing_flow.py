"""Invoicing in a real browser against `make demo`: a seller sets VCS Lite mode and its legal
data on Settings, uploads Amazon's VCS Lite data, opens an invoice issued here and downloads
its PDF. Each step leaves a screenshot in test-artifacts/screenshots/.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from amazon_sandbox.catalog import seller_by_id
from amazon_sandbox.generator import render_report
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.slow

SELLER = "A2MUELLERHW7QX"
DE = "A1PA6795UKMFR9"
VCS_LITE = "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT"
IMPORT_TIMEOUT = 120_000
VAT_ID = "DE287654321"


def vcs_lite_file(path) -> None:
    """A month of the seller's VCS Lite data for amazon.de, as Seller Central gives it: the
    dates are the sandbox's history, whatever today is."""
    seller = seller_by_id(SELLER, "eu")
    report = render_report(
        VCS_LITE,
        seller=seller,
        marketplace_ids=(DE,),
        data_start=datetime(2025, 2, 1, tzinfo=UTC),
        data_end=datetime(2025, 3, 1, tzinfo=UTC),
        now=datetime(2025, 3, 15, tzinfo=UTC),
    )
    assert report.row_count > 0
    path.write_bytes(report.text.encode("cp1252"))


def test_a_seller_sets_up_invoicing_uploads_vcs_lite_data_and_downloads_an_invoice(
    page, demo, tmp_path
):
    page.goto(demo.base_url)
    page.fill("input[name=username]", demo.username)
    page.fill("input[name=password]", demo.password)
    page.locator('form[action$="/login/"] button[type=submit]').click()

    page.goto(demo.url("/settings/"))
    page.select_option("#id_region", "eu")
    page.get_by_role("button", name="Connect Amazon account").click()
    expect(page.get_by_role("button", name="Confirm")).to_be_visible()
    page.locator(f"input[name=selling_partner_id][value={SELLER}]").check()
    page.get_by_role("button", name="Confirm").click()
    # The consent returns to the start-import question; this flow requests (or uploads) by hand.
    expect(page).to_have_url(re.compile(r"/reports/start/\d+/"))
    page.get_by_role("link", name="Not now").click()
    card = page.locator(".card[data-status]").filter(has_text=SELLER)
    expect(card.locator(".status-badge")).to_have_text("Connected")

    # Settings » Invoicing: the modes explained, amazon.de set to VCS Lite.
    card.get_by_role("link", name="Invoicing settings").click()
    expect(page).to_have_url(re.compile(r"/orders/invoicing/\d+/"))
    expect(page.locator("#invoicing-modes")).to_contain_text("Invoices are not handled here")
    germany = page.locator(f".marketplace-invoicing[data-marketplace={DE}]")
    germany.get_by_label("I issue invoices from Amazon's data (VCS Lite)").check()
    germany.locator("input[name$='-seller_legal_name']").fill("Müller Haushaltswaren GmbH")
    germany.locator("input[name$='-seller_vat_id']").fill("DE 2876")
    germany.get_by_role("button", name="Save invoicing of Amazon.de").click()
    germany = page.locator(f".marketplace-invoicing[data-marketplace={DE}]")
    expect(germany).to_contain_text("A VAT ID from DE is DE followed by 9 digits")
    expect(germany).to_contain_text("Required in VCS Lite mode")
    screenshot(page, "invoicing-1-field-errors")

    germany.locator("input[name$='-seller_street']").fill("Hauptstraße 5")
    germany.locator("input[name$='-seller_postal_code']").fill("10115")
    germany.locator("input[name$='-seller_city']").fill("Berlin")
    germany.locator("select[name$='-seller_country']").select_option("DE")
    germany.locator("input[name$='-seller_vat_id']").fill(VAT_ID)
    germany.get_by_role("button", name="Save invoicing of Amazon.de").click()
    expect(page.locator(".alert-success")).to_contain_text("Invoicing of Amazon.de saved")
    expect(page.locator(f".marketplace-invoicing[data-marketplace={DE}]")).to_have_attribute(
        "data-mode", "vcs_lite"
    )
    expect(page.locator("#invoicing-stop")).to_have_count(0)
    screenshot(page, "invoicing-2-saved")

    # Reports » Upload: the worker imports the file and issues the invoices.
    document = tmp_path / "vcs-lite.txt"
    vcs_lite_file(document)
    page.goto(demo.url("/reports/upload/"))
    page.select_option("#id_report_type", VCS_LITE)
    page.set_input_files("#id_file", str(document))
    page.get_by_role("button", name="Import").click()
    expect(page.locator(".import-status")).to_have_text("Imported", timeout=IMPORT_TIMEOUT)
    screenshot(page, "invoicing-3-imported")

    page.goto(demo.url("/orders/invoices/?source=generated&kind=invoice"))
    rows = page.locator("tr.invoice-row")
    expect(rows.first).to_be_visible()
    rows.first.locator(".invoice-open").click()
    number = page.locator(".invoice-number").inner_text()
    assert re.fullmatch(r"INV-\d{4}-\d{6}", number), number
    expect(page.locator("#seller")).to_contain_text(f"VAT ID: {VAT_ID}")
    expect(page.locator("#seller")).to_contain_text("Hauptstraße 5")
    expect(page.locator("#buyer .buyer-name")).not_to_be_empty()
    screenshot(page, "invoicing-4-invoice")

    with page.expect_download() as download_info:
        page.locator("#invoice-pdf").click()
    download = download_info.value
    assert download.suggested_filename == f"{number}.pdf"
    text = "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(Path(download.path()).read_bytes())).pages
    )
    assert number in text
    assert VAT_ID in text
    assert demo.query(
        "SELECT COUNT(*) FROM orders_invoice WHERE number = ? AND seller_vat_id = ?", number, VAT_ID
    ) == [(1,)]

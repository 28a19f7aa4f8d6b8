"""A report's row errors and warnings as CSV and XLSX, all of them, from its details page."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from amazon_settings.models import SellerAccount
from orders import stored_texts as order_texts
from reports.models import Report, ReportRowError
from tests.german import GERMAN, compiled_catalogue

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures(compiled_catalogue.__name__)]


@pytest.fixture
def report() -> Report:
    account = SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX", region="eu", display_name="Müller"
    )
    return Report.objects.create(
        account=account,
        report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
        amazon_report_id="80001",
        import_status=Report.ImportStatus.IMPORTED,
    )


def test_every_row_error_and_warning_is_exported(report, logged_in_client):
    # More than the page shows (500 of each), in no particular order of creation.
    ReportRowError.objects.bulk_create(
        ReportRowError(report=report, line_number=n, reason=f"The quantity {n} is not a number.")
        for n in range(1200, 1, -1)
    )
    ReportRowError.objects.create(
        report=report,
        line_number=3,
        kind=ReportRowError.Kind.WARNING,
        reason="=1+1 does not add up",
    )
    response = logged_in_client.get(reverse("reports:row_errors_export", args=[report.pk, "csv"]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(
        'attachment; filename="report-80001-row-errors-'
    )
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    header, *rows = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    assert header == ["Line", "Kind", "Reason"]
    assert len(rows) == 1200
    assert rows[:3] == [
        ["2", "Error", "The quantity 2 is not a number."],
        ["3", "Error", "The quantity 3 is not a number."],
        ["3", "Warning", "'=1+1 does not add up"],
    ]
    response = logged_in_client.get(reverse("reports:row_errors_export", args=[report.pk, "xlsx"]))
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    assert sheet.max_row == 1201
    assert [cell.value for cell in sheet[4]] == [3, "Warning", "=1+1 does not add up"]
    assert sheet["C4"].data_type == "s"


def test_the_details_page_offers_the_export_when_there_are_rows(report, viewer_client):
    url = reverse("reports:detail", args=[report.pk])
    assert "export-buttons" not in viewer_client.get(url).content.decode()
    ReportRowError.objects.create(report=report, line_number=2, reason="No order ID.")
    body = viewer_client.get(url).content.decode()
    assert f'href="{reverse("reports:row_errors_export", args=[report.pk, "csv"])}"' in body
    assert f'href="{reverse("reports:row_errors_export", args=[report.pk, "xlsx"])}"' in body
    # A Viewer may export them: a GET under the reports namespace.
    export = viewer_client.get(reverse("reports:row_errors_export", args=[report.pk, "csv"]))
    assert export.status_code == 200
    assert viewer_client.get(f"/reports/{report.pk}/row-errors.txt").status_code == 404
    assert viewer_client.get("/reports/999999/row-errors.csv").status_code == 404


def test_a_german_reader_exports_the_row_errors_in_german(report, logged_in_client):
    """Headers, kinds and the stored reasons in German, as on the details page; a reason no
    template built stays as it was stored."""
    ReportRowError.objects.create(
        report=report,
        line_number=2,
        reason=order_texts.stored_text(order_texts.EMPTY, column="quantity-purchased"),
    )
    ReportRowError.objects.create(
        report=report,
        line_number=3,
        kind=ReportRowError.Kind.WARNING,
        reason="an old text that no template built",
    )
    url = reverse("reports:row_errors_export", args=[report.pk, "csv"])
    body = b"".join(logged_in_client.get(url, **GERMAN).streaming_content)
    assert list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))) == [
        ["Zeile", "Art", "Grund"],
        ["2", "Fehler", "quantity-purchased ist leer"],
        ["3", "Warnung", "an old text that no template built"],
    ]
    url = reverse("reports:row_errors_export", args=[report.pk, "xlsx"])
    sheet = load_workbook(io.BytesIO(b"".join(logged_in_client.get(url, **GERMAN)))).worksheets[0]
    assert [cell.value for cell in sheet[1]] == ["Zeile", "Art", "Grund"]
    assert sheet["C2"].value == "quantity-purchased ist leer"


@pytest.mark.parametrize(("errors", "warnings"), [(0, 0), (3, 1), (500, 2), (501, 0)])
def test_the_details_page_counts_the_rows_it_lists(report, logged_in_client, errors, warnings):
    """The page lists the first 500 of each kind with their number; it counts them only when
    the list does not already say how many there are."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ReportRowError.objects.bulk_create(
        [ReportRowError(report=report, line_number=n, reason="No order ID.") for n in range(errors)]
        + [
            ReportRowError(
                report=report, line_number=n, kind=ReportRowError.Kind.WARNING, reason="Odd."
            )
            for n in range(warnings)
        ]
    )
    with CaptureQueriesContext(connection) as queries:
        body = logged_in_client.get(reverse("reports:detail", args=[report.pk])).content.decode()
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == (errors >= 500) + (warnings >= 500)
    if errors:
        assert f'<span class="badge text-bg-danger">{errors}</span>' in body
    if warnings:
        assert f'<span class="badge text-bg-warning">{warnings}</span>' in body
    assert body.count("<td>No order ID.</td>") == min(errors, 500)
    assert ("The first 500 of 501 are shown." in body) == (errors == 501)
    assert ("export-buttons" in body) == bool(errors or warnings)

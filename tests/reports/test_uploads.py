"""Manual import: Reports » Upload and `manage.py import_report`, real runs and dry runs.

This module is also the URLconf of the uploads and where-is tests: the product's URLs plus the
new reports routes, until reports/urls.py carries them (then the extra entries are harmless).
"""

from __future__ import annotations

import codecs
import gzip
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import TestCase
from django.urls import include, path, reverse

from amazon_settings.models import AccountMarketplace, SellerAccount
from amazon_settings.spapi.documents import WINDOWS_1252
from config import urls as config_urls
from orders.models import Order, OrderItem
from reports import urls as reports_urls
from reports.models import Report, ReportRowError
from reports.services import pipeline, uploads
from reports.services.uploads import (
    UploadRejected,
    UploadTooLarge,
    import_uploaded_document,
    queue_uploaded_document,
)
from reports.views import uploads as upload_views
from reports.views import where_is as where_is_views
from tests.orders.conftest import NOW, render

NEW_REPORTS_ROUTES = [
    path("upload/", upload_views.upload, name="upload"),
    path("where-is/", where_is_views.where_is, name="where_is"),
    path("where-is/request/", where_is_views.where_is_request, name="where_is_request"),
]
_reports_with_new_routes = ([*reports_urls.urlpatterns, *NEW_REPORTS_ROUTES], "reports")
urlpatterns = [
    path("reports/", include(_reports_with_new_routes))
    if str(getattr(entry, "pattern", "")) == "reports/"
    else entry
    for entry in config_urls.urlpatterns
]
URLCONF = __name__

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLCONF)]

MFN_EU = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def handed(monkeypatch, django_capture_on_commit_callbacks):
    """The worker tasks handed out (after the request's transaction commits), for `work`."""
    tasks: list[tuple] = []
    monkeypatch.setattr(
        "reports.services.transitions.async_task", lambda func, *args, **kwargs: tasks.append(args)
    )
    return tasks


def work(handed: list[tuple]) -> None:
    """Run the handed-out tasks as a worker would."""
    while handed:
        pipeline.advance_report(*handed.pop(0))


@pytest.fixture
def account() -> SellerAccount:
    account = SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX", region="eu", display_name="Müller"
    )
    AccountMarketplace.objects.create(
        account=account,
        marketplace_id="A1PA6795UKMFR9",
        country_code="DE",
        name="Amazon.de",
        selected=True,
    )
    return account


@pytest.fixture(scope="module")
def mfn_document() -> bytes:
    text = render(MFN_EU, NOW - timedelta(days=6), NOW - timedelta(days=1))
    assert text.count("\n") > 5
    return text.encode("utf-8")


def counts() -> tuple[int, int, int]:
    return Order.objects.count(), OrderItem.objects.count(), Report.objects.count()


def post_upload(client, account, content: bytes, *, name="orders.txt", preview=False, **extra):
    data = {
        "account": account.pk,
        "report_type": extra.pop("report_type", MFN_EU),
        "file": SimpleUploadedFile(name, content, content_type="application/octet-stream"),
    }
    if preview:
        data["preview"] = "on"
    # The test's transaction never commits: run what waits for the commit (handing out).
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("reports:upload"), data)


def test_upload_page_offers_every_report_type_with_twins(logged_in_client, account):
    response = logged_in_client.get(reverse("reports:upload"))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="upload-form"' in page
    assert "GET_ORDER_REPORT_DATA_INVOICING" in page  # the XML twin of the MFN EU report
    assert "GET_AFN_INVENTORY_DATA" in page


def test_upload_stores_the_file_and_the_worker_imports_it(
    logged_in_client, account, mfn_document, handed
):
    response = post_upload(logged_in_client, account, mfn_document)

    report = Report.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:detail", args=[report.pk])
    # The request stored the file and handed its import to a worker; it imported nothing.
    assert report.import_status == Report.ImportStatus.IMPORTING
    assert Order.objects.count() == 0
    assert [pk for pk, _ in handed] == [report.pk]
    page = logged_in_client.get(response["Location"]).content.decode()
    assert "The worker imports it now" in page
    # The page follows the import: it polls its live part, which shows the progress.
    assert 'id="report-live" hx-get=' in page and 'hx-trigger="every 3s"' in page
    live = logged_in_client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert live.lstrip().startswith('<div id="report-live"')
    assert f"0 of {report.rows_total:,} lines imported" in live
    assert "Status history" not in live

    work(handed)

    report.refresh_from_db()
    assert report.source == Report.Source.UPLOADED
    assert report.import_status == Report.ImportStatus.IMPORTED
    assert report.requested_by.get_username() == "seller"
    assert report.raw_file and report.raw_charset == "utf-8"
    assert report.marketplace_ids == ["A1PA6795UKMFR9"]
    assert report.rows_created > 0 and report.rows_failed == 0
    assert Order.objects.count() > 0
    assert set(Order.objects.values_list("source_report_id", flat=True)) == {report.pk}
    assert report.events.first().message.startswith("Uploaded by seller: orders.txt")
    follow = logged_in_client.get(response["Location"]).content.decode()
    assert "Imported" in follow
    # Described as an upload: nothing Amazon sent, no range Amazon ignored, no Amazon status.
    facts = re.search(r'<dl class="row small mb-0" id="report-facts">.*?</dl>', follow, re.S)
    assert "none: the file was uploaded, not requested" in facts.group(0)
    assert "Whatever the uploaded file holds" in facts.group(0)
    for amazons in ("exactly as Amazon sent it", "Amazon ignores the range", "amazon-status"):
        assert amazons not in follow
    assert "as uploaded (decompressed when it was gzip)" in follow
    assert "hx-trigger" not in follow.split('id="report-live"')[1].split(">")[0]


def test_preview_writes_nothing_and_counts_like_the_real_run(
    logged_in_client, account, mfn_document, handed
):
    response = post_upload(logged_in_client, account, mfn_document, preview=True)

    assert response.status_code == 200
    assert counts() == (0, 0, 0)
    preview = response.context["result"]
    assert preview.dry_run and preview.report is None
    assert preview.rows > 0 and preview.created > 0
    assert 'id="upload-preview"' in response.content.decode()
    assert "nothing was stored" in response.content.decode()

    assert not preview.partial and "Counted from the first" not in response.content.decode()
    post_upload(logged_in_client, account, mfn_document)
    work(handed)
    report = Report.objects.get()
    assert (preview.rows, preview.created, preview.updated, preview.unchanged, preview.failed) == (
        report.rows_total,
        report.rows_created,
        report.rows_updated,
        report.rows_unchanged,
        report.rows_failed,
    )


def test_uploading_twice_changes_nothing(account, mfn_document):
    first = import_uploaded_document(
        account=account,
        report_type=MFN_EU,
        filename="a.txt",
        upload=mfn_document,
        acting_user=None,
        dry_run=False,
    )
    orders = Order.objects.count()
    second = import_uploaded_document(
        account=account,
        report_type=MFN_EU,
        filename="a.txt",
        upload=mfn_document,
        acting_user=None,
        dry_run=False,
    )
    assert Order.objects.count() == orders
    assert second.created == 0 and second.unchanged == first.created + first.updated


def test_gzip_upload_is_decompressed_and_stored_plain(
    logged_in_client, account, mfn_document, handed
):
    response = post_upload(logged_in_client, account, gzip.compress(mfn_document), name="o.gz")
    work(handed)

    assert response.status_code == 302
    report = Report.objects.get()
    assert report.import_status == Report.ImportStatus.IMPORTED
    assert report.raw_size == len(mfn_document)
    with report.raw_file.open("rb") as handle:
        assert handle.read() == mfn_document
    assert Order.objects.count() > 0


def test_document_without_required_columns_fails_with_the_reason(logged_in_client, account, handed):
    response = post_upload(logged_in_client, account, b"foo\tbar\n1\t2\n")
    work(handed)

    report = Report.objects.get()
    assert response.status_code == 302
    assert report.import_status == Report.ImportStatus.FAILED
    assert report.failure_reason == Report.FailureReason.BAD_DOCUMENT
    assert "lacks the required columns: order-id" in report.last_error
    page = logged_in_client.get(response["Location"]).content.decode()
    assert "The document lacks the required columns: order-id" in page
    assert Order.objects.count() == 0


def test_preview_of_a_rejected_document_shows_the_reason(logged_in_client, account):
    response = post_upload(logged_in_client, account, b"foo\tbar\n1\t2\n", preview=True)

    assert "The file would not be imported: The document lacks the required columns" in (
        response.content.decode()
    )
    assert counts() == (0, 0, 0)


def test_oversized_upload_is_a_form_error(logged_in_client, account, mfn_document, settings):
    settings.REPORT_UPLOAD_MAX_BYTES = 1024

    response = post_upload(logged_in_client, account, mfn_document)

    assert response.status_code == 400
    error = response.context["upload_form"].errors["file"][0]
    assert error.startswith(f"The file is {len(mfn_document) / 1024**2:.1f} MB; uploads are")
    assert 'id="error_1_id_file"' in response.content.decode()
    assert counts() == (0, 0, 0)


def test_gzip_bomb_is_stopped_at_the_limit(account, settings):
    settings.REPORT_UPLOAD_MAX_BYTES = 10_000
    with pytest.raises(UploadTooLarge, match="decompresses to more than"):
        import_uploaded_document(
            account=account,
            report_type=MFN_EU,
            filename="bomb.gz",
            upload=gzip.compress(b"x" * 100_000),
            acting_user=None,
            dry_run=True,
        )


def test_report_type_of_another_region_is_refused(logged_in_client, account, mfn_document):
    response = post_upload(
        logged_in_client,
        account,
        mfn_document,
        report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
    )
    assert response.status_code == 400
    assert "is not available in" in response.content.decode()
    assert counts() == (0, 0, 0)


def test_row_errors_are_kept_with_their_line(account, mfn_document):
    lines = mfn_document.decode().split("\n")
    header = lines[0].split("\t")
    row = lines[2].split("\t")
    row[header.index("purchase-date")] = "garbage"
    lines[2] = "\t".join(row)

    result = import_uploaded_document(
        account=account,
        report_type=MFN_EU,
        filename="broken.txt",
        upload="\n".join(lines).encode(),
        acting_user=None,
        dry_run=False,
    )

    error = ReportRowError.objects.get(report=result.report)
    assert error.line_number == 3
    assert "purchase-date: 'garbage' is not a date" in error.reason
    assert result.failed == 1 and result.errors[0].line_number == 3


def test_command_imports_and_prints_the_counts(account, mfn_document, tmp_path, capsys):
    path = tmp_path / "orders.txt"
    path.write_bytes(mfn_document)

    call_command(
        "import_report", str(path), "--account", "A2MUELLERHW7QX:eu", "--report-type", MFN_EU
    )

    report = Report.objects.get()
    out = capsys.readouterr().out
    assert report.source == Report.Source.UPLOADED and report.requested_by is None
    assert f"Report {report.pk}: Imported" in out
    assert f"{report.rows_total} lines: {report.rows_created} new" in out
    assert Order.objects.count() > 0


def test_command_dry_run_writes_nothing(account, mfn_document, tmp_path, capsys):
    path = tmp_path / "orders.txt"
    path.write_bytes(mfn_document)

    call_command(
        "import_report",
        str(path),
        "--account",
        "A2MUELLERHW7QX",
        "--report-type",
        MFN_EU,
        "--dry-run",
    )

    out = capsys.readouterr().out
    assert "Dry run: nothing was stored." in out
    assert " new, 0 changed, 0 unchanged, 0 with errors" in out
    assert counts() == (0, 0, 0)


def test_command_prints_row_errors_and_fails_on_a_rejected_document(account, tmp_path, capsys):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"foo\tbar\n1\t2\n")

    with pytest.raises(CommandError, match="Rejected: The document lacks the required columns"):
        call_command(
            "import_report", str(path), "--account", "A2MUELLERHW7QX", "--report-type", MFN_EU
        )
    assert Report.objects.get().import_status == Report.ImportStatus.FAILED


def test_command_names_an_unknown_account(tmp_path):
    path = tmp_path / "orders.txt"
    path.write_bytes(b"x")
    with pytest.raises(CommandError, match="No account AUNKNOWN"):
        call_command("import_report", str(path), "--account", "AUNKNOWN", "--report-type", MFN_EU)


class WholeReadRefused(ContentFile):
    """An upload that may be read a chunk at a time only, as a 200 MB file must be."""

    def read(self, size: int = -1) -> bytes:
        assert size is not None and 0 < size <= 4 * 1024**2, f"read({size}) of a whole upload"
        return self.file.read(size)


def test_an_upload_is_streamed_to_storage_not_read_whole(account, mfn_document, handed):
    # Many chunks: the document repeated (the same orders again) to over 2 MB.
    body = mfn_document.split(b"\n", 1)[1]
    content = mfn_document + body * (2 * 1024**2 // len(body) + 1)
    upload = WholeReadRefused(gzip.compress(content), name="big.txt.gz")

    report = queue_uploaded_document(
        account=account, report_type=MFN_EU, filename="big.txt.gz", upload=upload, acting_user=None
    )

    assert report.raw_size == len(content) > 2 * 1024**2
    assert report.rows_total == content.count(b"\n") - 1
    with report.raw_file.open("rb") as handle:
        assert handle.read() == content


def test_a_multi_member_gzip_file_is_read_whole(account, mfn_document):
    half = len(mfn_document) // 2
    cut = mfn_document.index(b"\n", half) + 1
    content = gzip.compress(mfn_document[:cut]) + gzip.compress(mfn_document[cut:])

    result = import_uploaded_document(
        account=account,
        report_type=MFN_EU,
        filename="two-members.gz",
        upload=content,
        acting_user=None,
        dry_run=False,
    )

    assert result.report.raw_size == len(mfn_document)
    assert result.rows == mfn_document.count(b"\n") - 1 and result.failed == 0


def test_a_damaged_gzip_file_is_refused_and_nothing_is_stored(account, mfn_document):
    damaged = gzip.compress(mfn_document)[:-40]
    with pytest.raises(UploadRejected, match="The gzip file is damaged"):
        queue_uploaded_document(
            account=account, report_type=MFN_EU, filename="o.gz", upload=damaged, acting_user=None
        )
    assert counts() == (0, 0, 0)


def test_charset_is_found_while_streaming(account):
    def stored_charset(content: bytes) -> str:
        return queue_uploaded_document(
            account=account, report_type=MFN_EU, filename="o.txt", upload=content, acting_user=None
        ).raw_charset

    lines = "order-id\tbuyer-name\n303-1234567-1234567\tMüller\n"
    assert stored_charset(lines.encode("utf-8")) == "utf-8"
    assert stored_charset(codecs.BOM_UTF8 + lines.encode("utf-8")) == "utf-8-sig"
    assert stored_charset(lines.encode("cp1252")) == WINDOWS_1252
    # 0x81 is undefined in cp1252: read as browsers read it, never refused.
    assert stored_charset(lines.encode("cp1252") + b"\x81\n") == WINDOWS_1252
    report = Report.objects.order_by("pk").last()
    assert "1 byte that cp1252 leaves undefined read as ISO-8859-1" in report.events.first().message
    # A byte order mark promises UTF-8: a file that breaks it is refused, saying what to do.
    with pytest.raises(UploadRejected, match="save it as UTF-8 text and upload that file"):
        stored_charset(codecs.BOM_UTF8 + lines.encode("cp1252"))
    assert Report.objects.count() == 4


def test_a_latin1_file_with_bytes_cp1252_leaves_undefined_is_imported_with_its_umlauts(
    account, mfn_document
):
    header, rest = mfn_document.decode().split("\n", 1)
    names = header.split("\t")
    row = rest.split("\n", 1)[0].split("\t")
    row[names.index("buyer-name")] = "Jürgen Müller\x81"
    row[names.index("order-id")] = "303-7654321-7654321"
    content = (header + "\n" + "\t".join(row) + "\n").encode("latin-1")

    result = import_uploaded_document(
        account=account,
        report_type=MFN_EU,
        filename="latin1.txt",
        upload=content,
        acting_user=None,
        dry_run=False,
    )

    assert result.failed == 0 and result.created >= 1
    order = Order.objects.get(amazon_order_id="303-7654321-7654321")
    assert order.buyer_name == "Jürgen Müller\x81"


def test_a_preview_of_a_long_file_counts_its_first_lines(
    logged_in_client, account, mfn_document, monkeypatch
):
    monkeypatch.setattr(uploads, "PREVIEW_LINES", 3)

    response = post_upload(logged_in_client, account, mfn_document, preview=True)

    preview = response.context["result"]
    assert preview.partial and preview.rows == 3
    assert "Counted from the first 3 lines of the file" in response.content.decode()
    assert counts() == (0, 0, 0)

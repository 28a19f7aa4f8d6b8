"""Manual import: a report document the seller has as a file, imported as the pipeline would.

A file downloaded from Seller Central (or kept from elsewhere) becomes a Report with source
"uploaded": its bytes are stored like a downloaded document (gunzipped, charset checked) and
the registry importer reads it through the pipeline's own import step, so counters, row errors
and the held/failed/imported outcome are exactly those of a report fetched from Amazon, and
Reset or Confirm on the Processing page work on it as on any other report. A dry run parses
and counts inside a rolled-back transaction and stores nothing.
"""

from __future__ import annotations

import io
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from amazon_settings.models import SellerAccount
from amazon_settings.spapi import DocumentError, DocumentTooLarge, gunzip
from orders.importers.base import DocumentRejected, ImportContext, ImportResult, RowError
from orders.importers.registry import get_importer
from reports import documents
from reports.catalog import kind_for_report_type
from reports.exceptions import ReportsError
from reports.models import Report, ReportRowError
from reports.services.pipeline import import_stored_document
from reports.services.transitions import fail_report, register_report

logger = logging.getLogger(__name__)

# Override with settings.REPORT_UPLOAD_MAX_BYTES. It bounds the file as sent and, for a gzip
# file, what it decompresses to.
DEFAULT_MAX_UPLOAD_BYTES = 200 * 1024 * 1024
# How many row errors a result carries for display; the report keeps all of them.
RESULT_ERRORS = 50
GZIP_MAGIC = b"\x1f\x8b"


class UploadRejected(ReportsError):
    """The file cannot be imported at all (type, region, encoding): choose another file or type."""


class UploadTooLarge(UploadRejected):
    """The file is larger than the upload limit: split it, or import it with the command."""


def max_upload_bytes() -> int:
    return int(getattr(settings, "REPORT_UPLOAD_MAX_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def too_large_message(size: int, limit: int | None = None) -> str:
    limit = max_upload_bytes() if limit is None else limit
    return (
        f"The file is {size / 1024**2:.1f} MB; uploads are limited to "
        f"{limit / 1024**2:.0f} MB. Import larger files with `manage.py import_report`."
    )


@dataclass(frozen=True)
class UploadResult:
    """What an upload did, or (dry run) would do. `report` is None for a dry run."""

    dry_run: bool
    report: Report | None = None
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: tuple[RowError, ...] = field(default_factory=tuple)  # the first RESULT_ERRORS
    error_count: int = 0
    rejected: str = ""  # the whole document was refused: nothing imported
    held_reason: str = ""  # the stock guard held it for confirmation

    @property
    def ok(self) -> bool:
        return not self.rejected


def import_uploaded_document(
    *,
    account: SellerAccount,
    report_type: str,
    filename: str,
    content: bytes,
    acting_user: AbstractBaseUser | None,
    dry_run: bool,
    max_bytes: int | None = None,
) -> UploadResult:
    """Import one uploaded report document for `account`.

    `max_bytes` (default: the upload limit, settings.REPORT_UPLOAD_MAX_BYTES) bounds the file
    and what a gzip file decompresses to; the command line passes the pipeline's larger cap.

    Gzip files are decompressed first. Without `dry_run` a Report (source "uploaded") is
    created, the bytes stored, and the pipeline's import step run: the result mirrors the
    report (imported, held or failed with the reason). With `dry_run` the importer counts in a
    rolled-back transaction and nothing is stored, not even a Report. Idempotent like every
    import: uploading the same file twice changes no record the second time.

    Raises UploadTooLarge, UploadRejected (unknown or foreign report type, undecodable bytes).
    """
    kind = kind_for_report_type(report_type)
    if kind is None:
        raise UploadRejected(f"{report_type} is not a report type this dashboard imports.")
    if account.region not in kind.regions:
        raise UploadRejected(f"{kind.name} is not available in {account.get_region_display()}.")
    content, charset = _decoded_bytes(content, limit=max_bytes or max_upload_bytes())
    marketplace_ids = account.marketplaces.selected_ids()
    if dry_run:
        return _dry_run(
            account=account,
            report_type=report_type,
            content=content,
            charset=charset,
            marketplace_ids=marketplace_ids,
        )
    report = _store(
        account=account,
        report_type=report_type,
        filename=filename,
        content=content,
        charset=charset,
        marketplace_ids=marketplace_ids,
        acting_user=acting_user,
    )
    try:
        import_stored_document(report)
    except Exception as error:  # the upload must end in a state the seller can see and reset
        logger.exception("Uploaded report %s could not be imported", report.pk)
        # The stored row, not what the failed import left in memory, is what fails.
        report.refresh_from_db()
        fail_report(
            report,
            reason=Report.FailureReason.INTERNAL,
            message=f"The import stopped with an internal error: {error}",
            expected_status=Report.ImportStatus.IMPORTING,
        )
    report.refresh_from_db()
    return _result_of(report)


def _decoded_bytes(content: bytes, *, limit: int) -> tuple[bytes, str]:
    """The document's bytes (gunzipped when gzip) and the charset that decodes them."""
    if len(content) > limit:
        raise UploadTooLarge(too_large_message(len(content), limit))
    if content.startswith(GZIP_MAGIC):
        try:
            content = gunzip(content, max_bytes=limit)
        except DocumentTooLarge:
            raise UploadTooLarge(
                f"The file decompresses to more than {limit / 1024**2:.0f} MB, the limit."
            ) from None
        except DocumentError as error:
            raise UploadRejected(f"The gzip file is damaged: {error}") from None
    try:
        charset = documents.effective_charset(content, None)
    except DocumentError as error:
        raise UploadRejected(f"The file could not be decoded: {error}") from None
    return content, charset


def _dry_run(
    *,
    account: SellerAccount,
    report_type: str,
    content: bytes,
    charset: str,
    marketplace_ids: list[str],
) -> UploadResult:
    context = ImportContext(
        account=account,
        report_type=report_type,
        source_report_id=None,
        marketplace_ids=tuple(marketplace_ids),
        dry_run=True,
    )
    stream = io.TextIOWrapper(io.BytesIO(content), encoding=charset, newline="")
    try:
        result: ImportResult = get_importer(report_type).import_document(stream, context=context)
    except DocumentRejected as error:
        return UploadResult(dry_run=True, rejected=str(error))
    except UnicodeDecodeError as error:
        return UploadResult(dry_run=True, rejected=f"The document could not be decoded: {error}")
    return UploadResult(
        dry_run=True,
        rows=result.rows,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        failed=result.failed,
        errors=tuple(result.errors[:RESULT_ERRORS]),
        error_count=len(result.errors),
        held_reason=result.held_reason,
    )


def _store(
    *,
    account: SellerAccount,
    report_type: str,
    filename: str,
    content: bytes,
    charset: str,
    marketplace_ids: list[str],
    acting_user: AbstractBaseUser | None,
) -> Report:
    """Create the report in IMPORTING with its document, leased so the worker leaves it alone
    while this request imports it (and takes it over if this request dies)."""
    now = timezone.now()
    who = acting_user.get_username() if getattr(acting_user, "pk", None) else "command line"
    with transaction.atomic():
        report = Report(
            account=account,
            report_type=report_type,
            marketplace_ids=marketplace_ids,
            source=Report.Source.UPLOADED,
            requested_by=acting_user if getattr(acting_user, "pk", None) else None,
            import_status=Report.ImportStatus.IMPORTING,
            lease_id=secrets.token_hex(8),
            leased_until=now + timedelta(seconds=settings.REPORT_LEASE_SECONDS),
            downloaded_at=now,
            rows_total=max(0, content.count(b"\n") - 1),
        )
        register_report(
            report,
            message=f"Uploaded by {who}: {filename[:200]} ({len(content):,} bytes, {charset}).",
        )
        # The file is named after the report's id, which exists only once it is saved.
        documents.store_raw_document(report, content, charset=charset)
        report.save(update_fields=["raw_file", "raw_charset", "raw_size"])
    return report


def _result_of(report: Report) -> UploadResult:
    Status = Report.ImportStatus
    errors = tuple(
        RowError(line_number=e.line_number, reason=e.reason)
        for e in ReportRowError.objects.filter(report=report)[:RESULT_ERRORS]
    )
    return UploadResult(
        dry_run=False,
        report=report,
        rows=report.rows_total if report.import_status == Status.IMPORTED else 0,
        created=report.rows_created,
        updated=report.rows_updated,
        unchanged=report.rows_unchanged,
        failed=report.rows_failed,
        errors=errors,
        error_count=report.row_errors.count(),
        rejected=report.last_error if report.import_status == Status.FAILED else "",
        held_reason=report.last_error if report.import_status == Status.HELD else "",
    )

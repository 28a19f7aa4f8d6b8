"""Manual import: a report document the seller has as a file, imported as the pipeline would.

A file downloaded from Seller Central (or kept from elsewhere) becomes a Report with source
"uploaded". Its bytes are streamed, a chunk at a time, through gunzip (when gzip) and a charset
check into Django's storage, never held in memory whole; the report then waits in IMPORTING for
the worker, which imports it through the pipeline's own import step (a batch at a time). So a
200 MB file costs the web request the time to store it, not to import it, and counters, row
errors, progress and the held/failed/imported outcome are exactly those of a report fetched
from Amazon; Reset or Confirm on the Processing page work on it as on any other report.

The command line (`manage.py import_report`) stores the same way and imports at once, in its
own process. A preview (dry run) counts the file's first PREVIEW_LINES lines inside a
rolled-back transaction and stores nothing.
"""

from __future__ import annotations

import io
import itertools
import tempfile
import zlib
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amazon_settings.models import SellerAccount
from amazon_settings.spapi import CharsetFacts, DocumentError, choose_charset
from orders.importers.base import (
    DocumentRejected,
    ImportContext,
    ImportResult,
    RowError,
    RowWarning,
)
from orders.importers.registry import get_importer
from reports import documents
from reports import stored_texts as texts
from reports.catalog import kind_for_report_type
from reports.exceptions import ReportsError
from reports.models import Report, ReportRowError
from reports.services.pipeline import advance_report
from reports.services.transitions import claim_reports, enqueue_reports, register_report

# Override with settings.REPORT_UPLOAD_MAX_BYTES. It bounds the file as sent and, for a gzip
# file, what it decompresses to.
DEFAULT_MAX_UPLOAD_BYTES = 200 * 1024 * 1024
# How many row errors a result carries for display; the report keeps all of them.
RESULT_ERRORS = 50
# A preview counts this many lines at most, so that it answers in seconds for any file.
PREVIEW_LINES = 20_000
GZIP_MAGIC = b"\x1f\x8b"
GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib's gzip framing
UPLOAD_CHUNK_BYTES = 1024 * 1024


class UploadRejected(ReportsError):
    """The file cannot be imported at all (type, region, encoding): choose another file or type."""


class UploadTooLarge(UploadRejected):
    """The file is larger than the upload limit: split it, or import it with the command."""


def max_upload_bytes() -> int:
    return int(getattr(settings, "REPORT_UPLOAD_MAX_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def too_large_message(size: int, limit: int | None = None) -> str:
    limit = max_upload_bytes() if limit is None else limit
    return _(
        "The file is %(size)s MB; uploads are limited to %(limit)s MB. Import larger files with "
        "`manage.py import_report`."
    ) % {"size": f"{size / 1024**2:.1f}", "limit": f"{limit / 1024**2:.0f}"}


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
    # Lines imported as they stand whose amounts do not add up (the first RESULT_ERRORS).
    warnings: tuple[RowWarning, ...] = field(default_factory=tuple)
    warning_count: int = 0
    rejected: str = ""  # the whole document was refused: nothing imported
    held_reason: str = ""  # the stock guard held it for confirmation
    partial: bool = False  # a preview that counted the first PREVIEW_LINES lines only

    @property
    def ok(self) -> bool:
        return not self.rejected


def queue_uploaded_document(
    *,
    account: SellerAccount,
    report_type: str,
    filename: str,
    upload: File | bytes,
    acting_user: AbstractBaseUser | None,
) -> Report:
    """Store an uploaded document for `account` and hand its import to the worker.

    The file is read in chunks (gunzipped when gzip, bounded by the upload limit) into storage;
    the report is created in IMPORTING and handed to a worker once this transaction commits.
    Raises UploadTooLarge, UploadRejected (unknown or foreign report type, damaged gzip,
    undecodable bytes), DocumentStorageFailed (the document store is down); nothing is stored
    then.
    """
    received = _receive(account=account, report_type=report_type, upload=upload, limit=None)
    with received:
        report = _store(
            account=account,
            report_type=report_type,
            filename=filename,
            received=received,
            acting_user=acting_user,
        )
    transaction.on_commit(lambda: enqueue_reports([report.pk]))
    return report


def import_uploaded_document(
    *,
    account: SellerAccount,
    report_type: str,
    filename: str,
    upload: File | bytes,
    acting_user: AbstractBaseUser | None,
    dry_run: bool,
    max_bytes: int | None = None,
) -> UploadResult:
    """Import one document for `account` here and now (the command line), or preview it.

    `max_bytes` (default: the upload limit, settings.REPORT_UPLOAD_MAX_BYTES) bounds the file
    and what a gzip file decompresses to; the command line passes the pipeline's larger cap.

    Without `dry_run` the document is stored as by `queue_uploaded_document` and imported by
    the pipeline's import step in this process: the result mirrors the report (imported, held
    or failed with the reason). With `dry_run` the importer counts the first PREVIEW_LINES
    lines in a rolled-back transaction and nothing is stored, not even a Report. Idempotent
    like every import: importing the same file twice changes no record the second time.

    Raises UploadTooLarge, UploadRejected (unknown or foreign report type, undecodable bytes),
    DocumentStorageFailed (the document store is down; nothing is stored).
    """
    received = _receive(account=account, report_type=report_type, upload=upload, limit=max_bytes)
    with received:
        if dry_run:
            return _dry_run(account=account, report_type=report_type, received=received)
        report = _store(
            account=account,
            report_type=report_type,
            filename=filename,
            received=received,
            acting_user=acting_user,
        )
    claimed = claim_reports(ids=[report.pk])
    if claimed:
        advance_report(*claimed[0])
    report.refresh_from_db()
    return _result_of(report)


class _Received:
    """An uploaded document as stored bytes: gunzipped, its charset and lines known, in a
    temporary file that is removed when the `with` block ends."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()
        self.size = 0
        self.newlines = 0
        self.charset = ""
        self.charset_reason = ""

    def __enter__(self) -> _Received:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.file.close()

    def head(self, lines: int) -> tuple[str, bool]:
        """The document's first `lines` lines as text, and whether more follow."""
        self.file.seek(0)
        stream = io.TextIOWrapper(self.file, encoding=self.charset, newline="")
        try:
            head = "".join(itertools.islice(stream, lines))
            return head, stream.readline() != ""
        finally:
            stream.detach()  # the `with` block owns the file

    def as_file(self) -> File:
        self.file.seek(0)
        stored = File(self.file)
        stored.size = self.size
        return stored


def _receive(
    *, account: SellerAccount, report_type: str, upload: File | bytes, limit: int | None
) -> _Received:
    """Check the report type, then stream the upload into a temporary file: gunzipped when
    it is gzip, bounded by `limit`, its lines counted and its charset found."""
    kind = kind_for_report_type(report_type)
    if kind is None:
        raise UploadRejected(
            _("%(report_type)s is not a report type this dashboard imports.")
            % {"report_type": report_type}
        )
    if account.region not in kind.regions:
        raise UploadRejected(
            _("%(kind)s is not available in %(region)s.")
            % {"kind": kind.name, "region": account.get_region_display()}
        )
    limit = limit or max_upload_bytes()
    if isinstance(upload, bytes):
        upload = ContentFile(upload)
    if upload.size is not None and upload.size > limit:
        raise UploadTooLarge(too_large_message(upload.size, limit))
    received = _Received()
    try:
        _copy_decoded(upload, received, limit=limit)
    except BaseException:
        received.file.close()
        raise
    return received


def _copy_decoded(upload: File, received: _Received, *, limit: int) -> None:
    chunks = iter(upload.chunks(UPLOAD_CHUNK_BYTES))
    first = next(chunks, b"")
    inflate = zlib.decompressobj(wbits=GZIP_WBITS) if first.startswith(GZIP_MAGIC) else None
    facts = CharsetFacts(label=None)
    read = 0

    def keep(data: bytes) -> None:
        received.size += len(data)
        if received.size > limit:
            if inflate is not None:
                raise UploadTooLarge(
                    _("The file decompresses to more than %(limit)s MB, the limit.")
                    % {"limit": f"{limit / 1024**2:.0f}"}
                )
            raise UploadTooLarge(too_large_message(read, limit))
        received.newlines += data.count(b"\n")
        facts.feed(data)
        received.file.write(data)

    for chunk in itertools.chain([first], chunks):
        read += len(chunk)
        if inflate is None:
            keep(chunk)
            continue
        try:
            # Never more than a chunk's worth out at once, so a bomb is stopped at the limit.
            data = inflate.decompress(chunk, UPLOAD_CHUNK_BYTES)
            keep(data)
            while inflate.unconsumed_tail:
                keep(inflate.decompress(inflate.unconsumed_tail, UPLOAD_CHUNK_BYTES))
            # Multi-member gzip files: a new member starts after the end of the previous one.
            while inflate.eof and inflate.unused_data:
                rest = inflate.unused_data
                inflate = zlib.decompressobj(wbits=GZIP_WBITS)
                keep(inflate.decompress(rest, UPLOAD_CHUNK_BYTES))
                while inflate.unconsumed_tail:
                    keep(inflate.decompress(inflate.unconsumed_tail, UPLOAD_CHUNK_BYTES))
        except zlib.error as error:
            raise UploadRejected(
                _("The gzip file is damaged: %(error)s") % {"error": error}
            ) from None
    if inflate is not None:
        keep(inflate.flush())
        if not inflate.eof:
            raise UploadRejected(_("The gzip file is damaged: it ends before its last block."))
    try:
        choice = choose_charset(facts.finish())
    except DocumentError as error:
        raise UploadRejected(
            _("The file could not be decoded: %(error)s") % {"error": error}
        ) from None
    received.charset, received.charset_reason = choice.charset, choice.reason


def _dry_run(*, account: SellerAccount, report_type: str, received: _Received) -> UploadResult:
    context = ImportContext(
        account=account,
        report_type=report_type,
        source_report_id=None,
        marketplace_ids=tuple(account.marketplaces.selected_ids()),
        dry_run=True,
    )
    # A bounded preview: the header and the first PREVIEW_LINES lines, at most.
    head, partial = received.head(PREVIEW_LINES + 1)
    try:
        result: ImportResult = get_importer(report_type).import_document(
            io.StringIO(head, newline=""), context=context
        )
    except DocumentRejected as error:
        return UploadResult(dry_run=True, rejected=str(error))
    except UnicodeDecodeError as error:
        return UploadResult(
            dry_run=True,
            rejected=_("The document could not be decoded: %(error)s") % {"error": error},
        )
    return UploadResult(
        dry_run=True,
        rows=result.rows,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        failed=result.failed,
        errors=tuple(result.errors[:RESULT_ERRORS]),
        error_count=len(result.errors),
        warnings=tuple(result.warnings[:RESULT_ERRORS]),
        warning_count=len(result.warnings),
        held_reason=result.held_reason,
        partial=partial,
    )


def _store(
    *,
    account: SellerAccount,
    report_type: str,
    filename: str,
    received: _Received,
    acting_user: AbstractBaseUser | None,
) -> Report:
    """Create the report in IMPORTING, due at once, with its document in storage."""
    who = acting_user.get_username() if getattr(acting_user, "pk", None) else "command line"
    with transaction.atomic():
        report = Report(
            account=account,
            report_type=report_type,
            marketplace_ids=account.marketplaces.selected_ids(),
            source=Report.Source.UPLOADED,
            requested_by=acting_user if getattr(acting_user, "pk", None) else None,
            import_status=Report.ImportStatus.IMPORTING,
            next_attempt_at=timezone.now(),
            downloaded_at=timezone.now(),
            rows_total=max(0, received.newlines - 1),
        )
        register_report(
            report,
            message=texts.stored_text(
                texts.UPLOADED,
                who=who,
                filename=filename[:200],
                size=received.size,
                reason=received.charset_reason,
            ),
        )
        # The file is named after the report's id, which exists only once it is saved.
        documents.store_raw_file(report, received.as_file(), charset=received.charset)
        report.save(update_fields=["raw_file", "raw_charset", "raw_size"])
    return report


def _result_of(report: Report) -> UploadResult:
    Status = Report.ImportStatus
    errors = ReportRowError.objects.filter(report=report, kind=ReportRowError.Kind.ERROR)
    warnings = ReportRowError.objects.filter(report=report, kind=ReportRowError.Kind.WARNING)
    return UploadResult(
        dry_run=False,
        report=report,
        rows=report.rows_total if report.import_status == Status.IMPORTED else 0,
        created=report.rows_created,
        updated=report.rows_updated,
        unchanged=report.rows_unchanged,
        failed=report.rows_failed,
        errors=tuple(RowError(e.line_number, e.reason) for e in errors[:RESULT_ERRORS]),
        error_count=errors.count(),
        warnings=tuple(RowWarning(w.line_number, w.reason) for w in warnings[:RESULT_ERRORS]),
        warning_count=warnings.count(),
        rejected=report.last_error if report.import_status == Status.FAILED else "",
        held_reason=report.last_error if report.import_status == Status.HELD else "",
    )

"""The worker's steps for one report: send, poll, download, import.

`advance_report` performs the step the report's state calls for and records the result; it is
safe to run twice, because it starts from the stored state and returns early when the step is
done. The rules for writing each result (guards, failures, retries, leases) are those of
`reports.services.transitions`.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from amazon_settings import services as account_services
from amazon_settings.exceptions import AccountNotConnected
from amazon_settings.spapi import (
    DocumentError,
    DocumentUrlExpired,
    SpApiAuthError,
    SpApiError,
    SpApiRequestError,
    SpApiTransientError,
    decode_document,
)
from orders.importers.base import (
    Checkpoint,
    DocumentRejected,
    ImportContext,
    ImportResult,
    RowError,
    RowWarning,
)
from orders.importers.registry import get_importer
from reports import documents
from reports import stored_texts as texts
from reports.catalog import ReportKind, kind_for_report_type
from reports.exceptions import DocumentStorageFailed
from reports.models import Report, ReportRowError
from reports.services.transitions import (
    StaleState,
    apply_amazon_report,
    fail_report,
    hold_lease,
    poll_interval,
    record_event,
    release_lease,
    retry_later,
    transition,
)

logger = logging.getLogger(__name__)

Status = Report.ImportStatus
Amazon = Report.AmazonStatus
Reason = Report.FailureReason

NO_DATA_MESSAGE = texts.NO_DATA


def advance_report(
    report_id: int, lease_id: str = "", *, stop_at: str | None = None
) -> Report | None:
    """Do the next step for one report. Safe to call twice, and at once from several workers:
    it works only under the report's lease (the one handed out by `claim_reports`, or one it
    takes itself when the report is free), so a redelivered task does nothing while another
    worker holds the report. Does nothing for finished reports.

    `stop_at` (an ImportStatus) leaves the report in that state instead of working on: a
    script or test that must act between two steps (damage a document before its download)
    passes DOWNLOADING. The worker never passes it.
    """
    lease_id = hold_lease(report_id, lease_id)
    if not lease_id:
        return Report.objects.filter(pk=report_id).first()
    report = Report.objects.select_related("account").filter(pk=report_id).first()
    if report is None or report.is_finished:
        release_lease(report_id, lease_id)
        return report
    start_status = report.import_status
    if report.failure_reason == Reason.AUTH:
        # Reports of an account Amazon refused are claimed again only once access is renewed;
        # should Amazon still refuse, the step below writes the reason again.
        report.failure_reason = Reason.NONE
        report.last_error = ""
    try:
        _run_steps(report, stop_at=stop_at)
    except StaleState:
        logger.info("Report %s was moved on by another worker; leaving it.", report.pk)
        return report
    except SpApiAuthError as error:
        # call_amazon marked the account; the worker skips it until access is renewed. The
        # report is not finished: it waits, and its reason tells the pages to offer renewal.
        report.failure_reason = Reason.AUTH
        report.last_error = texts.stored_text(texts.DENIED, error=error)
        report.next_attempt_at = timezone.now() + poll_interval()
        transition(report, expected_status=report.import_status, message=report.last_error)
    except AccountNotConnected as error:
        report.last_error = str(error)
        report.next_attempt_at = timezone.now() + poll_interval()
        transition(report, expected_status=report.import_status, message=str(error))
    except SpApiTransientError as error:
        retry_later(report, error)
    except SpApiRequestError as error:
        fail_report(
            report,
            reason=Reason.REJECTED,
            message=texts.stored_text(texts.REJECTED, error=error),
        )
    except DocumentStorageFailed as error:
        # The document store (S3) is down or refuses us: the download is fetched again, an
        # import resumes after its last batch, once the backoff has passed.
        retry_later(report, error, reason=Reason.STORAGE)
    except Exception as error:
        logger.exception("Report %s failed in state %s", report.pk, report.import_status)
        retry_later(report, error, reason=Reason.INTERNAL)
    finally:
        # Whatever happened, this worker is done with the report for now.
        release_lease(report.pk, lease_id)
    if start_status != report.import_status:
        logger.info("Report %s: %s → %s", report.pk, start_status, report.import_status)
    return report


def _run_steps(report: Report, *, stop_at: str | None) -> None:
    """Send or poll, then download and import as far as the report's state allows."""
    if report.import_status == stop_at:
        return
    if report.import_status == Status.QUEUED:
        _send(report)
    elif report.import_status == Status.WAITING:
        _poll(report)
    for status, step in (
        (Status.DOWNLOADING, _download),
        (Status.IMPORTING, import_stored_document),
    ):
        if report.import_status == stop_at:
            return
        if report.import_status == status:
            step(report)


def _regeneration_wait(report: Report, kind: ReportKind | None) -> datetime | None:
    """When Amazon will accept this report again, if one of the same type and marketplaces was
    sent inside its regeneration window (Amazon answers FATAL to a request before that)."""
    if kind is None or kind.regeneration_window is None:
        return None
    since = timezone.now() - kind.regeneration_window
    recent = (
        Report.objects.filter(
            account=report.account, report_type=report.report_type, sent_at__gte=since
        )
        .exclude(pk=report.pk)
        .exclude(amazon_status=Amazon.FATAL)
        .order_by("-sent_at")
    )
    marketplaces = sorted(report.marketplace_ids)
    last = next((r for r in recent if sorted(r.marketplace_ids) == marketplaces), None)
    return last.sent_at + kind.regeneration_window if last else None


def _send(report: Report) -> None:
    kind = kind_for_report_type(report.report_type)
    not_before = _regeneration_wait(report, kind)
    if not_before is not None:
        report.next_attempt_at = not_before
        hours = kind.regeneration_window.total_seconds() / 3600
        report.last_error = texts.stored_text(
            texts.REGENERATION_WAIT,
            hours=f"{hours:g}",
            moment=texts.stored_moment(not_before),
        )
        transition(report, expected_status=Status.QUEUED)
        return
    report_id = account_services.call_amazon(
        report.account,
        lambda client: client.create_report(
            report_type=report.report_type,
            marketplace_ids=list(report.marketplace_ids),
            data_start_time=report.data_start,
            data_end_time=report.data_end,
        ),
    )
    now = timezone.now()
    report.amazon_report_id = report_id
    report.amazon_status = Amazon.IN_QUEUE
    report.import_status = Status.WAITING
    report.sent_at = now
    report.attempts = 0
    report.last_error = ""
    report.next_attempt_at = now + poll_interval()
    name = kind.name if kind else report.report_type
    transition(
        report,
        expected_status=Status.QUEUED,
        message=texts.stored_text(texts.SENT, report_id=report_id, name=name),
    )


def _poll(report: Report) -> None:
    amazon = account_services.call_amazon(
        report.account, lambda client: client.get_report(report.amazon_report_id)
    )
    previous = report.amazon_status
    apply_amazon_report(report, amazon)
    now = timezone.now()
    report.attempts = 0
    if amazon.processing_status == Amazon.DONE:
        report.import_status = Status.DOWNLOADING
        report.stuck_since = None
        report.last_error = ""
        transition(
            report,
            expected_status=Status.WAITING,
            message=texts.FINISHED,
            keep_lease=True,
        )
    elif amazon.processing_status == Amazon.CANCELLED:
        report.import_status = Status.NO_DATA
        report.last_error = NO_DATA_MESSAGE
        report.next_attempt_at = None
        transition(report, expected_status=Status.WAITING, message=NO_DATA_MESSAGE)
    elif amazon.processing_status == Amazon.FATAL:
        message = _fatal_message(report)
        report.import_status = Status.FAILED
        report.failure_reason = Reason.AMAZON_FATAL
        report.last_error = message
        report.next_attempt_at = None
        transition(report, expected_status=Status.WAITING, message=message)
    else:
        waiting_since = report.sent_at or report.amazon_created_at or report.created_at
        stuck_after = timedelta(seconds=settings.REPORT_STUCK_AFTER_SECONDS)
        if waiting_since and now - waiting_since > stuck_after and report.stuck_since is None:
            report.stuck_since = now
            hours = (now - waiting_since).total_seconds() / 3600
            report.last_error = texts.stored_text(texts.STUCK, hours=f"{hours:.1f}")
        report.next_attempt_at = now + poll_interval()
        message = (
            texts.stored_text(texts.AMAZON_STATUS, status=amazon.processing_status)
            if previous != amazon.processing_status
            else ""
        )
        transition(report, expected_status=Status.WAITING, message=message)


def _fatal_message(report: Report) -> str:
    """Amazon's own words for a FATAL report: its error document, when there is one."""
    fallback = texts.FATAL_NO_REASON
    if not report.amazon_document_id:
        return fallback
    try:
        content, charset = _fetch_document(report)
        text = decode_document(content, charset)
    except (SpApiError, DocumentError):
        return fallback
    try:
        details = json.loads(text).get("errorDetails")
    except (ValueError, AttributeError):
        details = None
    return texts.stored_text(texts.FATAL, details=details or text.strip()[:500])


def _fetch_document(report: Report) -> tuple[bytes, str | None]:
    """getReportDocument right before the download (its URL dies after 5 minutes); on an
    expired URL, ask once more for a fresh one."""
    kind = kind_for_report_type(report.report_type)
    restricted = bool(kind and kind.restricted)

    def fetch(client):
        document = client.get_report_document(report.amazon_document_id, restricted=restricted)
        try:
            return client.download_document(document)
        except DocumentUrlExpired:
            fresh = client.get_report_document(report.amazon_document_id, restricted=restricted)
            return client.download_document(fresh)

    downloaded = account_services.call_amazon(report.account, fetch)
    return downloaded.content, downloaded.charset


def _download(report: Report) -> None:
    try:
        content, charset = _fetch_document(report)
    except DocumentError as error:
        if isinstance(error, SpApiTransientError):
            raise
        fail_report(
            report,
            reason=Reason.BAD_DOCUMENT,
            message=texts.stored_text(texts.UNREADABLE, error=error),
        )
        return
    try:
        choice = documents.effective_charset(content, charset)
    except DocumentError as error:
        fail_report(
            report,
            reason=Reason.BAD_DOCUMENT,
            message=texts.stored_text(texts.UNDECODABLE, error=error),
        )
        return
    documents.store_raw_document(report, content, charset=choice.charset)
    report.downloaded_at = timezone.now()
    report.import_status = Status.IMPORTING
    report.attempts = 0
    report.last_error = ""
    report.rows_total = max(0, content.count(b"\n") - 1)
    # A new document: its import starts at its first line, and the old one's row notes go.
    for name in COUNTER_FIELDS:
        setattr(report, name, 0)
    with transaction.atomic():
        ReportRowError.objects.filter(report=report).delete()
        transition(
            report,
            expected_status=Status.DOWNLOADING,
            message=texts.stored_text(texts.DOWNLOADED, size=len(content), reason=choice.reason),
            keep_lease=True,
        )


def import_stored_document(report: Report, *, accept_drop: bool = False) -> None:
    """The IMPORTING step: read the report's stored document with its type's importer and move
    the report to IMPORTED (with its counts and row errors), HELD (the stock guard wants the
    seller's confirmation; `accept_drop` gives it) or FAILED (the document is unreadable).

    The importer commits a batch at a time; with every batch, this step commits the report's
    progress, counters and row errors, and renews its lease for REPORT_IMPORT_LEASE_SECONDS,
    under the lease it holds (`report.lease_id`). An import that stops (its worker killed) is
    taken up by the next worker once that short lease runs out, and goes on after the last
    committed batch. Safe to run again: imports are upserts, so a second import changes no
    record. Raises StaleState when the report left IMPORTING or its lease was lost meanwhile
    (the batch being written is rolled back); any other error is the caller's to record (the
    worker retries it later, resuming).
    """
    importer = get_importer(report.report_type)
    # A lease renewed with every batch can be short; a document written in one transaction
    # renews it only at its end, so it keeps the worker's long lease.
    lease = timedelta(
        seconds=settings.REPORT_IMPORT_LEASE_SECONDS
        if importer.commits_per_batch
        else settings.REPORT_LEASE_SECONDS
    )
    resume = _begin_import(report, lease=lease)

    def checkpoint(point: Checkpoint) -> None:
        counts = point.counts
        report.imported_through_line = point.after_line
        report.rows_done = counts.rows
        report.rows_created = counts.created
        report.rows_updated = counts.updated
        report.rows_unchanged = counts.unchanged
        report.rows_failed = counts.failed
        report.leased_until = timezone.now() + lease
        written = Report.objects.filter(
            pk=report.pk, lease_id=report.lease_id, import_status=Status.IMPORTING
        ).update(
            imported_through_line=report.imported_through_line,
            rows_done=report.rows_done,
            rows_created=report.rows_created,
            rows_updated=report.rows_updated,
            rows_unchanged=report.rows_unchanged,
            rows_failed=report.rows_failed,
            leased_until=report.leased_until,
            updated_at=timezone.now(),
        )
        if not written:
            raise StaleState(report.pk)
        _store_row_notes(report, point.new_errors, point.new_warnings)

    context = ImportContext(
        account=report.account,
        report_type=report.report_type,
        source_report_id=report.pk,
        marketplace_ids=tuple(report.marketplace_ids),
        checkpoint=checkpoint,
        resume=resume,
        accept_drop=accept_drop,
    )
    try:
        with documents.open_text(report) as stream:
            result = importer.import_document(stream, context=context)
    except DocumentRejected as error:
        fail_report(report, reason=Reason.BAD_DOCUMENT, message=str(error))
        return
    except UnicodeDecodeError as error:
        fail_report(
            report,
            reason=Reason.BAD_DOCUMENT,
            message=texts.stored_text(texts.UNDECODABLE, error=error),
        )
        return
    except OSError as error:
        # Reading the stored document failed midway (the store dropped the stream).
        raise DocumentStorageFailed(
            texts.stored_text(texts.STORED_UNREADABLE, error=error)
        ) from error
    if result.held_reason:
        report.import_status = Status.HELD
        report.last_error = result.held_reason
        report.next_attempt_at = None
        transition(report, expected_status=Status.IMPORTING, message=result.held_reason)
        return
    report.rows_total = result.rows
    report.rows_done = result.rows
    report.rows_created = result.created
    report.rows_updated = result.updated
    report.rows_unchanged = result.unchanged
    report.rows_failed = result.failed
    report.import_status = Status.IMPORTED
    report.imported_at = timezone.now()
    report.next_attempt_at = None
    report.last_error = (
        texts.stored_text(texts.LINES_FAILED, failed=result.failed) if result.failed else ""
    )
    warned = ReportRowError.objects.filter(report=report, kind=ReportRowError.Kind.WARNING).count()
    transition(
        report,
        expected_status=Status.IMPORTING,
        message=texts.stored_text(
            texts.IMPORTED_WITH_WARNINGS if warned else texts.IMPORTED,
            rows=result.rows,
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            failed=result.failed,
            warned=warned,
        ),
    )


def _begin_import(report: Report, *, lease: timedelta) -> Checkpoint | None:
    """Start (or resume) the import under the report's lease, now `lease` long: it is renewed
    with every checkpoint from now on. A fresh import clears the counters and row errors
    of an earlier one. It keeps the row warnings: they are about the same document's lines (a
    new document clears them), and the orders an earlier import stored as they are, which
    this one skips without reading, would not be warned of again. Returns the checkpoint to
    resume after, or None for a fresh start. Raises StaleState when the report left IMPORTING
    or its lease is gone."""
    report.leased_until = timezone.now() + lease
    # Due at once: should this worker stop, the next one takes the report up as soon as the
    # lease runs out, not at a retry time set earlier.
    report.next_attempt_at = timezone.now()
    fields = {"leased_until": report.leased_until, "next_attempt_at": report.next_attempt_at}
    fresh = report.imported_through_line == 0
    if fresh:
        for name in COUNTER_FIELDS:
            setattr(report, name, 0)
            fields[name] = 0
    with transaction.atomic():
        written = Report.objects.filter(
            pk=report.pk, lease_id=report.lease_id, import_status=Status.IMPORTING
        ).update(**fields)
        if not written:
            raise StaleState(report.pk)
        if fresh:
            ReportRowError.objects.filter(report=report, kind=ReportRowError.Kind.ERROR).delete()
        else:
            record_event(
                report,
                message=texts.stored_text(texts.INTERRUPTED, line=report.imported_through_line),
            )
    if fresh:
        return None
    return Checkpoint(
        after_line=report.imported_through_line,
        counts=ImportResult(
            rows=report.rows_done,
            created=report.rows_created,
            updated=report.rows_updated,
            unchanged=report.rows_unchanged,
            failed=report.rows_failed,
        ),
    )


# What a fresh import starts from zero.
COUNTER_FIELDS = (
    "imported_through_line",
    "rows_done",
    "rows_created",
    "rows_updated",
    "rows_unchanged",
    "rows_failed",
)


def _store_row_notes(
    report: Report, errors: tuple[RowError, ...], warnings: tuple[RowWarning, ...]
) -> None:
    """Store a checkpoint's row errors and warnings. A warning already stored for the same
    line of this report (an import of the same document again, after a reset) is not
    stored twice."""
    Kind = ReportRowError.Kind
    stored: set[tuple[int, str]] = set()
    if warnings:
        stored = set(
            ReportRowError.objects.filter(
                report=report,
                kind=Kind.WARNING,
                line_number__in={w.line_number for w in warnings},
            ).values_list("line_number", "reason")
        )
    notes = [(Kind.ERROR, e.line_number, e.reason) for e in errors]
    for warning in warnings:
        reason = _storable(warning.reason)
        if (warning.line_number, reason) not in stored:
            stored.add((warning.line_number, reason))
            notes.append((Kind.WARNING, warning.line_number, reason))
    ReportRowError.objects.bulk_create(
        ReportRowError(report=report, kind=kind, line_number=line, reason=_storable(reason))
        for kind, line, reason in notes
    )


def _storable(reason: str) -> str:
    return reason.replace("\x00", "")[:500]

"""The report pipeline: request, send, poll, download, import. Each step is a state transition.

A report moves QUEUED → WAITING → DOWNLOADING → IMPORTING → IMPORTED (or NO_DATA, FAILED,
CANCELLED, SKIPPED, HELD). `advance_report` performs the one step the report's state calls for
and records the result; it is safe to run twice, because it starts from the stored state and
returns early when the step is done. Calls to Amazon happen outside database transactions (a
transaction held across an HTTP call would block every other writer on SQLite); the lease on the
row is what keeps two workers apart, and each transition is written with a guard on the state
it started from.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from amazon_settings import services as account_services
from amazon_settings.exceptions import AccountNotConnected
from amazon_settings.models import SellerAccount
from amazon_settings.spapi import (
    DocumentError,
    DocumentUrlExpired,
    SpApiAuthError,
    SpApiError,
    SpApiRequestError,
    SpApiThrottled,
    SpApiTransientError,
)
from amazon_settings.spapi.types import Report as AmazonReport
from orders.importers.base import DocumentRejected, ImportContext
from orders.importers.registry import get_importer
from reports import coverage, documents
from reports.catalog import BY_KEY, ReportKind, kind_for_report_type, kinds_for_region
from reports.exceptions import InvalidReportRequest, ReportActionNotAllowed
from reports.models import DiscoveryCursor, Report, ReportEvent, ReportRowError, WorkerHeartbeat

logger = logging.getLogger(__name__)

Status = Report.ImportStatus
Amazon = Report.AmazonStatus
Reason = Report.FailureReason

HEARTBEAT_NAME = "worker"
MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(hours=1)
# Amazon lists reports for 90 days; a finished report older than that cannot be reused.
AMAZON_RETENTION = timedelta(days=90)

NO_DATA_MESSAGE = "Amazon found no data in this range."
DENIED_MESSAGE = "Amazon denied access: renew access in Settings."


def record_worker_heartbeat(*, name: str = HEARTBEAT_NAME) -> WorkerHeartbeat:
    """Note that the worker ran now. Idempotent: one row per name, moved forward."""
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"last_seen_at": timezone.now()}
    )
    return heartbeat


# --- Requesting -------------------------------------------------------------------------------


def split_range(
    kind: ReportKind, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Consecutive ranges no longer than one request of `kind` may cover."""
    if kind.max_range is None:
        return [(start, end)]
    ranges = []
    cursor = start
    while cursor < end:
        stop = min(cursor + kind.max_range, end)
        ranges.append((cursor, stop))
        cursor = stop
    return ranges


def validate_request(
    account: SellerAccount, *, kind: ReportKind, start: datetime, end: datetime, now: datetime
) -> None:
    """Raise InvalidReportRequest with a sentence for the first rule the request breaks."""
    if account.region not in kind.regions:
        raise InvalidReportRequest(
            f"{kind.name} is not available in {account.get_region_display()}.", field="kind"
        )
    if not kind.requestable:
        raise InvalidReportRequest(f"Amazon produces {kind.name} only on a schedule.", field="kind")
    if end <= start:
        raise InvalidReportRequest("The end must be after the start.", field="end")
    if end > now + timedelta(minutes=1):
        raise InvalidReportRequest("The end cannot be in the future.", field="end")
    if start < now - kind.look_back:
        raise InvalidReportRequest(
            f"Amazon keeps {kind.name} data for {kind.look_back.days} days; "
            f"start on or after {(now - kind.look_back):%Y-%m-%d}.",
            field="start",
        )


def request_reports(
    account: SellerAccount,
    *,
    kind_key: str,
    marketplace_ids: list[str],
    start: datetime,
    end: datetime,
    acting_user: AbstractBaseUser | None,
    source: str = Report.Source.REQUESTED,
) -> list[Report]:
    """Create the reports for a range, split into requests Amazon accepts; the worker sends them.

    An identical report that is still pending, or one Amazon already finished for the same type
    and range, is reused instead of asking again. Returns the reports, reused ones included.
    Raises InvalidReportRequest, AccountNotConnected.
    """
    kind = BY_KEY[kind_key]
    now = timezone.now()
    if not account.has_token:
        raise AccountNotConnected(
            f"{account.display_name} is not connected to Amazon. Renew access in Settings."
        )
    validate_request(account, kind=kind, start=start, end=end, now=now)
    marketplaces = sorted(marketplace_ids)
    batch = secrets.token_hex(8)
    reports = []
    with transaction.atomic():
        for part_start, part_end in split_range(kind, start, end):
            existing = _reusable_report(
                account,
                kind=kind,
                marketplaces=marketplaces,
                start=part_start,
                end=part_end,
                now=now,
            )
            if existing is not None:
                reports.append(existing)
                continue
            report = Report(
                account=account,
                report_type=kind.report_type,
                marketplace_ids=marketplaces,
                data_start=None if kind.ignores_range else part_start,
                data_end=None if kind.ignores_range else part_end,
                source=source,
                requested_by=acting_user if getattr(acting_user, "pk", None) else None,
                batch=batch,
                next_attempt_at=now,
            )
            register_report(report, message="Requested; the worker sends it to Amazon.")
            reports.append(report)
        new_ids = [r.pk for r in reports if r.batch == batch]
        transaction.on_commit(lambda: enqueue_reports(new_ids))
    return reports


def _reusable_report(
    account: SellerAccount,
    *,
    kind: ReportKind,
    marketplaces: list[str],
    start: datetime,
    end: datetime,
    now: datetime,
) -> Report | None:
    candidates = Report.objects.filter(account=account, report_type__in=kind.all_report_types)
    if not kind.ignores_range:
        candidates = candidates.filter(data_start=start, data_end=end)
    # JSON equality is not portable across databases; the candidates are few, compare here.
    same = [
        r for r in candidates.order_by("-created_at") if sorted(r.marketplace_ids) == marketplaces
    ]
    pending = next((r for r in same if r.import_status in Report.UNFINISHED), None)
    if pending is not None or kind.ignores_range:
        return pending  # a snapshot is only worth reusing while it is being made
    finished = [
        r
        for r in same
        if r.amazon_status == Amazon.DONE
        and r.amazon_created_at is not None
        and r.amazon_created_at >= now - AMAZON_RETENTION
        # A failed, skipped or cancelled report is what the seller asks again for.
        and r.import_status not in (Status.SKIPPED, Status.CANCELLED, Status.FAILED)
    ]
    return max(finished, key=lambda r: r.amazon_created_at, default=None)


# --- Claiming and fanning out -------------------------------------------------------------------


def _due_reports(now: datetime):
    return Report.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        Q(leased_until__isnull=True) | Q(leased_until__lte=now),
        import_status__in=Report.UNFINISHED,
        account__in=SellerAccount.objects.usable(),
    )


def claim_reports(*, limit: int = 50, ids: Iterable[int] | None = None) -> list[tuple[int, str]]:
    """Lease due reports to this worker: one UPDATE per report, guarded, so a report is never
    claimed twice. Returns (report id, lease id) pairs for the tasks."""
    now = timezone.now()
    due = _due_reports(now)
    if ids is not None:
        due = due.filter(pk__in=list(ids))
    claimed = []
    for pk in due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]:
        lease_id = secrets.token_hex(8)
        updated = (
            Report.objects.filter(pk=pk)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
            .update(
                lease_id=lease_id,
                leased_until=now + timedelta(seconds=settings.REPORT_LEASE_SECONDS),
            )
        )
        if updated:
            claimed.append((pk, lease_id))
    return claimed


def enqueue_reports(ids: Iterable[int]) -> int:
    """Claim the given reports now and hand each to a worker task (after the user's request)."""
    claimed = claim_reports(ids=ids, limit=1000)
    for pk, lease_id in claimed:
        async_task("reports.tasks.advance_report", pk, lease_id, group="advance_report")
    return len(claimed)


def tick(*, inline: bool = False) -> int:
    """One pass of the worker: discover, request automatically, fan out due reports.

    Idempotent and cheap when nothing is due. With `inline`, the due reports are advanced here
    instead of by separate tasks. Returns the number of reports handed out.
    """
    record_worker_heartbeat()
    for account in SellerAccount.objects.filter(order_import_active=True):
        if not account.is_usable:
            continue
        try:
            discover_reports(account)
            request_automatic_reports(account)
        except (SpApiError, AccountNotConnected) as error:
            logger.warning("Worker pass for %s stopped: %s", account, error)
    handed_out = 0
    for pk, lease_id in claim_reports():
        if inline:
            advance_report(pk, lease_id)
        else:
            async_task("reports.tasks.advance_report", pk, lease_id, group="advance_report")
        handed_out += 1
    return handed_out


# --- The state machine ------------------------------------------------------------------------


def _event(report: Report, message: str) -> None:
    """One line of the report's history, stamped with the state it is in now."""
    ReportEvent.objects.create(
        report=report,
        at=timezone.now(),
        import_status=report.import_status,
        amazon_status=report.amazon_status,
        message=message[:1000],
    )


class StaleState(ReportActionNotAllowed):
    """Another worker moved the report on meanwhile; this one stops working on it."""

    def __init__(self, report_id: int) -> None:
        super().__init__("The report changed meanwhile; reload and try again.")
        self.report_id = report_id


def register_report(report: Report, *, message: str) -> Report:
    """Enter a new (unsaved) report into the state machine: save it and start its history with
    `message`, in one transaction. Every report is created through here."""
    with transaction.atomic():
        report.save()
        _event(report, message)
    return report


def transition(
    report: Report, *, expected_status: str, message: str = "", keep_lease: bool = False
) -> bool:
    """Write `report` as it now stands (its state and every field changed with it) if the stored
    report is still in `expected_status`, and add `message` to its history, in one transaction.

    Returns whether it was written: False when a worker or a seller moved the report meanwhile.
    The lease is released, unless `keep_lease` (a worker's step that goes on with the next step
    under its lease): then a lost race raises StaleState, so the loser does not go on to
    download or import what the winner already handles.
    """
    fields = {
        f.attname: getattr(report, f.attname)
        for f in Report._meta.concrete_fields
        if not f.primary_key and f.attname not in {"created_at"}
    }
    if not keep_lease:
        fields.update(lease_id="", leased_until=None)
    fields["updated_at"] = timezone.now()
    with transaction.atomic():
        written = Report.objects.filter(pk=report.pk, import_status=expected_status).update(
            **fields
        )
        if written and message:
            _event(report, message)
    if not written and keep_lease:
        raise StaleState(report.pk)
    return bool(written)


def _backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=30 * 2 ** max(0, attempts - 1)))


def _poll_interval() -> timedelta:
    return timedelta(seconds=max(1, settings.WORKER_INTERVAL_SECONDS))


def _hold_lease(report_id: int, lease_id: str) -> str:
    """The lease this call works under: the one it was handed if still held, else a new one if
    the report is free. Empty when another worker holds the report."""
    if lease_id:
        return lease_id if Report.objects.filter(pk=report_id, lease_id=lease_id).exists() else ""
    now = timezone.now()
    fresh = secrets.token_hex(8)
    taken = (
        Report.objects.filter(pk=report_id)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
        .update(lease_id=fresh, leased_until=now + timedelta(seconds=settings.REPORT_LEASE_SECONDS))
    )
    return fresh if taken else ""


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
    lease_id = _hold_lease(report_id, lease_id)
    if not lease_id:
        return Report.objects.filter(pk=report_id).first()
    report = Report.objects.select_related("account").filter(pk=report_id).first()
    if report is None or report.is_finished:
        Report.objects.filter(pk=report_id, lease_id=lease_id).update(
            lease_id="", leased_until=None
        )
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
        report.last_error = f"{DENIED_MESSAGE} ({error})"
        report.next_attempt_at = timezone.now() + _poll_interval()
        transition(report, expected_status=report.import_status, message=report.last_error)
    except AccountNotConnected as error:
        report.last_error = str(error)
        report.next_attempt_at = timezone.now() + _poll_interval()
        transition(report, expected_status=report.import_status, message=str(error))
    except SpApiTransientError as error:
        _retry_later(report, error)
    except SpApiRequestError as error:
        fail_report(report, reason=Reason.REJECTED, message=f"Amazon rejected the request: {error}")
    except Exception as error:
        logger.exception("Report %s failed in state %s", report.pk, report.import_status)
        _retry_later(report, error, reason=Reason.INTERNAL)
    finally:
        # Whatever happened, this worker is done with the report for now.
        Report.objects.filter(pk=report.pk, lease_id=lease_id).update(
            lease_id="", leased_until=None
        )
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


def _retry_later(
    report: Report, error: Exception, *, reason: str = Reason.RETRIES_EXHAUSTED
) -> None:
    report.attempts += 1
    if report.attempts >= MAX_ATTEMPTS:
        fail_report(
            report, reason=reason, message=f"Gave up after {report.attempts} attempts: {error}"
        )
        return
    wait = _backoff(report.attempts)
    if isinstance(error, SpApiThrottled):
        wait = max(wait, timedelta(seconds=error.retry_after))
    report.next_attempt_at = timezone.now() + wait
    report.last_error = (
        f"{error} Trying again at {timezone.localtime(report.next_attempt_at):%H:%M}."
    )
    transition(report, expected_status=report.import_status, message=report.last_error)


def fail_report(
    report: Report, *, reason: str, message: str, expected_status: str | None = None
) -> bool:
    """Stop the report as FAILED for `reason` (a FailureReason) with `message` as its error, if
    it is still in `expected_status` (by default the state it was loaded in). Returns whether
    it was written. Reset starts a failed report again."""
    expected = expected_status or report.import_status
    report.import_status = Status.FAILED
    report.failure_reason = reason
    report.last_error = message.replace("\x00", "")[:1000]
    report.next_attempt_at = None
    return transition(report, expected_status=expected, message=message)


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
        report.last_error = (
            f"Amazon makes this report at most every {hours:g} hours; it is sent at "
            f"{timezone.localtime(not_before):%Y-%m-%d %H:%M}."
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
    report.next_attempt_at = now + _poll_interval()
    name = kind.name if kind else report.report_type
    transition(
        report,
        expected_status=Status.QUEUED,
        message=f"Sent to Amazon as report {report_id} ({name}).",
    )


def _apply_amazon_report(report: Report, amazon: AmazonReport) -> None:
    report.amazon_status = amazon.processing_status
    report.amazon_document_id = amazon.report_document_id or ""
    report.amazon_created_at = amazon.created_time
    report.amazon_processing_end_at = amazon.processing_end_time
    if amazon.report_schedule_id:
        report.amazon_schedule_id = amazon.report_schedule_id


def _poll(report: Report) -> None:
    amazon = account_services.call_amazon(
        report.account, lambda client: client.get_report(report.amazon_report_id)
    )
    previous = report.amazon_status
    _apply_amazon_report(report, amazon)
    now = timezone.now()
    report.attempts = 0
    if amazon.processing_status == Amazon.DONE:
        report.import_status = Status.DOWNLOADING
        report.stuck_since = None
        report.last_error = ""
        transition(
            report,
            expected_status=Status.WAITING,
            message="Amazon finished the report.",
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
            report.last_error = (
                f"Amazon has been processing this report for {hours:.1f} hours. It may be stuck: "
                "skip it and request the range again, or wait."
            )
        report.next_attempt_at = now + _poll_interval()
        message = (
            f"Amazon status {amazon.processing_status}."
            if previous != amazon.processing_status
            else ""
        )
        transition(report, expected_status=Status.WAITING, message=message)


def _fatal_message(report: Report) -> str:
    """Amazon's own words for a FATAL report: its error document, when there is one."""
    fallback = "Amazon could not create this report (FATAL) and gave no reason."
    if not report.amazon_document_id:
        return fallback
    try:
        content, charset = _fetch_document(report)
        text = documents.decode_document(content, charset)
    except (SpApiError, DocumentError):
        return fallback
    try:
        details = json.loads(text).get("errorDetails")
    except (ValueError, AttributeError):
        details = None
    return f"Amazon could not create this report: {details or text.strip()[:500]}"


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
            report, reason=Reason.BAD_DOCUMENT, message=f"The document could not be read: {error}"
        )
        return
    try:
        effective = documents.effective_charset(content, charset)
    except DocumentError as error:
        fail_report(
            report,
            reason=Reason.BAD_DOCUMENT,
            message=f"The document could not be decoded: {error}",
        )
        return
    documents.store_raw_document(report, content, charset=effective)
    report.downloaded_at = timezone.now()
    report.import_status = Status.IMPORTING
    report.attempts = 0
    report.last_error = ""
    report.rows_total = max(0, content.count(b"\n") - 1)
    transition(
        report,
        expected_status=Status.DOWNLOADING,
        message=f"Downloaded {len(content):,} bytes ({effective}).",
        keep_lease=True,
    )


def import_stored_document(report: Report, *, accept_drop: bool = False) -> None:
    """The IMPORTING step: read the report's stored document with its type's importer and move
    the report to IMPORTED (with its counts and row errors), HELD (the stock guard wants the
    seller's confirmation; `accept_drop` gives it) or FAILED (the document is unreadable).

    Safe to run again: imports are upserts, so a second import changes no record. Raises
    StaleState when the report left IMPORTING meanwhile; any other error is the caller's to
    record (the worker retries it later, an upload fails the report).
    """
    importer = get_importer(report.report_type)

    def progress(rows_done: int) -> None:
        Report.objects.filter(pk=report.pk).update(rows_done=rows_done)

    context = ImportContext(
        account=report.account,
        report_type=report.report_type,
        source_report_id=report.pk,
        marketplace_ids=tuple(report.marketplace_ids),
        progress=progress,
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
            message=f"The document could not be decoded: {error}",
        )
        return
    expected = report.import_status
    if result.held_reason:
        report.import_status = Status.HELD
        report.last_error = result.held_reason
        report.next_attempt_at = None
        transition(report, expected_status=expected, message=result.held_reason)
        return
    with transaction.atomic():
        ReportRowError.objects.filter(report=report).delete()
        ReportRowError.objects.bulk_create(
            ReportRowError(
                report=report,
                line_number=e.line_number,
                reason=e.reason.replace("\x00", "")[:500],
            )
            for e in result.errors
        )
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
            f"{result.failed} lines could not be imported; see the details."
            if result.failed
            else ""
        )
        transition(
            report,
            expected_status=expected,
            message=(
                f"Imported {result.rows} rows: {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged, {result.failed} with errors."
            ),
        )


# --- Discovery and automatic import -------------------------------------------------------------


def discover_reports(account: SellerAccount, *, force: bool = False) -> list[Report]:
    """Register finished catalogue reports on Amazon that we have not seen: Amazon-scheduled
    ones, and those requested in Seller Central or by other tools. Idempotent (unique
    account + Amazon report ID); runs at most once per worker interval per account."""
    now = timezone.now()
    cursor = DiscoveryCursor.objects.filter(account=account).first()
    if cursor is not None and cursor.next_check_at > now and not force:
        return []
    since = (cursor.checked_until if cursor else now - timedelta(days=1)) - timedelta(hours=1)
    since = max(since, now - timedelta(days=89))
    report_types = [t for kind in kinds_for_region(account.region) for t in kind.all_report_types]
    found = account_services.call_amazon(
        account,
        lambda client: list(
            client.iter_reports(
                report_types=report_types[:10],
                processing_statuses=["DONE"],
                created_since=since,
            )
        ),
    )
    known = set(
        Report.objects.filter(
            account=account, amazon_report_id__in=[r.report_id for r in found]
        ).values_list("amazon_report_id", flat=True)
    )
    registered = []
    for amazon in found:
        if amazon.report_id in known:
            continue
        report = Report(
            account=account,
            report_type=amazon.report_type,
            marketplace_ids=sorted(amazon.marketplace_ids),
            data_start=amazon.data_start_time,
            data_end=amazon.data_end_time,
            source=Report.Source.SCHEDULE
            if amazon.report_schedule_id
            else Report.Source.DISCOVERED,
            amazon_report_id=amazon.report_id,
            import_status=Status.DOWNLOADING,
            next_attempt_at=now,
        )
        _apply_amazon_report(report, amazon)
        register_report(report, message="Found on Amazon; the worker downloads and imports it.")
        registered.append(report)
    DiscoveryCursor.objects.update_or_create(
        account=account,
        defaults={"checked_until": now, "next_check_at": now + _poll_interval()},
    )
    return registered


def request_automatic_reports(account: SellerAccount) -> list[Report]:
    """Keep orders flowing without manual requests, and fill what is missing.

    For each order report of the account's region, every gap since the account's import start
    date (`reports.coverage.import_start`: its "import orders from" date, by default 30 days
    before it was connected) is requested: the whole range for a newly connected account, a
    hole left by a lapsed authorization once it is renewed, and the time since the last covered
    moment once it is longer than the report's cadence. Imported, pending and recently failed
    reports count as covering their range. Each range starts an overlap earlier, so nothing
    falls between two reports (the upserts make the overlap harmless). Idempotent: the requested
    reports are pending, so a second call finds nothing to request."""
    now = timezone.now()
    overlap = timedelta(seconds=settings.AUTOMATIC_IMPORT_OVERLAP_SECONDS)
    created = []
    marketplace_ids = list(
        account.marketplaces.filter(selected=True).values_list("marketplace_id", flat=True)
    )
    if not marketplace_ids:
        return created
    for kind in coverage.order_kinds(account):
        floor = max(coverage.import_start(account), coverage.requestable_since(kind, now=now))
        min_tail = min(kind.expected_interval, _automatic_interval())
        for start, end in coverage.ranges_to_request(account, kind, now=now, min_tail=min_tail):
            created += request_reports(
                account,
                kind_key=kind.key,
                marketplace_ids=marketplace_ids,
                start=max(start - overlap, floor),
                end=end,
                acting_user=None,
                source=Report.Source.AUTOMATIC,
            )
    return created


def _automatic_interval() -> timedelta:
    return max(_poll_interval(), timedelta(seconds=60))


# --- Seller actions -----------------------------------------------------------------------------


def _actor(user: AbstractBaseUser | None) -> str:
    """Who did it, for the report's history."""
    return user.get_username() if user is not None else "the system"


@dataclass(frozen=True)
class ActionResult:
    report: Report
    message: str


def reset_report(report: Report, *, acting_user: AbstractBaseUser | None) -> ActionResult:
    """Import the report again. Always safe: imports are upserts, nothing is doubled.

    With the document kept, it is re-imported from the file; with only Amazon's document ID, it
    is downloaded again; otherwise it is requested again.
    """
    previous = report.import_status
    if (
        report.import_status in (Status.DOWNLOADING, Status.IMPORTING)
        and report.leased_until
        and (report.leased_until > timezone.now())
    ):
        raise ReportActionNotAllowed("The worker is importing this report right now.")
    if report.raw_file:
        report.import_status = Status.IMPORTING
    elif report.amazon_document_id:
        report.import_status = Status.DOWNLOADING
    elif report.amazon_report_id and report.amazon_status in (Amazon.IN_QUEUE, Amazon.IN_PROGRESS):
        report.import_status = Status.WAITING
    else:
        report.import_status = Status.QUEUED
        report.amazon_report_id = ""
        report.amazon_status = Amazon.NONE
    report.failure_reason = Reason.NONE
    report.last_error = ""
    report.attempts = 0
    report.stuck_since = None
    report.next_attempt_at = timezone.now()
    report.rows_done = 0
    who = _actor(acting_user)
    if not transition(report, expected_status=previous, message=f"Reset by {who}."):
        raise ReportActionNotAllowed("The report changed meanwhile; reload and try again.")
    transaction.on_commit(lambda: enqueue_reports([report.pk]))
    return ActionResult(report, "The report will be imported again; nothing is doubled.")


def cancel_report(report: Report, *, acting_user: AbstractBaseUser | None) -> ActionResult:
    """Cancel a report Amazon has not started (IN_QUEUE), or one not yet sent.

    Raises ReportActionNotAllowed, or AmazonCallFailed / AccountNotConnected when Amazon could
    not be asked to cancel it.
    """
    previous = report.import_status
    if report.import_status == Status.QUEUED:
        pass
    elif report.import_status == Status.WAITING and report.amazon_status == Amazon.IN_QUEUE:
        account_services.call_amazon_for_user(
            report.account, lambda client: client.cancel_report(report.amazon_report_id)
        )
        report.amazon_status = Amazon.CANCELLED
    else:
        raise ReportActionNotAllowed(
            "Only a report that Amazon has not started (in queue) can be cancelled."
        )
    report.import_status = Status.CANCELLED
    report.next_attempt_at = None
    who = _actor(acting_user)
    if not transition(report, expected_status=previous, message=f"Cancelled by {who}."):
        raise ReportActionNotAllowed("The report changed meanwhile; reload and try again.")
    return ActionResult(report, "The report is cancelled.")


def skip_report(report: Report, *, acting_user: AbstractBaseUser | None) -> ActionResult:
    """Stop working on a report (e.g. stuck at Amazon); it is kept, marked skipped."""
    if report.import_status in (Status.IMPORTED, Status.SKIPPED):
        raise ReportActionNotAllowed("This report is already finished.")
    previous = report.import_status
    report.import_status = Status.SKIPPED
    report.next_attempt_at = None
    who = _actor(acting_user)
    if not transition(report, expected_status=previous, message=f"Skipped by {who}."):
        raise ReportActionNotAllowed("The report changed meanwhile; reload and try again.")
    return ActionResult(report, "The report is skipped.")


def confirm_held_report(report: Report, *, acting_user: AbstractBaseUser | None) -> ActionResult:
    """Import a report the stock guard held, after the seller confirmed the drop is real."""
    if report.import_status != Status.HELD:
        raise ReportActionNotAllowed("Only a held report can be confirmed.")
    report.import_status = Status.IMPORTING
    transition(
        report, expected_status=Status.HELD, message="Confirmed; importing.", keep_lease=True
    )
    import_stored_document(report, accept_drop=True)
    return ActionResult(report, "The report is imported.")


TICK_LOOP_NAME = "tick-loop"


def run_worker_pass() -> int:
    """What the schedule runs. With an interval of a minute or more, one tick that fans out
    tasks. With a shorter one (the demo), django-q2's scheduler is too coarse (about once a
    minute), so one worker loops for the minute, ticking every interval and advancing the due
    reports itself; a second loop started meanwhile steps aside instead of starving the
    other workers."""
    interval = settings.WORKER_INTERVAL_SECONDS
    if interval >= 60:
        return tick()
    now = timezone.now()
    WorkerHeartbeat.objects.get_or_create(
        name=TICK_LOOP_NAME, defaults={"last_seen_at": now - timedelta(hours=1)}
    )
    took_over = WorkerHeartbeat.objects.filter(
        name=TICK_LOOP_NAME, last_seen_at__lt=now - timedelta(seconds=55)
    ).update(last_seen_at=now)
    if not took_over:
        return 0
    handed_out = 0
    deadline = now + timedelta(seconds=50)
    while True:
        handed_out += tick(inline=True)
        if timezone.now() + timedelta(seconds=interval) >= deadline:
            return handed_out
        _sleep(interval)


def _sleep(seconds: float) -> None:
    import time

    time.sleep(seconds)

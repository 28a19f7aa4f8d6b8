"""The rules of the report state machine: how a report enters it, moves, fails, is retried and
is leased. Every write of a report's state goes through here.

A report moves QUEUED → WAITING → DOWNLOADING → IMPORTING → IMPORTED (or NO_DATA, FAILED,
CANCELLED, SKIPPED, HELD). Each change is written with a guard on the state it started from
(`transition`), so of two writers that raced only one wins. Calls to Amazon happen outside
database transactions (a transaction held across an HTTP call would block every other writer on
SQLite); the lease on the row (`lease_id`, `leased_until`) is what keeps two workers apart.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from amazon_settings.models import SellerAccount
from amazon_settings.spapi import SpApiThrottled
from amazon_settings.spapi.types import Report as AmazonReport
from core.changes import record_changes
from reports import stored_texts as texts
from reports.exceptions import ReportActionNotAllowed
from reports.models import Report, ReportEvent

Status = Report.ImportStatus
Reason = Report.FailureReason

MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(hours=1)


def _event(report: Report, message: str) -> None:
    """One line of the report's history, stamped with the state it is in now."""
    ReportEvent.objects.create(
        report=report,
        at=timezone.now(),
        import_status=report.import_status,
        amazon_status=report.amazon_status,
        message=message[:1000],
    )


def record_event(report: Report, *, message: str) -> None:
    """Add `message` to the report's history without changing its state."""
    _event(report, message)


def register_report(report: Report, *, message: str) -> Report:
    """Enter a new (unsaved) report into the state machine: save it and start its history with
    `message`, in one transaction. Every report is created through here."""
    with transaction.atomic():
        report.save()
        _event(report, message)
        _announce_failure(report, before=None)
    return report


def _announce_failure(report: Report, *, before: str | None) -> None:
    """A report that now stands FAILED (and did not before) is a `report.failed` event in the
    outbox webhooks read (`core.changes`): call it inside the transaction that wrote it."""
    if report.import_status == Status.FAILED and before != Status.FAILED:
        record_changes(
            kind="report",
            event_type="report.failed",
            account_id=report.account_id,
            entity_ids=[report.pk],
        )


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
        if written:
            _announce_failure(report, before=expected_status)
    if not written and keep_lease:
        raise StaleState(report.pk)
    return bool(written)


class StaleState(ReportActionNotAllowed):
    """Another worker moved the report on meanwhile; this one stops working on it."""

    def __init__(self, report_id: int) -> None:
        super().__init__("The report changed meanwhile; reload and try again.")
        self.report_id = report_id


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


def retry_later(
    report: Report, error: Exception, *, reason: str = Reason.RETRIES_EXHAUSTED
) -> None:
    """Try the report's step again after a backoff (Amazon's Retry-After when it throttled),
    with `error` as its message; after MAX_ATTEMPTS attempts, fail it for `reason`."""
    report.attempts += 1
    if report.attempts >= MAX_ATTEMPTS:
        fail_report(
            report,
            reason=reason,
            message=texts.stored_text(texts.GAVE_UP, attempts=report.attempts, error=error),
        )
        return
    wait = _backoff(report.attempts)
    if isinstance(error, SpApiThrottled):
        wait = max(wait, timedelta(seconds=error.retry_after))
    report.next_attempt_at = timezone.now() + wait
    # The moment, not the worker's clock time: a page shows it in its reader's zone and format.
    report.last_error = texts.stored_text(
        texts.RETRYING, error=error, time=texts.stored_moment(report.next_attempt_at)
    )
    transition(report, expected_status=report.import_status, message=report.last_error)


def _backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=30 * 2 ** max(0, attempts - 1)))


def poll_interval() -> timedelta:
    """How long the worker waits before it asks Amazon about a report again."""
    return timedelta(seconds=max(1, settings.WORKER_INTERVAL_SECONDS))


FINISHED_AT_AMAZON = frozenset(
    {Report.AmazonStatus.DONE, Report.AmazonStatus.CANCELLED, Report.AmazonStatus.FATAL}
)


def apply_amazon_report(report: Report, amazon: AmazonReport) -> None:
    """Copy what Amazon says about the report (getReport, getReports) onto ours."""
    report.amazon_status = amazon.processing_status
    report.amazon_document_id = amazon.report_document_id or ""
    report.amazon_created_at = amazon.created_time
    report.amazon_processing_end_at = amazon.processing_end_time
    if amazon.processing_status in FINISHED_AT_AMAZON and report.amazon_finished_seen_at is None:
        report.amazon_finished_seen_at = timezone.now()
    if amazon.report_schedule_id:
        report.amazon_schedule_id = amazon.report_schedule_id


def hurry_report(report_id: int, *, message: str) -> bool:
    """Amazon says it finished the report (its notification): make a WAITING report due now,
    with `message` in its history, so that the next claim takes it at once instead of at its
    next check. Returns whether it changed: a report in another state, or one due already (a
    duplicate notification), is left as it is."""
    now = timezone.now()
    with transaction.atomic():
        changed = (
            Report.objects.filter(pk=report_id, import_status=Status.WAITING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__gt=now))
            .update(next_attempt_at=now, updated_at=now)
        )
        if changed:
            _event(Report.objects.get(pk=report_id), message)
    return bool(changed)


def finish_from_notification(
    report_id: int, *, document_id: str, finished_at: datetime | None, message: str
) -> bool:
    """Amazon's notification says the report is DONE and names its document: move a WAITING
    report straight to DOWNLOADING, due now, as getReport's DONE would (`pipeline._poll`),
    without asking Amazon about it again; `finished_at` (the notification's eventTime, else
    now) stands for Amazon's end of processing. Returns whether it moved: a report in any other
    state (a duplicate, one the check found first, one a seller skipped) is left as it is.
    Should a worker be polling the report meanwhile, its own write loses the guard."""
    report = Report.objects.filter(pk=report_id, import_status=Status.WAITING).first()
    if report is None:
        return False
    now = timezone.now()
    report.amazon_status = Report.AmazonStatus.DONE
    report.amazon_document_id = document_id
    report.amazon_processing_end_at = finished_at or now
    # Amazon made the report when we sent it; getReport would have said so to the second.
    report.amazon_created_at = report.amazon_created_at or report.sent_at
    report.amazon_finished_seen_at = report.amazon_finished_seen_at or now
    report.import_status = Status.DOWNLOADING
    report.next_attempt_at = now
    report.attempts = 0
    report.stuck_since = None
    report.last_error = ""
    return transition(report, expected_status=Status.WAITING, message=message)


def _lease_free(now: datetime) -> Q:
    return Q(leased_until__isnull=True) | Q(leased_until__lte=now)


def due_reports(now: datetime) -> QuerySet[Report]:
    """Unfinished reports whose next attempt is due and whose lease is free: of usable accounts,
    or with the document at hand (importing needs no call to Amazon, so an uploaded file or
    a downloaded document is imported whatever became of the account's authorization)."""
    return Report.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        Q(account__in=SellerAccount.objects.usable()) | Q(import_status=Status.IMPORTING),
        _lease_free(now),
        import_status__in=Report.UNFINISHED,
    )


def _take_lease(report_id: int, *, now: datetime) -> str:
    """Lease the report to the caller if no worker holds it, in one guarded UPDATE, so that of
    two callers only one gets it. Returns the new lease id, or "" when the report is taken."""
    lease_id = secrets.token_hex(8)
    taken = (
        Report.objects.filter(pk=report_id)
        .filter(_lease_free(now))
        .update(
            lease_id=lease_id,
            leased_until=now + timedelta(seconds=settings.REPORT_LEASE_SECONDS),
        )
    )
    return lease_id if taken else ""


def claim_reports(*, limit: int = 50, ids: Iterable[int] | None = None) -> list[tuple[int, str]]:
    """Lease due reports to this worker, so a report is never claimed twice. Returns (report
    id, lease id) pairs for the tasks."""
    now = timezone.now()
    due = due_reports(now)
    if ids is not None:
        due = due.filter(pk__in=list(ids))
    claimed = []
    for pk in due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]:
        if lease_id := _take_lease(pk, now=now):
            claimed.append((pk, lease_id))
    return claimed


def enqueue_reports(ids: Iterable[int], *, hand: Callable[[int, str], None] | None = None) -> int:
    """Claim the given reports now and hand each to a worker task (after the user's request),
    or to `hand` (the notification consumer's push lane, `push_lane.PushLane.hand_out`), with
    its lease. Returns how many were claimed."""
    claimed = claim_reports(ids=ids, limit=1000)
    for pk, lease_id in claimed:
        (hand or hand_out)(pk, lease_id)
    return len(claimed)


def hand_out(report_id: int, lease_id: str) -> None:
    """Queue the worker task that advances a claimed report under its lease."""
    async_task("reports.tasks.advance_report", report_id, lease_id, group="advance_report")


def hold_lease(report_id: int, lease_id: str) -> str:
    """The lease this call works under: the one it was handed if still held, else a new one if
    the report is free. Empty when another worker holds the report."""
    if lease_id:
        return lease_id if Report.objects.filter(pk=report_id, lease_id=lease_id).exists() else ""
    return _take_lease(report_id, now=timezone.now())


def release_lease(report_id: int, lease_id: str) -> None:
    """Let the report go, if this lease still holds it (a lost lease is another worker's)."""
    Report.objects.filter(pk=report_id, lease_id=lease_id).update(lease_id="", leased_until=None)

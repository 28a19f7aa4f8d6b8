"""What a seller does to one report on the Processing page: reset, cancel, skip, confirm.

Each action checks the report's state, writes the change through `transition` and names the
seller in the report's history.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from amazon_settings import services as account_services
from reports.exceptions import ReportActionNotAllowed
from reports.models import Report
from reports.services import transitions
from reports.services.pipeline import import_stored_document
from reports.services.transitions import transition

Status = Report.ImportStatus
Amazon = Report.AmazonStatus
Reason = Report.FailureReason


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
    transaction.on_commit(lambda: transitions.enqueue_reports([report.pk]))
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

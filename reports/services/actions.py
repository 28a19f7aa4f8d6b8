"""What a seller does to one report on the Processing page: reset, cancel, skip, confirm.

Each action checks the report's state, writes the change through `transition` and names the
seller in the report's history. Which action applies in which state is said once, in the
`can_*` functions: the services refuse what they do not allow, and Processing offers a row
only what `applicable_actions` returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amazon_settings import services as account_services
from reports.exceptions import ReportActionNotAllowed
from reports.models import Report
from reports.services import transitions
from reports.services.pipeline import import_stored_document
from reports.services.transitions import StaleState, transition

Status = Report.ImportStatus
Amazon = Report.AmazonStatus
Reason = Report.FailureReason


def _write(
    report: Report, *, previous: str, done: str, acting_user: AbstractBaseUser | None
) -> None:
    """Write the seller's change to `report`, named in its history ("Reset by anna.").

    Raises StaleState when the report left `previous` meanwhile (the worker moved it on).
    """
    who = acting_user.get_username() if acting_user is not None else "the system"
    if not transition(report, expected_status=previous, message=f"{done} by {who}."):
        raise StaleState(report.pk)


def worker_holds(report: Report, *, now: datetime) -> bool:
    """The worker is downloading or importing the report right now (its lease runs)."""
    return (
        report.import_status in (Status.DOWNLOADING, Status.IMPORTING)
        and report.leased_until is not None
        and report.leased_until > now
    )


def can_reset(report: Report, *, now: datetime) -> bool:
    """Reset applies in every state, except while the worker holds the report."""
    return not worker_holds(report, now=now)


def can_cancel(report: Report) -> bool:
    """Only a report not sent yet, or one Amazon has not started (in queue), can be cancelled."""
    return report.import_status == Status.QUEUED or (
        report.import_status == Status.WAITING and report.amazon_status == Amazon.IN_QUEUE
    )


def can_skip(report: Report) -> bool:
    """A report still being worked on, held by the stock guard or failed can be skipped."""
    return not report.is_finished or report.import_status in (Status.HELD, Status.FAILED)


def can_confirm(report: Report) -> bool:
    """Only a report the stock guard held can be confirmed."""
    return report.import_status == Status.HELD


def applicable_actions(report: Report, *, now: datetime) -> tuple[str, ...]:
    """The actions that apply to `report` in its state, by name ("reset", "cancel", "skip",
    "confirm"), in the order a menu offers them."""
    checks = {
        "reset": can_reset(report, now=now),
        "cancel": can_cancel(report),
        "skip": can_skip(report),
        "confirm": can_confirm(report),
    }
    return tuple(name for name, applies in checks.items() if applies)


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
    if not can_reset(report, now=timezone.now()):
        raise ReportActionNotAllowed(_("The worker is importing this report right now."))
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
    # Imported again from the first line (a resumed import would go on after its checkpoint).
    report.imported_through_line = 0
    report.rows_done = 0
    _write(report, previous=previous, done="Reset", acting_user=acting_user)
    transaction.on_commit(lambda: transitions.enqueue_reports([report.pk]))
    return ActionResult(report, "The report will be imported again; nothing is doubled.")


def cancel_report(report: Report, *, acting_user: AbstractBaseUser | None) -> ActionResult:
    """Cancel a report Amazon has not started (IN_QUEUE), or one not yet sent.

    Raises ReportActionNotAllowed, or AmazonCallFailed / AccountNotConnected when Amazon could
    not be asked to cancel it.
    """
    previous = report.import_status
    if not can_cancel(report):
        raise ReportActionNotAllowed(
            _("Only a report that Amazon has not started (in queue) can be cancelled.")
        )
    if report.import_status == Status.WAITING:
        account_services.call_amazon_for_user(
            report.account, lambda client: client.cancel_report(report.amazon_report_id)
        )
        report.amazon_status = Amazon.CANCELLED
    report.import_status = Status.CANCELLED
    report.next_attempt_at = None
    _write(report, previous=previous, done="Cancelled", acting_user=acting_user)
    return ActionResult(report, "The report is cancelled.")


def skip_report(report: Report, *, acting_user: AbstractBaseUser | None) -> ActionResult:
    """Stop working on a report (e.g. stuck at Amazon, held, failed); it is kept, marked
    skipped. Raises ReportActionNotAllowed for a report that is already finished."""
    if not can_skip(report):
        raise ReportActionNotAllowed(_("This report is already finished."))
    previous = report.import_status
    report.import_status = Status.SKIPPED
    report.next_attempt_at = None
    _write(report, previous=previous, done="Skipped", acting_user=acting_user)
    return ActionResult(report, "The report is skipped.")


def confirm_held_report(report: Report, *, acting_user: AbstractBaseUser | None) -> ActionResult:
    """Import a report the stock guard held, after the seller confirmed the drop is real."""
    if not can_confirm(report):
        raise ReportActionNotAllowed(_("Only a held report can be confirmed."))
    # The import runs under a lease like the worker's, so no worker takes the report meanwhile.
    lease_id = transitions.hold_lease(report.pk, "")
    if not lease_id:
        raise ReportActionNotAllowed(_("The worker is working on this report right now."))
    report.refresh_from_db(fields=["lease_id", "leased_until"])
    report.import_status = Status.IMPORTING
    report.imported_through_line = 0
    transition(
        report, expected_status=Status.HELD, message="Confirmed; importing.", keep_lease=True
    )
    import_stored_document(report, accept_drop=True)
    return ActionResult(report, "The report is imported.")

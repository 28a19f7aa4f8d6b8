"""Reports on Amazon that nobody requested here: Amazon-scheduled ones, and those made in Seller
Central or by other tools. The worker registers them and imports them like its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from amazon_settings import services as account_services
from amazon_settings.models import PushSubscription, SellerAccount
from amazon_settings.spapi.types import Report as AmazonReport
from reports.catalog import kinds_for_region
from reports.models import DiscoveryCursor, Report
from reports.services.pipeline import NO_DATA_MESSAGE
from reports.services.transitions import apply_amazon_report, poll_interval, register_report

Status = Report.ImportStatus
Amazon = Report.AmazonStatus


def discover_reports(
    account: SellerAccount, *, force: bool = False, pass_started_at: datetime | None = None
) -> list[Report]:
    """Register finished catalogue reports on Amazon that we have not seen: Amazon-scheduled
    ones, and those requested in Seller Central or by other tools. A scheduled report Amazon
    cancelled for want of data is registered too, as finished without data: it is the
    schedule's answer for its range, so the worker does not request that range again.
    Idempotent (unique account + Amazon report ID); runs at most once per worker pass per
    account, and is due again at the pass an interval later (`next_check_at`), counted from
    `pass_started_at` (the worker's pass that runs it; now, when called alone)."""
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
                processing_statuses=[Amazon.DONE, Amazon.CANCELLED],
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
        empty = amazon.processing_status == Amazon.CANCELLED
        if empty and not amazon.report_schedule_id:
            continue  # someone else's request that found nothing: not ours to keep
        registered.append(
            register_found_report(
                account, amazon, message="Found on Amazon; the worker downloads and imports it."
            )
        )
    DiscoveryCursor.objects.update_or_create(
        account=account,
        defaults={
            "checked_until": now,
            "next_check_at": next_check_at(account, pass_started_at=pass_started_at or now),
        },
    )
    return registered


def next_check_at(account: SellerAccount, *, pass_started_at: datetime) -> datetime:
    """When the account's check is due again: `check_interval` after the start of the pass
    that checked it, less half a worker interval, so that the pass one interval later finds it
    due. Counted from the check itself, an account checked late in a pass (the pass goes
    through hundreds, one after the other) came due just after the next pass had picked its
    accounts and waited for the pass after that: a check every two intervals. Passes do not
    come exactly an interval apart either (django-q2 starts them at whole minutes, looking
    every 30 s or so); half an interval absorbs that, and no pass checks an account twice."""
    return pass_started_at + check_interval(account) - poll_interval() / 2


def check_interval(account: SellerAccount) -> timedelta:
    """How long until discovery looks at the account again: the worker's interval, or, while
    push works for it, the time push is given to prove it (PUSH_GRACE_SECONDS) if that is
    longer. Notifications bring its reports then; the check is the safety net for a lost
    message, and the evidence that push stopped working (`push_health`), which could not come
    sooner than that anyway."""
    interval = poll_interval()
    if PushSubscription.objects.filter(
        account=account, state=PushSubscription.State.ACTIVE
    ).exists():
        return max(interval, timedelta(seconds=settings.PUSH_GRACE_SECONDS))
    return interval


def register_found_report(account: SellerAccount, amazon: AmazonReport, *, message: str) -> Report:
    """Enter a finished report Amazon made for the account (found by getReports, or named by
    a notification) into the state machine, due for download at once, with `message` as its
    first history line; one Amazon cancelled for want of data enters finished without data
    (and Amazon's reason as its history). Amazon's reports carry their range and marketplaces;
    one made by an Amazon schedule counts as the schedule's. Raises IntegrityError when the
    account has the report already (the caller looked first; only a concurrent registration
    can get there)."""
    empty = amazon.processing_status == Amazon.CANCELLED
    report = Report(
        account=account,
        report_type=amazon.report_type,
        marketplace_ids=sorted(amazon.marketplace_ids),
        data_start=amazon.data_start_time,
        data_end=amazon.data_end_time,
        source=Report.Source.SCHEDULE if amazon.report_schedule_id else Report.Source.DISCOVERED,
        amazon_report_id=amazon.report_id,
        import_status=Status.NO_DATA if empty else Status.DOWNLOADING,
        last_error=NO_DATA_MESSAGE if empty else "",
        next_attempt_at=None if empty else timezone.now(),
    )
    apply_amazon_report(report, amazon)
    return register_report(report, message=NO_DATA_MESSAGE if empty else message)

"""Push: the worker's push pass. It keeps every connected account subscribed
(`amazon_settings.push.repair_subscriptions`), and finds out whether notifications really
arrive: Amazon sends no test message, and a queue whose access policy keeps Amazon out fails
silently. So the evidence is the reports themselves: a report that the worker's check found
finished more than PUSH_GRACE_SECONDS ago, which Amazon finished after the account's push became
active, without its notification, means push does not work, and Settings and "Orders missing?"
say so with the likely cause. The next notification that arrives clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from amazon_settings import push
from amazon_settings.models import PushSubscription
from amazon_settings.selectors import duration_words
from reports import stored_texts as texts
from reports.models import RejectedNotification, Report, ReportNotification, WorkerHeartbeat

Amazon = Report.AmazonStatus

# Reports finished this long before the grace period ended are not looked at again (the pass
# runs every few minutes; a report it missed while the worker was down proves nothing new).
LOOK_BACK = timedelta(hours=6)
KEEP_NOTIFICATIONS = timedelta(days=30)
KEEP_REJECTED = timedelta(days=90)
# The AWS principal Amazon's Selling Partner API sends notifications as (Amazon's guide to
# SQS destinations): the queue's access policy must let it send.
SPAPI_PRINCIPAL = "arn:aws:iam::437568002678:root"


def consumer_last_seen() -> datetime | None:
    """When the notification consumer last polled the queue."""
    heartbeat = WorkerHeartbeat.objects.filter(name=WorkerHeartbeat.NOTIFICATIONS).first()
    return heartbeat.last_seen_at if heartbeat else None


def consumer_running(*, now: datetime) -> bool:
    """Whether the consumer polled the queue lately (each poll waits at most
    PUSH_SQS_WAIT_SECONDS)."""
    last_seen = consumer_last_seen()
    stale_after = timedelta(seconds=2 * settings.PUSH_SQS_WAIT_SECONDS + 60)
    return last_seen is not None and now - last_seen <= stale_after


def unnotified_reports(*, now: datetime) -> QuerySet[Report]:
    """Reports of accounts with push active that Amazon finished after push became active (by
    Amazon's clock) and that this product learnt were finished more than the grace period ago
    (by ours), without a notification for them; oldest first."""
    grace = timedelta(seconds=settings.PUSH_GRACE_SECONDS)
    notified = ReportNotification.objects.filter(
        selling_partner_id=OuterRef("account__selling_partner_id"),
        amazon_report_id=OuterRef("amazon_report_id"),
    )
    return (
        Report.objects.filter(
            account__push__state=PushSubscription.State.ACTIVE,
            amazon_status__in=[Amazon.DONE, Amazon.CANCELLED, Amazon.FATAL],
            amazon_processing_end_at__gte=F("account__push__active_since"),
            amazon_finished_seen_at__gt=now - grace - LOOK_BACK,
            amazon_finished_seen_at__lte=now - grace,
        )
        .exclude(amazon_report_id="")
        .exclude(Exists(notified))
        .select_related("account")
        .order_by("amazon_finished_seen_at", "pk")
    )


def likely_cause(report: Report, *, consumer_is_running: bool) -> str:
    """Why push does not work, as far as this installation can tell, and what to do."""
    values = {
        "report_id": report.amazon_report_id,
        "moment": texts.stored_moment(
            report.amazon_processing_end_at or report.amazon_finished_seen_at
        ),
        "waited": duration_words(settings.PUSH_GRACE_SECONDS),
        "interval": duration_words(settings.WORKER_INTERVAL_SECONDS),
    }
    if not consumer_is_running:
        return texts.stored_text(texts.PUSH_CONSUMER_STOPPED, **values)
    return texts.stored_text(texts.PUSH_NOT_DELIVERED, principal=SPAPI_PRINCIPAL, **values)


def check_push_delivery(*, now: datetime | None = None) -> int:
    """Mark push as not working, with the likely cause, for each active account one of whose
    finished reports had no notification in time. Idempotent. Returns how many accounts were
    marked."""
    now = now or timezone.now()
    running = None
    marked = set()
    for report in unnotified_reports(now=now):
        if report.account_id in marked:
            continue
        if running is None:
            running = consumer_running(now=now)
        reason = likely_cause(report, consumer_is_running=running)
        if push.mark_not_working(report.account, reason=reason, at=now):
            marked.add(report.account_id)
    return len(marked)


@dataclass(frozen=True)
class PushPass:
    subscriptions_looked_at: int
    accounts_not_working: int
    notifications_pruned: int


def run_push_pass(*, now: datetime | None = None) -> PushPass:
    """The worker's push pass: repair and verify subscriptions, check that notifications
    arrive, and forget old notifications (30 days) and rejected messages (90 days). Cheap when
    nothing is due."""
    now = now or timezone.now()
    looked_at = push.repair_subscriptions(now=now)
    not_working = check_push_delivery(now=now)
    pruned, _ = ReportNotification.objects.filter(received_at__lt=now - KEEP_NOTIFICATIONS).delete()
    RejectedNotification.objects.filter(received_at__lt=now - KEEP_REJECTED).delete()
    return PushPass(looked_at, not_working, pruned)

"""Notifications API v1 as Amazon behaves for REPORT_PROCESSING_FINISHED: destinations,
subscriptions, and the messages Amazon pushes to the subscribed SQS queue.

Amazon pushes without being asked, so the sandbox's server runs a publisher beside the HTTP
threads (`start_publisher`): every `SANDBOX_NOTIFICATION_INTERVAL_SECONDS` of real time it
finishes the subscribed sellers' reports whose processing time is over in sandbox time (as a
read would), decides each one's notification once (`Report.notified_at`), applies the armed
notification faults (drop, send twice, hold back), and sends each one to the queue with boto3
as soon as it is decided, before the next report is finished, against `SANDBOX_SQS_ENDPOINT_URL`
(an SQS-compatible server such as moto's). A queue that does not exist swallows the message, as
a queue whose policy keeps Amazon out does: Amazon reports nothing, and neither does the
sandbox (the control API shows it).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import close_old_connections, transaction

from amazon_sandbox import clock, faults
from amazon_sandbox.catalog import DemoSeller, seller_by_id
from amazon_sandbox.errors import conflict, invalid_input, not_found
from amazon_sandbox.models import (
    Fault,
    Notification,
    NotificationDestination,
    NotificationSubscription,
    Report,
    ReportSchedule,
)
from amazon_sandbox.reporting import Status, materialize_schedules, observe

logger = logging.getLogger(__name__)

REPORT_PROCESSING_FINISHED = "REPORT_PROCESSING_FINISHED"
SUPPORTED_TYPES = frozenset({REPORT_PROCESSING_FINISHED})
# The versions of the message itself, as Amazon's schema and examples show them.
NOTIFICATION_VERSION = "2020-09-04"
MESSAGE_PAYLOAD_VERSION = "2020-09-04"
# A report finishes minutes after it is created, or stays stuck; older ones are not looked at.
LOOK_BACK = timedelta(days=2)
_ARN_PARTS = 6  # arn:aws:sqs:<region>:<account>:<queue>


def _millis(moment: datetime) -> str:
    """`2020-07-14T03:35:13.214Z`, the form of the schema's examples."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


# Destinations and subscriptions: what the HTTP views call.


def destination_json(destination: NotificationDestination) -> dict:
    return {
        "destinationId": destination.destination_id,
        "name": destination.name,
        "resource": {"sqs": {"arn": destination.sqs_arn}},
    }


def create_destination(*, region: str, name: str, sqs_arn: str) -> NotificationDestination:
    """A new destination for the queue; Conflict when this region has one for it already."""
    with transaction.atomic():
        if NotificationDestination.objects.filter(region=region, sqs_arn=sqs_arn).exists():
            raise conflict("A destination for this resource already exists.")
        return NotificationDestination.objects.create(
            destination_id=str(uuid.uuid4()),
            region=region,
            name=name,
            sqs_arn=sqs_arn,
            created_at=clock.now(),
        )


def subscription_json(subscription: NotificationSubscription) -> dict:
    return {
        "subscriptionId": subscription.subscription_id,
        "payloadVersion": subscription.payload_version,
        "destinationId": subscription.destination.destination_id,
    }


def check_notification_type(notification_type: str) -> None:
    if notification_type not in SUPPORTED_TYPES:
        raise invalid_input(
            f"Invalid notificationType: {notification_type}. The sandbox sends "
            f"{REPORT_PROCESSING_FINISHED} only."
        )


def _live_subscriptions():
    return NotificationSubscription.objects.select_related("destination").filter(
        deleted_at__isnull=True
    )


def create_subscription(
    seller: DemoSeller, *, notification_type: str, payload_version: str, destination_id: str
) -> NotificationSubscription:
    """Subscribe the seller; Conflict when it is subscribed to the type already."""
    check_notification_type(notification_type)
    destination = NotificationDestination.objects.filter(
        destination_id=destination_id, region=seller.region
    ).first()
    if destination is None:
        raise invalid_input(f"Invalid destinationId: {destination_id}.")
    with transaction.atomic():
        if (
            _live_subscriptions()
            .filter(
                selling_partner_id=seller.selling_partner_id,
                region=seller.region,
                notification_type=notification_type,
            )
            .exists()
        ):
            raise conflict("A subscription for this notification type already exists.")
        return NotificationSubscription.objects.create(
            subscription_id=str(uuid.uuid4()),
            selling_partner_id=seller.selling_partner_id,
            region=seller.region,
            notification_type=notification_type,
            payload_version=payload_version,
            destination=destination,
            created_at=clock.now(),
        )


def subscription_of(
    seller: DemoSeller, *, notification_type: str, payload_version: str = ""
) -> NotificationSubscription:
    """The seller's live subscription to the type, or NotFound."""
    check_notification_type(notification_type)
    rows = _live_subscriptions().filter(
        selling_partner_id=seller.selling_partner_id,
        region=seller.region,
        notification_type=notification_type,
    )
    if payload_version:
        rows = rows.filter(payload_version=payload_version)
    subscription = rows.order_by("-pk").first()
    if subscription is None:
        raise not_found(f"No subscription for {notification_type} was found.")
    return subscription


def subscription_by_id(
    *, region: str, notification_type: str, subscription_id: str
) -> NotificationSubscription:
    """A live subscription of any seller, by id (the grantless operations), or NotFound."""
    check_notification_type(notification_type)
    subscription = (
        _live_subscriptions()
        .filter(subscription_id=subscription_id, region=region, notification_type=notification_type)
        .first()
    )
    if subscription is None:
        raise not_found(f"Subscription {subscription_id} was not found.")
    return subscription


def delete_subscription(subscription: NotificationSubscription) -> None:
    """Stop the subscription: nothing is sent for it from now on, not even what was held."""
    now = clock.now()
    with transaction.atomic():
        NotificationSubscription.objects.filter(pk=subscription.pk).update(deleted_at=now)
        subscription.notifications.filter(sent_at__isnull=True, dropped=False).update(
            dropped=True, delivery_error="the subscription was deleted before it was sent"
        )


# Publishing.


# The sandbox's key of a notification's later second copy (the body keeps Amazon's id).
REDELIVERY_SUFFIX = "+redelivery"


def _message(report: Report, state, subscription: NotificationSubscription, *, due: datetime):
    """The REPORT_PROCESSING_FINISHED message as Amazon's schema describes it."""
    finished: dict = {
        "sellerId": report.selling_partner_id,
        "accountId": f"amzn1.merchant.o.{report.selling_partner_id}",
        "reportId": report.report_id,
        "reportType": report.report_type,
        "processingStatus": state.status,
    }
    if report.document_id and state.status in (Status.DONE, Status.FATAL):
        finished["reportDocumentId"] = report.document.document_id
    notification_id = str(uuid.uuid4())
    body = {
        "notificationVersion": NOTIFICATION_VERSION,
        "notificationType": REPORT_PROCESSING_FINISHED,
        "payloadVersion": MESSAGE_PAYLOAD_VERSION,
        "eventTime": _millis(state.processing_end or due),
        "payload": {"reportProcessingFinishedNotification": finished},
        "notificationMetadata": {
            "applicationId": settings.SANDBOX_APP_ID,
            "subscriptionId": subscription.subscription_id,
            "publishTime": _millis(due),
            "notificationId": notification_id,
        },
    }
    return notification_id, body


def decide_notifications(
    *,
    now: datetime,
    limit: int | None = None,
    on_queued: Callable[[Report], None] | None = None,
) -> int:
    """Give every finished report of a subscribed seller its notification, once: queued
    (due now, or later under a delay fault, or twice), or dropped by a fault. Reports that
    finished before the seller subscribed get none. `on_queued` is called with each report
    right after its notification is stored (the publisher sends it then, before the next
    report is finished). Stops once `limit` are queued. Returns how many were queued."""
    subscriptions = {
        (s.selling_partner_id, s.region): s
        for s in _live_subscriptions().filter(notification_type=REPORT_PROCESSING_FINISHED)
    }
    if not subscriptions:
        return 0
    candidates = Report.objects.select_related("document").filter(
        notified_at__isnull=True,
        selling_partner_id__in={seller for seller, _ in subscriptions},
        created_at__gte=now - LOOK_BACK,
    )
    queued = 0
    for report in candidates.order_by("created_at", "pk"):
        subscription = subscriptions.get((report.selling_partner_id, report.region))
        if subscription is None:
            continue
        state = observe(
            report, seller=seller_by_id(report.selling_partner_id, report.region), now=now
        )
        if state.status not in (Status.DONE, Status.CANCELLED, Status.FATAL):
            continue
        finished_at = state.processing_end or now
        with transaction.atomic():
            claimed = Report.objects.filter(pk=report.pk, notified_at__isnull=True).update(
                notified_at=now
            )
            if not claimed or finished_at < subscription.created_at:
                continue
            fault = faults.take_notification_fault(
                seller=report.selling_partner_id,
                region=report.region,
                report_type=report.report_type,
            )
            kind = fault.kind if fault is not None else ""
            due = now
            if kind == Fault.Kind.NOTIFICATION_DELAY:
                due = now + timedelta(seconds=fault.hold_seconds)
            notification_id, body = _message(report, state, subscription, due=due)
            duplicate = kind == Fault.Kind.NOTIFICATION_DUPLICATE
            # A duplicate with a hold comes again later, as SQS redelivers a message whose
            # receipt was lost: the same body, sent a second time hold_seconds on.
            redelivered = duplicate and fault.hold_seconds > 0
            Notification.objects.create(
                notification_id=notification_id,
                subscription=subscription,
                report=report,
                body=body,
                due_at=due,
                copies=2 if duplicate and not redelivered else 1,
                dropped=kind == Fault.Kind.NOTIFICATION_DROP,
            )
            if redelivered:
                Notification.objects.create(
                    notification_id=f"{notification_id}{REDELIVERY_SUFFIX}",
                    subscription=subscription,
                    report=report,
                    body=body,
                    due_at=due + timedelta(seconds=fault.hold_seconds),
                )
            queued += 1
        if on_queued is not None:
            on_queued(report)
        if limit is not None and queued >= limit:
            break
    return queued


class Queues:
    """boto3's SQS client for `SANDBOX_SQS_ENDPOINT_URL`, and the queue URL of each ARN."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._clients: dict[str, object] = {}
        self._urls: dict[str, str] = {}

    def client(self, region: str):
        if region not in self._clients:
            self._clients[region] = boto3.client(
                "sqs",
                endpoint_url=self.endpoint_url,
                region_name=region,
                # An SQS stand-in takes any credentials; real ones are used when set.
                aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "sandbox"),
                aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "sandbox"),
                config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2}),
            )
        return self._clients[region]

    def send(self, arn: str, body: str) -> None:
        """Send one message to the queue of `arn`. Raises QueueMissing when there is no such
        queue, BotoCoreError when the server cannot be reached."""
        parts = arn.split(":", _ARN_PARTS - 1)
        if len(parts) != _ARN_PARTS:
            raise QueueMissing(f"{arn} is not a queue ARN")
        region, account, name = parts[3], parts[4], parts[5]
        client = self.client(region)
        if arn not in self._urls:
            try:
                self._urls[arn] = client.get_queue_url(
                    QueueName=name, QueueOwnerAWSAccountId=account
                )["QueueUrl"]
            except ClientError as error:
                raise QueueMissing(f"no queue {name} for account {account} in {region}") from error
        try:
            client.send_message(QueueUrl=self._urls[arn], MessageBody=body)
        except ClientError as error:
            self._urls.pop(arn, None)
            raise QueueMissing(f"the queue of {arn} refused the message ({error})") from error


class QueueMissing(Exception):
    """The destination's queue does not exist or does not take messages."""


def send_due(*, now: datetime, queues: Queues | None, journal: list[dict] | None = None) -> int:
    """Send the notifications that are due (each copy once). Without an SQS endpoint, or
    when the queue is missing, the notification is marked undeliverable, never retried; when
    the SQS server does not answer, it stays due. Returns how many were sent."""
    sent = 0
    due = Notification.objects.select_related("subscription__destination", "report").filter(
        sent_at__isnull=True, dropped=False, due_at__lte=now
    )
    for notification in due.order_by("due_at", "pk"):
        error = ""
        if queues is None:
            error = "the sandbox has no SQS endpoint (SANDBOX_SQS_ENDPOINT_URL)"
        else:
            body = json.dumps(notification.body, separators=(",", ":"))
            try:
                for _ in range(notification.copies):
                    queues.send(notification.subscription.destination.sqs_arn, body)
            except QueueMissing as missing:
                error = str(missing)
            except BotoCoreError as unreachable:
                logger.warning("SQS unreachable, notification kept for later: %s", unreachable)
                return sent
        Notification.objects.filter(pk=notification.pk).update(
            sent_at=now, delivery_error=error[:500]
        )
        sent += 0 if error else 1
        if journal is not None and not error:
            journal.append({"sent": notification.report.report_id})
    return sent


def materialize_due_schedules(*, now: datetime) -> int:
    """Amazon makes a scheduled report at its time whether anyone reads the seller's reports
    or not, and notifies it when it is finished: create the due scheduled reports of the
    subscribed sellers, so that a seller nobody polls still gets its notifications on time.
    Returns how many reports were created."""
    sellers = (
        ReportSchedule.objects.filter(cancelled_at__isnull=True, next_creation_at__lte=now)
        .filter(
            selling_partner_id__in=NotificationSubscription.objects.filter(
                deleted_at__isnull=True, notification_type=REPORT_PROCESSING_FINISHED
            ).values("selling_partner_id")
        )
        .values_list("selling_partner_id", "region")
        .distinct()
    )
    created = 0
    for selling_partner_id, region in sellers:
        seller = seller_by_id(selling_partner_id, region)
        if seller is not None:
            created += materialize_schedules(seller, now=now)
    return created


# One publisher pass at a time: the background thread's, or one the control API asks for.
_PUBLISHING = threading.Lock()


def publish(*, queues: Queues | None, journal: list[dict] | None = None) -> int:
    """One pass of the publisher: make the due scheduled reports, send what is due, then
    finish the subscribed sellers' reports one at a time and send each one's notification as
    soon as it is decided, before the next report's document is built: Amazon notifies each
    report as it finishes, so when a fleet's schedules finish hundreds at once the first
    message must not wait for the last document. `journal` gets one entry per step, in order
    (`{"decided": report ID}`, `{"sent": report ID}`), for the control API. Returns how many
    were sent."""
    with _PUBLISHING:
        now = clock.now()
        materialize_due_schedules(now=now)
        sent = send_due(now=now, queues=queues, journal=journal)

        def send_at_once(report: Report) -> None:
            nonlocal sent
            if journal is not None:
                journal.append({"decided": report.report_id})
            sent += send_due(now=now, queues=queues, journal=journal)

        decide_notifications(now=now, on_queued=send_at_once)
        return sent


def configured_queues() -> Queues | None:
    endpoint = settings.SANDBOX_SQS_ENDPOINT_URL
    return Queues(endpoint) if endpoint else None


def start_publisher() -> threading.Thread:
    """Run `publish` every SANDBOX_NOTIFICATION_INTERVAL_SECONDS in a daemon thread of the
    server process, for as long as the process lives."""
    stop = threading.Event()
    queues = configured_queues()

    def loop() -> None:
        while not stop.wait(settings.SANDBOX_NOTIFICATION_INTERVAL_SECONDS):
            try:
                publish(queues=queues)
            except Exception:
                logger.exception("the notifications publisher failed; it goes on")
            finally:
                close_old_connections()

    thread = threading.Thread(target=loop, name="notifications-publisher", daemon=True)
    thread.start()
    return thread

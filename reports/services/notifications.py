"""Push: the consumer of Amazon's REPORT_PROCESSING_FINISHED notifications.

`consume_notifications` takes a batch of messages from the queue (SQS long polling), handles
them side by side (PUSH_CONSUMER_THREADS threads: each spends most of its time waiting for
Amazon or the database) and deletes each once handled: every message is handled at least once
(one whose handling failed comes back after its visibility timeout, and after MAX_RECEIVES
tries it is kept as rejected and deleted). `handle_notification` decides what a message means:

- a report we track, still waiting for Amazon: made due now and handed out, through the state
  machine (`transitions.hurry_report`, then a claim under the report's lease), so it is
  downloaded and imported at once instead of at the next check; when the message says DONE
  and names the report's document (`reportDocumentId`), the report moves straight to the
  download (`transitions.finish_from_notification`) and Amazon is not asked about it again:
  getReportDocument is the only call left before the download;
- a finished report of a type we import that we do not know: registered (getReport, then as
  discovery registers it) and handed out;
- a type we do not import (Amazon sends one for every report of the seller, by the thousand):
  dropped without a write, beyond noting that push works;
- a duplicate, or a report that is past waiting (imported by the check already, out of order):
  nothing changes;
- a message that is not Amazon's notification, or names a seller nobody connected: kept as a
  `RejectedNotification` with the reason, and deleted from the queue, so it never loops;
- a message that came through the push subscription of an account of another seller: that
  account was connected under a wrong seller ID (the consent callback names the seller in a
  parameter anyone can change), so it is marked (`mark_seller_mismatch`) and imports nothing
  more; the message goes on as any other (rejected with that cause when nobody connected
  its seller).

A report handed out goes to the consumer's push lane (`reports.services.push_lane`,
PUSH_IMPORT_THREADS threads in the consumer's process), which downloads and imports it with the
worker's own step under the claim's lease while the consumer goes on with its messages: it
never waits for a worker process behind the checks, and the message is deleted once the report
is claimed. When the lane is full, and wherever no lane runs (the web server, tests, scripts
calling `handle_notification`), it goes to the worker's queue (`transitions.hand_out`).

The worker's check every interval stays: it finds what a lost message missed, and takes up a
report the lane left unfinished once its lease runs out.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections
from django.utils import timezone

from amazon_settings import notification_queue, push
from amazon_settings import services as account_services
from amazon_settings.exceptions import AccountNotConnected
from amazon_settings.models import PushSubscription, SellerAccount
from amazon_settings.notification_queue import QueueMessage
from amazon_settings.spapi import SpApiRequestError
from amazon_settings.spapi.types import parse_datetime
from amazon_settings.stored_texts import SELLER_MISMATCH
from core.stored_texts import stored_text
from reports import stored_texts as texts
from reports.catalog import BY_REPORT_TYPE
from reports.models import RejectedNotification, Report, ReportNotification, WorkerHeartbeat
from reports.services.discovery import register_found_report
from reports.services.push_lane import PushLane
from reports.services.transitions import enqueue_reports, finish_from_notification, hurry_report
from reports.services.worker import record_worker_heartbeat

logger = logging.getLogger(__name__)

NOTIFICATION_TYPE = "REPORT_PROCESSING_FINISHED"
FINISHED_STATUSES = frozenset({"DONE", "CANCELLED", "FATAL"})
# A message whose handling failed this many times is kept as rejected and deleted.
MAX_RECEIVES = 5
# Kept for the operator to see; longer bodies are cut (they are not Amazon's anyway).
MAX_KEPT_BODY = 10_000
_MERCHANT_ACCOUNT = "amzn1.merchant.o."


class Outcome(StrEnum):
    """What handling a message did."""

    HURRIED = "hurried"  # a waiting report was made due and handed out
    REGISTERED = "registered"  # an unknown report of a type we import was registered
    UNCHANGED = "unchanged"  # a duplicate, or a report past waiting: nothing to do
    DROPPED = "dropped"  # a type or report we do not import, or an account with push off
    REJECTED = "rejected"  # kept as a RejectedNotification


class NotificationUnreadable(Exception):
    """The message is not a REPORT_PROCESSING_FINISHED notification we can read."""


@dataclass(frozen=True)
class FinishedReport:
    """What a REPORT_PROCESSING_FINISHED notification says."""

    notification_id: str
    seller_id: str
    report_id: str
    report_type: str
    processing_status: str
    document_id: str
    event_time: datetime | None
    # Amazon's id of the subscription the message came through: whose authorization it is.
    subscription_id: str = ""


def _text(data: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value:
        raise NotificationUnreadable(f"{key} is missing or not a string")
    return value


def parse_notification(body: str) -> FinishedReport | None:
    """The notification in the message, or None for another notification type. Raises
    NotificationUnreadable for anything else. Pure."""
    try:
        message = json.loads(body)
    except ValueError:
        raise NotificationUnreadable("the message is not JSON") from None
    if not isinstance(message, dict):
        raise NotificationUnreadable("the message is not a JSON object")
    notification_type = message.get("notificationType")
    if not isinstance(notification_type, str):
        raise NotificationUnreadable("notificationType is missing")
    if notification_type != NOTIFICATION_TYPE:
        return None
    payload = message.get("payload")
    metadata = message.get("notificationMetadata")
    finished = (
        payload.get("reportProcessingFinishedNotification") if isinstance(payload, dict) else None
    )
    if not isinstance(finished, dict) or not isinstance(metadata, dict):
        raise NotificationUnreadable("payload or notificationMetadata is missing")
    # Newer messages name the seller in accountId only ("amzn1.merchant.o.<sellerId>").
    seller_id = _text(finished, "sellerId", required=False)
    if not seller_id:
        account_id = _text(finished, "accountId")
        if not account_id.startswith(_MERCHANT_ACCOUNT):
            raise NotificationUnreadable(f"accountId {account_id[:80]} is not a seller's")
        seller_id = account_id.removeprefix(_MERCHANT_ACCOUNT)
    status = _text(finished, "processingStatus")
    if status not in FINISHED_STATUSES:
        raise NotificationUnreadable(f"processingStatus {status[:40]} is not a final status")
    event_time = message.get("eventTime")
    try:
        moment = parse_datetime(event_time) if isinstance(event_time, str) else None
    except ValueError:
        moment = None
    return FinishedReport(
        notification_id=_text(metadata, "notificationId"),
        seller_id=seller_id,
        report_id=_text(finished, "reportId"),
        report_type=_text(finished, "reportType"),
        processing_status=status,
        document_id=_text(finished, "reportDocumentId", required=False),
        event_time=moment,
        subscription_id=_text(metadata, "subscriptionId", required=False),
    )


def reject_message(message_id: str, body: str, *, reason: str) -> RejectedNotification:
    """Keep a message that cannot be handled, with why; the caller deletes it from the queue."""
    logger.warning("Notification %s rejected: %s", message_id, reason)
    return RejectedNotification.objects.create(
        message_id=message_id[:100],
        received_at=timezone.now(),
        reason=reason[:500],
        body=body[:MAX_KEPT_BODY],
    )


def handle_notification(body: str, *, message_id: str, lane: PushLane | None = None) -> Outcome:
    """Act on one message of the notification queue (see the module docstring). Safe to call
    again with the same message, and with messages in any order: a notification only ever
    hurries a waiting report or registers a missing one. The report it claims goes to `lane`
    (the consumer's push lane), else to the worker's queue. Raises for failures worth another
    try (Amazon or the database not answering), which leave the message in the queue."""
    try:
        finished = parse_notification(body)
    except NotificationUnreadable as error:
        reject_message(message_id, body, reason=f"Not an Amazon notification we can read: {error}.")
        return Outcome.REJECTED
    if finished is None:
        return Outcome.DROPPED
    mismatched = _mark_seller_mismatch(finished)
    now = timezone.now()
    if finished.report_type not in BY_REPORT_TYPE:
        push.note_notification(selling_partner_id=finished.seller_id, at=now)
        return Outcome.DROPPED
    accounts = list(
        SellerAccount.objects.filter(selling_partner_id=finished.seller_id)
        .select_related("push")
        .order_by("pk")
    )
    if not accounts:
        reason = f"No account of seller {finished.seller_id[:32]} is connected here."
        if mismatched:
            reason = stored_text(
                SELLER_MISMATCH,
                notified_seller_id=finished.seller_id[:32],
                account_seller_id=mismatched[0].selling_partner_id,
            )
        reject_message(message_id, body, reason=reason)
        return Outcome.REJECTED
    if _seen(finished.notification_id):
        return Outcome.UNCHANGED
    push.note_notification(selling_partner_id=finished.seller_id, at=now)
    pushed = [a for a in accounts if _push_on(a)]
    if not pushed:
        return Outcome.DROPPED
    outcome = _act(finished, pushed, hand=lane.hand_out if lane is not None else None)
    ReportNotification.objects.get_or_create(
        notification_id=finished.notification_id,
        defaults={
            "selling_partner_id": finished.seller_id,
            "amazon_report_id": finished.report_id,
            "report_type": finished.report_type,
            "processing_status": finished.processing_status,
            "event_time": finished.event_time,
            "received_at": now,
        },
    )
    return outcome


def _mark_seller_mismatch(finished: FinishedReport) -> list[SellerAccount]:
    """The connected accounts whose push subscription the message came through although they
    name another seller than the message: connected under a wrong seller ID (see
    `check_consent_answer`: the callback's seller ID cannot be checked, a notification can).
    Each is marked (`mark_seller_mismatch`: the worker stops importing for it), once. One
    indexed query for a message that names its subscription, as Amazon's do."""
    if not finished.subscription_id:
        return []
    mismatched = list(
        SellerAccount.objects.connected()
        .filter(push__subscription_id=finished.subscription_id)
        .exclude(selling_partner_id=finished.seller_id)
        .order_by("pk")
    )
    for account in mismatched:
        account_services.mark_seller_mismatch(account, notified_seller_id=finished.seller_id)
    return mismatched


def _seen(notification_id: str) -> bool:
    """Whether this notification was handled before (SQS delivers at least once)."""
    return ReportNotification.objects.filter(notification_id=notification_id).exists()


def _push_on(account: SellerAccount) -> bool:
    try:
        return account.push.state != PushSubscription.State.OFF
    except PushSubscription.DoesNotExist:
        return True


def _act(
    finished: FinishedReport,
    accounts: list[SellerAccount],
    *,
    hand: Callable[[int, str], None] | None,
) -> Outcome:
    report = (
        Report.objects.filter(account__in=accounts, amazon_report_id=finished.report_id)
        .only("pk", "import_status")
        .first()
    )
    if report is not None:
        if finished.processing_status == "DONE" and finished.document_id:
            # The message names the document: straight to the download, no getReport.
            moved = finish_from_notification(
                report.pk,
                document_id=finished.document_id,
                finished_at=finished.event_time,
                message=texts.stored_text(texts.NOTIFIED_DONE, document_id=finished.document_id),
            )
            if not moved:
                return Outcome.UNCHANGED
            enqueue_reports([report.pk], hand=hand)
            return Outcome.HURRIED
        hurried = hurry_report(
            report.pk,
            message=texts.stored_text(texts.NOTIFIED, status=finished.processing_status),
        )
        if not hurried:
            return Outcome.UNCHANGED
        enqueue_reports([report.pk], hand=hand)
        return Outcome.HURRIED
    if finished.processing_status != "DONE":
        return Outcome.DROPPED  # nothing to import from an unknown empty or failed report
    for account in accounts:
        if not (account.is_usable and account.order_import_active):
            continue  # discovery would not import it either
        registered = _register(account, finished)
        if registered is not None:
            enqueue_reports([registered.pk], hand=hand)
            return Outcome.REGISTERED
    return Outcome.DROPPED


def _register(account: SellerAccount, finished: FinishedReport) -> Report | None:
    """getReport for the details the notification lacks (range, marketplaces, schedule), then
    register it; None when this account's region does not know the report (a seller with
    accounts in two regions has one seller ID)."""
    try:
        amazon = account_services.call_amazon(
            account, lambda client: client.get_report(finished.report_id)
        )
    except SpApiRequestError as error:
        if error.status in (400, 404):
            return None
        raise
    except AccountNotConnected:
        return None
    try:
        return register_found_report(
            account,
            amazon,
            message="Amazon's notification named this report; the worker downloads and imports it.",
        )
    except IntegrityError:
        # Registered meanwhile (the check, or a copy of this message): nothing to do.
        return None


@dataclass(frozen=True)
class ConsumedBatch:
    """One poll of the queue: how many messages, and what handling them did."""

    received: int
    outcomes: Counter[str]
    left_in_queue: int  # their handling failed; they come back after the visibility timeout


def _handle_message(message: QueueMessage, *, lane: PushLane | None) -> Outcome | None:
    """Handle one message; its outcome, or None when it is left in the queue to come back (its
    handling raised and it has not come back MAX_RECEIVES times yet)."""
    try:
        return handle_notification(message.body, message_id=message.message_id, lane=lane)
    except Exception as error:
        logger.exception("Notification %s could not be handled", message.message_id)
        if message.receive_count < MAX_RECEIVES:
            return None
        reject_message(
            message.message_id,
            message.body,
            reason=f"Handling failed {message.receive_count} times; the last error: {error}",
        )
        return Outcome.REJECTED


def _handle_in_thread(message: QueueMessage, *, lane: PushLane | None) -> Outcome | None:
    """`_handle_message` in a thread of the consumer's pool, which closes the database
    connection the thread opened: the thread ends with the batch, its connection must not."""
    try:
        return _handle_message(message, lane=lane)
    finally:
        connections.close_all()


def _handle_all(
    messages: list[QueueMessage], *, threads: int, lane: PushLane | None
) -> list[Outcome | None]:
    """Each message's outcome, in order: handled in up to `threads` threads at once, or here
    when one is enough. A failure outside the handling (keeping a rejected message) leaves the
    message in the queue, like a failed handling."""
    if threads <= 1 or len(messages) <= 1:
        return [_handle_message(m, lane=lane) for m in messages]
    results: list[Outcome | None] = []
    with ThreadPoolExecutor(
        max_workers=min(threads, len(messages)), thread_name_prefix="notification"
    ) as pool:
        futures = [pool.submit(_handle_in_thread, m, lane=lane) for m in messages]
        for message, future in zip(messages, futures, strict=True):
            try:
                results.append(future.result())
            except Exception:
                logger.exception("Notification %s could not be kept", message.message_id)
                results.append(None)
    return results


def consume_notifications(
    *,
    wait_seconds: int,
    on_received: Callable[[], None] | None = None,
    threads: int | None = None,
    lane: PushLane | None = None,
) -> ConsumedBatch:
    """Take a batch of messages (up to ten, waiting up to `wait_seconds` for the first), handle
    them in up to `threads` threads at once (default PUSH_CONSUMER_THREADS) and delete the
    handled ones; note the consumer's heartbeat. A message is deleted only once handled: one
    whose handling raised is left in the queue (it comes back after the visibility timeout),
    unless it has come back MAX_RECEIVES times: then it is kept as rejected and deleted.
    Handling the same message twice at once is safe (`handle_notification`). Amazon's calls
    made while handling share the rate-limit buckets with the worker, whatever the thread.
    `on_received` is called once the poll has returned, before the handling. The reports the
    messages hand out go to `lane` (the consumer's push lane, see `push_lane`): a message is
    deleted once its report is claimed, while the lane downloads and imports it; without a
    lane, or while it is full, to the worker's queue. Raises NotificationQueueUnavailable
    when the queue does not answer."""
    messages = notification_queue.receive_messages(wait_seconds=wait_seconds)
    if on_received is not None:
        on_received()
    results = _handle_all(
        messages,
        threads=settings.PUSH_CONSUMER_THREADS if threads is None else threads,
        lane=lane,
    )
    handled: list[QueueMessage] = []
    outcomes: Counter[str] = Counter()
    for message, outcome in zip(messages, results, strict=True):
        if outcome is None:
            continue
        handled.append(message)
        outcomes[outcome] += 1
    notification_queue.delete_messages(handled)
    record_worker_heartbeat(name=WorkerHeartbeat.NOTIFICATIONS)
    return ConsumedBatch(len(messages), outcomes, len(messages) - len(handled))

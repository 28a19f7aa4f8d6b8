"""Push's rules without servers: reading Amazon's message (its schema's own examples), when push
counts as not working and why, and what the worker's push pass costs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from django.utils import timezone

from amazon_settings import push
from amazon_settings.models import PushSubscription, SellerAccount
from reports.diagnosis.push import check_push
from reports.models import Report, ReportNotification, WorkerHeartbeat
from reports.services import push_health
from reports.services.notifications import (
    FinishedReport,
    NotificationUnreadable,
    parse_notification,
)
from reports.services.worker import record_worker_heartbeat
from tests.testdata import AMAZON_MODELS_DIR

State = PushSubscription.State


@cache
def schema_examples() -> list[dict]:
    schema = json.loads(
        (AMAZON_MODELS_DIR / "ReportProcessingFinishedNotification.json").read_text()
    )
    return schema["examples"]


def test_amazons_example_is_read():
    seller_example = schema_examples()[0]

    finished = parse_notification(json.dumps(seller_example))

    assert finished == FinishedReport(
        notification_id="d0e9e693-c3ad-4373-979f-ed4ec98dd746",
        seller_id="A3TH9S8BH6GOGM",
        report_id="54517018502",
        report_type="GET_FLAT_FILE_ACTIONABLE_ORDER_DATA",
        processing_status="CANCELLED",
        document_id="amzn1.tortuga.3.edbcd0d8-3434-8222-1234-52ad8ade1208.REP4567URI9BMZ",
        event_time=datetime(2020, 7, 14, 3, 35, 13, 214000, tzinfo=UTC),
        subscription_id="subscription-id-d0e9e693-c3ad-4373-979f-ed4ec98dd746",
    )


def test_the_seller_is_read_from_the_account_id_when_the_seller_id_is_missing():
    message = json.loads(json.dumps(schema_examples()[0]))
    del message["payload"]["reportProcessingFinishedNotification"]["sellerId"]

    assert parse_notification(json.dumps(message)).seller_id == "A3TH9S8BH6GOGM"


def test_a_vendors_notification_is_not_ours():
    with pytest.raises(
        NotificationUnreadable, match=r"accountId amzn1\.vg\.6213651 is not a seller"
    ):
        parse_notification(json.dumps(schema_examples()[1]))


def test_other_notification_types_are_none_and_broken_ones_unreadable():
    assert parse_notification(json.dumps({"notificationType": "ANY_OFFER_CHANGED"})) is None
    message = json.loads(json.dumps(schema_examples()[0]))
    message["payload"]["reportProcessingFinishedNotification"]["processingStatus"] = "IN_QUEUE"
    with pytest.raises(NotificationUnreadable, match="IN_QUEUE is not a final status"):
        parse_notification(json.dumps(message))
    with pytest.raises(NotificationUnreadable, match="not a JSON object"):
        parse_notification("[1, 2]")


@pytest.fixture
def active(db, settings):
    """An account whose push has been active for a day, on an installation with a queue."""
    settings.PUSH_SQS_QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/111122223333/orders"
    settings.PUSH_GRACE_SECONDS = 600
    account = SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX",
        region="eu",
        display_name="Müller",
        refresh_token_encrypted="x",
        status=SellerAccount.Status.CONNECTED,
    )
    PushSubscription.objects.create(
        account=account,
        state=State.ACTIVE,
        subscription_id="s-1",
        active_since=timezone.now() - timedelta(days=1),
        next_attempt_at=timezone.now() + timedelta(hours=12),
    )
    return account


def finished_report(account, *, ended_ago: timedelta, amazon_id: str = "50000000001") -> Report:
    return Report.objects.create(
        account=account,
        report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
        amazon_report_id=amazon_id,
        amazon_status=Report.AmazonStatus.DONE,
        amazon_processing_end_at=timezone.now() - ended_ago - timedelta(seconds=3),
        amazon_finished_seen_at=timezone.now() - ended_ago,
        import_status=Report.ImportStatus.IMPORTED,
    )


def test_a_report_finished_without_its_notification_after_the_grace_marks_push(active):
    report = finished_report(active, ended_ago=timedelta(minutes=11))
    record_worker_heartbeat(name=WorkerHeartbeat.NOTIFICATIONS)

    assert push_health.check_push_delivery() == 1

    subscription = PushSubscription.objects.get(account=active)
    assert (subscription.state, subscription.cause) == (State.FAILING, "silent")
    assert subscription.reason.startswith(f"Amazon finished report {report.amazon_report_id} at ")
    assert subscription.reason.endswith(
        ", but no notification for it arrived within 10 minutes. Amazon sends no test message "
        "and says nothing when it cannot deliver: most likely the SQS queue's access policy "
        "does not let Amazon's Selling Partner API (arn:aws:iam::437568002678:root) call "
        "sqs:SendMessage and sqs:GetQueueAttributes, or the queue is encrypted with a KMS key "
        "whose policy leaves it out. Orders still arrive through the worker's check every 5 "
        "minutes."
    )
    assert push_health.check_push_delivery() == 0  # twice: once


def test_without_the_consumer_the_likely_cause_is_the_consumer(active):
    finished_report(active, ended_ago=timedelta(minutes=11))
    WorkerHeartbeat.objects.create(
        name=WorkerHeartbeat.NOTIFICATIONS, last_seen_at=timezone.now() - timedelta(minutes=5)
    )

    push_health.check_push_delivery()

    reason = PushSubscription.objects.get(account=active).reason
    assert "the notification consumer is not running. Start `manage.py consume_notifications`" in (
        reason
    )


@pytest.mark.parametrize(
    "case",
    ["within the grace", "notified", "before push", "no Amazon id", "push pending"],
)
def test_what_does_not_count_against_push(active, case):
    ended_ago = timedelta(minutes=5 if case == "within the grace" else 11)
    report = finished_report(active, ended_ago=ended_ago)
    if case == "notified":
        ReportNotification.objects.create(
            notification_id="n-1",
            selling_partner_id="A2MUELLERHW7QX",
            amazon_report_id=report.amazon_report_id,
            report_type=report.report_type,
            processing_status="DONE",
            received_at=timezone.now(),
        )
    elif case == "before push":
        PushSubscription.objects.filter(account=active).update(active_since=timezone.now())
    elif case == "no Amazon id":
        Report.objects.filter(pk=report.pk).update(amazon_report_id="")
    elif case == "push pending":
        PushSubscription.objects.filter(account=active).update(state=State.PENDING)

    assert push_health.check_push_delivery() == 0


def test_a_notification_after_the_mark_makes_push_active_again(active):
    finished_report(active, ended_ago=timedelta(minutes=11))
    push_health.check_push_delivery()
    at = timezone.now()

    push.note_notification(selling_partner_id="A2MUELLERHW7QX", at=at)

    subscription = PushSubscription.objects.get(account=active)
    assert (subscription.state, subscription.reason) == (State.ACTIVE, "")
    assert subscription.last_notification_at == at
    assert subscription.active_since >= at  # the old report does not count again
    assert push_health.check_push_delivery() == 0


def test_orders_missing_says_push_is_not_working_with_the_cause(active):
    finished_report(active, ended_ago=timedelta(minutes=11))
    push_health.check_push_delivery()
    active.refresh_from_db()

    check = check_push(active, now=timezone.now())

    assert check.status == "warning"
    assert check.summary.startswith("Push is not working: Amazon finished report 50000000001")
    assert check.evidence[0].text == "No notification yet."


def test_orders_missing_without_a_queue_says_push_is_not_set_up(active, settings):
    settings.PUSH_SQS_QUEUE_URL = ""

    check = check_push(active, now=timezone.now())

    assert check.status == "ok"
    assert check.summary.startswith("Push not set up. This installation has no notification queue")


def test_the_push_pass_over_idle_accounts_costs_the_same_for_many(
    active, django_assert_num_queries
):
    for n in range(40):
        account = SellerAccount.objects.create(
            selling_partner_id=f"A{n:013d}",
            region="eu",
            display_name=f"Seller {n}",
            refresh_token_encrypted="x",
            status=SellerAccount.Status.CONNECTED,
        )
        PushSubscription.objects.create(
            account=account,
            state=State.ACTIVE,
            active_since=timezone.now() - timedelta(days=1),
            next_attempt_at=timezone.now() + timedelta(hours=12),
        )

    # Missing subscriptions, due subscriptions, unnotified reports, and two prunes.
    with django_assert_num_queries(5):
        result = push_health.run_push_pass()

    assert (result.subscriptions_looked_at, result.accounts_not_working) == (0, 0)

"""Push end to end: the sandbox publishes REPORT_PROCESSING_FINISHED to a real SQS-compatible
queue (moto's server), the consumer takes it from there, and the worker's check stays the
safety net. Runs on SQLite, and on PostgreSQL with Redis in the scale-out run."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from amazon_settings import push, services
from amazon_settings.models import NotificationDestination, PushSubscription
from orders.models import Order
from reports.models import RejectedNotification, Report, ReportEvent, ReportNotification
from reports.services import (
    notifications,
    pipeline,
    push_health,
    push_lane,
    requesting,
    transitions,
    worker,
)
from tests.amazon_fixtures import EU_SELLER, mfn_report_orders

pytestmark = pytest.mark.django_db

Status = Report.ImportStatus
State = PushSubscription.State
MFN_EU = "mfn_orders_eu"
MFN_TYPE = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"


@pytest.fixture
def handed(monkeypatch) -> list[tuple]:
    """Tasks the product hands out, run by the test itself instead of a django-q2 cluster."""
    tasks: list[tuple] = []
    monkeypatch.setattr(
        "reports.services.transitions.async_task", lambda func, *args, **kwargs: tasks.append(args)
    )
    monkeypatch.setattr(
        "amazon_settings.services.async_task", lambda func, *args, **kwargs: tasks.append(args)
    )
    return tasks


@pytest.fixture
def queue(sqs, settings, monkeypatch) -> tuple[str, str]:
    """A queue of the test's own, configured as the product's notification queue."""
    url, arn = sqs.create_queue(f"push-{uuid.uuid4().hex[:12]}")
    settings.PUSH_SQS_QUEUE_URL = url
    settings.PUSH_SQS_QUEUE_ARN = ""
    settings.PUSH_SQS_ENDPOINT_URL = sqs.endpoint_url
    settings.PUSH_SQS_WAIT_SECONDS = 1
    # boto3's standard configuration, as production sets it in the environment.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    return url, arn


@pytest.fixture
def pushed(amazon, queue, eu_account):
    """The EU demo seller, connected, with push active."""
    subscription = push.subscribe_account(eu_account)
    assert subscription.state == State.ACTIVE, subscription.reason
    return eu_account


def run_handed(tasks: list[tuple]) -> None:
    while tasks:
        args = tasks.pop(0)
        if len(args) == 2:
            pipeline.advance_report(*args)


def consume(
    tasks: list[tuple], *, until: Callable[[Counter], bool], timeout: float = 30
) -> Counter:
    """Poll the queue (and run what the consumer hands out) until `until(outcomes so far)`."""
    outcomes: Counter = Counter()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outcomes.update(notifications.consume_notifications(wait_seconds=1).outcomes)
        run_handed(tasks)
        if until(outcomes):
            return outcomes
    raise AssertionError(f"not reached within {timeout} s; outcomes so far: {dict(outcomes)}")


def sent_and_waiting(account, *, days: int = 2, handed: list[tuple] | None = None) -> Report:
    """Request an MFN report and send it, as Reports » Request and the worker's first step do:
    it then waits for Amazon, its next check WORKER_INTERVAL_SECONDS away. With real commits
    the request hands the report out itself (`handed`)."""
    end = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    (report,) = requesting.request_reports(
        account,
        kind_key=MFN_EU,
        marketplace_ids=list(account.marketplaces.values_list("marketplace_id", flat=True)),
        start=end - timedelta(days=days),
        end=end,
        acting_user=None,
    )
    if handed is not None:
        run_handed(handed)
    else:
        (claimed,) = transitions.claim_reports(ids=[report.pk])
        pipeline.advance_report(*claimed)
    report.refresh_from_db()
    assert report.import_status == Status.WAITING
    assert report.next_attempt_at > timezone.now() + timedelta(seconds=60)
    return report


def notification_of(sandbox, report: Report, *, timeout: float = 30) -> dict:
    """The sandbox's record of the report's notification, once decided."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for note in sandbox.control("notifications")["notifications"]:
            if note["reportId"] == report.amazon_report_id:
                return note
        time.sleep(0.1)
    raise AssertionError(f"the sandbox decided no notification for {report.amazon_report_id}")


def calls(sandbox, operation: str) -> int:
    return len(sandbox.calls(operation=operation, selling_partner_id=EU_SELLER))


def imported(report: Report) -> Callable[[Counter], bool]:
    def check(outcomes: Counter) -> bool:
        report.refresh_from_db()
        return report.import_status == Status.IMPORTED

    return check


def finished_message(report_id: str, *, report_type: str = MFN_TYPE, **changes) -> dict:
    """A REPORT_PROCESSING_FINISHED message as Amazon sends it (its schema's example)."""
    finished = {
        "sellerId": EU_SELLER,
        "accountId": f"amzn1.merchant.o.{EU_SELLER}",
        "reportId": report_id,
        "reportType": report_type,
        "processingStatus": "DONE",
        **changes,
    }
    return {
        "notificationVersion": "2020-09-04",
        "notificationType": "REPORT_PROCESSING_FINISHED",
        "payloadVersion": "2020-09-04",
        "eventTime": "2025-03-01T10:00:00.000Z",
        "payload": {"reportProcessingFinishedNotification": finished},
        "notificationMetadata": {
            "applicationId": "amzn1.sellerapps.app.x",
            "subscriptionId": "s",
            "publishTime": "2025-03-01T10:00:01.000Z",
            "notificationId": str(uuid.uuid4()),
        },
    }


def test_connecting_subscribes_the_account_once_however_often_it_runs(
    amazon, queue, handed, settings
):
    account = services.self_authorize(
        selling_partner_id=EU_SELLER,
        region="eu",
        refresh_token=amazon.refresh_token(EU_SELLER, "eu"),
        acting_user=None,
    )
    # The consent callback does not wait for Amazon's notifications: a task subscribes.
    assert handed == [(account.pk,)]
    assert PushSubscription.objects.get(account=account).state == State.PENDING

    for _ in range(2):  # run twice: nothing is made twice
        subscription = push.subscribe_account(account)

    assert subscription.state == State.ACTIVE
    state = amazon.control("notifications")
    [destination] = state["destinations"]
    assert destination["arn"] == queue[1]
    assert destination["name"] == settings.PUSH_DESTINATION_NAME
    [live] = [s for s in state["subscriptions"] if s["deleted_at"] is None]
    assert live["subscriptionId"] == subscription.subscription_id
    assert live["destinationId"] == destination["destinationId"] == subscription.destination_id
    assert NotificationDestination.objects.count() == 1
    assert len(amazon.calls(operation="createDestination")) == 1
    assert len(amazon.calls(operation="createSubscription")) == 1


def test_a_notification_imports_a_report_without_waiting_for_the_check(pushed, amazon, handed):
    report = sent_and_waiting(pushed)

    outcomes = consume(handed, until=imported(report))

    assert outcomes["hurried"] == 1
    expected = mfn_report_orders(amazon, report.data_start, report.data_end)
    assert report.rows_created == sum(expected.values())
    assert set(Order.objects.filter(account=pushed).values_list("amazon_order_id", flat=True)) == (
        expected.keys()
    )
    assert ReportEvent.objects.filter(
        report=report, message__startswith="Amazon's notification: the report is DONE"
    ).exists()
    # The message names the document: no getReport at all, neither the notification's nor a
    # check's; getReportDocument is the one call before the download.
    assert calls(amazon, "getReport") == 0
    assert calls(amazon, "getReportDocument") == 1
    assert report.amazon_status == Report.AmazonStatus.DONE
    assert (
        report.amazon_document_id
        == notification_of(amazon, report)["body"]["payload"][
            "reportProcessingFinishedNotification"
        ]["reportDocumentId"]
    )
    assert report.amazon_processing_end_at is not None
    pushed.push.refresh_from_db()
    assert pushed.push.last_notification_at is not None


def test_a_notification_without_the_document_asks_amazon_first(pushed, amazon, handed, queue, sqs):
    # Amazon's schema makes reportDocumentId optional: without it, the report is made due and
    # getReport tells the rest, as the check would.
    amazon.control("faults", {"kind": "notification_drop"})
    report = sent_and_waiting(pushed)
    assert notification_of(amazon, report)["dropped"] is True
    sqs.send(queue[0], finished_message(report.amazon_report_id))

    outcomes = consume(handed, until=imported(report))

    assert outcomes["hurried"] == 1
    assert calls(amazon, "getReport") == 1
    assert calls(amazon, "getReportDocument") == 1


def test_a_dropped_notification_is_caught_by_the_check_and_push_shows_not_working(
    pushed, shared_clock, handed, settings, logged_in_client
):
    settings.PUSH_GRACE_SECONDS = 600
    shared_clock.control("faults", {"kind": "notification_drop"})
    # Amazon gives times in whole seconds: the report ends in a second after push began.
    shared_clock.advance_clock(2)
    report = sent_and_waiting(pushed)
    assert notification_of(shared_clock, report)["dropped"] is True
    notifications.consume_notifications(wait_seconds=1)  # nothing comes: the consumer is alive
    report.refresh_from_db()
    assert report.import_status == Status.WAITING

    # The check comes round: it finds Amazon finished and imports the report.
    shared_clock.advance_clock(settings.WORKER_INTERVAL_SECONDS)
    worker.tick(inline=True)
    report.refresh_from_db()
    assert report.import_status == Status.IMPORTED
    assert push_health.run_push_pass().accounts_not_working == 0  # within the grace period

    shared_clock.advance_clock(settings.PUSH_GRACE_SECONDS + 60)
    notifications.consume_notifications(wait_seconds=1)
    assert push_health.run_push_pass().accounts_not_working == 1
    subscription = PushSubscription.objects.get(account=pushed)
    assert subscription.state == State.FAILING
    assert f"Amazon finished report {report.amazon_report_id}" in subscription.reason
    assert "access policy" in subscription.reason
    assert push_health.run_push_pass().accounts_not_working == 0  # run twice: marked once

    page = logged_in_client.get(reverse("amazon_settings:settings")).content.decode()
    assert "Push is not working" in page and "access policy" in page
    missing = logged_in_client.get(reverse("reports:diagnosis", args=[pushed.pk]))
    assert "Push is not working: Amazon finished report" in missing.content.decode()

    # The next notification that arrives proves push works again.
    later = sent_and_waiting(pushed, days=1)
    consume(handed, until=imported(later))
    subscription.refresh_from_db()
    assert subscription.state == State.ACTIVE and subscription.reason == ""


def test_a_duplicated_notification_imports_once(pushed, amazon, handed, sqs, queue):
    amazon.control("faults", {"kind": "notification_duplicate"})
    report = sent_and_waiting(pushed)
    assert notification_of(amazon, report)["copies"] == 2

    outcomes = consume(
        handed, until=lambda seen: imported(report)(seen) and sqs.messages(queue[0]) == 0
    )

    assert outcomes["hurried"] == 1
    assert outcomes["unchanged"] == 1
    assert ReportEvent.objects.filter(report=report, message__startswith="Imported").count() == 1
    assert ReportNotification.objects.filter(amazon_report_id=report.amazon_report_id).count() == 1
    assert calls(amazon, "getReportDocument") == 1


def test_the_consumer_handles_a_batch_side_by_side(queue, sqs, monkeypatch, db):
    # Each handling waits until all three are in flight: one after the other, none would finish.
    in_flight = threading.Barrier(3, timeout=20)
    threads: set[int] = set()

    def waiting(body: str, *, message_id: str, lane=None) -> notifications.Outcome:
        in_flight.wait()
        threads.add(threading.get_ident())
        return notifications.Outcome.DROPPED

    monkeypatch.setattr(notifications, "handle_notification", waiting)
    for number in range(3):
        sqs.send(queue[0], finished_message(f"7000000010{number}"))

    batch = notifications.consume_notifications(wait_seconds=1, threads=3)

    assert (batch.received, batch.outcomes, batch.left_in_queue) == (3, Counter(dropped=3), 0)
    assert len(threads) == 3 and threading.get_ident() not in threads
    assert sqs.messages(queue[0]) == 0


@pytest.mark.django_db(transaction=True)
def test_a_duplicated_notification_handled_by_two_threads_at_once_imports_once(
    pushed, amazon, handed, sqs, queue, settings
):
    amazon.control("faults", {"kind": "notification_duplicate"})
    report = sent_and_waiting(pushed, handed=handed)
    assert notification_of(amazon, report)["copies"] == 2
    deadline = time.monotonic() + 30
    while sqs.messages(queue[0]) < 2:  # both copies in the queue, to be taken in one batch
        assert time.monotonic() < deadline, "the sandbox did not send both copies"
        time.sleep(0.05)

    # The test database (SQLite in memory) may refuse one thread's write while the other
    # writes: that message comes back at once and is handled again, as after any failure.
    settings.PUSH_SQS_VISIBILITY_SECONDS = 0
    outcomes = Counter(notifications.consume_notifications(wait_seconds=1, threads=2).outcomes)
    run_handed(handed)
    outcomes += consume(
        handed, until=lambda seen: imported(report)(seen) and sqs.messages(queue[0]) == 0
    )

    assert outcomes["hurried"] <= 1 and outcomes["hurried"] + outcomes["unchanged"] == 2
    assert ReportEvent.objects.filter(report=report, message__startswith="Imported").count() == 1
    assert ReportNotification.objects.filter(amazon_report_id=report.amazon_report_id).count() == 1
    assert calls(amazon, "getReportDocument") == 1
    assert sqs.messages(queue[0]) == 0


def test_a_late_notification_after_the_check_changes_nothing(
    pushed, shared_clock, handed, sqs, queue, settings
):
    shared_clock.control("faults", {"kind": "notification_delay", "hold_seconds": 900})
    report = sent_and_waiting(pushed)
    assert notification_of(shared_clock, report)["sent_at"] is None
    shared_clock.advance_clock(settings.WORKER_INTERVAL_SECONDS)
    worker.tick(inline=True)
    report.refresh_from_db()
    assert report.import_status == Status.IMPORTED
    events = list(ReportEvent.objects.filter(report=report).values_list("message", flat=True))

    shared_clock.advance_clock(900)
    notified = ReportNotification.objects.filter(amazon_report_id=report.amazon_report_id)
    outcomes = consume(handed, until=lambda seen: notified.exists())

    assert outcomes["unchanged"] >= 1
    report.refresh_from_db()
    assert report.import_status == Status.IMPORTED
    assert list(ReportEvent.objects.filter(report=report).values_list("message", flat=True)) == (
        events
    )


def test_a_notification_for_an_unknown_report_of_an_imported_type_registers_it(
    pushed, amazon, handed
):
    end = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    made = amazon.control(
        "reports",
        {
            "selling_partner_id": EU_SELLER,
            "region": "eu",
            "report_type": MFN_TYPE,
            "data_start": (end - timedelta(days=2)).isoformat(),
            "data_end": end.isoformat(),
        },
    )

    def registered_and_imported(outcomes: Counter) -> bool:
        report = Report.objects.filter(amazon_report_id=made["reportId"]).first()
        return report is not None and report.import_status == Status.IMPORTED

    outcomes = consume(handed, until=registered_and_imported)

    assert outcomes["registered"] == 1
    report = Report.objects.get(amazon_report_id=made["reportId"])
    assert report.source == Report.Source.DISCOVERED
    assert (report.data_start, report.data_end) == (end - timedelta(days=2), end)
    assert report.rows_created == sum(mfn_report_orders(amazon, *(report.data_start, end)).values())


def test_types_we_do_not_import_are_acknowledged_and_dropped(pushed, sqs, queue, handed):
    for _ in range(3):
        sqs.send(
            queue[0], finished_message("70000000001", report_type="GET_MERCHANT_LISTINGS_ALL_DATA")
        )

    outcomes = consume(handed, until=lambda seen: sqs.messages(queue[0]) == 0)

    assert outcomes == Counter({"dropped": 3})
    assert not Report.objects.exists()
    assert not ReportNotification.objects.exists() and not RejectedNotification.objects.exists()
    pushed.push.refresh_from_db()
    assert pushed.push.last_notification_at is not None  # they prove push works all the same


def test_poison_messages_are_kept_with_their_reason_and_never_come_back(pushed, sqs, queue, handed):
    sqs.send(queue[0], "{not json")
    sqs.send(queue[0], {"notificationType": "REPORT_PROCESSING_FINISHED", "payload": {}})
    sqs.send(queue[0], finished_message("70000000002", sellerId="A9NOBODYHERE00"))

    outcomes = consume(handed, until=lambda seen: sqs.messages(queue[0]) == 0)
    again = notifications.consume_notifications(wait_seconds=1)

    assert outcomes == Counter({"rejected": 3})
    assert again.received == 0
    reasons = sorted(RejectedNotification.objects.values_list("reason", flat=True))
    assert reasons == [
        "No account of seller A9NOBODYHERE00 is connected here.",
        "Not an Amazon notification we can read: payload or notificationMetadata is missing.",
        "Not an Amazon notification we can read: the message is not JSON.",
    ]
    assert RejectedNotification.objects.filter(body="{not json").exists()


def test_a_message_whose_handling_keeps_failing_is_rejected_after_max_receives(
    pushed, sqs, queue, handed, settings, monkeypatch
):
    settings.PUSH_SQS_VISIBILITY_SECONDS = 0  # a failed message is visible again at once

    def broken(body: str, *, message_id: str, lane=None):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(notifications, "handle_notification", broken)
    sqs.send(queue[0], finished_message("70000000003"))

    consume(handed, until=lambda seen: RejectedNotification.objects.exists(), timeout=60)

    rejected = RejectedNotification.objects.get()
    assert rejected.reason == (
        f"Handling failed {notifications.MAX_RECEIVES} times; the last error: the database "
        "went away"
    )
    assert sqs.messages(queue[0]) == 0


def test_switching_push_off_stops_amazons_notifications_and_on_again_restarts_them(
    pushed, amazon, handed, logged_in_client
):
    subscription_id = pushed.push.subscription_id

    response = logged_in_client.post(reverse("amazon_settings:push", args=[pushed.pk]), {})

    assert response.status_code == 302
    pushed.push.refresh_from_db()
    assert (pushed.push.state, pushed.push.subscription_id) == (State.OFF, "")
    [deleted] = amazon.control("notifications")["subscriptions"]
    assert deleted["subscriptionId"] == subscription_id and deleted["deleted_at"]
    page = logged_in_client.get(reverse("amazon_settings:settings")).content.decode()
    assert "Push off" in page and "Switch push on" in page

    logged_in_client.post(reverse("amazon_settings:push", args=[pushed.pk]), {"active": "on"})

    pushed.push.refresh_from_db()
    assert pushed.push.state == State.ACTIVE
    page = logged_in_client.get(reverse("amazon_settings:settings")).content.decode()
    assert "Push active" in page and "Last notification: none yet" in page


def test_the_push_pass_repairs_a_subscription_amazon_lost(pushed, amazon, queue):
    # Someone deleted the subscription at Amazon; the daily verification finds out.
    services.app_client("eu").delete_subscription_by_id(
        push.NOTIFICATION_TYPE, pushed.push.subscription_id
    )
    assert push_health.run_push_pass().subscriptions_looked_at == 0  # not due yet
    PushSubscription.objects.filter(account=pushed).update(next_attempt_at=timezone.now())

    assert push_health.run_push_pass().subscriptions_looked_at == 1

    pushed.push.refresh_from_db()
    live = [s for s in amazon.control("notifications")["subscriptions"] if not s["deleted_at"]]
    assert [s["subscriptionId"] for s in live] == [pushed.push.subscription_id]
    assert pushed.push.state == State.ACTIVE


def test_the_grantless_token_is_cached_and_never_logged(amazon, queue, caplog):
    provide = services.grantless_token_provider()

    first, second = provide(), provide()

    assert first == second and first.startswith("Atza|")
    assert len(amazon.calls(operation="lwaToken")) == 1
    services.app_client("eu").get_destinations()
    assert first not in caplog.text
    assert json.dumps(first) not in caplog.text


def test_the_consumer_command_handles_the_queue_and_needs_one(pushed, sqs, queue, settings):
    sqs.send(queue[0], "not a notification")

    call_command("consume_notifications", "--once", "--wait-seconds", "1", stdout=io.StringIO())

    assert RejectedNotification.objects.get().body == "not a notification"
    assert sqs.messages(queue[0]) == 0
    settings.PUSH_SQS_QUEUE_URL = ""
    with pytest.raises(CommandError, match="Push is not set up on this installation"):
        call_command("consume_notifications", "--once")


# The push lane: the consumer imports the reports push hands out itself (reports.services.
# push_lane). Its threads have their own database connections: the tests that let them touch
# the database commit what they write (`transaction=True`).


def consume_until_hurried(lane: push_lane.PushLane, *, timeout: float = 30) -> Counter:
    """Poll the queue with `lane` until a notification hurried a report (runs nothing else)."""
    outcomes: Counter = Counter()
    deadline = time.monotonic() + timeout
    while not outcomes["hurried"]:
        assert time.monotonic() < deadline, f"nothing hurried; outcomes: {dict(outcomes)}"
        outcomes.update(notifications.consume_notifications(wait_seconds=1, lane=lane).outcomes)
    return outcomes


def wait_until(condition: Callable[[], bool], *, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.01)


@pytest.fixture
def gated_lane_steps(monkeypatch) -> tuple[threading.Event, list[tuple[int, str]]]:
    """The lane's thread waits for the returned gate before each step it takes, and notes the
    report and lease; the step itself is the worker's. The tests open the gate once the
    consumer's own writes are done: SQLite in memory (the test database) refuses a write while
    another connection writes, instead of waiting as a database file does."""
    gate = threading.Event()
    taken: list[tuple[int, str]] = []

    def gated(report_id: int, lease_id: str = "") -> Report | None:
        taken.append((report_id, lease_id))
        assert gate.wait(30), "the test never opened the gate"
        return pipeline.advance_report(report_id, lease_id)

    monkeypatch.setattr(push_lane, "advance_report", gated)
    return gate, taken


def open_gate_on_close(monkeypatch, gate: threading.Event) -> None:
    """The lane's gate opens as the lane is closed (the consumer writes no more then)."""
    close = push_lane.PushLane.close

    def opening(lane: push_lane.PushLane, *, wait_seconds: float) -> push_lane.LaneClosed:
        gate.set()
        return close(lane, wait_seconds=wait_seconds)

    monkeypatch.setattr(push_lane.PushLane, "close", opening)


@pytest.mark.django_db(transaction=True)
def test_the_push_lane_imports_a_notified_report_without_a_worker_task(
    pushed, amazon, handed, sqs, queue, gated_lane_steps
):
    gate, taken = gated_lane_steps
    report = sent_and_waiting(pushed, handed=handed)
    lane = push_lane.PushLane(threads=1)
    try:
        consume_until_hurried(lane)
        # The message is acknowledged once the report is claimed, not once it is imported.
        assert sqs.messages(queue[0]) == 0
        assert [report_id for report_id, _ in taken] == [report.pk]
        gate.set()
    finally:
        closed = lane.close(wait_seconds=30)

    assert closed == push_lane.LaneClosed(handed_to_worker=0, still_running=0)
    assert handed == []  # no django-q2 task: the lane imported it
    report.refresh_from_db()
    assert report.import_status == Status.IMPORTED
    assert (report.lease_id, report.leased_until) == ("", None)
    assert report.rows_created == sum(
        mfn_report_orders(amazon, report.data_start, report.data_end).values()
    )
    assert calls(amazon, "getReportDocument") == 1


def test_a_full_push_lane_hands_the_report_to_the_worker(handed, monkeypatch):
    started = threading.Event()
    gate = threading.Event()
    advanced: list[int] = []

    def slow(report_id: int, lease_id: str = "") -> None:
        advanced.append(report_id)
        started.set()
        assert gate.wait(30)

    monkeypatch.setattr(push_lane, "advance_report", slow)
    lane = push_lane.PushLane(threads=1, waiting=1)
    try:
        lane.hand_out(1, "lease-1")
        assert started.wait(10)  # the thread advances report 1
        lane.hand_out(2, "lease-2")  # waits for the thread
        lane.hand_out(3, "lease-3")  # no room: the worker's task, with its lease

        assert handed == [(3, "lease-3")]
        assert (lane.running, lane.waiting) == (1, 1)
    finally:
        gate.set()
        closed = lane.close(wait_seconds=30)
    assert closed == push_lane.LaneClosed(handed_to_worker=0, still_running=0)
    assert advanced == [1, 2]


def test_closing_the_push_lane_hands_what_waits_to_the_worker_and_takes_no_more(
    handed, monkeypatch
):
    gate = threading.Event()
    advanced: list[int] = []

    def stuck(report_id: int, lease_id: str = "") -> None:
        advanced.append(report_id)
        assert gate.wait(30)

    monkeypatch.setattr(push_lane, "advance_report", stuck)
    lane = push_lane.PushLane(threads=1)
    threads = list(lane._threads)
    try:
        lane.hand_out(1, "lease-1")
        wait_until(lambda: lane.running == 1)
        lane.hand_out(2, "lease-2")

        # Report 1 outlasts the wait: left to its lease; report 2 goes to the worker.
        closed = lane.close(wait_seconds=0.1)

        assert closed == push_lane.LaneClosed(handed_to_worker=1, still_running=1)
        assert handed == [(2, "lease-2")]
        lane.hand_out(3, "lease-3")  # closed: straight to the worker
        assert handed == [(2, "lease-2"), (3, "lease-3")]
    finally:
        gate.set()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()
    assert advanced == [1]


def test_closing_the_push_lane_lets_it_finish_what_it_has(handed, monkeypatch):
    gate = threading.Event()
    advanced: list[int] = []

    def gated(report_id: int, lease_id: str = "") -> None:
        assert gate.wait(30)
        advanced.append(report_id)

    monkeypatch.setattr(push_lane, "advance_report", gated)
    lane = push_lane.PushLane(threads=1)
    lane.hand_out(1, "lease-1")
    lane.hand_out(2, "lease-2")
    closing = threading.Thread(target=lambda: result.append(lane.close(wait_seconds=30)))
    result: list[push_lane.LaneClosed] = []
    closing.start()
    wait_until(lambda: not lane.accepting)
    gate.set()
    closing.join(30)

    assert result == [push_lane.LaneClosed(handed_to_worker=0, still_running=0)]
    assert advanced == [1, 2]
    assert handed == []


@pytest.mark.django_db(transaction=True)
def test_a_report_the_push_lane_holds_is_advanced_by_no_worker_and_once_only(
    pushed, shared_clock, handed, settings, gated_lane_steps
):
    gate, taken = gated_lane_steps
    report = sent_and_waiting(pushed, handed=handed)
    lane = push_lane.PushLane(threads=1)
    try:
        consume_until_hurried(lane)
        wait_until(lambda: len(taken) == 1)
        report.refresh_from_db()
        assert taken == [(report.pk, report.lease_id)]
        assert report.import_status == Status.DOWNLOADING

        # While the lane holds the report: the check claims it not, a stray task does nothing.
        worker.tick(inline=True)
        pipeline.advance_report(report.pk)
        pipeline.advance_report(report.pk, "a-lease-of-before")
        report.refresh_from_db()
        assert report.import_status == Status.DOWNLOADING
        # (The check's automatic requests hand out reports of their own.)
        assert report.pk not in {task[0] for task in handed}

        gate.set()
    finally:
        closed = lane.close(wait_seconds=30)
    assert closed == push_lane.LaneClosed(handed_to_worker=0, still_running=0)
    report.refresh_from_db()
    assert report.import_status == Status.IMPORTED
    assert ReportEvent.objects.filter(report=report, message__startswith="Imported").count() == 1
    assert calls(shared_clock, "getReportDocument") == 1


@pytest.mark.django_db(transaction=True)
def test_a_report_the_stopped_lane_left_is_imported_by_the_check_once_its_lease_runs_out(
    pushed, shared_clock, handed, settings, gated_lane_steps
):
    gate, taken = gated_lane_steps
    report = sent_and_waiting(pushed, handed=handed)
    lane = push_lane.PushLane(threads=1)
    try:
        consume_until_hurried(lane)
        wait_until(lambda: len(taken) == 1)
        # The consumer stops while its lane is stuck in the report (as if killed).
        assert lane.close(wait_seconds=0) == push_lane.LaneClosed(
            handed_to_worker=0, still_running=1
        )
        worker.tick(inline=True)  # the lease holds
        report.refresh_from_db()
        assert report.import_status == Status.DOWNLOADING

        shared_clock.advance_clock(settings.REPORT_LEASE_SECONDS + 1)
        worker.tick(inline=True)
        report.refresh_from_db()
        assert report.import_status == Status.IMPORTED
    finally:
        gate.set()  # the lane's step comes too late: its lease is gone, it does nothing
    wait_until(lambda: all(not t.is_alive() for t in lane._threads))
    report.refresh_from_db()
    assert report.import_status == Status.IMPORTED
    assert ReportEvent.objects.filter(report=report, message__startswith="Imported").count() == 1
    assert calls(shared_clock, "getReportDocument") == 1


@pytest.mark.django_db(transaction=True)
def test_the_consumer_command_imports_in_its_push_lane(
    pushed, amazon, handed, sqs, queue, settings, gated_lane_steps, monkeypatch
):
    settings.PUSH_IMPORT_THREADS = 1
    gate, _ = gated_lane_steps
    open_gate_on_close(monkeypatch, gate)
    report = sent_and_waiting(pushed, handed=handed)
    wait_until(lambda: sqs.messages(queue[0]) >= 1, timeout=30)

    call_command("consume_notifications", "--once", "--wait-seconds", "1", stdout=io.StringIO())

    # Stopping, the command let its lane finish the import.
    report.refresh_from_db()
    assert report.import_status == Status.IMPORTED
    assert handed == []


@pytest.mark.django_db(transaction=True)
def test_the_consumer_command_stopped_lets_its_push_lane_finish_the_import(
    pushed, amazon, handed, settings, gated_lane_steps, monkeypatch
):
    settings.PUSH_IMPORT_THREADS = 1
    gate, taken = gated_lane_steps
    open_gate_on_close(monkeypatch, gate)
    report = sent_and_waiting(pushed, handed=handed)

    def stop_once_the_lane_has_it() -> None:
        try:
            wait_until(lambda: len(taken) == 1, timeout=30)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # as the supervisor stops the consumer

    stopper = threading.Thread(target=stop_once_the_lane_has_it)
    stopper.start()
    try:
        call_command("consume_notifications", "--wait-seconds", "1", stdout=io.StringIO())
    finally:
        gate.set()
        stopper.join(30)

    report.refresh_from_db()
    assert report.import_status == Status.IMPORTED
    assert handed == []

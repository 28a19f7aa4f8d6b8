"""Contract tests of the sandbox's Notifications API over HTTP, and of the notifications it
pushes to a real SQS-compatible queue (moto's server): every answer validated against Amazon's
notifications model, every message against Amazon's REPORT_PROCESSING_FINISHED schema."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache

import jsonschema
import pytest
import requests

from tests.sandbox.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    DE,
    EU_SELLER,
    EU_SMALL_SELLER,
    Api,
    assert_error,
    assert_response,
)
from tests.testdata import AMAZON_MODELS_DIR

NOTIFICATIONS = "/notifications/v1"
FINISHED = "REPORT_PROCESSING_FINISHED"
SUBSCRIPTIONS = f"{NOTIFICATIONS}/subscriptions/{FINISHED}"
ORDERS = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"


@cache
def message_schema() -> dict:
    return json.loads((AMAZON_MODELS_DIR / "ReportProcessingFinishedNotification.json").read_text())


def grantless_token(sandbox) -> str:
    response = requests.post(
        sandbox.url("/auth/o2/token"),
        data={
            "grant_type": "client_credentials",
            "scope": "sellingpartnerapi::notifications",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


class App:
    """The grantless side: what the app does with its client_credentials token."""

    def __init__(self, sandbox, region: str = "eu") -> None:
        self.api = Api.__new__(Api)
        self.api.server, self.api.region, self.api.http = sandbox, region, requests.Session()
        self.api.token = grantless_token(sandbox)

    def create_destination(self, arn: str, name: str = "order-import") -> dict:
        response = self.api.post(
            f"{NOTIFICATIONS}/destinations",
            {"name": name, "resourceSpecification": {"sqs": {"arn": arn}}},
        )
        return assert_response(response, "createDestination", 200)["payload"]


@pytest.fixture
def app(sandbox) -> App:
    return App(sandbox)


@pytest.fixture
def queue(sqs) -> tuple[str, str]:
    """A fresh queue of its own for the test: (URL, ARN)."""
    return sqs.create_queue(f"notifications-{uuid.uuid4().hex[:12]}")


def subscribe(seller: Api, destination_id: str) -> dict:
    response = seller.post(
        SUBSCRIPTIONS, {"payloadVersion": "1.0", "destinationId": destination_id}
    )
    return assert_response(response, "createSubscription", 200)["payload"]


def wait_for_messages(sqs, url: str, count: int, *, timeout: float = 30) -> list[dict]:
    """The bodies of the first `count` messages to arrive (deleted once read)."""
    bodies: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(bodies) < count and time.monotonic() < deadline:
        for message in sqs.receive(url, wait=1):
            bodies.append(json.loads(message["Body"]))
            sqs.client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert len(bodies) >= count, f"{len(bodies)} of {count} notifications arrived: {bodies}"
    return bodies


def decided(sandbox, report_id: str, *, timeout: float = 30) -> dict:
    """The sandbox's record of the report's notification, once the publisher decided it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for notification in sandbox.control("notifications")["notifications"]:
            if notification["reportId"] == report_id:
                return notification
        time.sleep(0.1)
    raise AssertionError(f"no notification was decided for report {report_id}")


def test_destinations_are_grantless_and_fit_the_model(sandbox, app, eu, queue):
    _, arn = queue
    denied = eu.post(
        f"{NOTIFICATIONS}/destinations",
        {"name": "x", "resourceSpecification": {"sqs": {"arn": arn}}},
    )
    assert_error(denied, "createDestination", 403, "Unauthorized", details="")

    destination = app.create_destination(arn)

    assert destination["resource"] == {"sqs": {"arn": arn}}
    listed = assert_response(app.api.get(f"{NOTIFICATIONS}/destinations"), "getDestinations", 200)
    assert listed["payload"] == [destination]
    again = app.api.post(
        f"{NOTIFICATIONS}/destinations",
        {"name": "again", "resourceSpecification": {"sqs": {"arn": arn}}},
    )
    assert_error(again, "createDestination", 409, "Conflict")
    not_a_queue = app.api.post(
        f"{NOTIFICATIONS}/destinations",
        {"name": "x", "resourceSpecification": {"sqs": {"arn": "https://sqs.example/q"}}},
    )
    assert_error(not_a_queue, "createDestination", 400, "InvalidInput")
    assert_error(
        app.api.post(f"{NOTIFICATIONS}/destinations", {"name": "x"}),
        "createDestination",
        400,
        "InvalidInput",
        details="resourceSpecification;",
    )


def test_a_subscription_is_the_sellers_and_its_deletion_grantless(sandbox, app, eu, queue):
    destination = app.create_destination(queue[1])
    grantless_refused = app.api.post(
        SUBSCRIPTIONS, {"payloadVersion": "1.0", "destinationId": destination["destinationId"]}
    )
    assert_error(grantless_refused, "createSubscription", 403, "Unauthorized")

    subscription = subscribe(eu, destination["destinationId"])

    assert subscription["destinationId"] == destination["destinationId"]
    assert_error(
        eu.post(SUBSCRIPTIONS, {"payloadVersion": "1.0", "destinationId": "x"}),
        "createSubscription",
        400,
        "InvalidInput",
    )
    twice = eu.post(
        SUBSCRIPTIONS, {"payloadVersion": "1.0", "destinationId": destination["destinationId"]}
    )
    assert_error(twice, "createSubscription", 409, "Conflict")
    read = assert_response(eu.get(SUBSCRIPTIONS), "getSubscription", 200)["payload"]
    assert read == subscription
    by_id = f"{SUBSCRIPTIONS}/{subscription['subscriptionId']}"
    assert_error(eu.get(by_id), "getSubscriptionById", 403, "Unauthorized")
    assert (
        assert_response(app.api.get(by_id), "getSubscriptionById", 200)["payload"] == subscription
    )

    assert assert_response(app.api.request("DELETE", by_id), "deleteSubscriptionById", 200) == {}

    assert_error(eu.get(SUBSCRIPTIONS), "getSubscription", 404, "NotFound")
    assert_error(app.api.request("DELETE", by_id), "deleteSubscriptionById", 404, "NotFound")
    assert_error(
        eu.get(f"{NOTIFICATIONS}/subscriptions/ANY_OFFER_CHANGED"),
        "getSubscription",
        400,
        "InvalidInput",
    )


def test_a_finished_report_is_pushed_in_amazons_shape(sandbox, sqs, app, eu, queue):
    url, arn = queue
    subscription = subscribe(eu, app.create_destination(arn)["destinationId"])
    since = datetime.now(UTC) - timedelta(days=5)
    report_id = eu.create_report(ORDERS, [DE], dataStartTime=since.isoformat())

    [message] = wait_for_messages(sqs, url, 1)

    jsonschema.Draft7Validator(message_schema()).validate(message)
    report = eu.report(report_id)
    assert report["processingStatus"] == "DONE"
    assert message["notificationType"] == FINISHED
    assert message["payload"]["reportProcessingFinishedNotification"] == {
        "sellerId": EU_SELLER,
        "accountId": f"amzn1.merchant.o.{EU_SELLER}",
        "reportId": report_id,
        "reportType": ORDERS,
        "processingStatus": "DONE",
        "reportDocumentId": report["reportDocumentId"],
    }
    metadata = message["notificationMetadata"]
    assert metadata["subscriptionId"] == subscription["subscriptionId"]
    assert metadata["applicationId"] == sandbox.control("app")["application_id"]


def test_cancelled_and_fatal_reports_are_pushed_too(sandbox, sqs, app, eu, queue):
    url, arn = queue
    subscribe(eu, app.create_destination(arn)["destinationId"])
    sandbox.control("faults", {"kind": "report_cancelled"})
    cancelled = eu.create_report(ORDERS, [DE])
    sandbox.control("faults", {"kind": "report_fatal"})
    fatal = eu.create_report(ORDERS, [DE])

    messages = wait_for_messages(sqs, url, 2)

    finished = {
        m["payload"]["reportProcessingFinishedNotification"]["reportId"]: m["payload"][
            "reportProcessingFinishedNotification"
        ]
        for m in messages
    }
    assert finished[cancelled]["processingStatus"] == "CANCELLED"
    assert "reportDocumentId" not in finished[cancelled]
    assert finished[fatal]["processingStatus"] == "FATAL"
    assert finished[fatal]["reportDocumentId"] == eu.report(fatal)["reportDocumentId"]
    for message in messages:
        jsonschema.Draft7Validator(message_schema()).validate(message)


def test_only_subscribed_sellers_reports_finished_after_subscribing_are_pushed(
    sandbox, sqs, app, eu, queue
):
    url, arn = queue
    destination = app.create_destination(arn)["destinationId"]
    before = eu.create_report(ORDERS, [DE])
    eu.wait(before)
    subscribe(eu, destination)
    other = Api(sandbox, EU_SMALL_SELLER, "eu")
    unsubscribed = other.create_report(ORDERS, [DE])
    after = eu.create_report(ORDERS, [DE])

    [message] = wait_for_messages(sqs, url, 1)

    assert message["payload"]["reportProcessingFinishedNotification"]["reportId"] == after
    assert other.wait(unsubscribed)["processingStatus"] in ("DONE", "CANCELLED")
    ids = {n["reportId"] for n in sandbox.control("notifications")["notifications"]}
    assert ids == {after}


def test_faults_drop_double_and_hold_back_notifications(sandbox, sqs, app, eu, queue):
    url, arn = queue
    subscribe(eu, app.create_destination(arn)["destinationId"])

    sandbox.control("faults", {"kind": "notification_drop", "selling_partner_id": EU_SELLER})
    dropped = eu.create_report(ORDERS, [DE])
    assert decided(sandbox, dropped)["dropped"] is True

    sandbox.control("faults", {"kind": "notification_duplicate"})
    doubled = eu.create_report(ORDERS, [DE])
    first, second = wait_for_messages(sqs, url, 2)
    assert first == second
    assert first["payload"]["reportProcessingFinishedNotification"]["reportId"] == doubled

    sandbox.control("faults", {"kind": "notification_delay", "hold_seconds": 3600})
    held = eu.create_report(ORDERS, [DE])
    assert decided(sandbox, held)["sent_at"] is None
    assert sqs.receive(url, wait=1) == []
    sandbox.advance_clock(3600)
    [late] = wait_for_messages(sqs, url, 1)
    assert late["payload"]["reportProcessingFinishedNotification"]["reportId"] == held
    assert sqs.messages(url) == 0  # the dropped one never came


def test_a_duplicate_with_a_hold_comes_again_later(sandbox, sqs, app, eu, queue):
    """SQS redelivers a message whose receipt was lost: the same body, later."""
    url, arn = queue
    subscribe(eu, app.create_destination(arn)["destinationId"])

    sandbox.control("faults", {"kind": "notification_duplicate", "hold_seconds": 600})
    report_id = eu.create_report(ORDERS, [DE])
    [first] = wait_for_messages(sqs, url, 1)
    assert first["payload"]["reportProcessingFinishedNotification"]["reportId"] == report_id
    assert sqs.receive(url, wait=1) == []  # the copy waits for its time
    sandbox.advance_clock(600)
    [again] = wait_for_messages(sqs, url, 1)
    assert again == first


def test_a_delay_fault_needs_its_hold(sandbox):
    response = sandbox.http.post(
        sandbox.url("/_control/faults"), json={"kind": "notification_delay"}, timeout=10
    )
    assert response.status_code == 400
    assert response.json() == {"error": "a notification_delay fault needs hold_seconds > 0"}


def test_a_missing_queue_swallows_notifications_silently(sandbox, sqs, app, eu):
    subscribe(
        eu, app.create_destination("arn:aws:sqs:eu-west-1:123456789012:nobody")["destinationId"]
    )

    report_id = eu.create_report(ORDERS, [DE])

    deadline = time.monotonic() + 30
    while (note := decided(sandbox, report_id))["sent_at"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert "no queue nobody" in note["delivery_error"]


def test_a_deleted_subscription_stops_the_notifications(sandbox, sqs, app, eu, queue):
    url, arn = queue
    subscription = subscribe(eu, app.create_destination(arn)["destinationId"])
    sandbox.control("faults", {"kind": "notification_delay", "hold_seconds": 1800})
    held = eu.create_report(ORDERS, [DE])
    decided(sandbox, held)

    app.api.request("DELETE", f"{SUBSCRIPTIONS}/{subscription['subscriptionId']}")
    sandbox.advance_clock(1800)
    later = eu.create_report(ORDERS, [DE])
    eu.wait(later)

    assert decided(sandbox, held)["dropped"] is True
    assert sqs.receive(url, wait=1) == []
    assert [n["reportId"] for n in sandbox.control("notifications")["notifications"]] == [held]


def test_a_scheduled_report_is_pushed_although_nobody_reads_the_sellers_reports(
    sandbox, sqs, app, eu, queue
):
    url, arn = queue
    subscribe(eu, app.create_destination(arn)["destinationId"])
    start = datetime.now(UTC) + timedelta(seconds=1)
    schedule = eu.post(
        "/reports/2021-06-30/schedules",
        {
            "reportType": ORDERS,
            "marketplaceIds": [DE],
            "period": "PT15M",
            "nextReportCreationTime": start.isoformat(),
        },
    )
    schedule_id = assert_response(schedule, "createReportSchedule", 201)["reportScheduleId"]

    # Amazon makes the report at its time and notifies it; no getReports asks for it.
    [message] = wait_for_messages(sqs, url, 1)

    finished = message["payload"]["reportProcessingFinishedNotification"]
    assert finished["sellerId"] == EU_SELLER
    assert finished["reportType"] == ORDERS
    report = eu.report(finished["reportId"])
    assert report["reportScheduleId"] == schedule_id


@pytest.fixture(scope="module")
def fleet_sandbox(tmp_path_factory, sqs):
    """A sandbox with forty busy fleet sellers whose publisher the test drives itself, one
    pass at a time (`/_control/notifications/publish`): the background one waits an hour."""
    from tests.sandbox_server import SandboxServer

    server = SandboxServer.start(
        tmp_path_factory.mktemp("fleet-sandbox"),
        time_factor=120,
        env={
            "SANDBOX_FLEET_SELLERS": "40",
            "SANDBOX_FLEET_ORDERS_PER_DAY": "600",
            "SANDBOX_SQS_ENDPOINT_URL": sqs.endpoint_url,
            "SANDBOX_NOTIFICATION_INTERVAL_SECONDS": "3600",
        },
    )
    yield server
    server.stop()


def test_each_report_of_a_burst_is_pushed_before_the_next_is_built(fleet_sandbox, sqs, queue):
    # A fleet's schedules finish hundreds of reports at the same moment; Amazon notifies each
    # as it finishes. The publisher must send each message before it builds the next report's
    # document, not after the whole burst.
    url, arn = queue
    destination = App(fleet_sandbox).create_destination(arn)["destinationId"]
    created = []
    for number in range(1, 41):
        seller = Api(fleet_sandbox, f"AFLEET{number:07d}", "eu")
        subscribe(seller, destination)
        since = datetime.now(UTC) - timedelta(minutes=15)
        created.append(seller.create_report(ORDERS, [DE], dataStartTime=since.isoformat()))
    fleet_sandbox.advance_clock(600)  # every one of them has finished by now

    steps = fleet_sandbox.control("notifications/publish", {})["steps"]

    decided = [step["decided"] for step in steps if "decided" in step]
    assert sorted(decided) == sorted(created)
    # One step at a time: every report's message leaves right after it is decided.
    assert steps == [
        step for report_id in decided for step in ({"decided": report_id}, {"sent": report_id})
    ]
    messages = wait_for_messages(sqs, url, 40)
    finished = [m["payload"]["reportProcessingFinishedNotification"] for m in messages]
    assert [f["reportId"] for f in finished] == decided
    for notification in finished:
        if notification["processingStatus"] == "DONE":
            assert notification["reportDocumentId"]
    assert fleet_sandbox.control("notifications/publish", {}) == {"sent": 0, "steps": []}

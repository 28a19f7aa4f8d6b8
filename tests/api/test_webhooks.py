"""Signed webhooks: deliveries from the change log to a receiver over real HTTP (signature
checked by the README's recipe), retries with backoff on a clock the test moves, switching off
after a day of failures, redelivery, receivers that are slow, fail or redirect, the outbox
across a worker that died, and the pages."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from amazon_settings.models import SellerAccount
from amazon_settings.services import note_failure
from amazon_settings.spapi import SpApiAuthError
from api import delivery, webhooks
from api.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from core.changes import record_changes
from core.models import AuditEvent, ChangeEvent
from orders.models import Order
from reports.models import Report
from reports.services.transitions import fail_report
from reports.services.worker import worker_schedules
from tests.api.conftest import token_client
from tests.api.test_api import END, MFN, START
from tests.german import GERMAN, compiled_catalogue, page_text
from tests.orders.conftest import render, run_import
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures(compiled_catalogue.__name__)]

T0 = timezone.now().replace(microsecond=0)
ALL_EVENTS = list(WebhookEvent.values)


@pytest.fixture
def receivers():
    started: list[Receiver] = []

    def start(mode: str = "ok") -> Receiver:
        receiver = Receiver(mode=mode).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def subscribe(receiver: Receiver, *, name="ERP", events=ALL_EVENTS, **kwargs):
    subscription, secret = webhooks.create_subscription(
        name=name, url=receiver.url, events=events, acting_user=None, **kwargs
    )
    receiver.secret = secret
    return subscription


def order_events(account, *ids, event_type="order.created") -> list[int]:
    record_changes(kind="order", event_type=event_type, account_id=account.pk, entity_ids=ids)
    return list(
        ChangeEvent.objects.filter(event_type=event_type, entity_id__in=ids)
        .order_by("id")
        .values_list("pk", flat=True)
    )


def deliveries(subscription) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(subscription=subscription).order_by("event_id"))


def test_each_event_is_posted_once_signed_with_the_apis_shape(account, receivers, settings):
    receiver = receivers()
    subscription = subscribe(receiver)
    run_import(account, MFN, render(MFN, START, END))
    orders = set(Order.objects.values_list("pk", flat=True))

    outcome = delivery.deliver_webhooks()

    assert outcome.delivered == len(orders) > 10
    assert all(r.signature_ok for r in receiver.received)
    assert sorted(r.payload["data"]["id"] for r in receiver.received) == sorted(orders)
    first = receiver.received[0]
    event = ChangeEvent.objects.get(pk=first.payload["id"])
    assert first.event_id == str(event.pk)
    assert first.headers["Webhook-Event"] == first.payload["type"] == "order.created"
    assert set(first.payload) == {"id", "type", "created", "data"}
    # The body's record is what the API answers for it (a token without the pii scope).
    api = token_client("read_orders").get(f"/api/v1/orders/{event.entity_id}").json()
    assert first.payload["data"] == api
    assert api["buyer"] is None
    # Run twice: nothing is sent again.
    assert delivery.deliver_webhooks().delivered == 0
    assert len(receiver.received) == len(orders)
    assert WebhookDelivery.objects.filter(subscription=subscription).count() == len(orders)


def test_buyer_data_only_when_asked_and_within_the_retention(account, receivers, settings):
    receiver = receivers()
    subscribe(receiver, events=["order.created"], include_buyer_data=True)
    run_import(account, MFN, render(MFN, START, END))
    order = Order.objects.exclude(buyer_name="").order_by("pk").first()

    settings.PII_RETENTION_DAYS = 100_000  # the sandbox's 2025 orders are within it
    delivery.deliver_webhooks()
    body = next(r.payload for r in receiver.received if r.payload["data"]["id"] == order.pk)
    assert body["data"]["buyer"]["buyer_name"] == order.buyer_name

    settings.PII_RETENTION_DAYS = 30
    WebhookDelivery.objects.update(status=WebhookDelivery.Status.PENDING, next_attempt_at=T0)
    receiver.received.clear()
    delivery.deliver_webhooks()
    assert {r.payload["data"]["buyer"] is None for r in receiver.received} == {True}


def test_a_subscription_gets_only_its_events_and_only_those_after_it(account, receivers):
    before = order_events(account, 1)
    receiver = receivers()
    subscribe(receiver, events=["order.cancelled", "stock.changed"])
    order_events(account, 2)
    cancelled = order_events(account, 2, event_type="order.cancelled")
    record_changes(kind="stock", event_type="stock.changed", account_id=account.pk, entity_ids=[7])

    delivery.deliver_webhooks()

    assert [r.payload["type"] for r in receiver.received] == ["order.cancelled", "stock.changed"]
    assert receiver.ids()[0] == cancelled[0]
    assert before[0] not in receiver.ids()
    assert receiver.received[1].payload["data"] is None  # stock level 7 does not exist


def test_an_event_rolled_back_with_its_change_is_never_delivered(account, receivers):
    receiver = receivers()
    subscription = subscribe(receiver)
    with pytest.raises(RuntimeError), transaction.atomic():
        order_events(account, 1)
        raise RuntimeError("the import's batch failed")
    kept = order_events(account, 2)

    delivery.deliver_webhooks()

    assert receiver.ids() == kept
    assert [d.event_id for d in deliveries(subscription)] == kept


def test_events_committed_before_the_worker_died_are_delivered_by_the_next_pass(account, receivers):
    receiver = receivers()
    subscribe(receiver)
    # The import committed its events, then the worker died before any pass ran.
    committed = order_events(account, 1, 2, 3)
    assert WebhookDelivery.objects.count() == 0

    delivery.deliver_webhooks(now=T0)

    assert receiver.ids() == committed


def test_a_delivery_claimed_by_a_pass_that_died_is_sent_once_its_lease_ends(account, receivers):
    receiver = receivers()
    subscription = subscribe(receiver)
    committed = order_events(account, 1)
    # A pass made the delivery and claimed it, then died before the POST.
    delivery.enqueue_events(subscription, now=T0, limit=10)
    lease = timedelta(minutes=3)
    assert len(delivery.claim_deliveries(subscription, now=T0, limit=10, lease=lease)) == 1

    assert delivery.deliver_webhooks(now=T0 + timedelta(minutes=1)).delivered == 0
    assert receiver.received == []
    assert delivery.deliver_webhooks(now=T0 + lease).delivered == 1
    assert receiver.ids() == committed
    assert delivery.deliver_webhooks(now=T0 + lease * 2).delivered == 0
    assert receiver.ids() == committed


def test_failures_are_retried_with_backoff_for_a_day_then_the_webhook_is_switched_off(
    account, receivers, admin_client
):
    receiver = receivers("error")
    subscription = subscribe(receiver)
    order_events(account, 1)

    now = T0
    delivery.deliver_webhooks(now=now)
    # Not due before its backoff: nothing is sent.
    delivery.deliver_webhooks(now=now + timedelta(seconds=59))
    assert len(receiver.received) == 1
    (pending,) = deliveries(subscription)
    assert pending.next_attempt_at == now + timedelta(minutes=1)
    while pending.status == WebhookDelivery.Status.PENDING:
        now = pending.next_attempt_at
        subscription.refresh_from_db()
        assert subscription.is_active, now - T0
        delivery.deliver_webhooks(now=now)
        pending.refresh_from_db()

    minutes = [int((a.at - T0).total_seconds() // 60) for a in pending.tries.order_by("at")]
    assert minutes == [0, 1, 3, 7, 15, 31, 63, 127, 255, 495, 735, 975, 1215, 1455]
    assert pending.status == WebhookDelivery.Status.FAILED
    assert pending.attempts == 14 == len(receiver.received)
    assert all(r.signature_ok for r in receiver.received)
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert subscription.disabled_reason.startswith(
        "Switched off automatically: every delivery failed since"
    )
    assert "14 tries in a row; the last: HTTP 500" in subscription.disabled_reason
    # Switched off, it sends nothing, and its page says why.
    order_events(account, 2)
    assert delivery.deliver_webhooks(now=now + timedelta(hours=1)).delivered == 0
    assert len(receiver.received) == 14
    page = admin_client.get(f"/settings/webhooks/{subscription.pk}/").content.decode()
    assert 'id="disabled-notice"' in page
    assert "Switched off automatically" in page
    # Stored in English, read in the reader's language, the moment in the reader's zone.
    since = timezone.localtime(T0, ZoneInfo(settings.TIME_ZONE))
    page = page_text(admin_client.get(f"/settings/webhooks/{subscription.pk}/", **GERMAN))
    assert (
        f"Automatisch ausgeschaltet: Jede Zustellung ist seit {since:%d.%m.%Y %H:%M} "
        "fehlgeschlagen (14 Versuche in Folge; der letzte: HTTP 500)."
    ) in page
    assert "Switched off" not in page


def test_an_answer_is_logged_escaped_and_a_recovered_receiver_gets_what_waited(
    account, receivers, admin_client
):
    receiver = receivers("error")
    subscription = subscribe(receiver)
    committed = order_events(account, 1, 2)

    outcome = delivery.deliver_webhooks(now=T0)

    # The first failure stops the subscription for this pass: the second waits.
    assert (outcome.failed_attempts, len(receiver.received)) == (1, 1)
    first, second = deliveries(subscription)
    attempt = first.tries.get()
    assert (attempt.status_code, attempt.response_body) == (500, "<b>down</b> for maintenance")
    assert attempt.error == "HTTP 500"
    assert second.attempts == 0 and second.lease_id == ""
    page = admin_client.get(f"/settings/webhooks/{subscription.pk}/").content.decode()
    assert "&lt;b&gt;down&lt;/b&gt; for maintenance" in page
    assert "<b>down</b>" not in page
    subscription.refresh_from_db()
    assert (subscription.consecutive_failures, subscription.failing_since) == (1, T0)

    receiver.mode = "ok"
    delivery.deliver_webhooks(now=T0 + timedelta(minutes=1))
    assert sorted(set(receiver.ids())) == committed
    assert {d.status for d in deliveries(subscription)} == {WebhookDelivery.Status.DELIVERED}
    subscription.refresh_from_db()
    assert (subscription.consecutive_failures, subscription.failing_since) == (0, None)


def test_a_redirect_is_not_followed_and_counts_as_a_failure(account, receivers, admin_client):
    receiver = receivers("redirect")
    subscription = subscribe(receiver)
    order_events(account, 1)

    delivery.deliver_webhooks(now=T0)

    (failed,) = deliveries(subscription)
    assert failed.status == WebhookDelivery.Status.PENDING
    assert failed.last_status_code == 302
    assert failed.last_error == (
        "Redirect to http://127.0.0.1:9/elsewhere not followed: answer with 2xx at the URL."
    )
    assert failed.next_attempt_at == T0 + timedelta(minutes=1)
    assert len(receiver.received) == 1
    page = page_text(admin_client.get(f"/settings/webhooks/{subscription.pk}/", **GERMAN))
    assert (
        "Weiterleitung nach http://127.0.0.1:9/elsewhere nicht gefolgt: Antworten Sie unter der "
        "URL mit 2xx."
    ) in page


def test_a_receiver_that_times_out_holds_up_no_other_subscription(account, receivers, settings):
    # The slow receiver's timeout outlasts the pass: sent one after the other, the second
    # subscription would find the pass's time spent and send nothing.
    settings.WEBHOOK_READ_TIMEOUT_SECONDS = 3
    settings.WEBHOOK_SECONDS_PER_PASS = 1.5
    slow = receivers("slow")
    fast = receivers()
    stuck = subscribe(slow, name="A slow one")
    subscribe(fast, name="B fast one")
    committed = order_events(account, 1, 2, 3)

    outcome = delivery.deliver_webhooks(now=T0)

    assert fast.ids() == committed
    assert outcome.delivered == 3 and outcome.failed_attempts == 1
    first, *rest = deliveries(stuck)
    assert first.last_error.startswith("Timed out")
    assert first.last_status_code is None
    assert first.tries.get().duration_ms >= 3000
    assert [(d.attempts, d.lease_id) for d in rest] == [(0, ""), (0, "")]
    slow.release.set()


def test_each_subscription_goes_at_its_own_pace_beside_a_slow_receiver(
    account, receivers, settings
):
    # The slow receiver holds its first answer until the fast one got every event, which
    # takes the fast subscription three rounds: rounds in step with the slow one would wait.
    settings.WEBHOOK_BATCH_SIZE = 2
    settings.WEBHOOK_READ_TIMEOUT_SECONDS = 20
    slow = receivers("slow")
    fast = receivers()
    subscribe(slow, name="A slow one")
    subscribe(fast, name="B fast one")
    committed = order_events(account, 1, 2, 3, 4, 5, 6)
    fast_got_all = threading.Event()

    def release_when_the_fast_one_has_all() -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(fast.received) < len(committed):
            time.sleep(0.01)
        if len(fast.received) == len(committed):
            fast_got_all.set()
        slow.release.set()

    watcher = threading.Thread(target=release_when_the_fast_one_has_all)
    watcher.start()
    delivery.deliver_webhooks(now=T0)
    watcher.join()

    assert fast_got_all.is_set()
    assert fast.ids() == committed
    assert slow.ids() == committed


def test_redelivery_sends_an_event_again_from_the_page(account, receivers, admin_client):
    receiver = receivers()
    subscription = subscribe(receiver)
    (event_id,) = order_events(account, 1)
    delivery.deliver_webhooks(now=T0)
    (delivered,) = deliveries(subscription)

    answer = admin_client.post(
        f"/settings/webhooks/{subscription.pk}/deliveries/{delivered.pk}/redeliver/", follow=True
    )

    assert f"Event {event_id} is sent again within a minute." in answer.content.decode()
    delivery.deliver_webhooks()
    assert receiver.ids() == [event_id, event_id]
    delivered.refresh_from_db()
    assert delivered.status == WebhookDelivery.Status.DELIVERED
    assert delivered.tries.count() == 2
    assert AuditEvent.objects.filter(
        action="api_webhooks:redeliver", object_type="webhook delivery", object_id=delivered.pk
    ).exists()


def test_account_status_and_report_failure_are_announced_with_their_change(account, receivers):
    receiver = receivers()
    subscribe(receiver, events=["account.status_changed", "report.failed"])
    account.status = SellerAccount.Status.CONNECTED
    account.save()
    revoked = SpApiAuthError(operation="lwa", status=400, reason="authorization_revoked")
    note_failure(account, revoked)
    note_failure(account, revoked)
    report = Report.objects.create(
        account=account, report_type=MFN, import_status=Report.ImportStatus.WAITING
    )
    fail_report(report, reason=Report.FailureReason.AMAZON_FATAL, message="Amazon: FATAL")
    fail_report(report, reason=Report.FailureReason.AMAZON_FATAL, message="again")

    delivery.deliver_webhooks()

    bodies = [r.payload for r in receiver.received]
    # Once each: the second failure changed no status, the second fail_report nothing.
    assert [b["type"] for b in bodies] == ["account.status_changed", "report.failed"]
    assert bodies[0]["data"]["status"] == "authorization_revoked"
    assert bodies[1]["data"]["import_status"] == "failed"
    assert bodies[1]["data"]["failure_reason"] == Report.FailureReason.AMAZON_FATAL


def test_the_worker_runs_delivery_every_minute():
    specs = {spec.name: spec for spec in worker_schedules()}
    assert specs["webhooks.deliver"].func == "api.tasks.deliver_webhooks"
    assert specs["webhooks.deliver"].seconds == 60


def test_admins_subscribe_and_the_secret_is_shown_then_revealed_with_an_audit(
    account, admin_client
):
    page = admin_client.post(
        "/settings/webhooks/",
        {"name": "ERP", "url": "https://erp.example/hook", "events": ["order.created"]},
    )
    secret = re.search(r"whsec_[\w-]+", page.content.decode()).group(0)
    subscription = WebhookSubscription.objects.get(name="ERP")
    assert subscription.events == ["order.created"]
    assert not subscription.include_buyer_data
    assert secret not in str(WebhookSubscription.objects.values().get())
    assert secret not in admin_client.get("/settings/webhooks/").content.decode()
    detail = f"/settings/webhooks/{subscription.pk}/"
    assert secret not in admin_client.get(detail).content.decode()
    assert secret in admin_client.post(f"{detail}secret/").content.decode()
    assert AuditEvent.objects.filter(action="api_webhooks:reveal_secret").count() == 1
    assert AuditEvent.objects.filter(action="api_webhooks:list").count() == 1
    # The list and the audit log in German: the events by their labels, the detail translated.
    listed = page_text(admin_client.get("/settings/webhooks/", **GERMAN))
    assert "Auftrag angelegt" in listed and "order.created" not in listed
    audit = page_text(admin_client.get(reverse("administration:audit"), **GERMAN))
    assert "Der Signaturschlüssel von „ERP“ wurde angezeigt." in audit
    taken = admin_client.post(
        "/settings/webhooks/",
        {"name": "ERP", "url": "https://x.example/", "events": ["order.created"]},
    )
    assert "A webhook with this name exists: choose another name." in taken.content.decode()
    ftp = admin_client.post(
        "/settings/webhooks/", {"name": "F", "url": "ftp://x.example/", "events": ["stock.changed"]}
    )
    assert "Only http and https URLs can receive webhooks." in ftp.content.decode()
    admin_client.post(
        detail,
        {"url": "https://erp.example/v2", "events": ["report.failed"], "include_buyer_data": "on"},
    )
    subscription.refresh_from_db()
    assert (subscription.url, subscription.events) == ("https://erp.example/v2", ["report.failed"])
    assert subscription.include_buyer_data
    admin_client.post(f"{detail}disable/")
    subscription.refresh_from_db()
    assert not subscription.is_active
    admin_client.post(f"{detail}enable/")
    subscription.refresh_from_db()
    assert subscription.is_active
    admin_client.post(f"{detail}delete/")
    assert not WebhookSubscription.objects.exists()


def test_only_who_may_manage_tokens_reaches_the_webhook_pages(account):
    from core.roles import OPERATORS, VIEWERS, setup_roles

    groups = setup_roles()
    subscription, _ = webhooks.create_subscription(
        name="ERP", url="https://erp.example/", events=["order.created"], acting_user=None
    )
    order_events(account, 1)
    delivery.enqueue_events(subscription, now=T0, limit=10)
    (pending,) = deliveries(subscription)
    detail = f"/settings/webhooks/{subscription.pk}/"
    posts = [
        "/settings/webhooks/",
        detail,
        f"{detail}secret/",
        f"{detail}disable/",
        f"{detail}delete/",
        f"{detail}deliveries/{pending.pk}/redeliver/",
    ]
    assert Client().get("/settings/webhooks/").status_code == 302
    assert Client().get(detail).status_code == 302
    for group in (VIEWERS, OPERATORS):
        user = get_user_model().objects.create_user(group, password="pw")
        user.groups.add(groups[group])
        client = Client()
        client.force_login(user)
        assert client.get("/settings/webhooks/").status_code == 403
        assert client.get(detail).status_code == 403
        assert {client.post(url).status_code for url in posts} == {403}
    assert WebhookSubscription.objects.get().is_active


def test_posts_need_the_csrf_token(account):
    admin = get_user_model().objects.create_superuser("boss", password="pw")
    subscription, _ = webhooks.create_subscription(
        name="ERP", url="https://erp.example/", events=["order.created"], acting_user=None
    )
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    detail = f"/settings/webhooks/{subscription.pk}/"
    assert client.post(f"{detail}disable/").status_code == 403
    assert client.post(f"{detail}secret/").status_code == 403
    assert client.post("/settings/webhooks/", {"name": "X"}).status_code == 403
    page = client.get(detail).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert client.post(f"{detail}disable/", {"csrfmiddlewaretoken": token}).status_code == 302

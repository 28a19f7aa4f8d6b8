"""Webhook delivery on PostgreSQL, where event ids can commit out of order and two passes of the
worker really run at once (SQLite's writers take turns)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection, transaction

from amazon_settings.models import SellerAccount
from api import delivery, webhooks
from api.models import WebhookDelivery
from core.changes import record_changes
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres():
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: run with TEST_DATABASE_URL")


@pytest.fixture
def receiver():
    served = Receiver().start()
    yield served
    served.stop()


def subscribe(receiver: Receiver) -> None:
    _, receiver.secret = webhooks.create_subscription(
        name="ERP", url=receiver.url, events=["order.created"], acting_user=None
    )


def deliver_until(receiver: Receiver, count: int) -> None:
    """Passes until `count` POSTs arrived. Transactions of other databases of the same server
    hold the served position back while they run, so a pass may find less; a minute without
    all is a failure."""
    deadline = time.monotonic() + 60
    while len(receiver.received) < count:
        assert time.monotonic() < deadline, f"{len(receiver.received)} of {count} after a minute"
        if not delivery.deliver_webhooks().delivered:
            time.sleep(0.05)


def test_an_event_of_a_transaction_that_commits_later_with_a_smaller_id_is_delivered(receiver):
    account = SellerAccount.objects.create(selling_partner_id="A1", region="eu", display_name="A")
    subscribe(receiver)
    written, release, done = threading.Event(), threading.Event(), threading.Event()

    def slow_writer():
        # Takes the smaller id and the older transaction, and commits last.
        try:
            with transaction.atomic():
                record_changes(
                    kind="order", event_type="order.created", account_id=account.pk, entity_ids=[1]
                )
                written.set()
                release.wait(timeout=30)
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert written.wait(timeout=30)
    record_changes(kind="order", event_type="order.created", account_id=account.pk, entity_ids=[2])

    delivery.deliver_webhooks()
    assert receiver.received == []  # the second waits behind the transaction still running
    release.set()
    assert done.wait(timeout=30)
    thread.join()
    deliver_until(receiver, 2)
    assert [r.payload["id"] for r in receiver.received] == sorted(receiver.ids())
    assert delivery.deliver_webhooks().delivered == 0
    assert len(receiver.received) == 2


def test_two_passes_at_once_send_each_event_once(receiver, settings):
    settings.WEBHOOK_BATCH_SIZE = 10  # many rounds, each claiming against the other pass
    account = SellerAccount.objects.create(selling_partner_id="A1", region="eu", display_name="A")
    subscribe(receiver)
    record_changes(
        kind="order",
        event_type="order.created",
        account_id=account.pk,
        entity_ids=range(1, 201),
    )
    failures: list[BaseException] = []

    def one_pass() -> None:
        try:
            delivery.deliver_webhooks()
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    passes = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in passes:
        thread.start()
    for thread in passes:
        thread.join()
    deliver_until(receiver, 200)

    assert failures == []
    assert Counter(Counter(receiver.ids()).values()) == {1: 200}
    assert all(r.signature_ok for r in receiver.received)
    assert WebhookDelivery.objects.filter(status="delivered").count() == 200

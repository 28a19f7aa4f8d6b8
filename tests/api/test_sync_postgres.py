"""Cursor sync while imports commit out of order, on PostgreSQL (where event ids can commit out
of order; SQLite's writers take turns)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client

from amazon_settings.models import SellerAccount
from core.changes import record_changes
from core.models import ChangeEvent
from orders.importers import driver
from orders.models import Order
from orders.services.statuses import ReportedStatus, apply_order_statuses
from tests.api.conftest import token_client
from tests.orders.conftest import NOW, render, run_import

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MFN = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"


@pytest.fixture(autouse=True)
def _postgres():
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: run with TEST_DATABASE_URL")


def read_changes(client: Client, since: str | None) -> tuple[list[tuple[str, int]], str, bool]:
    query = "?limit=50" + (f"&since={since}" if since else "")
    body = client.get(f"/api/v1/orders/changes{query}").json()
    return (
        [(i["event_type"], i["order"]["id"]) for i in body["items"]],
        body["next_cursor"],
        body["has_more"],
    )


def catch_up(
    client: Client, since: str | None, *, events: int
) -> tuple[list[tuple[str, int]], str]:
    """Read on from `since` until `events` changes are read. Transactions of other databases
    of the same PostgreSQL server hold the served position back while they run (transaction
    ids are the server's), so a read may come back short; a minute without all is a failure."""
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + 60
    while len(seen) < events:
        assert time.monotonic() < deadline, f"{len(seen)} of {events} changes after a minute"
        page, since, more = read_changes(client, since)
        seen += page
        if not page and not more:
            time.sleep(0.05)
    assert read_changes(client, since)[0] == []  # and nothing more
    return seen, since


def test_a_transaction_that_commits_later_with_a_smaller_id_is_not_skipped(db):
    account = SellerAccount.objects.create(selling_partner_id="A1", region="eu", display_name="A")
    first = Order.objects.create(account=account, amazon_order_id="302-0000000-0000001")
    second = Order.objects.create(account=account, amazon_order_id="302-0000000-0000002")
    client = token_client()
    written, release, done = threading.Event(), threading.Event(), threading.Event()

    def slow_writer():
        # Takes the smaller id and the older transaction, and commits last.
        try:
            with transaction.atomic():
                record_changes(
                    kind="order",
                    event_type="order.created",
                    account_id=account.pk,
                    entity_ids=[first.pk],
                )
                written.set()
                release.wait(timeout=30)
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert written.wait(timeout=30)
    record_changes(
        kind="order", event_type="order.created", account_id=account.pk, entity_ids=[second.pk]
    )

    seen, cursor, _ = read_changes(client, None)
    assert seen == []  # the second one waits behind the transaction still running
    release.set()
    assert done.wait(timeout=30)
    thread.join()
    seen, _ = catch_up(client, cursor, events=2)
    assert seen == [("order.created", first.pk), ("order.created", second.pk)]


def test_a_client_syncing_during_four_imports_sees_every_order_once_and_every_later_change(
    db, monkeypatch
):
    monkeypatch.setattr(driver, "BATCH_ORDERS", 3)  # many small transactions interleaving
    accounts = [
        SellerAccount.objects.create(
            selling_partner_id=f"A{n}", region="eu", display_name=f"Seller {n}"
        )
        for n in range(4)
    ]
    text = render(MFN, NOW - timedelta(days=10), NOW - timedelta(days=1))
    client = token_client()
    failures: list[BaseException] = []
    running = threading.Event()
    running.set()
    seen: list[tuple[str, int]] = []
    cursor: str | None = None
    expected = 0

    def importer(account: SellerAccount) -> None:
        try:
            run_import(account, MFN, text)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    def syncing_client() -> None:
        nonlocal cursor
        try:
            while running.is_set():
                page, cursor, _ = read_changes(client, cursor)
                seen.extend(page)
            # The imports ended: read on until the client has every change.
            page, cursor = catch_up(client, cursor, events=expected - len(seen))
            seen.extend(page)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    reader = threading.Thread(target=syncing_client)
    imports = [threading.Thread(target=importer, args=(a,)) for a in accounts]
    reader.start()
    for thread in imports:
        thread.start()
    for thread in imports:
        thread.join()
    expected = ChangeEvent.objects.count()
    running.clear()
    reader.join()

    assert failures == []
    orders = list(Order.objects.values_list("pk", flat=True))
    assert len(orders) > 40
    assert Counter(seen) == Counter(("order.created", pk) for pk in orders)

    # A later change of every account's first order, and the same cursor sees each once.
    changed = [
        Order.objects.filter(account=a).exclude(status=Order.Status.CANCELED).order_by("pk")[0]
        for a in accounts
    ]
    for order in changed:
        apply_order_statuses(
            account=order.account,
            statuses=[
                ReportedStatus(
                    order.amazon_order_id,
                    Order.Status.CANCELED,
                    (order.last_updated_at or NOW) + timedelta(days=1),
                    "",
                    (2,),
                )
            ],
            source_report_id=None,
            marketplace_ids=[],
            now=NOW,
        )
    later, _ = catch_up(client, cursor, events=len(changed))
    assert sorted(later) == sorted(("order.cancelled", o.pk) for o in changed)

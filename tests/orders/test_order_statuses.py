"""Order statuses after import: the status report, the rule that an older report never undoes a
newer one, statuses of orders not imported yet, and the record of every change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from amazon_sandbox.generator import orders_between
from orders.importers.statuses import order_status
from orders.models import Order, OrderItem, OrderStatusChange, WaitingOrderStatus
from orders.services.statuses import WAITING_STATUS_DAYS, merge_status
from tests.orders.conftest import EU_SELLER, NOW, render, run_import

MFN = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
FBA = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING"
STATUS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
START = NOW - timedelta(days=40)
END = NOW - timedelta(days=1)
DE = "A1PA6795UKMFR9"

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stored", "reported", "expected"),
    [
        # (status, time) stored -> reported -> (status, time) after, previous status
        (("Unshipped", None), ("Canceled", T0), (("Canceled", T0), "Unshipped", False)),
        (
            ("Unshipped", T0),
            ("Canceled", T0 + timedelta(hours=1)),
            (("Canceled", T0 + timedelta(hours=1)), "Unshipped", False),
        ),
        # A report that knows an older state changes nothing.
        (("Canceled", T0), ("Unshipped", T0 - timedelta(hours=1)), (("Canceled", T0), None, True)),
        # The same state again: nothing changes.
        (("Canceled", T0), ("Canceled", T0), (("Canceled", T0), None, False)),
        # A later time with the same status moves the time only.
        (
            ("Shipped", T0),
            ("Shipped", T0 + timedelta(days=3)),
            (("Shipped", T0 + timedelta(days=3)), None, False),
        ),
        # A report without a time is taken as news (an MFN order report).
        (("Unshipped", T0), ("Canceled", None), (("Canceled", T0), "Unshipped", False)),
    ],
)
def test_merge_status_never_goes_back_in_time(stored, reported, expected):
    row = {"status": stored[0], "last_updated_at": stored[1]}
    merged = merge_status(row, status=reported[0], at=reported[1])
    (status, at), previous, refused = expected
    assert (row["status"], row["last_updated_at"]) == (status, at)
    assert (merged.previous, merged.refused) == (previous, refused)
    assert merged.changed == ((status, at) != stored)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Cancelled", "Canceled"),
        ("Canceled", "Canceled"),
        ("Pending", "Pending"),
        ("Pending - Waiting for Pick Up", "Pending"),
        ("Unshipped", "Unshipped"),
        ("Shipping", "PartiallyShipped"),
        ("Shipped", "Shipped"),
        ("Shipped - Delivered to Buyer", "Shipped"),
        ("Shipped - Returned to Seller", "Shipped"),
        ("Lost in space", ""),
    ],
)
def test_amazons_spellings_of_a_status(text, status):
    assert order_status(text) == status


def cancelled_after_payment():
    """An MFN order of the range that its buyer cancelled after payment, as of NOW."""
    return next(
        o for o in orders_between(EU_SELLER, START, END, now=NOW) if o.cancelled_after_payment
    )


def import_mfn_before_the_cancellation(account, order, report_id: int = 1):
    """The MFN order report made while the order was paid and not yet cancelled."""
    before = order.cancelled_at - timedelta(minutes=1)
    run_import(account, MFN, render(MFN, START, END, now=before), source_report_id=report_id)
    return before


def test_a_cancellation_after_import_reaches_the_order(account):
    order = cancelled_after_payment()
    import_mfn_before_the_cancellation(account, order)
    stored = Order.objects.get(amazon_order_id=order.amazon_order_id)
    assert stored.status == "Unshipped"
    counts = (Order.objects.count(), OrderItem.objects.count())
    items = sorted(OrderItem.objects.filter(order=stored).values_list("order_item_id", "sku"))

    text = render(STATUS, order.payments_date, NOW)
    result = run_import(account, STATUS, text, source_report_id=7)

    stored.refresh_from_db()
    assert stored.status == "Canceled"
    assert stored.last_updated_at == order.cancelled_at
    assert (stored.source_report_id, stored.changed_at is not None) == (7, True)
    (change,) = stored.status_changes.all()
    assert (change.from_status, change.to_status, change.at) == (
        "Unshipped",
        "Canceled",
        order.cancelled_at,
    )
    assert change.source_report_id == 7
    lines = [n for n, line in enumerate(text.split("\r\n"), 1) if order.amazon_order_id in line]
    assert change.source_line == lines[0]
    # Statuses only: no order, no item created or changed.
    assert (Order.objects.count(), OrderItem.objects.count()) == counts
    assert items == sorted(
        OrderItem.objects.filter(order=stored).values_list("order_item_id", "sku")
    )
    assert result.errors == [] and result.created == 0 and result.updated >= len(order.items)

    # The same report again changes nothing and records nothing.
    again = run_import(account, STATUS, text, source_report_id=8)
    assert (again.updated, again.unchanged) == (0, again.rows)
    assert (
        OrderStatusChange.objects.count()
        == OrderStatusChange.objects.filter(source_report_id=7).count()
    )


def test_an_older_status_report_arriving_late_does_not_undo_a_newer_one(account):
    order = cancelled_after_payment()
    before = import_mfn_before_the_cancellation(account, order)
    newer = render(STATUS, order.payments_date, NOW)
    # Made before the cancellation: the order Unshipped at its payment.
    older = render(STATUS, order.payments_date, before, now=before)
    assert order.amazon_order_id in older

    run_import(account, STATUS, newer, source_report_id=2)
    late = run_import(account, STATUS, older, source_report_id=3)

    stored = Order.objects.get(amazon_order_id=order.amazon_order_id)
    assert (stored.status, stored.last_updated_at) == ("Canceled", order.cancelled_at)
    assert list(stored.status_changes.values_list("to_status", "source_report_id")) == [
        ("Canceled", 2)
    ]
    assert not OrderStatusChange.objects.filter(source_report_id=3).exists()
    assert late.errors == []

    # In the other order, both apply: Unshipped (no change), then Canceled.
    Order.objects.all().delete()
    import_mfn_before_the_cancellation(account, order)
    run_import(account, STATUS, older, source_report_id=4)
    run_import(account, STATUS, newer, source_report_id=5)
    stored = Order.objects.get(amazon_order_id=order.amazon_order_id)
    assert stored.status == "Canceled"
    assert list(stored.status_changes.values_list("source_report_id", flat=True)) == [5]


def test_a_status_report_from_before_the_payment_does_not_take_an_mfn_order_back(account):
    order = cancelled_after_payment()
    import_mfn_before_the_cancellation(account, order)
    stored = Order.objects.get(amazon_order_id=order.amazon_order_id)
    # The MFN report lists paid orders: Amazon updated this one when the payment cleared.
    assert (stored.status, stored.last_updated_at) == ("Unshipped", order.payments_date)
    # A status report made while it was still Pending, imported only now.
    pending = order.payments_date - timedelta(seconds=1)
    early = render(STATUS, order.purchase_date, pending, now=pending)
    assert order.amazon_order_id in early and "\tPending\t" in early

    run_import(account, STATUS, early, source_report_id=2)

    stored.refresh_from_db()
    assert stored.status == "Unshipped" and not stored.status_changes.exists()


def test_the_status_of_an_order_not_imported_waits_for_it(account):
    order = cancelled_after_payment()
    run_import(account, STATUS, render(STATUS, order.payments_date, NOW), source_report_id=2)
    assert not Order.objects.filter(amazon_order_id=order.amazon_order_id).exists()
    waiting = WaitingOrderStatus.objects.get(amazon_order_id=order.amazon_order_id)
    assert (waiting.status, waiting.last_updated_at) == ("Canceled", order.cancelled_at)

    # The MFN report made before the cancellation brings the order in as Unshipped; what the
    # status report said meanwhile is newer, so the order is cancelled at once.
    import_mfn_before_the_cancellation(account, order, report_id=3)
    stored = Order.objects.get(amazon_order_id=order.amazon_order_id)
    assert (stored.status, stored.last_updated_at) == ("Canceled", order.cancelled_at)
    (change,) = stored.status_changes.all()
    assert (change.from_status, change.to_status, change.source_report_id) == (
        "Unshipped",
        "Canceled",
        2,
    )
    # Every waiting status of an order now imported is gone, applied or not.
    imported = set(Order.objects.values_list("amazon_order_id", flat=True))
    assert not WaitingOrderStatus.objects.filter(amazon_order_id__in=imported).exists()


def test_a_waiting_status_older_than_the_order_report_is_dropped(account):
    # FBA orders are in the status report as Unshipped before their shipments are reported.
    orders = orders_between(EU_SELLER, START, END, now=NOW)
    shipped = next(o for o in orders if o.fulfillment == "AFN" and len(o.shipments) == 1)
    paid_only = shipped.shipments[0].reporting_date - timedelta(seconds=1)
    early = render(STATUS, shipped.payments_date, paid_only, now=paid_only)
    run_import(account, STATUS, early, source_report_id=2)
    waiting = WaitingOrderStatus.objects.get(amazon_order_id=shipped.amazon_order_id)
    assert waiting.status == "Unshipped"

    run_import(account, FBA, render(FBA, START, END), source_report_id=3)

    stored = Order.objects.get(amazon_order_id=shipped.amazon_order_id)
    assert (stored.status, stored.last_updated_at) == (
        "Shipped",
        shipped.shipments[0].reporting_date,
    )
    assert not stored.status_changes.exists()
    assert not WaitingOrderStatus.objects.filter(amazon_order_id=shipped.amazon_order_id).exists()


def test_only_statuses_of_the_reports_marketplaces_wait_and_not_for_ever(account):
    text = render(STATUS, START, END)
    run_import(account, STATUS, text, source_report_id=2, marketplace_ids=(DE,))
    kept = set(WaitingOrderStatus.objects.values_list("marketplace_id", flat=True))
    # Amazon lists the whole region; the other marketplaces' orders are not ours to wait for.
    assert kept == {DE}
    assert "Amazon.fr" in text

    old = WaitingOrderStatus.objects.order_by("last_updated_at").first()
    WaitingOrderStatus.objects.filter(pk=old.pk).update(
        kept_at=old.kept_at - timedelta(days=WAITING_STATUS_DAYS, seconds=1)
    )
    run_import(account, STATUS, render(STATUS, END, NOW), source_report_id=3)
    assert not WaitingOrderStatus.objects.filter(pk=old.pk).exists()


def test_an_unknown_status_is_a_row_error_and_leaves_the_order_alone(account):
    order = cancelled_after_payment()
    import_mfn_before_the_cancellation(account, order)
    text = render(STATUS, order.payments_date, NOW).replace("\tCancelled\t", "\tOn the moon\t")
    result = run_import(account, STATUS, text)
    assert result.errors
    assert "'On the moon' is not a status we know" in result.errors[0].reason
    assert Order.objects.get(amazon_order_id=order.amazon_order_id).status == "Unshipped"


MFN_HEADER = "order-id\torder-item-id\tpurchase-date\tsku\tquantity-purchased\titem-price"


def test_a_later_mfn_report_that_cancels_the_order_records_the_change(account):
    first = f"{MFN_HEADER}\n302-1111111-1111111\t11\t2025-03-01T10:00:00+00:00\tSKU-1\t2\t19.98\n"
    run_import(account, MFN, first, source_report_id=1)
    assert Order.objects.get().status == "Unshipped"
    # Amazon lists a cancelled order's lines with quantity 0 (the MFN importer's reading).
    later = first.replace("\tSKU-1\t2\t", "\tSKU-1\t0\t")
    run_import(account, MFN, later, source_report_id=2)

    order = Order.objects.get()
    assert order.status == "Canceled"
    (change,) = order.status_changes.all()
    assert (change.from_status, change.to_status, change.at, change.source_report_id) == (
        "Unshipped",
        "Canceled",
        None,  # the MFN report does not date it
        2,
    )
    assert change.source_line == 2
    run_import(account, MFN, later, source_report_id=3)
    assert order.status_changes.count() == 1


def test_the_fba_report_records_the_change_a_later_shipment_makes(account):
    orders = orders_between(EU_SELLER, START, END, now=NOW)
    split = next(
        o
        for o in orders
        if len(o.shipments) == 2
        and START < o.shipments[0].shipment_date
        and o.shipments[1].shipment_date < END
    )
    first, second = split.shipments
    between = second.reporting_date - timedelta(seconds=1)
    # The first shipment's FBA report, then the status report of that time: partly shipped.
    run_import(account, FBA, render(FBA, START, between, now=between), source_report_id=1)
    status = render(STATUS, first.reporting_date, between, now=between)
    run_import(account, STATUS, status, source_report_id=2)
    stored = Order.objects.get(amazon_order_id=split.amazon_order_id)
    assert (stored.status, stored.last_updated_at) == ("PartiallyShipped", first.reporting_date)

    run_import(account, FBA, render(FBA, START, END), source_report_id=3)

    stored.refresh_from_db()
    assert (stored.status, stored.last_updated_at) == ("Shipped", second.reporting_date)
    assert list(
        stored.status_changes.values_list("from_status", "to_status", "at", "source_report_id")
    ) == [
        ("Shipped", "PartiallyShipped", first.reporting_date, 2),
        ("PartiallyShipped", "Shipped", second.reporting_date, 3),
    ]

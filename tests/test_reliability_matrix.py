"""`make reliability` can fail.

Its tally counts losses and doubles where they can really show: lines per order and invoices
per shipment against the ground truth, not rows on a key the database keeps unique. And every
row of the matrix fails when the product's handler of its fault is broken on purpose
(scripts/fault_matrix/breaks.py): lost or doubled data, or a recovery that needed the seller
where the product should have recovered alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.conf import settings

from amazon_settings.models import SellerAccount
from orders.models import Invoice, Order, OrderItem
from scripts.fault_matrix.faults import FAULTS
from scripts.fault_matrix.truth import SoldOrder, tally_orders, vat_transactions, with_invoices


@pytest.fixture
def account(db) -> SellerAccount:
    return SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX", region="eu", display_name="Müller"
    )


def store(account, order_id: str, *lines: tuple[str, int, str]) -> None:
    """An order with its lines (order item id, quantity, item price), totals as imports set."""
    order = Order.objects.create(
        account=account,
        amazon_order_id=order_id,
        items_total=sum((Decimal(price) for _, _, price in lines), Decimal("0.00")),
    )
    for item_id, quantity, price in lines:
        OrderItem.objects.create(
            order=order, order_item_id=item_id, quantity_ordered=quantity, item_price=price
        )


def test_lines_are_counted_per_order_against_what_amazon_sold(account):
    sold = {
        "A": SoldOrder("A", lines=2, units=3, item_total=Decimal("30.00")),
        "B": SoldOrder("B", lines=1, units=1, item_total=Decimal("10.00")),
        "C": SoldOrder("C", lines=2, units=2, item_total=Decimal("20.00")),
        "D": SoldOrder("D", lines=3, units=3, item_total=Decimal("30.00")),
        "E": SoldOrder("E", lines=1, units=1, item_total=Decimal("10.00")),
    }
    store(account, "A", ("a1", 2, "20.00"), ("a2", 1, "10.00"))  # right
    store(account, "B", ("b1", 1, "10.00"), ("b1-again", 1, "10.00"))  # a line under another key
    store(account, "C", ("c1", 1, "10.00"))  # a line lost
    # D is not imported at all: its three lines are lost.
    store(account, "E", ("e1", 2, "10.00"))  # the right line with the wrong quantity

    tally = tally_orders(account, sold)

    assert (tally.orders_expected, tally.orders_imported) == (5, 4)
    assert (tally.lines_expected, tally.lines_stored) == (9, 6)
    assert (tally.lines_lost, tally.lines_doubled, tally.orders_wrong) == (4, 1, 1)
    assert not tally.ok


def test_a_right_import_passes(account):
    store(account, "A", ("a1", 2, "20.00"), ("a2", 1, "10.00"))
    tally = tally_orders(account, {"A": SoldOrder("A", 2, 3, Decimal("30.00"))})
    assert tally.ok
    assert (tally.lost, tally.doubled, tally.orders_wrong) == (0, 0, 0)


def test_invoices_are_counted_per_shipment_and_return(account):
    wanted = Counter(
        {("A", "invoice", "S1"): 1, ("A", "credit_note", "S1"): 1, ("B", "invoice", "S2"): 1}
    )
    for number, kind, order_id, shipment, source in (
        ("INV-1", "invoice", "A", "S1", Invoice.Source.GENERATED),
        # The same shipment invoiced again under another number: no unique key forbids it.
        ("SELLER-7", "invoice", "A", "S1", Invoice.Source.VCS_LITE),
        ("INV-2", "invoice", "B", "S2", Invoice.Source.GENERATED),
    ):
        Invoice.objects.create(
            account=account,
            amazon_order_id=order_id,
            number=number,
            kind=kind,
            source=source,
            shipment_id=shipment,
            transaction_id=f"{shipment}-{number}",
        )
    store(account, "A", ("a1", 1, "10.00"))

    tally = with_invoices(
        tally_orders(account, {"A": SoldOrder("A", 1, 1, Decimal("10.00"))}), account, wanted
    )

    assert (tally.invoices_expected, tally.invoices_stored) == (3, 3)
    assert (tally.invoices_lost, tally.invoices_doubled) == (1, 1)
    assert (tally.lost, tally.doubled) == (1, 1)


def test_the_vat_transactions_are_the_shipments_and_returns_dated_in_the_range():
    start, end = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 4, tzinfo=UTC)
    orders = [
        {
            "amazon_order_id": "A",
            "shipments": [
                {"shipment_id": "S1", "shipment_date": "2025-02-28T23:00:00+00:00"},
                {"shipment_id": "S2", "shipment_date": "2025-03-01T00:00:00+00:00"},
            ],
            "returns": [
                {"return_id": r, "shipment_id": "S2", "return_date": f"2025-03-{at}+00:00"}
                for r, at in (("R1", "03T10:00:00"), ("R2", "03T11:00:00"), ("R3", "04T00:00:00"))
            ],
        }
    ]
    assert vat_transactions(orders, start, end) == Counter(
        {("A", "invoice", "S2"): 1, ("A", "credit_note", "S2"): 2}
    )


@pytest.mark.slow
def test_every_row_fails_when_the_handler_of_its_fault_is_broken(tmp_path):
    """The whole matrix, each row with its own handler broken (about two minutes)."""
    rows_file = tmp_path / "rows.json"
    result = subprocess.run(
        [sys.executable, "scripts/reliability.py", "--break-handlers", "--json", str(rows_file)],
        cwd=settings.BASE_DIR,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    rows = {row["key"]: row for row in json.loads(rows_file.read_text())}
    assert list(rows) == [fault.key for fault in FAULTS]
    passed = [f"{key}: {row['path']}" for key, row in rows.items() if row["ok"]]
    assert not passed, "rows that pass with their handler broken:\n" + "\n".join(passed)
    # The columns that could not fail before: doubles where keys are unique, and a kill that
    # lands mid-import and is not recovered.
    assert rows["twice"]["doubled"] > 0
    assert rows["kill"]["lost"] > 0
    assert "killed after line" in rows["kill"]["path"]
    # A fault the product must handle alone fails when it needs the seller instead.
    assert rows["500"]["extra_actions"]
    assert rows["500"]["lost"] == 0

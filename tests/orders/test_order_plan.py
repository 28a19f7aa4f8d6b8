"""plan_orders: records and what is stored in, a plan out. No database (pytest-django refuses
every query here): new orders are merged against nothing, stored ones against their rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from orders.models import Order, OrderItem, ShipmentLine
from orders.services.order_plan import (
    ItemRecord,
    OrderPlan,
    OrderRecord,
    ShipmentLineRecord,
    StoredOrder,
    plan_orders,
)
from orders.services.values import blank_row

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
EARLIER = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
ACCOUNT = 7
REPORT = 41


def plan(records, stored=(), digests=None) -> OrderPlan:
    stored = {s.row["amazon_order_id"]: s for s in stored}
    if digests is None:
        digests = {order_id: s.row["import_digest"] for order_id, s in stored.items()}
    return plan_orders(
        records,
        stored=stored,
        stored_digests=digests,
        account_id=ACCOUNT,
        source_report_id=REPORT,
        now=NOW,
    )


def mfn_record(order_id="302-1", *, line=2, digest="d1", **items) -> OrderRecord:
    record = OrderRecord(
        amazon_order_id=order_id,
        line=line,
        values={"status": "Shipped", "buyer_name": "Anna", "ship_city": "Köln"},
        on_create={"status": "Unshipped", "currency": "EUR"},
        digest=digest,
    )
    for n, (item_id, price) in enumerate(items.items()):
        record.items[item_id] = ItemRecord(
            order_item_id=item_id,
            line=line + n,
            values={"sku": f"SKU-{item_id}", "quantity_ordered": 1, "item_price": price},
        )
        record.row_lines.append(line + n)
    return record


def stored_order(order_id="302-1", *, pk=10, digest="old", **items) -> StoredOrder:
    row = blank_row(Order, now=EARLIER) | {
        "id": pk,
        "account_id": ACCOUNT,
        "amazon_order_id": order_id,
        "status": "Shipped",
        "buyer_name": "Anna",
        "ship_city": "Köln",
        "currency": "EUR",
        "import_digest": digest,
        "source_report_id": 3,
        "source_line": 9,
    }
    stored = StoredOrder(row=row)
    for n, (item_id, price) in enumerate(items.items()):
        stored.items[item_id] = blank_row(OrderItem, now=EARLIER) | {
            "id": 100 + n,
            "order_id": pk,
            "order_item_id": item_id,
            "sku": f"SKU-{item_id}",
            "quantity_ordered": 1,
            "item_price": price,
        }
        row["items_total"] += price
    return stored


def test_a_new_order_is_merged_against_nothing_and_every_line_is_created():
    result = plan([mfn_record(a=Decimal("10.00"), b=Decimal("5.50"))])

    assert result.outcomes.by_line == {2: "created", 3: "created"}
    (order,) = result.orders
    assert "id" not in order
    assert (order["account_id"], order["amazon_order_id"]) == (ACCOUNT, "302-1")
    # on_create fills a new order, the record's values win over it.
    assert (order["status"], order["currency"], order["buyer_name"]) == ("Shipped", "EUR", "Anna")
    assert order["items_total"] == Decimal("15.50")
    assert (order["source_report_id"], order["source_line"]) == (REPORT, 2)
    assert (order["created_at"], order["changed_at"], order["import_digest"]) == (NOW, NOW, "d1")
    assert [(i.amazon_order_id, i.row["order_item_id"]) for i in result.items] == [
        ("302-1", "a"),
        ("302-1", "b"),
    ]
    assert all(i.row["order_id"] is None for i in result.items)  # set once the order is written
    assert [i.row["source_line"] for i in result.items] == [2, 3]
    assert result.lines == [] and result.digests == []


def test_the_stored_digest_skips_the_record_without_comparing():
    stored = stored_order(digest="d1", a=Decimal("99.00"))
    result = plan([mfn_record(a=Decimal("10.00"))], stored=[stored])
    assert result.outcomes.by_line == {2: "unchanged"}
    assert (result.orders, result.items, result.lines, result.digests) == ([], [], [], [])


def test_the_stored_digest_alone_is_enough_to_skip():
    """Orders whose digest matches need not be read: only their digest is handed in."""
    result = plan([mfn_record(a=Decimal("10.00"))], digests={"302-1": "d1"})
    assert result.outcomes.by_line == {2: "unchanged"}
    assert result.orders == []


def test_a_stored_order_takes_what_changed_and_counts_only_the_lines_that_changed_it():
    stored = stored_order(a=Decimal("10.00"), b=Decimal("5.50"))
    result = plan([mfn_record(a=Decimal("10.00"), b=Decimal("6.00"))], stored=[stored])

    assert result.outcomes.by_line == {2: "unchanged", 3: "updated"}
    (order,) = result.orders  # written: its totals changed
    assert order["id"] == 10
    assert order["items_total"] == Decimal("16.00")
    assert (order["source_line"], order["changed_at"], order["import_digest"]) == (2, NOW, "d1")
    (item,) = result.items
    assert (item.row["id"], item.row["order_id"], item.row["item_price"]) == (
        101,
        10,
        Decimal("6.00"),
    )
    assert (item.row["source_report_id"], item.row["source_line"]) == (REPORT, 3)
    assert stored.items["b"]["item_price"] == Decimal("5.50")  # what is stored is not touched


def test_a_new_item_of_a_stored_order_is_created_and_points_at_its_order():
    stored = stored_order(a=Decimal("10.00"))
    result = plan([mfn_record(a=Decimal("10.00"), c=Decimal("1.00"))], stored=[stored])
    assert result.outcomes.by_line == {2: "unchanged", 3: "created"}
    (item,) = result.items
    assert "id" not in item.row and item.row["order_id"] == 10


def test_empty_values_never_erase_and_unchanged_lines_only_store_their_digest():
    stored = stored_order(a=Decimal("10.00"))
    record = mfn_record(a=Decimal("10.00"))
    record.values.update(buyer_name="", ship_city=None)
    result = plan([record], stored=[stored])
    assert result.outcomes.by_line == {2: "unchanged"}
    assert (result.orders, result.items) == ([], [])
    assert result.digests == [("d1", 10)]


def test_a_changed_order_value_counts_every_line_of_the_record():
    stored = stored_order(a=Decimal("10.00"), b=Decimal("5.50"))
    record = mfn_record(a=Decimal("10.00"), b=Decimal("5.50"))
    record.values["status"] = "Canceled"
    result = plan([record], stored=[stored])
    assert result.outcomes.by_line == {2: "updated", 3: "updated"}
    assert result.orders[0]["status"] == "Canceled"
    assert result.items == []


def test_text_longer_than_its_column_is_compared_as_stored():
    limit = Order._meta.get_field("ship_city").max_length
    stored = stored_order(a=Decimal("10.00"))
    stored.row["ship_city"] = "x" * limit
    record = mfn_record(a=Decimal("10.00"))
    record.values["ship_city"] = "x" * (limit + 50)
    result = plan([record], stored=[stored])
    assert result.outcomes.by_line == {2: "unchanged"}
    assert result.orders == []

    new = plan([record]).orders[0]
    assert new["ship_city"] == "x" * limit


def test_the_same_order_twice_in_a_batch_is_merged_twice_and_written_once():
    first = mfn_record(a=Decimal("10.00"), line=2, digest="m1")
    second = mfn_record(a=Decimal("12.00"), line=3, digest="m2")
    again = mfn_record(a=Decimal("12.00"), line=4, digest="m2")
    result = plan([first, second, again])
    assert result.outcomes.by_line == {2: "created", 3: "updated", 4: "unchanged"}
    (order,) = result.orders
    assert (order["items_total"], order["source_line"], order["import_digest"]) == (
        Decimal("12.00"),
        3,
        "m2",
    )
    (item,) = result.items
    assert (item.row["item_price"], item.row["source_line"]) == (Decimal("12.00"), 3)


def fba_record(*lines: tuple[str, str, str, int], order_id="303-1", digest="f1") -> OrderRecord:
    """lines: (shipment id, shipment item id, order item id, quantity), from document line 2."""
    record = OrderRecord(
        amazon_order_id=order_id, line=2, values={"status": "Shipped"}, digest=digest
    )
    for n, (shipment_id, shipment_item_id, item_id, quantity) in enumerate(lines):
        line = 2 + n
        record.items.setdefault(
            item_id, ItemRecord(order_item_id=item_id, line=line, values={"sku": "S"})
        )
        record.shipment_lines.append(
            ShipmentLineRecord(
                shipment_id=shipment_id,
                shipment_item_id=shipment_item_id,
                order_item_id=item_id,
                line=line,
                values={"quantity": quantity, "item_price": Decimal("2.00") * quantity},
                digest=f"line{line}",
            )
        )
        record.row_lines.append(line)
    return record


def test_fba_items_are_the_sums_of_their_shipment_lines():
    record = fba_record(("S1", "1", "i1", 2), ("S2", "2", "i1", 3), ("S1", "3", "i2", 1))
    result = plan([record])

    assert result.outcomes.by_line == {2: "created", 3: "created", 4: "created"}
    items = {i.row["order_item_id"]: i.row for i in result.items}
    assert (items["i1"]["quantity_shipped"], items["i1"]["quantity_ordered"]) == (5, 5)
    assert items["i1"]["item_price"] == Decimal("10.00")
    assert result.orders[0]["items_total"] == Decimal("12.00")
    lines = [(w.amazon_order_id, w.order_item_id, w.row) for w in result.lines]
    assert [(o, i, r["shipment_item_id"], r["import_digest"]) for o, i, r in lines] == [
        ("303-1", "i1", "1", "line2"),
        ("303-1", "i1", "2", "line3"),
        ("303-1", "i2", "3", "line4"),
    ]
    # New order, new items: the writer fills both keys in.
    assert all(r["order_id"] is None and r["item_id"] is None for _, _, r in lines)
    assert all(r["account_id"] == ACCOUNT for _, _, r in lines)


def test_the_same_shipment_line_twice_is_one_line_counted_once_in_its_item():
    record = fba_record(("S1", "1", "i1", 2), ("S1", "1", "i1", 2))
    result = plan([record])
    assert result.outcomes.by_line == {2: "created", 3: "created"}
    (line,) = result.lines
    assert line.row["source_line"] == 2
    (item,) = result.items
    assert item.row["quantity_shipped"] == 2


def test_a_new_shipment_line_of_a_stored_item_adds_to_its_sums():
    stored = stored_order("303-1", pk=20, digest="old", i1=Decimal("4.00"))
    stored.items["i1"] |= {"sku": "S", "quantity_ordered": 2, "quantity_shipped": 2}
    stored.lines[("S1", "1")] = blank_row(ShipmentLine, now=EARLIER) | {
        "id": 500,
        "account_id": ACCOUNT,
        "order_id": 20,
        "item_id": 100,
        "shipment_id": "S1",
        "shipment_item_id": "1",
        "quantity": 2,
        "item_price": Decimal("4.00"),
        "import_digest": "line2",
    }
    record = fba_record(("S1", "1", "i1", 2), ("S2", "1", "i1", 1))
    result = plan([record], stored=[stored])

    assert result.outcomes.by_line == {2: "unchanged", 3: "created"}
    (line,) = result.lines  # the stored line is as it was, digest included
    assert (line.row["order_id"], line.row["item_id"], line.row["source_line"]) == (20, 100, 3)
    (item,) = result.items  # changed as the sum of its lines: written, counted on the lines
    assert (item.row["quantity_shipped"], item.row["quantity_ordered"]) == (3, 3)
    assert item.row["item_price"] == Decimal("6.00")
    assert result.orders[0]["items_total"] == Decimal("6.00")

"""FBA shipments rows without a `shipment-item-id` (Amazon ships such rows): imported under the
fallback key documented on ShipmentLine, once, however many overlapping reports carry them."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from orders.importers.fba import fallback_shipment_item_id
from orders.models import OrderItem, ShipmentLine
from tests.orders.conftest import NOW, render, run_import

FBA = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL"
START = NOW - timedelta(days=24)
# Three reports over nine days each, each starting three days after the one before: the
# shipments of days 6 to 9 are in all three.
WINDOWS = [(START + timedelta(days=3 * n), START + timedelta(days=3 * n + 9)) for n in range(3)]


def rows_of(text: str) -> tuple[list[str], list[list[str]]]:
    header, *lines = text.split("\r\n")
    return header.split("\t"), [line.split("\t") for line in lines if line]


def join(header: list[str], rows: list[list[str]]) -> str:
    return "\r\n".join(["\t".join(header), *("\t".join(row) for row in rows)]) + "\r\n"


def without_shipment_item_ids(text: str) -> str:
    header, rows = rows_of(text)
    position = header.index("shipment-item-id")
    for row in rows:
        row[position] = ""
    return join(header, rows)


def line_keys(text: str) -> list[tuple[str, str]]:
    """(shipment id, order item id) of each row: what identifies a line without its id."""
    header, rows = rows_of(text)
    shipment, item = header.index("shipment-id"), header.index("amazon-order-item-id")
    return [(row[shipment], row[item]) for row in rows]


def stored_items(account) -> list[tuple]:
    return sorted(
        OrderItem.objects.filter(order__account=account).values_list(
            "order__amazon_order_id", "order_item_id", "quantity_shipped", "item_price", "item_tax"
        )
    )


def test_a_row_without_shipment_item_id_is_one_line_across_three_overlapping_reports(
    account, other_account
):
    originals = [render(FBA, start, end) for start, end in WINDOWS]
    documents = [without_shipment_item_ids(text) for text in originals]
    keys = [line_keys(text) for text in documents]
    in_all_three = set(keys[0]) & set(keys[1]) & set(keys[2])
    assert in_all_three, "the three windows should share shipments"

    seen: set[tuple[str, str]] = set()
    for number, (document, document_keys) in enumerate(zip(documents, keys, strict=True), 1):
        result = run_import(account, FBA, document, source_report_id=number)
        assert (result.errors, result.failed) == ([], 0)
        # The rows an earlier report brought are the same lines, unchanged; the rest are new.
        overlap = sum(key in seen for key in document_keys)
        assert (result.unchanged, result.updated) == (overlap, 0)
        assert result.created == result.rows - overlap
        seen.update(document_keys)

    lines = ShipmentLine.objects.filter(account=account)
    assert lines.count() == len(seen)
    for shipment_id, item_id in in_all_three:
        (line,) = lines.filter(shipment_id=shipment_id, item__order_item_id=item_id)
        assert line.shipment_item_id == fallback_shipment_item_id(item_id, 1) == f"~{item_id}"
        assert line.source_report_id == 1  # created by the first report, unchanged since
    # The same documents with their ids give the same orders, items, quantities and amounts.
    for text in originals:
        run_import(other_account, FBA, text)
    assert [row[1:] for row in stored_items(account)] == [
        row[1:] for row in stored_items(other_account)
    ]
    assert ShipmentLine.objects.filter(account=other_account).count() == len(seen)

    again = run_import(account, FBA, documents[1], source_report_id=4)
    assert again.unchanged == again.rows
    assert not ShipmentLine.objects.filter(source_report_id=4).exists()


def test_two_rows_of_one_item_in_one_shipment_are_two_lines_on_every_import(account):
    header, rows = rows_of(without_shipment_item_ids(render(FBA, *WINDOWS[0])))
    quantity, price = header.index("quantity-shipped"), header.index("item-price")
    first = rows[0]
    second = list(first)
    second[quantity], second[price] = "1", "0.50"
    text = join(header, [first, second, *rows[1:]])
    item_id = first[header.index("amazon-order-item-id")]

    result = run_import(account, FBA, text)
    again = run_import(account, FBA, text)

    assert (result.errors, again.unchanged) == ([], again.rows)
    lines = ShipmentLine.objects.filter(item__order_item_id=item_id).order_by("shipment_item_id")
    assert [(line.shipment_item_id, line.quantity) for line in lines] == [
        (f"~{item_id}", int(first[quantity])),
        (f"~{item_id}~2", 1),
    ]
    item = OrderItem.objects.get(order_item_id=item_id)
    assert item.quantity_shipped == int(first[quantity]) + 1


def test_the_fallback_key_rule():
    assert fallback_shipment_item_id("12345678901234", 1) == "~12345678901234"
    assert fallback_shipment_item_id("12345678901234", 3) == "~12345678901234~3"
    # Longer than the column: "~" and the digest of what it would have been.
    long_id = "9" * 40
    digest = hashlib.blake2b(f"~{long_id}".encode(), digest_size=16).hexdigest()
    assert fallback_shipment_item_id(long_id, 1) == f"~{digest}"
    assert len(f"~{digest}") <= ShipmentLine._meta.get_field("shipment_item_id").max_length

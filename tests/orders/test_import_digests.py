"""Re-imports skip what is stored as it is: order digests (MFN), shipment line digests (FBA).

A re-import, a reset or an overlapping report must count every row unchanged and write
nothing, without parsing the rows again; a row that changed, an importer that reads rows
differently (DIGEST_VERSION) and a row that failed before must still be read.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from orders.importers import driver
from orders.importers.fba import FbaShipmentsImporter
from orders.importers.mfn import MfnFlatImporter
from orders.models import Order, OrderItem, ShipmentLine
from tests.orders.conftest import NOW, render, run_import

MFN = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
FBA = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING"
START, END = NOW - timedelta(days=12), NOW - timedelta(days=1)


def split(text: str) -> tuple[list[str], list[list[str]]]:
    lines = [line for line in text.split("\r\n") if line]
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


def join(header: list[str], rows: list[list[str]]) -> str:
    return "\r\n".join(["\t".join(header), *("\t".join(r) for r in rows)]) + "\r\n"


@pytest.fixture
def parsed_rows(monkeypatch):
    """Counts the rows the order importers parse."""
    calls = []
    for importer in (MfnFlatImporter, FbaShipmentsImporter):
        original = importer.add_row

        def counting(self, group, row, order_id, state, _original=original):
            calls.append(row.line)
            return _original(self, group, row, order_id, state)

        monkeypatch.setattr(importer, "add_row", counting)
    return calls


def snapshot() -> list[tuple]:
    return sorted(
        Order.objects.values_list(
            "amazon_order_id", "changed_at", "source_report_id", "import_digest", "status"
        )
    )


@pytest.mark.parametrize("report_type", [MFN, FBA])
def test_reimport_counts_every_row_unchanged_without_parsing_or_writing(
    account, report_type, parsed_rows
):
    text = render(report_type, START, END)
    first = run_import(account, report_type, text, source_report_id=1)
    assert first.created == first.rows > 20
    assert len(parsed_rows) == first.rows
    before = snapshot()
    assert all(digest for *_, digest, _ in before) if report_type == MFN else True

    parsed_rows.clear()
    again = run_import(account, report_type, text, source_report_id=2)

    assert (again.rows, again.unchanged, again.created, again.updated) == (first.rows,) * 2 + (
        0,
        0,
    )
    assert parsed_rows == []
    assert snapshot() == before  # not even provenance or changed_at moved


def test_fba_order_shipped_in_parts_listed_apart_is_skipped_too(account, parsed_rows):
    header, rows = split(render(FBA, START, END))
    # Move one row of a two-row order to the end of the file, behind other orders.
    ids = [r[0] for r in rows]
    order_id = next(i for i in ids if ids.count(i) > 1)
    moved = rows.pop(ids.index(order_id))
    rows.append(moved)
    text = join(header, rows)
    first = run_import(account, FBA, text)
    assert first.created == first.rows
    assert ShipmentLine.objects.exclude(import_digest="").count() == first.rows

    parsed_rows.clear()
    again = run_import(account, FBA, text)
    assert again.unchanged == again.rows and parsed_rows == []


def test_a_changed_row_is_read_and_only_its_order_is_updated(account, parsed_rows):
    header, rows = split(render(MFN, START, END))
    run_import(account, MFN, join(header, rows))
    quantity = header.index("quantity-purchased")
    order_id = rows[3][0]
    rows[3][quantity] = str(int(rows[3][quantity]) + 2)
    order_rows = [r for r in rows if r[0] == order_id]

    parsed_rows.clear()
    again = run_import(account, MFN, join(header, rows))

    assert again.updated == 1 and again.unchanged == again.rows - 1
    assert len(parsed_rows) == len(order_rows)  # only the changed order was parsed
    item = OrderItem.objects.get(order__amazon_order_id=order_id, order_item_id=rows[3][1])
    assert item.quantity_ordered == int(rows[3][quantity])


def test_a_new_importer_version_compares_again_and_stores_the_new_digest(
    account, parsed_rows, monkeypatch
):
    text = render(FBA, START, END)
    first = run_import(account, FBA, text)
    old_digests = set(ShipmentLine.objects.values_list("import_digest", flat=True))

    monkeypatch.setattr(driver, "DIGEST_VERSION", driver.DIGEST_VERSION + 1)
    parsed_rows.clear()
    again = run_import(account, FBA, text)
    assert again.unchanged == again.rows == first.rows
    assert len(parsed_rows) == first.rows  # all read and compared
    new_digests = set(ShipmentLine.objects.values_list("import_digest", flat=True))
    assert new_digests.isdisjoint(old_digests)

    parsed_rows.clear()
    assert run_import(account, FBA, text).unchanged == first.rows
    assert parsed_rows == []  # skipped again under the new version


def test_a_different_header_reads_the_rows_again(account, parsed_rows):
    header, rows = split(render(MFN, START, END))
    run_import(account, MFN, join(header, rows))
    # The same data with two columns swapped: the digest names the header, so rows are read.
    a, b = header.index("buyer-email"), header.index("buyer-name")
    header[a], header[b] = header[b], header[a]
    for row in rows:
        row[a], row[b] = row[b], row[a]
    parsed_rows.clear()
    again = run_import(account, MFN, join(header, rows))
    assert again.unchanged == again.rows
    assert len(parsed_rows) == again.rows


def test_a_row_that_failed_fails_again_on_reimport(account):
    header, rows = split(render(MFN, START, END))
    rows[5][header.index("purchase-date")] = "not a date"
    text = join(header, rows)
    first = run_import(account, MFN, text)
    again = run_import(account, MFN, text)
    assert [e.line_number for e in first.errors] == [e.line_number for e in again.errors] == [7]
    assert again.failed == first.failed >= 1
    assert not Order.objects.filter(amazon_order_id=rows[5][0]).exists()


def test_a_vat_correction_survives_a_reimport_of_the_order_report(account):
    """VCS Lite corrects an order after the order report; importing that order report again
    (a reset) leaves the correction in place rather than reading old values back."""
    header, rows = split(render(MFN, START, END))
    text = join(header, rows)
    run_import(account, MFN, text)
    order = Order.objects.get(amazon_order_id=rows[0][0])
    Order.objects.filter(pk=order.pk).update(buyer_vat_number="DE123456789", is_business_order=True)
    assert run_import(account, MFN, text).unchanged == len(rows)
    order.refresh_from_db()
    assert (order.buyer_vat_number, order.is_business_order) == ("DE123456789", True)


def test_the_same_shipment_line_twice_in_one_document_is_one_line(account):
    header, rows = split(render(FBA, START, END))
    rows.insert(1, list(rows[0]))  # Amazon sends a line twice now and then
    result = run_import(account, FBA, join(header, rows))
    assert result.failed == 0 and result.rows == len(rows)
    shipment = header.index("shipment-id"), header.index("shipment-item-id")
    keys = {(r[shipment[0]], r[shipment[1]]) for r in rows}
    assert ShipmentLine.objects.count() == len(keys)
    line = ShipmentLine.objects.get(
        shipment_id=rows[0][shipment[0]], shipment_item_id=rows[0][shipment[1]]
    )
    quantity = int(rows[0][header.index("quantity-shipped")])
    assert line.item.quantity_shipped == quantity  # counted once, not twice

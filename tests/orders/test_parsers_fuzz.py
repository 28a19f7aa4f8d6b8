"""Property-based tests of every importer: whatever a document holds, the import either answers
with an ImportResult (bad rows as RowErrors) or refuses the whole document (DocumentRejected).

Never another exception, and never a partial order: for every order id in the document, either
everything its rows describe is imported or nothing is. A value longer than its column is checked
apart (`test_overlong_values_never_reach_the_database`): SQLite, which these tests use, stores
it silently where PostgreSQL refuses the whole document with an unhandled DataError. Each
example runs in a transaction that is rolled back, so examples do not see each other's records.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import timedelta

import pytest
from django.db import models, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.importers.base import DocumentRejected, ImportResult
from orders.importers.cells import RowProblem, parse_id
from orders.importers.parsing import iter_xml_messages, read_csv, read_tsv
from orders.models import (
    Invoice,
    Order,
    OrderItem,
    Return,
    ShipmentLine,
    StockChange,
    StockLevel,
    StockSnapshot,
)
from tests.orders.conftest import NOW, render, run_import

pytestmark = pytest.mark.django_db

MFN_FLAT = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
MFN_XML = "GET_ORDER_REPORT_DATA_SHIPPING"
FBA_SHIPMENTS = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL"
FBA_RETURNS = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
STOCK = "GET_AFN_INVENTORY_DATA"
VIDR = "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT"
VCS = "SC_VAT_TAX_REPORT"
REPORT_TYPES = (MFN_FLAT, MFN_XML, FBA_SHIPMENTS, FBA_RETURNS, STOCK, VIDR, VCS)

# (order id column, item id column) of the row-based report types; the XML items are checked
# per message.
ORDER_COLUMNS = {
    MFN_FLAT: ("order-id", "order-item-id"),
    FBA_SHIPMENTS: ("amazon-order-id", "amazon-order-item-id"),
    FBA_RETURNS: ("order-id", None),
    VIDR: ("order-id", None),
    VCS: ("Order ID", None),
}
STORED_MODELS = (
    Order,
    OrderItem,
    ShipmentLine,
    Return,
    Invoice,
    StockLevel,
    StockChange,
    StockSnapshot,
)
HUGE_FIELD = "x" * 1_000_000

FUZZ = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _base_document(report_type: str) -> str:
    # One day of the sandbox's seller history: a handful of orders, several rows per order.
    days = 1 if report_type == MFN_XML else 3
    return render(report_type, NOW - timedelta(days=days), NOW)


BASE = {report_type: _base_document(report_type) for report_type in REPORT_TYPES}


# --- Strategies ---------------------------------------------------------------------------------

messy_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.sampled_from('\t,"\n\r\x00 ;<>&\ufeffaA1-.é'), max_size=300),
    st.sampled_from(["", "\n", "\ufeff", '"', "1e5", "5.80293E+13", "-1", "NaN", "<x/>"]),
)

# Random bytes read with whatever encoding the pipeline might have guessed.
decoded_bytes = st.tuples(
    st.binary(max_size=2000), st.sampled_from(["utf-8", "latin-1", "cp1252", "utf-16"])
).map(lambda pair: pair[0].decode(pair[1], errors="replace"))


def _mutate_table(text: str, report_type: str, data: st.DataObject) -> str:
    """Mutate a flat file's cells: drop and add columns, quotes, a 1 MB field, random values."""
    comma = report_type == VCS
    if comma:
        rows = list(csv.reader(io.StringIO(text)))
    else:
        rows = [line.split("\t") for line in text.splitlines()]
    rows = [row for row in rows if row]
    width = len(rows[0])
    for _ in range(data.draw(st.integers(0, 4), label="mutations")):
        operation = data.draw(
            st.sampled_from(["drop_column", "add_column", "cell", "quote", "huge", "short_row"]),
            label="operation",
        )
        row_index = data.draw(st.integers(0, len(rows) - 1), label="row")
        column = data.draw(st.integers(0, width - 1), label="column")
        if operation == "drop_column":
            rows = [row[:column] + row[column + 1 :] for row in rows]
            width -= 1
            if width == 0:
                break
        elif operation == "add_column":
            name = data.draw(messy_text, label="new column")
            rows = [[*row, name if i == 0 else ""] for i, row in enumerate(rows)]
            width += 1
        elif column < len(rows[row_index]):
            row = rows[row_index]
            if operation == "cell":
                row[column] = data.draw(messy_text, label="value")
            elif operation == "quote":
                row[column] = f'"{row[column]}' if data.draw(st.booleans()) else f'"{row[column]}"'
            elif operation == "huge":
                row[column] = HUGE_FIELD
            else:
                del row[column:]
    if comma:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return out.getvalue()
    return "\n".join("\t".join(row) for row in rows) + "\n"


def _mutate_text(text: str, data: st.DataObject) -> str:
    """Mutate the raw text: truncate, insert, re-encode, change line ends, add a BOM."""
    for _ in range(data.draw(st.integers(0, 2), label="text mutations")):
        operation = data.draw(
            st.sampled_from(["truncate", "insert", "mojibake", "crlf", "bom", "blank_lines"]),
            label="text operation",
        )
        position = data.draw(st.integers(0, max(len(text) - 1, 0)), label="position")
        if operation == "truncate":
            text = text[:position]
        elif operation == "insert":
            text = text[:position] + data.draw(messy_text, label="inserted") + text[position:]
        elif operation == "mojibake":
            # UTF-8 bytes read as Windows-1252: the classic wrong-charset document.
            text = text.encode("utf-8").decode("cp1252", errors="replace")
        elif operation == "crlf":
            text = text.replace("\n", "\r\n")
        elif operation == "bom":
            text = "\ufeff" + text
        else:
            text = text.replace("\n", "\n\n\t\n", 3)
    return text


def _mutate_xml(text: str, data: st.DataObject) -> str:
    """Replace element texts of the envelope with hostile values, or a 1 MB one."""
    pieces = text.split(">")
    for _ in range(data.draw(st.integers(0, 4), label="xml mutations")):
        index = data.draw(st.integers(0, len(pieces) - 1), label="element")
        head, _, _ = pieces[index].partition("<")
        tail = pieces[index][len(head) :]
        value = data.draw(st.one_of(messy_text, st.just(HUGE_FIELD)), label="xml value")
        pieces[index] = value.replace("&", "&amp;").replace("<", "&lt;") + tail
    return ">".join(pieces)


# --- The properties -----------------------------------------------------------------------------


def _expected_orders(report_type: str, text: str) -> tuple[dict[str, set[str]], dict[int, str]]:
    """Per order id, the item ids its rows name, and the order id of each line, read with the
    importers' own parsers (so both sides agree on what a row is)."""
    items: dict[str, set[str]] = defaultdict(set)
    line_orders: dict[int, str] = {}
    if report_type == MFN_XML:
        for message in iter_xml_messages(io.StringIO(text, newline="")):
            report = message.element.find("OrderReport")
            order_id = (
                (report.findtext("AmazonOrderID") or "").strip() if report is not None else ""
            )
            if order_id:
                line_orders[message.line] = order_id
                for item in report.findall("Item"):
                    items[order_id].add((item.findtext("AmazonOrderItemCode") or "").strip())
        return items, line_orders
    order_column, item_column = ORDER_COLUMNS[report_type]
    reader = read_csv if report_type == VCS else read_tsv
    for row in reader(io.StringIO(text, newline="")).rows:
        try:
            order_id = parse_id(row.get(order_column))
        except RowProblem:
            continue
        line_orders[row.line] = order_id
        items[order_id].add(row.get(item_column) if item_column else "")
    return items, line_orders


def _stored_count() -> int:
    return sum(model.objects.count() for model in STORED_MODELS)


def _overlong_values() -> list[str]:
    """Stored values longer than their column (named, never printed: they can be 1 MB)."""
    found = []
    for model in STORED_MODELS:
        limited = [
            f for f in model._meta.fields if isinstance(f, models.CharField) and f.max_length
        ]
        for record in model.objects.all():
            for field in limited:
                value = getattr(record, field.name) or ""
                if len(value) > field.max_length:
                    found.append(
                        f"{model.__name__}.{field.name}: {len(value)} > {field.max_length}"
                    )
    return found


def _assert_whole_orders(report_type: str, text: str, result: ImportResult) -> None:
    if report_type == STOCK:
        return  # no orders: a snapshot of SKUs
    expected, line_orders = _expected_orders(report_type, text)
    failed_orders = {
        line_orders[e.line_number] for e in result.errors if e.line_number in line_orders
    }
    for order_id, item_ids in expected.items():
        stored_orders = Order.objects.filter(account__isnull=False, amazon_order_id=order_id)
        stored_items = set(
            OrderItem.objects.filter(order__in=stored_orders).values_list(
                "order_item_id", flat=True
            )
        )
        returns = Return.objects.filter(amazon_order_id=order_id).count()
        invoices = Invoice.objects.filter(amazon_order_id=order_id).count()
        if order_id in failed_orders:
            assert not stored_items and not returns and not invoices, (
                f"order {order_id} had a bad row but was partly imported"
            )
            if report_type != VIDR:  # VIDR only corrects orders that exist
                assert not stored_orders.exists()
        elif report_type in (MFN_FLAT, FBA_SHIPMENTS, MFN_XML):
            assert stored_items == item_ids, f"order {order_id}: {stored_items} != {item_ids}"
        elif report_type == FBA_RETURNS:
            assert returns >= 1, f"the returns of order {order_id} are missing"


def _import_and_check(account, report_type: str, text: str) -> None:
    with transaction.atomic():
        try:
            result = run_import(account, report_type, text)
        except DocumentRejected as rejected:
            assert str(rejected), "a refusal says why"
            assert _stored_count() == 0, "a refused document must import nothing"
        else:
            assert isinstance(result, ImportResult)
            assert all(error.line_number >= 1 and error.reason for error in result.errors)
            assert result.failed <= result.rows
            _assert_whole_orders(report_type, text, result)
        transaction.set_rollback(True)


@pytest.mark.parametrize("report_type", REPORT_TYPES)
@FUZZ
@given(text=st.one_of(messy_text, decoded_bytes))
def test_arbitrary_text_is_a_result_or_a_refusal(account, report_type, text):
    _import_and_check(account, report_type, text)


@pytest.mark.parametrize("report_type", REPORT_TYPES)
@FUZZ
@given(data=st.data())
def test_damaged_documents_never_half_import_an_order(account, report_type, data):
    text = BASE[report_type]
    if report_type == MFN_XML:
        text = _mutate_xml(text, data)
    else:
        text = _mutate_table(text, report_type, data)
    _import_and_check(account, report_type, _mutate_text(text, data))


@pytest.mark.parametrize("report_type", REPORT_TYPES)
@pytest.mark.parametrize(
    "text",
    ["", "\n\n", "\ufeff", "\x00\x00\x00", HUGE_FIELD, f"{HUGE_FIELD}\t{HUGE_FIELD}\n1\t2\n"],
    ids=["empty", "blank-lines", "bom", "nul", "huge-header", "huge-cells"],
)
def test_empty_and_giant_documents(account, report_type, text):
    _import_and_check(account, report_type, text)


@pytest.mark.parametrize("report_type", REPORT_TYPES)
def test_the_undamaged_document_imports_whole(account, report_type):
    """The base of the mutations imports without errors: the properties test real orders."""
    with transaction.atomic():
        result = run_import(account, report_type, BASE[report_type])
        assert result.rows and not result.errors
        _assert_whole_orders(report_type, BASE[report_type], result)
        transaction.set_rollback(True)


# Ids longer than their column are row errors (cutting them could merge two ids).
@pytest.mark.parametrize(
    ("report_type", "column"),
    [
        pytest.param(MFN_FLAT, "order-id"),
        pytest.param(MFN_FLAT, "buyer-name"),
        pytest.param(FBA_SHIPMENTS, "amazon-order-item-id"),
        pytest.param(FBA_RETURNS, "order-id"),
        pytest.param(VIDR, "order-id"),
        pytest.param(STOCK, "seller-sku"),
    ],
)
def test_overlong_values_never_reach_the_database(account, report_type, column):
    header, first, *rest = BASE[report_type].splitlines()
    names = header.split("\t")
    values = first.split("\t")
    values[names.index(column)] = "x" * 5000
    text = "\n".join([header, "\t".join(values), *rest]) + "\n"
    with transaction.atomic():
        try:
            run_import(account, report_type, text)
        except DocumentRejected:
            pass
        overlong = _overlong_values()
        transaction.set_rollback(True)
    assert not overlong, overlong


@pytest.mark.parametrize("report_type", [MFN_FLAT, FBA_SHIPMENTS])
def test_nul_characters_and_huge_text_never_fail_a_document(account, report_type):
    """PostgreSQL refuses NUL characters and text longer than its column: a damaged file must
    not fail the whole import there (SQLite would take both)."""
    header, first, *rest = BASE[report_type].splitlines()
    names = header.split("\t")
    values = first.split("\t")
    column = "buyer-name" if "buyer-name" in names else names[-1]
    values[names.index(column)] = "Jürgen\x00Groß" + "ß" * 5000
    text = "\n".join([header, "\t".join(values), *rest]) + "\n"
    with transaction.atomic():
        result = run_import(account, report_type, text)
        assert result.rows and not result.failed
        assert not _overlong_values()
        stored = list(Order.objects.values_list("buyer_name", flat=True))
        assert all("\x00" not in name for name in stored)
        transaction.set_rollback(True)


def test_a_nul_in_the_header_or_an_id_never_fails_a_document(account):
    """A damaged header line holding a NUL (found by Hypothesis on PostgreSQL)."""
    header, *rest = BASE[MFN_FLAT].splitlines()
    text = "\n".join(["\r\x00\t" + header, *("\t" + line for line in rest)]) + "\n"
    first_id = rest[0].split("\t")[0]
    text = text.replace(first_id, first_id[:3] + "\x00" + first_id[3:], 1)
    with transaction.atomic():
        try:
            run_import(account, MFN_FLAT, text)
        except DocumentRejected:
            pass
        assert all("\x00" not in i for i in Order.objects.values_list("amazon_order_id", flat=True))
        transaction.set_rollback(True)

"""The CSV and XLSX writers of core.exports, on tables made up for the occasion."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import load_workbook

from core.exports import Column, ExportFormat, ExportTable, Kind, csv_chunks, write_xlsx

COLUMNS = (
    Column("text", "Text"),
    Column("amount", "Amount", Kind.AMOUNT),
    Column("count", "Count", Kind.INTEGER),
    Column("flag", "Flag", Kind.BOOLEAN),
    Column("day", "Day", Kind.DATE),
    Column("at", "At", Kind.DATETIME),
)


def table(rows) -> ExportTable:
    return ExportTable(name="things", title="Things", columns=COLUMNS, rows=iter(rows))


def test_csv_cells_are_iso_dates_plain_decimals_and_defused_text():
    rows = [
        [
            "@cmd",
            Decimal("-1234.50"),
            3,
            True,
            date(2025, 3, 1),
            datetime(2025, 7, 1, 10, tzinfo=UTC),
        ],
        ['Müller; "Tee"\nzwei', Decimal("0.00"), 0, False, None, None],
        [None, None, None, None, None, None],
    ]
    body = b"".join(csv_chunks(table(rows))).decode("utf-8")
    assert body.startswith("\ufeffText,Amount,Count,Flag,Day,At\r\n")
    parsed = list(csv.reader(io.StringIO(body.lstrip("\ufeff"), newline="")))
    assert parsed[1:] == [
        ["'@cmd", "-1234.50", "3", "true", "2025-03-01", "2025-07-01T12:00:00+02:00"],
        ['Müller; "Tee"\nzwei', "0.00", "0", "false", "", ""],
        ["", "", "", "", "", ""],
    ]


def test_an_empty_table_is_its_header_in_either_format():
    assert b"".join(csv_chunks(table([]))) == "\ufeffText,Amount,Count,Flag,Day,At\r\n".encode()
    output = io.BytesIO()
    assert write_xlsx(table([]), output) == 0
    sheet = load_workbook(output).worksheets[0]
    assert sheet.title == "Things"
    assert [cell.value for cell in sheet[1]] == ["Text", "Amount", "Count", "Flag", "Day", "At"]
    assert sheet.max_row == 1


def test_xlsx_cells_are_typed():
    output = io.BytesIO()
    row = [
        "+49 30",
        Decimal("12.50"),
        7,
        True,
        date(2025, 3, 1),
        datetime(2025, 1, 1, 8, tzinfo=UTC),
    ]
    write_xlsx(table([row]), output)
    sheet = load_workbook(output).worksheets[0]
    values = [cell.value for cell in sheet[2]]
    # Excel has no time zones: naive cells, the time in the current zone (Berlin).
    naive = [datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 1, 1, 9, tzinfo=UTC)]
    assert values == ["+49 30", 12.5, 7, True, *(d.replace(tzinfo=None) for d in naive)]
    assert sheet["B2"].number_format == "#,##0.00"
    assert sheet["F2"].number_format == "yyyy-mm-dd hh:mm:ss"


def test_file_names_carry_the_day():
    assert table([]).filename(ExportFormat.CSV, today=date(2026, 12, 6)) == "things-2026-12-06.csv"
    assert (
        table([]).filename(ExportFormat.XLSX, today=date(2026, 12, 6)) == "things-2026-12-06.xlsx"
    )

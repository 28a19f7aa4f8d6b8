"""Tables as CSV and XLSX downloads, written as they are read: memory stays flat however many rows.

An app describes what it exports as an `ExportTable`: its columns and an iterator of rows (one
Python value per column: str, int, Decimal, bool, date, datetime or None). `export_response`
turns it into a download:

- CSV streams (`StreamingHttpResponse`): UTF-8 with a byte order mark, so Excel reads the
  umlauts; a header row; dates and times in ISO 8601 (times in the current time zone, with the
  offset); amounts as plain decimal numbers with a dot (`1234.50`), whatever the user's
  language. The CSV is for programs and accounting imports, which need the same bytes in every
  locale; who wants to read the figures in Excel takes the XLSX, whose cells are real numbers
  and dates that Excel shows in the user's own format. A text cell that starts with `=`, `+`,
  `-`, `@`, a tab or a carriage return gets a leading apostrophe, so a spreadsheet never runs
  it as a formula (OWASP "CSV injection"): a SKU `-AB` reads `'-AB` in the CSV.
- XLSX is written by XlsxWriter in its constant-memory mode (each row flushed to disk once the
  next begins) into a temporary file, then sent with `FileResponse`. Text is always written as
  text, never as a formula. A sheet holds at most `XLSX_MAX_ROWS` rows, the header included;
  more continue on a second sheet, and so on. The file is complete only once every row is
  written, so the download starts after that; a CSV starts at once.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any

import xlsxwriter
from django.db import connections, transaction
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.functional import Promise

CSV_BOM = "\ufeff"
# Rows joined into one chunk of the streamed CSV: fewer, larger writes to the socket.
CSV_ROWS_PER_CHUNK = 200
# Characters that make a spreadsheet read a cell as a formula (or, tab and CR, hide one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Excel's limit (1,048,576 rows per sheet), the header row included.
XLSX_MAX_ROWS = 1_048_576
XLSX_SHEET_NAME_CHARS = 31


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class Kind(StrEnum):
    """How a column's values are shown in the XLSX (the CSV writes every kind as text)."""

    TEXT = "text"
    INTEGER = "integer"
    AMOUNT = "amount"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"


@dataclass(frozen=True)
class Column:
    """One column: `key` names it for code and tests, `header` is what the file's first row
    says (translated)."""

    key: str
    header: str | Promise
    kind: Kind = Kind.TEXT
    width: int = 14


@dataclass(frozen=True)
class ExportTable:
    """What an export holds: `name` starts its file name, `title` names its sheet, `rows`
    yields one sequence of values per row, in the order of `columns`. `rows` is read once."""

    name: str
    title: str | Promise
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]

    def filename(self, export_format: ExportFormat, *, today: date | None = None) -> str:
        """`orders-2026-12-06.csv`: the name, the day in the current time zone, the format."""
        day = today or timezone.localdate()
        return f"{self.name}-{day.isoformat()}.{export_format}"


def streamed_read(using: str = "default") -> AbstractContextManager[Any]:
    """What to read a streamed export in, on database `using`.

    On PostgreSQL a transaction: `QuerySet.iterator()` then reads through a server-side cursor
    a chunk at a time. Outside one, Django declares the cursor WITH HOLD, and PostgreSQL copies
    the whole result aside before the first row is sent. Nothing elsewhere: SQLite's cursor
    already reads as it goes, and a transaction there (IMMEDIATE mode) would hold back every
    import for as long as the download lasts.
    """
    if connections[using].vendor == "postgresql":
        return transaction.atomic(using=using)
    return nullcontext()


def safe_text(value: str) -> str:
    """`value`, with a leading apostrophe when a spreadsheet would take it for a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_value(value: Any) -> str:
    """One cell as the CSV writes it (see the module docstring), whatever its type."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    return safe_text(str(value))


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    # Only a text that starts with one of FORMULA_STARTS is changed; most are not even looked
    # at twice.
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text[:1] in _FORMULA_FIRST else text


_FORMULA_FIRST = frozenset(FORMULA_STARTS)


def _csv_converter(kind: Kind) -> Callable[[Any], str]:
    """How the CSV writes the values of a column of `kind`: `csv_value`, without asking each
    cell its type (a million rows have tens of millions of cells)."""
    if kind == Kind.TEXT:
        return _csv_text
    if kind == Kind.DATETIME:
        zone = timezone.get_current_timezone()
        return lambda value: "" if value is None else value.astimezone(zone).isoformat()
    return csv_value


class _Echo:
    """A file that hands back what is written to it: csv.writer's output, one row at a time."""

    def write(self, text: str) -> str:
        return text


def csv_chunks(table: ExportTable) -> Iterator[bytes]:
    """The table as UTF-8 CSV with a BOM, in chunks of `CSV_ROWS_PER_CHUNK` rows."""
    writer = csv.writer(_Echo())
    yield (CSV_BOM + writer.writerow([str(c.header) for c in table.columns])).encode()
    converters = [_csv_converter(column.kind) for column in table.columns]
    pending: list[str] = []
    for row in table.rows:
        cells = [convert(value) for convert, value in zip(converters, row, strict=True)]
        pending.append(writer.writerow(cells))
        if len(pending) == CSV_ROWS_PER_CHUNK:
            yield "".join(pending).encode()
            pending = []
    if pending:
        yield "".join(pending).encode()


def write_xlsx(table: ExportTable, output: IO[bytes]) -> int:
    """Write the table as an XLSX workbook into `output`; returns the number of data rows.

    Constant memory: XlsxWriter keeps one row at a time and writes the rest to temporary files.
    """
    workbook = xlsxwriter.Workbook(
        output,
        {
            "constant_memory": True,
            # Text stays text: never a formula, a link or a number.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "tmpdir": tempfile.gettempdir(),
        },
    )
    header_format = workbook.add_format({"bold": True})
    formats = {
        Kind.AMOUNT: workbook.add_format({"num_format": "#,##0.00"}),
        Kind.DATE: workbook.add_format({"num_format": "yyyy-mm-dd"}),
        Kind.DATETIME: workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
    }
    writers = [_cell_writer(column.kind, formats.get(column.kind)) for column in table.columns]
    title = str(table.title)[:XLSX_SHEET_NAME_CHARS]
    sheet, sheets, row_number, written = None, 0, XLSX_MAX_ROWS, 0
    for row in table.rows:
        if row_number == XLSX_MAX_ROWS:
            sheets += 1
            suffix = f" ({sheets})" if sheets > 1 else ""
            sheet = workbook.add_worksheet(title[: XLSX_SHEET_NAME_CHARS - len(suffix)] + suffix)
            _start_sheet(sheet, table.columns, header_format)
            row_number = 1
        for column_number, (write, value) in enumerate(zip(writers, row, strict=True)):
            if value is not None and value != "":
                write(sheet, row_number, column_number, value)
        row_number += 1
        written += 1
    if sheet is None:  # no rows: the header alone
        _start_sheet(workbook.add_worksheet(title), table.columns, header_format)
    workbook.close()
    return written


def _start_sheet(sheet: Any, columns: Sequence[Column], header_format: Any) -> None:
    for number, column in enumerate(columns):
        sheet.set_column(number, number, column.width)
        sheet.write_string(0, number, str(column.header), header_format)
    sheet.freeze_panes(1, 0)


def _cell_writer(kind: Kind, cell_format: Any) -> Callable[[Any, int, int, Any], None]:
    if kind == Kind.TEXT:
        return lambda sheet, r, c, value: sheet.write_string(r, c, str(value))
    if kind == Kind.INTEGER:
        return lambda sheet, r, c, value: sheet.write_number(r, c, value)
    if kind == Kind.AMOUNT:
        return lambda sheet, r, c, value: sheet.write_number(r, c, float(value), cell_format)
    if kind == Kind.BOOLEAN:
        return lambda sheet, r, c, value: sheet.write_boolean(r, c, bool(value))
    if kind == Kind.DATE:
        return lambda sheet, r, c, value: sheet.write_datetime(r, c, value, cell_format)

    zone = timezone.get_current_timezone()

    def write_datetime(sheet: Any, r: int, c: int, value: datetime) -> None:
        # Excel has no time zones: the time as the user's clock shows it.
        local = value.astimezone(zone) if timezone.is_aware(value) else value
        sheet.write_datetime(r, c, local.replace(tzinfo=None), cell_format)

    return write_datetime


def export_response(
    table: ExportTable, export_format: ExportFormat
) -> StreamingHttpResponse | FileResponse:
    """The table as a download in `export_format`, named by `ExportTable.filename`.

    The rows are read inside `streamed_read()`: for a CSV while the response streams, for an
    XLSX before it is sent.
    """
    filename = table.filename(export_format)
    if export_format == ExportFormat.CSV:
        response = StreamingHttpResponse(
            _read_within(csv_chunks(table)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    output = tempfile.TemporaryFile()
    try:
        with streamed_read():
            write_xlsx(table, output)
        output.seek(0)
    except BaseException:
        output.close()
        raise
    return FileResponse(
        output,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _read_within(chunks: Iterator[bytes]) -> Iterator[bytes]:
    with streamed_read():
        yield from chunks

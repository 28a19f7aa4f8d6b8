"""A report's details page, and its stored document (download, raw text, preview)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.exports import ExportFormat, export_response
from core.roles import can_view_buyer_data
from reports import documents, exports, selectors
from reports.exceptions import DocumentStorageFailed
from reports.models import Report, ReportRowError
from reports.views.processing import ReportRow

PREVIEW_ROWS = 200
# Rows with errors (and with warnings) listed on the page; the export has them all.
ROW_ERRORS_SHOWN = 500
PREVIEW_CHARS = 256 * 1024
PREVIEW_LINE_CHARS = 64 * 1024
PREVIEW_COLUMNS = 100
PREVIEW_CELL_CHARS = 300
NO_DOCUMENT = "No document is stored for this report."


def _first_rows(rows_name: str, count_name: str, rows: QuerySet) -> dict[str, object]:
    """The first ROW_ERRORS_SHOWN of `rows` and how many there are: counted only when the
    first ones do not already say (most reports have none or a few)."""
    first = list(rows[:ROW_ERRORS_SHOWN])
    count = len(first) if len(first) < ROW_ERRORS_SHOWN else rows.count()
    return {rows_name: first, count_name: count}


@require_GET
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(selectors.report_list(), pk=pk)
    names = {m.marketplace_id: m.name for m in report.account.marketplaces.all()}
    errors = report.row_errors.filter(kind=ReportRowError.Kind.ERROR)
    warnings = report.row_errors.filter(kind=ReportRowError.Kind.WARNING)
    if request.htmx:
        # The page's poll while the report is unfinished: its state, counters and progress.
        return render(
            request,
            "reports/detail.html#live",
            {
                "row": ReportRow.of(report),
                "on_detail": True,
                "marketplaces": [names.get(m, m) for m in report.marketplace_ids],
                "next": request.get_full_path(),
            },
        )
    return render(
        request,
        "reports/detail.html",
        {
            "row": ReportRow.of(report),
            "on_detail": True,
            "marketplaces": [names.get(m, m) for m in report.marketplace_ids],
            "events": report.events.all(),
            **_first_rows("row_errors", "row_error_count", errors),
            **_first_rows("row_warnings", "row_warning_count", warnings),
            # Not even read for who may not see buyers' data.
            "document": _document_preview(report) if can_view_buyer_data(request.user) else None,
            "next": request.get_full_path(),
        },
    )


@require_GET
def report_row_errors_export(request: HttpRequest, pk: int, export_format: str) -> HttpResponse:
    """Every row error and warning of the report, as CSV or XLSX."""
    try:
        chosen = ExportFormat(export_format)
    except ValueError:
        raise Http404("No such export format.") from None
    report = get_object_or_404(Report, pk=pk)
    return export_response(exports.row_error_export(report), chosen)


def _report_with_document(pk: int) -> Report:
    report = get_object_or_404(Report, pk=pk)
    if not report.raw_file:
        raise Http404(NO_DOCUMENT)
    return report


def _http_charset(charset: str) -> str:
    # "utf-8-sig" is Python's name for UTF-8 with a BOM; the BOM is part of the bytes.
    return "utf-8" if charset.lower() in {"", "utf-8-sig", "utf_8_sig"} else charset


def _store_unavailable(error: DocumentStorageFailed) -> HttpResponse:
    return HttpResponse(
        f"{error} Try again in a moment.", status=503, content_type="text/plain; charset=utf-8"
    )


@require_GET
def report_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored document exactly as Amazon sent it (after decompression), in its charset,
    streamed from the documents storage a chunk at a time."""
    report = _report_with_document(pk)
    try:
        handle = documents.open_raw(report)
    except FileNotFoundError:
        raise Http404(NO_DOCUMENT) from None
    except DocumentStorageFailed as error:
        return _store_unavailable(error)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"{report.amazon_report_id or report.pk}-{report.report_type}.txt",
        content_type=f"text/plain; charset={_http_charset(report.raw_charset)}",
    )


@require_GET
def report_raw(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored document decoded, shown in the browser as UTF-8 text."""
    report = _report_with_document(pk)
    try:
        stream = documents.open_text(report)
    except FileNotFoundError:
        raise Http404(NO_DOCUMENT) from None
    except DocumentStorageFailed as error:
        return _store_unavailable(error)

    def chunks() -> Iterator[str]:
        with stream:
            while chunk := stream.read(64 * 1024):
                yield chunk

    return StreamingHttpResponse(chunks(), content_type="text/plain; charset=utf-8")


def _document_preview(report: Report) -> dict[str, Any] | None:
    """The first rows of the stored document: a table for flat files, raw text for XML.

    Bounded whatever the file holds: at most PREVIEW_CHARS characters are read (one line at
    most PREVIEW_LINE_CHARS), PREVIEW_ROWS rows and PREVIEW_COLUMNS columns are shown, and a
    cell is cut at PREVIEW_CELL_CHARS; `truncated` and `more_columns` say what was left out.
    A file of one endless line cannot make the page big or slow.
    """
    if not report.raw_file:
        return None
    try:
        with documents.open_text(report) as stream:
            head = stream.readline(PREVIEW_LINE_CHARS)
            if head.lstrip("\ufeff \t\r\n").startswith("<"):
                text = head + stream.read(PREVIEW_CHARS - len(head))
                return {"xml": text, "truncated": bool(stream.read(1))}
            lines = _BoundedLines(stream, first=head)
            tabs = "\t" in head or "," not in head
            reader = csv.reader(
                lines,
                delimiter="\t" if tabs else ",",
                quoting=csv.QUOTE_NONE if tabs else csv.QUOTE_MINIMAL,
            )
            names = [name.lstrip("\ufeff") for name in next(reader, [])]
            header = [_cell(name) for name in names[:PREVIEW_COLUMNS]]
            rows: list[tuple[int, list[str]]] = []
            widest = len(names)
            longest = max(map(len, names), default=0)
            for values in reader:
                if len(rows) == PREVIEW_ROWS:
                    lines.cut = True
                    break
                if any(value.strip() for value in values):
                    widest = max(widest, len(values))
                    kept = values[:PREVIEW_COLUMNS]
                    longest = max(longest, max(map(len, kept)))
                    shown = [_cell(value) for value in kept]
                    rows.append((reader.line_num, shown + [""] * (len(header) - len(shown))))
    except (OSError, UnicodeDecodeError, csv.Error, DocumentStorageFailed) as error:
        return {"error": _("The stored document cannot be shown: %(error)s") % {"error": error}}
    return {
        "header": header,
        "rows": rows,
        "truncated": lines.cut,
        "more_columns": max(0, widest - PREVIEW_COLUMNS),
        "cells_cut": longest > PREVIEW_CELL_CHARS,
    }


class _BoundedLines:
    """The document's lines for the preview's csv reader, PREVIEW_CHARS in all at most; `cut`
    tells whether anything was left unread."""

    def __init__(self, stream: Any, *, first: str) -> None:
        self.stream = stream
        self.pending: str | None = first
        self.budget = PREVIEW_CHARS - len(first)
        self.cut = False
        self._check_cut(first)

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.pending is not None:
            line, self.pending = self.pending, None
            if line:
                return line
        if self.cut or self.budget <= 0:
            self.cut = self.cut or bool(self.stream.read(1))
            raise StopIteration
        line = self.stream.readline(min(self.budget, PREVIEW_LINE_CHARS))
        if not line:
            raise StopIteration
        self.budget -= len(line)
        self._check_cut(line)
        return line

    def _check_cut(self, line: str) -> None:
        # A line without its newline is either the file's last one or longer than the preview
        # reads: then show what was read and stop. Reading one character more tells which.
        if line and not line.endswith("\n"):
            self.cut = bool(self.stream.read(1))


def _cell(value: str) -> str:
    return value if len(value) <= PREVIEW_CELL_CHARS else value[: PREVIEW_CELL_CHARS - 1] + "…"

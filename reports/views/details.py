"""A report's details page, and its stored document (download, raw text, preview)."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from core.roles import can_view_buyer_data
from reports import documents, selectors
from reports.models import Report
from reports.views.processing import ReportRow

PREVIEW_ROWS = 200
PREVIEW_CHARS = 256 * 1024


@require_GET
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(selectors.report_list(), pk=pk)
    names = {m.marketplace_id: m.name for m in report.account.marketplaces.all()}
    return render(
        request,
        "reports/detail.html",
        {
            "row": ReportRow.of(report),
            "on_detail": True,
            "marketplaces": [names.get(m, m) for m in report.marketplace_ids],
            "events": report.events.all(),
            "row_errors": report.row_errors.all()[:500],
            "row_error_count": report.row_errors.count(),
            # Not even read for who may not see buyers' data.
            "document": _document_preview(report) if can_view_buyer_data(request.user) else None,
            "next": request.get_full_path(),
        },
    )


def _report_with_document(pk: int) -> Report:
    report = get_object_or_404(Report, pk=pk)
    if not report.raw_file or not report.raw_file.storage.exists(report.raw_file.name):
        raise Http404("No document is stored for this report.")
    return report


def _http_charset(charset: str) -> str:
    # "utf-8-sig" is Python's name for UTF-8 with a BOM; the BOM is part of the bytes.
    return "utf-8" if charset.lower() in {"", "utf-8-sig", "utf_8_sig"} else charset


@require_GET
def report_download(request: HttpRequest, pk: int) -> FileResponse:
    """The stored document exactly as Amazon sent it (after decompression), in its charset."""
    report = _report_with_document(pk)
    return FileResponse(
        report.raw_file.open("rb"),
        as_attachment=True,
        filename=f"{report.amazon_report_id or report.pk}-{report.report_type}.txt",
        content_type=f"text/plain; charset={_http_charset(report.raw_charset)}",
    )


@require_GET
def report_raw(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The stored document decoded, shown in the browser as UTF-8 text."""
    report = _report_with_document(pk)

    def chunks() -> Iterator[str]:
        with documents.open_text(report) as stream:
            while chunk := stream.read(64 * 1024):
                yield chunk

    return StreamingHttpResponse(chunks(), content_type="text/plain; charset=utf-8")


def _document_preview(report: Report) -> dict[str, Any] | None:
    """The first rows of the stored document: a table for flat files, raw text for XML."""
    if not report.raw_file:
        return None
    try:
        with documents.open_text(report) as stream:
            head = stream.readline(PREVIEW_CHARS)
            if head.lstrip("\ufeff \t\r\n").startswith("<"):
                text = head + stream.read(PREVIEW_CHARS - len(head))
                return {"xml": text, "truncated": bool(stream.read(1))}
            tabs = "\t" in head or "," not in head
            reader = csv.reader(
                itertools.chain([head], stream),
                delimiter="\t" if tabs else ",",
                quoting=csv.QUOTE_NONE if tabs else csv.QUOTE_MINIMAL,
            )
            header = [name.lstrip("\ufeff") for name in next(reader, [])]
            rows: list[tuple[int, list[str]]] = []
            for values in reader:
                if len(rows) == PREVIEW_ROWS:
                    return {"header": header, "rows": rows, "truncated": True}
                if any(value.strip() for value in values):
                    rows.append((reader.line_num, values + [""] * (len(header) - len(values))))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        return {"error": f"The stored document cannot be shown: {error}"}
    return {"header": header, "rows": rows, "truncated": False}

"""What a report's row-error export holds: every error and warning of its lines.

The details page shows the first 500 of each; the export lists them all, errors and warnings
together, by line, read a chunk at a time (`core.exports`). Like the page, it gives each stored
reason in the reader's language (`translate_stored`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext_lazy as _

from core.exports import Column, ExportTable, Kind
from core.stored_texts import translate_stored
from reports.models import Report, ReportRowError

CHUNK = 2000

ROW_ERROR_COLUMNS = (
    Column("line_number", _("Line"), Kind.INTEGER, width=8),
    Column("kind", _("Kind"), width=10),
    Column("reason", _("Reason"), width=100),
)


def row_error_export(report: Report) -> ExportTable:
    """The report's row errors and warnings, by line; named after the report."""
    kinds = dict(ReportRowError.Kind.choices)

    def rows() -> Iterator[list[Any]]:
        errors = (
            ReportRowError.objects.filter(report=report)
            .order_by("line_number", "pk")
            .values_list("line_number", "kind", "reason")
        )
        for line_number, kind, reason in errors.iterator(chunk_size=CHUNK):
            yield [line_number, str(kinds.get(kind, kind)), translate_stored(reason)]

    return ExportTable(
        name=f"report-{report.amazon_report_id or report.pk}-row-errors",
        title=_("Row errors"),
        columns=ROW_ERROR_COLUMNS,
        rows=rows(),
    )

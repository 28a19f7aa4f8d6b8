"""The one interface between the report pipeline and the importers.

The pipeline (reports) hands an importer a decoded text stream of one Amazon document and the
context it needs; the importer parses it, writes its records idempotently (upserts on unique
keys), and returns what it did. Importers never import the reports app: what ties a record to
the report it came from is the `source_report_id` number in the context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from amazon_settings.models import SellerAccount


class DocumentRejected(Exception):
    """The whole document is unusable (e.g. required columns missing): nothing was imported."""


@dataclass(frozen=True)
class RowError:
    line_number: int  # 1-based line in the document (the header is line 1)
    reason: str


@dataclass(frozen=True)
class ImportContext:
    account: SellerAccount
    report_type: str
    source_report_id: int | None = None  # reports.Report.pk, kept on records as provenance
    marketplace_ids: tuple[str, ...] = ()
    dry_run: bool = False  # count what would happen, write nothing
    # The seller confirmed a report the stock guard held (a sharp drop in units or rows).
    accept_drop: bool = False
    # Called now and then with the number of data rows handled so far.
    progress: Callable[[int], None] | None = None


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)
    # Set when an importer holds the data for the seller to confirm (stock guard).
    held_reason: str = ""


class Importer(Protocol):
    """Reads one document of its report types. Idempotent: importing twice changes nothing."""

    report_types: tuple[str, ...]

    def import_document(self, stream: TextIO, *, context: ImportContext) -> ImportResult: ...

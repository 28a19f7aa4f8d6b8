"""The one interface between the report pipeline and the importers.

The pipeline (reports) hands an importer a decoded text stream of one Amazon document and the
context it needs; the importer parses it, writes its records idempotently (upserts on unique
keys), and returns what it did. Importers never import the reports app: what ties a record to
the report it came from is the `source_report_id` number in the context.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from amazon_settings.models import SellerAccount


class DocumentRejected(Exception):
    """The whole document is unusable (e.g. required columns missing): nothing was imported."""


@dataclass(frozen=True)
class RowError:
    """A row the importer could not take: none of its order is imported."""

    line_number: int  # 1-based line in the document (the header is line 1)
    reason: str


@dataclass(frozen=True)
class RowWarning:
    """A row imported as it stands whose values look wrong (amounts that do not add up)."""

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
    # Called inside the transaction of every committed write with where the import stands,
    # so that the caller's record of it (progress, counts, row errors, the worker's lease)
    # commits together with the data or not at all. It may raise to roll that write back
    # (the caller lost its lease). None: nobody is told (a dry run, a test).
    checkpoint: Callable[[Checkpoint], None] | None = None
    # The checkpoint an earlier, interrupted import of this document committed last: the
    # import goes on after its line, from its counts.
    resume: Checkpoint | None = None


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)
    # Not counted anywhere: a warned row is counted as created, updated or unchanged.
    warnings: list[RowWarning] = field(default_factory=list)
    # Set when an importer holds the data for the seller to confirm (stock guard).
    held_reason: str = ""

    @classmethod
    def resuming(cls, resume: Checkpoint | None) -> ImportResult:
        """A result that starts from an interrupted import's committed counts (or from zero)."""
        if resume is None:
            return cls()
        return dataclasses.replace(resume.counts, errors=[], warnings=[])

    def counts(self) -> ImportResult:
        """The counters alone, as a checkpoint keeps them."""
        return dataclasses.replace(self, errors=[], warnings=[])


@dataclass(frozen=True)
class Checkpoint:
    """Where one document's import stands once a batch is committed.

    `after_line` is the document's last line (1-based, the header is line 1) whose import is
    committed: an interrupted import resumes after it. `counts` holds the running totals of the
    whole document so far (its `errors` and `warnings` are left empty); `new_errors` and
    `new_warnings` are those found since the previous checkpoint, so each is handed over
    exactly once.
    """

    after_line: int
    counts: ImportResult
    new_errors: tuple[RowError, ...] = ()
    new_warnings: tuple[RowWarning, ...] = ()


class Importer(Protocol):
    """Reads one document of its report types. Idempotent: importing twice changes nothing."""

    report_types: tuple[str, ...]
    # Whether it commits a batch at a time, with a checkpoint each (renewing the caller's lease
    # every few seconds), or the whole document in one transaction (one checkpoint at the end).
    commits_per_batch: bool

    def import_document(self, stream: TextIO, *, context: ImportContext) -> ImportResult: ...

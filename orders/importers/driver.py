"""The import driver: batching by order, one transaction per batch, row errors, counting.

A document is read row by row. Rows are grouped by their order id; when a batch holds
`BATCH_ORDERS` orders and the next row starts a new order, the batch is parsed, written with
bulk operations in its own transaction and dropped, so memory does not grow with the file and
the database is never held for a whole document (on SQLite one writer at a time: the web
server writes between two batches). With each batch commits a `Checkpoint` (the last line
handled, the counts, the new row errors), handed to the caller inside that transaction: an
interrupted import goes on after the last committed batch, counting every line once.

Order importers first drop the orders whose rows were imported before exactly as they are
(`already_imported`, by a digest of the rows). A row with a bad value becomes a `RowError` and
takes its whole order out of the document: all of its rows are counted as failed, so a report
never half-imports an order. A row imported as it stands but looking wrong (amounts that do not
add up) gets a `RowWarning` from the import that reads it; a later import that skips its order
as already imported does not read it, so does not warn again. Limitation: Amazon lists an
order's rows together; if a file did not, rows of a bad order written in an earlier batch would
stay.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, TextIO, TypeVar

from django.db import transaction

from amazon_settings.models import SellerAccount
from orders import stored_texts as texts
from orders.importers.base import Checkpoint, ImportContext, ImportResult, RowError, RowWarning
from orders.importers.cells import RowProblem, parse_order_id
from orders.importers.parsing import Row, Table, column_key, read_tsv
from orders.models import Order
from orders.services.outcomes import UNCHANGED, Outcomes

# Orders per written batch: large enough for bulk statements to pay off, small enough that a
# 100,000-row document never holds more than a few thousand rows in memory.
BATCH_ORDERS = 1000

# Amazon order ids are 19 characters (3-7-7); their column holds a little more. A longer one is
# a row error: cut, two ids could become one.
ORDER_ID_MAX_LENGTH = Order._meta.get_field("amazon_order_id").max_length

# Part of every order digest (Order.import_digest): bump it when an importer reads the same
# lines differently (a new column, a fixed parser), so that stored orders are compared again
# on the next import instead of being skipped as unchanged.
DIGEST_VERSION = 3


@contextmanager
def write_transaction(context: ImportContext) -> Iterator[None]:
    """One transaction of an import's writes, taking the account's turn.

    Imports of one account take turns: the account row is locked for the transaction, so two
    workers importing overlapping reports at once (PostgreSQL) neither both count a new order
    as created nor deadlock on each other's unique keys. SQLite's IMMEDIATE transactions
    serialise writers anyway. Different accounts import in parallel.
    """
    with transaction.atomic():
        SellerAccount.objects.select_for_update().filter(pk=context.account.pk).first()
        yield


@dataclass
class Handed:
    """How many of a result's errors and warnings the checkpoints have handed over so far:
    where the next checkpoint's new ones start."""

    errors: int = 0
    warnings: int = 0


def commit_checkpoint(
    context: ImportContext, *, after_line: int, result: ImportResult, handed: Handed
) -> None:
    """Hand the caller where the import stands (inside the write's transaction), with the
    errors and warnings found since the last checkpoint; `handed` moves on past them."""
    if context.checkpoint is not None:
        context.checkpoint(
            Checkpoint(
                after_line=after_line,
                counts=result.counts(),
                new_errors=tuple(result.errors[handed.errors :]),
                new_warnings=tuple(result.warnings[handed.warnings :]),
            )
        )
    handed.errors, handed.warnings = len(result.errors), len(result.warnings)


def run_document(context: ImportContext, work: Callable[[], ImportResult]) -> ImportResult:
    """Run a whole document's import in one transaction: for importers that must see the whole
    document before writing (the stock guard) and for dry runs.

    Rolled back when `context.dry_run` (so a dry run counts exactly like a real one and leaves
    nothing behind) or when the import held the data (`held_reason`). Any exception rolls back
    everything the document wrote. The one checkpoint commits with the data, so an import
    resumed after it has nothing left to do: it answers the committed counts without reading.
    """
    if context.resume is not None and not context.dry_run:
        return ImportResult.resuming(context.resume)
    with write_transaction(context):
        result = work()
        if context.dry_run or result.held_reason:
            transaction.set_rollback(True)
        else:
            # The header is line 1: a document of n rows ends on line n + 1 at the least.
            commit_checkpoint(context, after_line=result.rows + 1, result=result, handed=Handed())
    return result


def count_outcomes(outcomes: Outcomes, result: ImportResult) -> None:
    """Add each line's outcome to the result's counters (`created`, `updated`, `unchanged`)."""
    for outcome in outcomes.by_line.values():
        setattr(result, outcome, getattr(result, outcome) + 1)


@dataclass
class DocumentState:
    """What a row importer keeps while it reads one document; importers that keep more (the
    columns they read, digests of the current batch) extend it.

    `warnings`: what `add_row` found wrong in rows it takes as they stand; the driver moves
    them into the result, or drops those of an order that a later row makes fail.
    """

    context: ImportContext
    warnings: list[RowWarning] = field(default_factory=list, kw_only=True)


Group = TypeVar("Group")
State = TypeVar("State", bound=DocumentState)


class GroupedRowImporter(Generic[Group, State]):
    """Base of the row-based importers: subclasses parse rows and write batches.

    Subclasses set `report_types`, `order_column`, `required_columns` and implement `start`
    (their state for a document, once its header is read), `add_row` (parse one row into the
    order's group; raise RowProblem before changing the group), `lines_of` and `write` (store
    a batch's groups, return per-line outcomes).
    """

    report_types: tuple[str, ...] = ()
    commits_per_batch = True
    order_column = "order-id"
    required_columns: tuple[str, ...] = ()
    # Whether groups get a digest of their lines (`set_digest`), so unchanged orders are
    # skipped on the next import of the same lines.
    digests = False

    def import_document(self, stream: TextIO, *, context: ImportContext) -> ImportResult:
        """Import one document, a transaction per batch (a dry run: one, rolled back), going
        on after `context.resume` when given. Idempotent.

        Raises DocumentRejected (nothing imported) for a document without a header or without
        a required column; bad rows become `result.errors`. Any other exception leaves the
        batches committed before it, and their checkpoint, in place.
        """
        if context.dry_run:
            return run_document(context, lambda: self._run(stream, context))
        return self._run(stream, context)

    def read(self, stream: TextIO) -> Table:
        return read_tsv(stream)

    def start(self, table: Table, context: ImportContext) -> State:
        """The state of one document's import, made once its header is read."""
        raise NotImplementedError

    def add_row(self, group: Group | None, row: Row, order_id: str, state: State) -> Group:
        raise NotImplementedError

    def lines_of(self, group: Group) -> list[int]:
        raise NotImplementedError

    def write(self, groups: list[Group], context: ImportContext) -> Outcomes:
        raise NotImplementedError

    def set_digest(self, group: Group, state: State) -> None:
        """Give a group the digests of its rows (importers with `digests`; `already_imported`
        ran on the batch before, with the same state)."""

    def _digest_seed(self, table: Table, context: ImportContext) -> str:
        """What an order's digest depends on besides its lines: the importer and its version,
        the header's columns, and the marketplaces that name an unknown sales channel."""
        columns = "\t".join(sorted(table.index, key=table.index.__getitem__))
        return "\n".join(
            [
                f"{type(self).__name__}/{DIGEST_VERSION}",
                columns,
                ",".join(context.marketplace_ids),
            ]
        )

    def already_imported(
        self, pending: dict[str, list[Row]], digester: Digester, state: State
    ) -> set[str]:
        """The order ids of `pending` whose rows are stored as they are, by their digests
        (importers with `digests`). May keep the digests in `state` for `set_digest`."""
        return set()

    def _run(self, stream: TextIO, context: ImportContext) -> ImportResult:
        table = self.read(stream)
        table.require(*self.required_columns)
        result = ImportResult.resuming(context.resume)
        # Lines up to here were committed by an interrupted import of this document.
        skip_through = context.resume.after_line if context.resume else 0
        pending: dict[str, list[Row]] = {}
        bad: set[str] = set()
        state = self.start(table, context)
        digester = Digester(self._digest_seed(table, context)) if self.digests else None
        previous = None
        last_line = skip_through
        handed = Handed()
        # The sentinel "" at the end of every row when the column is missing (see _padded).
        order_position = table.index.get(column_key(self.order_column), -1)
        for row in table.rows:
            if row.line <= skip_through:
                continue
            try:
                order_id = parse_order_id(
                    row.fields[order_position],
                    column=self.order_column,
                    max_length=ORDER_ID_MAX_LENGTH,
                )
            except RowProblem as problem:
                result.rows += 1
                result.errors.append(RowError(row.line, str(problem)))
                result.failed += 1
                last_line = row.line
                continue
            if order_id != previous and len(pending) >= BATCH_ORDERS:
                # Every line up to `last_line` is handled (written in this batch, or counted
                # as failed) and counted; this row is not yet: it goes after the checkpoint.
                self._flush(pending, context, result, state, digester, bad, last_line, handed)
                pending = {}
            result.rows += 1
            last_line = row.line
            previous = order_id
            if order_id in bad:
                result.failed += 1
                continue
            pending.setdefault(order_id, []).append(row)
        self._flush(pending, context, result, state, digester, bad, last_line, handed)
        result.errors.sort(key=lambda error: error.line_number)
        result.warnings.sort(key=lambda warning: warning.line_number)
        return result

    def _flush(
        self,
        pending: dict[str, list[Row]],
        context: ImportContext,
        result: ImportResult,
        state: State,
        digester: Digester | None,
        bad: set[str],
        after_line: int,
        handed: Handed,
    ) -> None:
        """Parse and write one batch of orders' rows in one transaction, with its checkpoint
        (every line up to `after_line` handled).

        Orders whose rows were imported before as they are (same digest) are counted unchanged
        without being parsed: re-imports and overlapping reports cost little more than reading.
        """
        with write_transaction(context):
            if digester is not None and pending:
                for order_id in self.already_imported(pending, digester, state):
                    result.unchanged += len(pending.pop(order_id))
            batch: dict[str, Group] = {}
            for order_id, rows in pending.items():
                group: Group | None = None
                warned = len(state.warnings)
                try:
                    for row in rows:
                        group = self.add_row(group, row, order_id, state)
                except RowProblem as problem:
                    # The whole order stays out of the document: its rows before and after too,
                    # and what its rows were warned of.
                    del state.warnings[warned:]
                    result.errors.append(
                        RowError(
                            row.line,
                            texts.stored_text(
                                texts.ORDER_SKIPPED, problem=problem, order_id=order_id
                            ),
                        )
                    )
                    result.failed += len(rows)
                    bad.add(order_id)
                    continue
                if digester is not None:
                    self.set_digest(group, state)
                batch[order_id] = group
            if batch:
                groups = list(batch.values())
                outcomes = self.write(groups, context)
                # Every row is counted once: a row that wrote nothing of its own (a duplicate
                # of an earlier line) is unchanged.
                for group in groups:
                    for line in self.lines_of(group):
                        outcomes.by_line.setdefault(line, UNCHANGED)
                count_outcomes(outcomes, result)
            result.warnings.extend(state.warnings)
            state.warnings.clear()
            commit_checkpoint(context, after_line=after_line, result=result, handed=handed)


class Digester:
    """Digests of document lines read in the way `seed` names (Order.import_digest): blake2b of
    the seed and the lines, each after a newline. The seed (it holds the header) is hashed once
    per document, not once per line."""

    def __init__(self, seed: str) -> None:
        self._seed = hashlib.blake2b(seed.encode(), digest_size=16)

    def __call__(self, texts: list[str]) -> str:
        digest = self._seed.copy()
        for text in texts:
            digest.update(b"\n" + text.encode())
        return digest.hexdigest()

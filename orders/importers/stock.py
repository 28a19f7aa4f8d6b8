"""FBA stock (GET_AFN_INVENTORY_DATA): a full snapshot of units per SKU and warehouse condition.

The snapshot replaces the current stock: SELLABLE and UNSELLABLE units are kept apart, a
SKU/condition missing from it drops to 0, and every change is recorded. A snapshot much smaller
than the previous one (see `orders.services.stock.STOCK_DROP_THRESHOLD`) is usually a truncated
or broken report, so it is held for the seller to confirm (`ImportResult.held_reason`) unless
the context says `accept_drop`.

Stock rows are held in memory for the guard (it needs the whole snapshot's size before writing):
one small record per SKU and condition, a few MB for a very large catalogue.
"""

from __future__ import annotations

from typing import TextIO

from orders.importers.base import ImportContext, ImportResult, RowError
from orders.importers.cells import RowProblem, parse_quantity
from orders.importers.common import required_value
from orders.importers.driver import count_outcomes, run_document
from orders.importers.parsing import read_tsv
from orders.services.stock import StockRecord, replace_stock, stock_drop_reason

REPORT_TYPES = ("GET_AFN_INVENTORY_DATA",)


class AfnStockImporter:
    report_types = REPORT_TYPES
    # The drop guard needs the whole snapshot before anything is written.
    commits_per_batch = False
    required_columns = ("seller-sku", "Warehouse-Condition-code", "Quantity Available")

    def import_document(self, stream: TextIO, *, context: ImportContext) -> ImportResult:
        """Replace the account's FBA stock with this snapshot, in one transaction. Idempotent
        (a second import records no change). Held, writing nothing, on a sharp drop unless
        `context.accept_drop`. Raises DocumentRejected without the required columns."""
        return run_document(context, lambda: self._run(stream, context))

    def _run(self, stream: TextIO, context: ImportContext) -> ImportResult:
        table = read_tsv(stream)
        table.require(*self.required_columns)
        result = ImportResult()
        records: list[StockRecord] = []
        for row in table.rows:
            result.rows += 1
            try:
                quantity = parse_quantity(
                    required_value(row, "Quantity Available"), column="Quantity Available"
                )
                records.append(
                    StockRecord(
                        sku=required_value(row, "seller-sku"),
                        condition=required_value(row, "Warehouse-Condition-code").upper(),
                        line=row.line,
                        quantity=quantity,
                        values={
                            "fnsku": row.get("fulfillment-channel-sku"),
                            "asin": row.get("asin"),
                            "condition_type": row.get("condition-type"),
                        },
                    )
                )
            except RowProblem as problem:
                result.errors.append(RowError(row.line, str(problem)))
                result.failed += 1
        if not context.accept_drop:
            reason = stock_drop_reason(
                account=context.account,
                rows=len(records),
                units=sum(r.quantity for r in records),
            )
            if reason:
                result.held_reason = reason
                return result
        outcomes = replace_stock(
            account=context.account, records=records, source_report_id=context.source_report_id
        )
        count_outcomes(outcomes, result)
        return result

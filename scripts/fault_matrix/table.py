"""The printed fault matrix: a legend of the columns, one line of figures per row with its
verdict, and under it the report's path and any timings."""

from __future__ import annotations

from collections.abc import Iterable

from scripts.fault_matrix.faults import Row

LEGEND = """\
Each row imports the MFN orders of a range of its own (one row also VCS Lite data) while its
fault strikes, lets the worker run, does what the pages tell the seller and the operator, and
compares the database with the Amazon sandbox's ground truth for the range.

  orders    imported / expected: the range's orders an MFN order report lists (paid, not
            cancelled), found in the database
  lines     stored / expected: the order lines of those orders
  lost      expected lines missing (a missing order loses all of its lines), plus expected
            invoices and credit notes missing
  doubled   lines stored beyond Amazon's number for their order, plus invoices and credit
            notes beyond Amazon's number for their shipment or return (no unique key can hide
            a double here: a line or invoice stored under another key is counted)
  wrong     orders with the right lines whose units or item amounts are not Amazon's
  invoices  stored / expected: invoices and credit notes, one per shipment and return dated in
            the range (the row that imports VCS Lite data; '-' elsewhere)
  result    ok, or what failed: lost, doubled or wrong figures, 'needed: <action>' when the
            recovery took an action the fault does not call for, or the row's own check
  then      the report's path: its states, and the actions the pages called for between
            them; and timings, where the row measures them
"""


def verdict(row: Row) -> str:
    if row.ok:
        return "ok"
    reasons = []
    t = row.tally
    if t.lost:
        reasons.append(f"LOST {t.lost}")
    if t.doubled:
        reasons.append(f"DOUBLED {t.doubled}")
    if t.orders_wrong:
        reasons.append(f"WRONG {t.orders_wrong}")
    if row.extra_actions:
        reasons.append("needed: " + ", ".join(row.extra_actions))
    if row.problem:
        reasons.append(row.problem)
    return "FAIL: " + "; ".join(reasons)


def render(rows: Iterable[Row]) -> str:
    rows = list(rows)
    width = max(len("fault"), *(len(r.fault) for r in rows))
    header = (
        f"{'fault':<{width}}  {'orders':>11}  {'lines':>11}  {'lost':>5}  {'doubled':>7}  "
        f"{'wrong':>5}  {'invoices':>9}  result"
    )
    lines = [LEGEND, header, "-" * len(header)]
    for row in rows:
        t = row.tally
        invoices = (
            "-" if t.invoices_expected is None else f"{t.invoices_stored}/{t.invoices_expected}"
        )
        lines.append(
            f"{row.fault:<{width}}  {f'{t.orders_imported}/{t.orders_expected}':>11}  "
            f"{f'{t.lines_stored}/{t.lines_expected}':>11}  {t.lost:>5}  {t.doubled:>7}  "
            f"{t.orders_wrong:>5}  {invoices:>9}  {verdict(row)}"
        )
        lines.append(f"{'':<{width}}  path: {row.path}")
        if row.recovery:
            lines.append(f"{'':<{width}}  time: {row.recovery}")
    failed = [r for r in rows if not r.ok]
    lost = sum(r.tally.lost for r in rows)
    doubled = sum(r.tally.doubled for r in rows)
    lines.append("")
    lines.append(
        f"{len(rows)} faults, {len(failed)} failed: {lost} lines or invoices lost, "
        f"{doubled} doubled."
    )
    return "\n".join(lines)

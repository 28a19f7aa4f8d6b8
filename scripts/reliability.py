"""`make reliability`: the faults Amazon and machines produce, each through the sandbox.

For every fault the product imports a range of orders while the fault strikes, the seller and
the operator do what the pages tell them, and the database is compared with the sandbox's
ground truth: lines, units, amounts and invoices lost, doubled or wrong. Prints one row per
fault with a legend of the columns; exits non-zero when any row fails. The rows, the tally
and the deliberately broken handlers are in scripts/fault_matrix/.

Runs on its own SQLite database, sandbox and local SQS server (moto) in a temporary folder;
nothing of `var/` is touched.

    --only KEY          run only these rows (repeatable; keys: kill, 429, 500, …, twice,
                        push-dropped, push-twice, push-late)
    --break-handlers    run every row with the product's handler of its fault broken on
                        purpose: every row must then fail (the matrix's own test)
    --json PATH         also write the rows as JSON
    --keep              keep the temporary folder (the product's and the sandbox's logs)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Inject every fault; tally lost and doubled.")
    parser.add_argument("--only", action="append", metavar="KEY")
    parser.add_argument("--break-handlers", action="store_true")
    parser.add_argument("--json", type=Path, metavar="PATH")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="aoi-reliability-"))
    from scripts.fault_matrix import product as product_module

    product = product_module.start(folder)
    try:
        from scripts.fault_matrix import faults, table

        unknown = set(args.only or ()) - {f.key for f in faults.FAULTS}
        if unknown:
            parser.error(f"unknown rows {sorted(unknown)}; known: {[f.key for f in faults.FAULTS]}")
        rows = faults.run(
            product,
            only=set(args.only) if args.only else None,
            break_handlers=args.break_handlers,
        )
    finally:
        product.sandbox.stop()
        product.sqs.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(table.render(rows))
    if args.keep:
        print(f"\nLogs and databases kept in {folder}")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "key": r.key,
                        "fault": r.fault,
                        "ok": r.ok,
                        "verdict": table.verdict(r),
                        "path": r.path,
                        "lost": r.tally.lost,
                        "doubled": r.tally.doubled,
                        "wrong": r.tally.orders_wrong,
                        "extra_actions": r.extra_actions,
                        "problem": r.problem,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

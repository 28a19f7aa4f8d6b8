"""The fault matrix behind `make reliability` (scripts/reliability.py).

For every fault, the product imports a range of the Amazon sandbox's orders while the fault
strikes; a seller and an operator then do what the product's pages tell them (and nothing
else), and the orders, lines, units, amounts and invoices in the database are compared with the
sandbox's ground truth. A row passes when nothing is lost, doubled or wrong and its recovery
needed no action beyond the one its fault calls for.

- `product`: the product under test (its own database and sandbox), the worker's passes, the
  pages a seller reads and the actions they take, worker processes to kill.
- `truth`: what the sandbox says was sold, and the tally of the database against it.
- `faults`: the rows, one function per fault.
- `breaks`: the product's handler of each fault, broken on purpose: `--break-handlers` runs
  every row with its own handler broken, to show that the row then fails.
- `table`: the printed table and the legend of its columns.
- `worker`: the worker process the kill rows start and kill.
"""

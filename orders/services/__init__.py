"""Writes of the orders app: idempotent upserts of what the importers read from reports.

One module per domain: `orders` (orders, their items and FBA shipment lines; what to write is
planned without a database by `order_plan`), `returns`, `stock` and `invoices`. Every service
takes records already parsed from one batch of a document (at most a few thousand), reads the
stored rows for the batch's keys in one query per table, compares (`values.merge_values`), and
writes with upserts on the unique key (`tables`: two workers racing on the same key never
create a duplicate, the loser's insert becomes an update with the same values). None of them
opens its own transaction: the import driver wraps the whole document in one
(`orders.importers.driver.run_document`).

Outcomes are counted per document line (`outcomes`): `created` when the line's record is new,
`updated` when the line brought a change to its record or to the order/item it belongs to,
`unchanged` otherwise. Totals derived from several lines (an order's sums) are not counted on
their own: the line that changed them is counted already.

Merging rule: an empty value in a report never erases a stored one (FBA shipments reports carry
empty buyer columns; MFN files carry no VAT numbers), and a value the report does not have is
not touched.
"""

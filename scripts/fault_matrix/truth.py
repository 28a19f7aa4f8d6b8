"""What a row is judged by: the sandbox's ground truth against the database.

The database's unique keys make some doubles impossible (one order per account and Amazon
order id, one line per order and order item id), so counting rows on those keys would say 0
whatever the importer did. Doubles are counted where they can really show instead: the lines
of each order against the number of lines Amazon sold (a line stored under another key is one
too many), the order's units and amounts against Amazon's, and the invoices of each shipment
or return against the transactions Amazon reports. Losses are counted the same way.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, Sum

# Orders placed this long before a range can still ship or be returned inside it (the
# sandbox's look-back for the VAT reports).
VAT_LOOK_BACK = timedelta(days=40)


@dataclass(frozen=True)
class SoldOrder:
    """One order of an MFN order report, as the sandbox sold it."""

    amazon_order_id: str
    lines: int
    units: int
    item_total: Decimal


def ground_truth(sandbox, seller: str, region: str, start: datetime, end: datetime) -> list[dict]:
    """Every order the sandbox's seller placed in [start, end), as of sandbox-now."""
    query = urlencode({"region": region, "start": start.isoformat(), "end": end.isoformat()})
    return sandbox.control(f"sellers/{seller}/orders?{query}")["orders"]


def mfn_report_orders(orders: list[dict]) -> dict[str, SoldOrder]:
    """The orders an MFN order report lists: merchant-fulfilled, paid and not cancelled."""
    return {
        o["amazon_order_id"]: SoldOrder(
            o["amazon_order_id"], o["items"], o["units"], Decimal(o["item_total"])
        )
        for o in orders
        if o["fulfillment"] == "MFN" and o["status"] not in ("Pending", "Canceled")
    }


InvoiceKey = tuple[str, str, str]  # (Amazon order id, Invoice.Kind, shipment id)


def vat_transactions(orders: list[dict], start: datetime, end: datetime) -> Counter[InvoiceKey]:
    """The invoices and credit notes a VCS Lite report of [start, end) calls for: one per
    shipment and one per return dated in the range, keyed by order, kind and shipment
    (`orders` must reach back VAT_LOOK_BACK before `start`)."""

    def inside(moment: str) -> bool:
        return start <= datetime.fromisoformat(moment) < end

    wanted: Counter[InvoiceKey] = Counter()
    for order in orders:
        for shipment in order["shipments"]:
            if inside(shipment["shipment_date"]):
                wanted[(order["amazon_order_id"], "invoice", shipment["shipment_id"])] += 1
        for ret in order["returns"]:
            if inside(ret["return_date"]):
                wanted[(order["amazon_order_id"], "credit_note", ret["shipment_id"])] += 1
    return wanted


@dataclass(frozen=True)
class Tally:
    """The database against the ground truth for one row's range."""

    orders_expected: int
    orders_imported: int
    lines_expected: int
    lines_stored: int
    # Lines of the ground truth missing from the database (a missing order loses all of its
    # lines), and lines stored beyond the ground truth's number for their order.
    lines_lost: int
    lines_doubled: int
    # Imported orders with the right number of lines whose units or amounts are not Amazon's.
    orders_wrong: int
    # None when the row imports no VAT data.
    invoices_expected: int | None = None
    invoices_stored: int = 0
    invoices_lost: int = 0
    invoices_doubled: int = 0

    @property
    def lost(self) -> int:
        return self.lines_lost + self.invoices_lost

    @property
    def doubled(self) -> int:
        return self.lines_doubled + self.invoices_doubled

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.doubled == 0 and self.orders_wrong == 0


def tally_orders(account, sold: dict[str, SoldOrder]) -> Tally:
    """Count the account's orders and lines of `sold` in the database, order by order."""
    from orders.models import Order, OrderItem

    stored_orders = dict(
        Order.objects.filter(account=account, amazon_order_id__in=list(sold)).values_list(
            "amazon_order_id", "items_total"
        )
    )
    lines = {
        row["order__amazon_order_id"]: row
        for row in OrderItem.objects.filter(
            order__account=account, order__amazon_order_id__in=list(sold)
        )
        .values("order__amazon_order_id")
        .annotate(lines=Count("pk"), units=Sum("quantity_ordered"), amount=Sum("item_price"))
    }
    lost = doubled = wrong = stored = 0
    for order_id, truth in sold.items():
        found = lines.get(order_id, {"lines": 0, "units": 0, "amount": Decimal(0)})
        stored += found["lines"]
        lost += max(0, truth.lines - found["lines"])
        doubled += max(0, found["lines"] - truth.lines)
        if (
            order_id in stored_orders
            and found["lines"] == truth.lines
            and (
                found["units"] != truth.units
                or found["amount"] != truth.item_total
                or stored_orders[order_id] != truth.item_total
            )
        ):
            wrong += 1
    return Tally(
        orders_expected=len(sold),
        orders_imported=len(stored_orders),
        lines_expected=sum(t.lines for t in sold.values()),
        lines_stored=stored,
        lines_lost=lost,
        lines_doubled=doubled,
        orders_wrong=wrong,
    )


def with_invoices(tally: Tally, account, wanted: Counter[InvoiceKey]) -> Tally:
    """`tally` with the account's invoices and credit notes counted against `wanted`, per
    order, kind and shipment; an invoice of any other transaction counts as doubled (the
    matrix imports VAT data in one row only, so every invoice of the account is that row's)."""
    from orders.models import Invoice

    stored: Counter[InvoiceKey] = Counter(
        Invoice.objects.filter(account=account).values_list(
            "amazon_order_id", "kind", "shipment_id"
        )
    )
    lost = sum(max(0, n - stored[key]) for key, n in wanted.items())
    doubled = sum(max(0, n - wanted[key]) for key, n in stored.items())
    return dataclasses.replace(
        tally,
        invoices_expected=sum(wanted.values()),
        invoices_stored=sum(stored.values()),
        invoices_lost=lost,
        invoices_doubled=doubled,
    )

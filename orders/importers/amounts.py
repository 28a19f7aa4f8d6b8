"""The amounts of an order line as the MFN and FBA order reports carry them, and whether they
add up.

Amounts are stored as the report writes them, never corrected: a line whose amounts do not add
up (a tax larger than its price, a promotion discount larger than the price it discounts or
not negative) is imported as it stands and gets a row warning saying what looks wrong, so the
seller can check it with Amazon. Promotion discounts are negative in Amazon's reports (the real
FBA shipments files show `-0.75` beside a shipping price of `0.75`), and `Order.total` adds
them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from orders.importers.base import RowWarning
from orders.models import LINE_AMOUNT_FIELDS

# The flat files' column of each amount field ("gift_wrap_price" is `gift-wrap-price`).
FLAT_COLUMNS = {name: name.replace("_", "-") for name in LINE_AMOUNT_FIELDS}

# (tax, the price it is the tax of) and (discount, the price it discounts).
_TAXED = (
    ("item_tax", "item_price"),
    ("shipping_tax", "shipping_price"),
    ("gift_wrap_tax", "gift_wrap_price"),
)
_DISCOUNTED = (
    ("item_promotion_discount", "item_price"),
    ("ship_promotion_discount", "shipping_price"),
)
_ZERO = Decimal("0.00")


def amount_warnings(
    line: int,
    amounts: Mapping[str, Decimal],
    columns: Mapping[str, str] = FLAT_COLUMNS,
    *,
    prefix: str = "",
) -> tuple[RowWarning, ...]:
    """What does not add up among one line's `amounts` (by field name; a field missing counts
    as zero), named with the report's `columns` and each reason starting with `prefix`; empty
    when everything does."""
    # Called for every row: nothing is made for a row that adds up (each new container brings
    # the garbage collector's next pass nearer, and a pass over a batch's rows is slow).
    warnings: tuple[RowWarning, ...] = ()
    for tax_field, price_field in _TAXED:
        tax, price = amounts.get(tax_field, _ZERO), amounts.get(price_field, _ZERO)
        if abs(tax) > abs(price):
            warnings += (
                RowWarning(
                    line,
                    f"{prefix}{columns[tax_field]} {tax} is more than "
                    f"{columns[price_field]} {price}; imported as it stands",
                ),
            )
    for discount_field, price_field in _DISCOUNTED:
        discount, price = amounts.get(discount_field, _ZERO), amounts.get(price_field, _ZERO)
        if discount > 0:
            warnings += (
                RowWarning(
                    line,
                    f"{prefix}{columns[discount_field]} {discount} is positive: Amazon writes "
                    "discounts as negative amounts, and the order's total adds it as it stands",
                ),
            )
        elif -discount > abs(price):
            warnings += (
                RowWarning(
                    line,
                    f"{prefix}{columns[discount_field]} {discount} takes off more than "
                    f"{columns[price_field]} {price}; imported as it stands",
                ),
            )
    return warnings

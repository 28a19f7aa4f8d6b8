"""Column rules the report importers share: buyer, ship-to and bill-to columns, marketplaces,
required values and the length of the columns that hold ids."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from django.db import models

from orders import stored_texts as texts
from orders.importers.base import ImportContext
from orders.importers.cells import RowProblem
from orders.importers.driver import DocumentState
from orders.importers.parsing import Row
from orders.marketplaces import marketplace_for_sales_channel


class BuyerColumns(NamedTuple):
    """The buyer, ship-to and bill-to columns that the MFN and FBA order reports share.

    The FBA shipments report always has the bill-to columns (often empty); some MFN order
    report layouts have them too, most do not: a column the file lacks reads as empty, which
    erases nothing.
    """

    buyer_email: str
    buyer_name: str
    buyer_phone_number: str
    recipient_name: str
    ship_address_1: str
    ship_address_2: str
    ship_address_3: str
    ship_city: str
    ship_state: str
    ship_postal_code: str
    ship_country: str
    ship_phone_number: str
    ship_service_level: str
    bill_address_1: str
    bill_address_2: str
    bill_address_3: str
    bill_city: str
    bill_state: str
    bill_postal_code: str
    bill_country: str


# The Order field of each of BuyerColumns, in their order.
_BUYER_FIELDS = tuple(
    {"buyer_phone_number": "buyer_phone", "ship_phone_number": "ship_phone"}.get(name, name)
    for name in BuyerColumns._fields
)


@dataclass
class OrderRowsState(DocumentState):
    """What the MFN and FBA order importers keep alike: how to read a row's buyer columns."""

    read_buyer: Callable[[list[str]], BuyerColumns]

    def buyer(self, row: Row) -> dict[str, str]:
        """The Order fields of the row's buyer, ship-to and bill-to columns."""
        return dict(zip(_BUYER_FIELDS, self.read_buyer(row.fields), strict=True))

    def marketplace(self, sales_channel: str) -> str:
        """The marketplace id of a sales channel (see `marketplace_for`)."""
        return marketplace_for(sales_channel, self.context)


def column_length(model: type[models.Model], field: str) -> int:
    """The length of a text column. Ids longer than their column are row errors (`parse_id`):
    cut, two ids could become one."""
    return model._meta.get_field(field).max_length


def required(value: str, column: str) -> str:
    """A value read by position (Table.columns) that must not be empty."""
    if not value:
        raise RowProblem(texts.stored_text(texts.EMPTY, column=column))
    return value


def required_value(row: Row, column: str) -> str:
    return required(row.get(column), column)


def marketplace_for(sales_channel: str, context: ImportContext) -> str:
    """The marketplace id of a sales channel; the context's only marketplace as a fallback."""
    found = marketplace_for_sales_channel(sales_channel)
    if found is None and len(context.marketplace_ids) == 1:
        return context.marketplace_ids[0]
    return found.id if found is not None else ""

"""Column rules the report importers share: buyer and ship-to columns, marketplaces, required
values."""

from __future__ import annotations

from orders.importers.base import ImportContext
from orders.importers.parsing import Row, RowProblem

# Amazon's public marketplace ids (developer-docs.amazon.com/sp-api/docs/marketplace-ids), by
# the sales-channel value report files carry and by the ISO country code the VCS report carries.
MARKETPLACE_BY_CHANNEL = {
    "amazon.de": "A1PA6795UKMFR9",
    "amazon.fr": "A13V1IB3VIYZZH",
    "amazon.it": "APJ6JRA9NG5V4",
    "amazon.es": "A1RKKUPIHCS9HS",
    "amazon.co.uk": "A1F83G8C2ARO7P",
    "amazon.nl": "A1805IZSGTT6HS",
    "amazon.se": "A2NODRKZP88ZB9",
    "amazon.pl": "A1C3SOZRARQ6R3",
    "amazon.com.be": "AMEN7PMS3EDWL",
    "amazon.com.tr": "A33AVAJ2PDY3EV",
    "amazon.com": "ATVPDKIKX0DER",
    "amazon.ca": "A2EUQ1WTGCTBG2",
    "amazon.com.mx": "A1AM78C64UM0Y8",
    "amazon.com.br": "A2Q3Y263D00KWC",
    "amazon.co.jp": "A1VC38T7YXB528",
}
MARKETPLACE_BY_COUNTRY = {
    "DE": "A1PA6795UKMFR9",
    "FR": "A13V1IB3VIYZZH",
    "IT": "APJ6JRA9NG5V4",
    "ES": "A1RKKUPIHCS9HS",
    "GB": "A1F83G8C2ARO7P",
    "UK": "A1F83G8C2ARO7P",
    "NL": "A1805IZSGTT6HS",
    "SE": "A2NODRKZP88ZB9",
    "PL": "A1C3SOZRARQ6R3",
    "BE": "AMEN7PMS3EDWL",
    "US": "ATVPDKIKX0DER",
    "CA": "A2EUQ1WTGCTBG2",
    "MX": "A1AM78C64UM0Y8",
    "JP": "A1VC38T7YXB528",
}


# The buyer and ship-to columns that the MFN and FBA order reports share: order field, column.
BUYER_AND_SHIPPING = (
    ("buyer_email", "buyer-email"),
    ("buyer_name", "buyer-name"),
    ("buyer_phone", "buyer-phone-number"),
    ("recipient_name", "recipient-name"),
    ("ship_address_1", "ship-address-1"),
    ("ship_address_2", "ship-address-2"),
    ("ship_address_3", "ship-address-3"),
    ("ship_city", "ship-city"),
    ("ship_state", "ship-state"),
    ("ship_postal_code", "ship-postal-code"),
    ("ship_country", "ship-country"),
    ("ship_phone", "ship-phone-number"),
    ("ship_service_level", "ship-service-level"),
)


BUYER_FIELDS = tuple(field for field, _ in BUYER_AND_SHIPPING)
BUYER_COLUMNS = tuple(column for _, column in BUYER_AND_SHIPPING)


def required(value: str, column: str) -> str:
    """A value read by position (Table.picker) that must not be empty."""
    if not value:
        raise RowProblem(f"{column} is empty")
    return value


def marketplace_for(sales_channel: str, context: ImportContext) -> str:
    """The marketplace id of a sales channel; the context's only marketplace as a fallback."""
    found = MARKETPLACE_BY_CHANNEL.get(sales_channel.strip().lower(), "")
    if not found and len(context.marketplace_ids) == 1:
        return context.marketplace_ids[0]
    return found


def required_value(row: Row, column: str) -> str:
    return required(row.get(column), column)

"""Amazon's marketplaces: the one table the product keeps of them.

Source: Amazon's public "Marketplace IDs" page (developer-docs.amazon.com/sp-api/docs/
marketplace-ids). `amazon_sandbox/catalog.py` keeps a list of its own on purpose: the sandbox
stands in for Amazon and imports nothing of the product.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Marketplace:
    id: str
    country_code: str  # ISO 3166: "GB" for the UK
    sales_channel: str  # as report files write it in their sales-channel column


MARKETPLACES: tuple[Marketplace, ...] = (
    Marketplace("A1PA6795UKMFR9", "DE", "Amazon.de"),
    Marketplace("A13V1IB3VIYZZH", "FR", "Amazon.fr"),
    Marketplace("APJ6JRA9NG5V4", "IT", "Amazon.it"),
    Marketplace("A1RKKUPIHCS9HS", "ES", "Amazon.es"),
    Marketplace("A1F83G8C2ARO7P", "GB", "Amazon.co.uk"),
    Marketplace("A1805IZSGTT6HS", "NL", "Amazon.nl"),
    Marketplace("A2NODRKZP88ZB9", "SE", "Amazon.se"),
    Marketplace("A1C3SOZRARQ6R3", "PL", "Amazon.pl"),
    Marketplace("AMEN7PMS3EDWL", "BE", "Amazon.com.be"),
    Marketplace("A33AVAJ2PDY3EV", "TR", "Amazon.com.tr"),
    Marketplace("ATVPDKIKX0DER", "US", "Amazon.com"),
    Marketplace("A2EUQ1WTGCTBG2", "CA", "Amazon.ca"),
    Marketplace("A1AM78C64UM0Y8", "MX", "Amazon.com.mx"),
    Marketplace("A2Q3Y263D00KWC", "BR", "Amazon.com.br"),
    Marketplace("A1VC38T7YXB528", "JP", "Amazon.co.jp"),
)

_BY_SALES_CHANNEL = {m.sales_channel.lower(): m for m in MARKETPLACES}


def marketplace_for_sales_channel(sales_channel: str) -> Marketplace | None:
    """The marketplace a report's sales-channel value names ("Amazon.de", any case), if any."""
    return _BY_SALES_CHANNEL.get(sales_channel.strip().lower())

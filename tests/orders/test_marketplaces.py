"""The product's marketplace table and the sandbox's own list (each keeps one, see
orders/marketplaces.py) name the same marketplaces by the same ids."""

from __future__ import annotations

from amazon_sandbox.catalog import MARKETPLACES as SANDBOX_MARKETPLACES
from orders.marketplaces import MARKETPLACES, marketplace_for_sales_channel


def test_every_sandbox_marketplace_is_in_the_products_table():
    for sandbox in SANDBOX_MARKETPLACES.values():
        found = marketplace_for_sales_channel(sandbox.sales_channel)
        assert found is not None, sandbox.sales_channel
        assert (found.id, found.country_code) == (sandbox.id, sandbox.country_code)


def test_sales_channels_match_without_case_or_surrounding_spaces():
    assert marketplace_for_sales_channel(" amazon.DE ").id == "A1PA6795UKMFR9"
    assert marketplace_for_sales_channel("Non-Amazon") is None
    assert len({m.id for m in MARKETPLACES}) == len({m.sales_channel for m in MARKETPLACES})

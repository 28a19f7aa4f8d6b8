"""Shared helpers for the orders tests: an account, documents from the sandbox generator, and a
one-call import."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from amazon_sandbox.catalog import MARKETPLACES, seller_by_id
from amazon_sandbox.generator import render_report
from amazon_settings.models import AccountMarketplace, InvoicingMode, SellerAccount
from orders.importers.base import ImportContext, ImportResult
from orders.importers.parsing import text_stream
from orders.importers.registry import get_importer
from tests.testdata import SAMPLES_DIR

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
EU_SELLER = seller_by_id("A2MUELLERHW7QX", "eu")
NA_SELLER = seller_by_id("A3CEDARRIDGE9K", "na")


def seller_for(report_type: str):
    from amazon_sandbox.catalog import REPORT_TYPES

    return EU_SELLER if "eu" in REPORT_TYPES[report_type].regions else NA_SELLER


def render(report_type: str, start: datetime, end: datetime, *, now: datetime = NOW) -> str:
    seller = seller_for(report_type)
    return render_report(
        report_type,
        seller=seller,
        marketplace_ids=seller.marketplace_ids,
        data_start=start,
        data_end=end,
        now=now,
    ).text


def run_import(account: SellerAccount, report_type: str, text: str, **context_args) -> ImportResult:
    context = ImportContext(account=account, report_type=report_type, **context_args)
    return get_importer(report_type).import_document(text_stream(text), context=context)


# The seller's legal data an invoice issued here prints.
SELLER_DATA = {
    "seller_legal_name": "Müller Haushaltswaren GmbH",
    "seller_street": "Hauptstraße 5",
    "seller_postal_code": "10115",
    "seller_city": "Berlin",
    "seller_country": "DE",
    "seller_vat_id": "DE123456789",
}


def set_invoicing(
    account: SellerAccount, *, mode: str = InvoicingMode.VCS_LITE, legal_data: bool = True
) -> list[AccountMarketplace]:
    """The EU test seller's marketplaces on the account, each in `mode`, with the seller's legal
    data (or none)."""
    marketplaces = []
    for marketplace_id in EU_SELLER.marketplace_ids:
        marketplace = MARKETPLACES[marketplace_id]
        values = {
            "country_code": marketplace.country_code,
            "name": marketplace.name,
            "invoicing_mode": mode,
            **(SELLER_DATA if legal_data else dict.fromkeys(SELLER_DATA, "")),
        }
        found, _ = AccountMarketplace.objects.update_or_create(
            account=account, marketplace_id=marketplace_id, defaults=values
        )
        marketplaces.append(found)
    return marketplaces


def sample(name_prefix: str) -> list[Path]:
    return sorted(SAMPLES_DIR.glob(f"{name_prefix}*"))


@pytest.fixture
def account(db) -> SellerAccount:
    return SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX", region="eu", display_name="Müller"
    )


@pytest.fixture
def other_account(db) -> SellerAccount:
    return SellerAccount.objects.create(
        selling_partner_id="A3CEDARRIDGE9K", region="na", display_name="Cedar Ridge"
    )

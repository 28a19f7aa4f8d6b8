"""Shared helpers for the orders tests: an account, documents from the sandbox generator, and a
one-call import."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from amazon_sandbox.catalog import seller_by_id
from amazon_sandbox.generator import render_report
from amazon_settings.models import SellerAccount
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

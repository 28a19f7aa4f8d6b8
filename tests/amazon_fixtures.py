"""Fixtures that point the product at the running Amazon sandbox and connect accounts."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.utils import timezone

from amazon_sandbox.catalog import MARKETPLACES, seller_by_id
from amazon_settings import crypto
from amazon_settings.models import AccountMarketplace, SellerAccount
from tests.sandbox_server import APP_ID, CLIENT_ID, CLIENT_SECRET

EU_SELLER = "A2MUELLERHW7QX"  # DE, FR, IT, ES, UK
NA_SELLER = "A3CEDARRIDGE9K"  # US, CA
SANDBOX_CALLBACK = "http://127.0.0.1:8000/settings/connect/callback/"


@pytest.fixture
def amazon(sandbox, settings):
    """The product pointed at the sandbox, as AMAZON_SANDBOX_URL does, on a clean sandbox."""
    sandbox.reset()
    # Access tokens cached by an earlier test belong to a sandbox state that is gone now.
    cache.clear()
    base = sandbox.base_url
    settings.SELLER_CENTRAL_URLS = {"eu": f"{base}/eu", "na": f"{base}/na"}
    settings.SPAPI_ENDPOINTS = {"eu": f"{base}/eu", "na": f"{base}/na"}
    settings.LWA_TOKEN_URL = f"{base}/auth/o2/token"
    settings.SPAPI_APP_ID = APP_ID
    settings.LWA_CLIENT_ID = CLIENT_ID
    settings.LWA_CLIENT_SECRET = CLIENT_SECRET
    settings.SPAPI_APP_IS_DRAFT = True
    settings.SPAPI_REDIRECT_URI = SANDBOX_CALLBACK
    # A button's call shows Amazon's error at once instead of retrying it (the worker's calls
    # never retry inside the call).
    settings.SPAPI_INTERACTIVE_RETRIES = 0
    return sandbox


# The sandbox's seller histories the pipeline and end-to-end tests run under (0 is the demo's).
SANDBOX_HISTORIES = (0, 1, 2, 3, 4)


@pytest.fixture(params=SANDBOX_HISTORIES, ids=lambda history: f"history{history}")
def sandbox_history(request, amazon) -> int:
    """The clean sandbox of `amazon`, serving one of several order histories per test run."""
    amazon.use_history(request.param)
    return request.param


@pytest.fixture
def shared_clock(amazon, monkeypatch):
    """The product's clock (django.utils.timezone.now) runs on the sandbox's time: whenever the
    test advances the sandbox clock, the product's moves as far. Hours pass for both at once,
    and the product asks for ranges up to the sandbox's now, as it would after waiting."""
    real_now = timezone.now
    offset = {"seconds": amazon.control("clock")["offset_seconds"]}
    advance = amazon.advance_clock

    def advance_both(seconds: float) -> dict:
        state = advance(seconds)
        offset["seconds"] = state["offset_seconds"]
        return state

    monkeypatch.setattr(amazon, "advance_clock", advance_both)
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(seconds=offset["seconds"]))
    return amazon


def connect_demo_seller(
    sandbox, selling_partner_id: str = EU_SELLER, region: str = "eu", *, import_active=True
) -> SellerAccount:
    """An account connected the way self-authorization does, with its marketplaces."""
    seller = seller_by_id(selling_partner_id, region)
    account = SellerAccount.objects.create(
        selling_partner_id=selling_partner_id,
        region=region,
        display_name=seller.store_name,
        refresh_token_encrypted=crypto.encrypt_secret(
            sandbox.refresh_token(selling_partner_id, region)
        ),
        status=SellerAccount.Status.CONNECTED,
        order_import_active=import_active,
    )
    for marketplace_id in seller.marketplace_ids:
        marketplace = MARKETPLACES[marketplace_id]
        AccountMarketplace.objects.create(
            account=account,
            marketplace_id=marketplace_id,
            country_code=marketplace.country_code,
            name=marketplace.name,
            currency=marketplace.currency,
        )
    return account


@pytest.fixture
def eu_account(amazon, db) -> SellerAccount:
    return connect_demo_seller(amazon)


def sandbox_orders(
    sandbox, start: datetime, end: datetime, *, seller: str = EU_SELLER, region: str = "eu"
) -> list[dict]:
    """The sandbox's ground truth: every order placed in [start, end), sorted by purchase."""
    query = urlencode({"region": region, "start": start.isoformat(), "end": end.isoformat()})
    return sandbox.control(f"sellers/{seller}/orders?{query}")["orders"]


def in_mfn_report(order: dict) -> bool:
    """Whether an MFN order report lists the order: paid, so not pending, and not cancelled."""
    return order["fulfillment"] == "MFN" and order["status"] not in ("Pending", "Canceled")


def mfn_report_orders(sandbox, start: datetime, end: datetime, **seller) -> dict[str, int]:
    """The orders an MFN order report of [start, end) lists, each with its number of lines
    (one per item)."""
    return {
        o["amazon_order_id"]: o["items"]
        for o in sandbox_orders(sandbox, start, end, **seller)
        if in_mfn_report(o)
    }


def ranges_sharing_an_order(
    sandbox, *, now: datetime
) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    """Two three-day ranges in whole hours that overlap by one day holding at least one MFN
    order, whatever the history: the overlap is placed on an order the sandbox has."""
    window_end = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=4)
    orders = [
        o
        for o in sandbox_orders(sandbox, window_end - timedelta(days=8), window_end)
        if in_mfn_report(o)
    ]
    assert orders, "the sandbox has no MFN order in eight days: its history is not realistic"
    anchor = datetime.fromisoformat(orders[len(orders) // 2]["purchase_date"])
    overlap_start = anchor.replace(minute=0, second=0, microsecond=0)
    first = (overlap_start - timedelta(days=2), overlap_start + timedelta(days=1))
    second = (overlap_start, overlap_start + timedelta(days=3))
    return first, second

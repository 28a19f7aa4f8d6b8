"""Fixtures that point the product at the running Amazon sandbox and connect accounts."""

from __future__ import annotations

import pytest
from django.core.cache import cache

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
    # Errors reach the pipeline at once instead of being retried inside the call.
    settings.SPAPI_MAX_RETRIES = 0
    return sandbox


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

"""Settings and Data exchange » Log for a German browser: the seller's words, German status
words and form errors, Amazon's refusals explained in German."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from amazon_settings import error_texts, selectors
from amazon_settings.models import AccountMarketplace, ApiCall, SellerAccount
from amazon_settings.spapi import SpApiAuthError, SpApiThrottled
from tests.german import GERMAN, assert_german, compiled_catalogue, page_text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures(compiled_catalogue.__name__)]


@pytest.fixture
def account() -> SellerAccount:
    now = timezone.now()
    account = SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX",
        region="eu",
        display_name="Müller",
        refresh_token_encrypted="encrypted",
        authorized_at=now - timedelta(days=360) + timedelta(hours=1),
        last_success_at=now,
        status=SellerAccount.Status.CONNECTED,
    )
    AccountMarketplace.objects.create(
        account=account, marketplace_id="A1PA6795UKMFR9", country_code="DE", name="Amazon.de"
    )
    return account


def test_settings_in_german(logged_in_client, account):
    response = logged_in_client.get(reverse("amazon_settings:settings"), **GERMAN)
    assert_german(
        response,
        german=[
            "Einstellungen",
            "Amazon-Verkäuferkonto verbinden",
            "Berechtigung erneuern",
            "Berechtigung läuft in 5 Tagen ab",
            "Bestellimport aus",
            "Marktplätze speichern",
            "Europa",
        ],
        english=[
            "Renew access",
            "Authorization expires in",
            "Order import off",
            "Save marketplaces",
            "Test connection",
        ],
    )


def test_one_day_left_is_singular(account):
    account.authorized_at = timezone.now() - timedelta(days=364, hours=1)
    with translation.override("de"):
        assert selectors.connection_status(account).label == "Berechtigung läuft in 1 Tag ab"
    with translation.override("en"):
        assert selectors.connection_status(account).label == "Authorization expires in 1 day"


def test_a_bad_refresh_token_is_refused_in_german(logged_in_client, account):
    response = logged_in_client.post(
        reverse("amazon_settings:self_authorize"),
        {"selling_partner_id": "a3", "region": "eu", "refresh_token": "not-a-token"},
        **GERMAN,
    )
    assert response.status_code == 400
    text = page_text(response)
    assert "Geben Sie den Händler-Token ein: 8 bis 20 Großbuchstaben und Ziffern." in text
    assert "Das ist kein Refresh-Token: Amazons Refresh-Tokens beginnen mit Atzr|." in text
    assert "Enter the merchant token" not in text and "This is not a refresh token" not in text


def test_the_log_in_german(logged_in_client, account):
    ApiCall.objects.create(
        at=timezone.now(),
        account=account,
        operation="Reports.createReport",
        method="POST",
        path="/reports/2021-06-30/reports",
        outcome=ApiCall.Outcome.DENIED,
        http_status=403,
        duration_ms=120,
        attempt=2,
    )
    response = logged_in_client.get(reverse("amazon_settings:log"), **GERMAN)
    assert_german(
        response,
        german=[
            "Datenaustausch » Protokoll",
            "Alle Operationen",
            "Zugriff verweigert",
            "Versuch 2",
            "Lösung: Berechtigung unter Einstellungen erneuern",
        ],
        english=[
            "Every call this dashboard",
            "All operations",
            "Access denied",
            "try 2",
            "Fix: renew",
        ],
    )


def test_amazon_s_refusals_in_german_with_amazon_s_own_words():
    throttled = SpApiThrottled(
        operation="Reports.getReport",
        status=429,
        code="QuotaExceeded",
        retry_after=2.0,
        message="You exceeded your quota.",
    )
    revoked = SpApiAuthError(
        operation="LWA.refreshToken",
        status=400,
        reason="authorization_revoked",
        code="invalid_grant",
    )
    with translation.override("de"):
        assert error_texts.describe(throttled) == (
            "Amazon hat Reports.getReport gedrosselt; erneuter Versuch in 2 s "
            "(429 QuotaExceeded: You exceeded your quota.)"
        )
        assert error_texts.describe(revoked).startswith(
            "Amazon akzeptiert die Berechtigung dieses Verkäufers nicht mehr"
        )
    # In English, the page's sentence is the client's own.
    with translation.override("en"):
        assert error_texts.describe(throttled) == str(throttled)

"""Settings without Amazon: encryption at rest, the consent state, status from evidence."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from amazon_settings import consent, crypto
from amazon_settings.context_processors import attention_banner
from amazon_settings.exceptions import ConsentStateInvalid, TokenDecryptionFailed
from amazon_settings.models import ApiCall, SellerAccount
from amazon_settings.selectors import accounts_needing_attention, connection_status

Status = SellerAccount.Status
TOKEN = "Atzr|IwEBIDemoRefreshTokenThatMustNeverBeStoredInClearText"


def make_account(**fields) -> SellerAccount:
    defaults = {
        "selling_partner_id": "A1TESTSELLER01",
        "region": "eu",
        "display_name": "Müller GmbH",
        "refresh_token_encrypted": crypto.encrypt_secret(TOKEN),
        "authorized_at": timezone.now(),
        "status": Status.CONNECTED,
        "last_success_at": timezone.now(),
    }
    defaults.update(fields)
    return SellerAccount.objects.create(**defaults)


@pytest.mark.django_db
def test_the_raw_database_value_is_not_the_token():
    account = make_account()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT refresh_token_encrypted FROM amazon_settings_selleraccount WHERE id = %s",
            [account.pk],
        )
        (raw,) = cursor.fetchone()
    assert TOKEN not in raw
    assert "Atzr" not in raw
    assert crypto.decrypt_secret(raw) == TOKEN


@pytest.mark.django_db
def test_key_rotation_keeps_old_tokens_readable(settings):
    old_key = settings.TOKEN_ENCRYPTION_KEYS[0]
    ciphertext = crypto.encrypt_secret(TOKEN)
    new_key = Fernet.generate_key().decode()
    with override_settings(TOKEN_ENCRYPTION_KEYS=[new_key, old_key]):
        assert crypto.decrypt_secret(ciphertext) == TOKEN
        rotated = crypto.reencrypt_secret(ciphertext)
    with override_settings(TOKEN_ENCRYPTION_KEYS=[new_key]):
        assert crypto.decrypt_secret(rotated) == TOKEN
        with pytest.raises(TokenDecryptionFailed, match="TOKEN_ENCRYPTION_KEYS"):
            crypto.decrypt_secret(ciphertext)


def test_token_never_appears_in_the_decryption_error(settings):
    ciphertext = crypto.encrypt_secret(TOKEN)
    with override_settings(TOKEN_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        with pytest.raises(TokenDecryptionFailed) as caught:
            crypto.decrypt_secret(ciphertext)
    assert TOKEN not in str(caught.value) and ciphertext not in str(caught.value)


class FakeSession(dict):
    pass


def test_consent_state_is_single_use():
    session = FakeSession()
    state = consent.issue_state(session, region="eu", redirect_uri="http://x/cb/")
    pending = consent.consume_state(session, state)
    assert pending.region == "eu" and pending.redirect_uri == "http://x/cb/"
    with pytest.raises(ConsentStateInvalid, match="already used"):
        consent.consume_state(session, state)


def test_consent_state_expires_after_ten_minutes(monkeypatch):
    session = FakeSession()
    state = consent.issue_state(session, region="na", redirect_uri="http://x/cb/")
    real_time = consent.time.time
    monkeypatch.setattr(consent.time, "time", lambda: real_time() + 601)
    with pytest.raises(ConsentStateInvalid, match="expired"):
        consent.consume_state(session, state)


def test_consent_state_must_be_present_and_known():
    session = FakeSession()
    consent.issue_state(session, region="eu", redirect_uri="http://x/cb/")
    with pytest.raises(ConsentStateInvalid, match="no state"):
        consent.consume_state(session, "")
    with pytest.raises(ConsentStateInvalid, match="does not belong"):
        consent.consume_state(session, "forged-state")


def test_states_are_random_and_bounded():
    session = FakeSession()
    states = {consent.issue_state(session, region="eu", redirect_uri="u") for _ in range(8)}
    assert len(states) == 8
    assert len(session[consent.SESSION_KEY]) == consent.MAX_PENDING_STATES
    assert all(len(state) >= 40 for state in states)


@override_settings(
    SPAPI_APP_ID="amzn1.sellerapps.app.test",
    SPAPI_APP_IS_DRAFT=True,
    SELLER_CENTRAL_URLS={"eu": "https://sellercentral-europe.amazon.com", "na": "https://n"},
)
def test_consent_url_follows_amazons_format():
    url = consent.consent_url(region="eu", state="s1", redirect_uri="https://me/cb/")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://sellercentral-europe.amazon.com/apps/authorize/consent"
    )
    assert parse_qs(parts.query) == {
        "application_id": ["amzn1.sellerapps.app.test"],
        "state": ["s1"],
        "redirect_uri": ["https://me/cb/"],
        "version": ["beta"],
    }
    with override_settings(SPAPI_APP_IS_DRAFT=False):
        assert "version" not in consent.consent_url(region="eu", state="s", redirect_uri="u")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "key", "action"),
    [
        ({}, "connected", ""),
        ({"status": Status.NEVER_CHECKED, "last_success_at": None}, "never_checked", "test"),
        (
            {
                "status": Status.ACCESS_DENIED,
                "status_detail": "Amazon denied access to Reports.getReportSchedules.",
            },
            "access_denied",
            "renew",
        ),
        ({"status": Status.AUTHORIZATION_REVOKED}, "authorization_revoked", "renew"),
        ({"status": Status.CLIENT_REJECTED}, "client_rejected", "test"),
        ({"status": Status.UNREACHABLE, "last_error": "Connection refused"}, "unreachable", "test"),
        ({"authorized_at": timezone.now() - timedelta(days=350)}, "expiring", "renew"),
        ({"authorized_at": timezone.now() - timedelta(days=366)}, "expired", "renew"),
        ({"status": Status.DISCONNECTED, "refresh_token_encrypted": ""}, "disconnected", "renew"),
    ],
)
def test_connection_status_from_evidence(fields, key, action):
    status = connection_status(make_account(**fields))
    assert status.key == key
    assert status.action == action
    assert status.explanation.endswith(".")


@pytest.mark.django_db
def test_expiry_counts_the_days_left():
    account = make_account(authorized_at=timezone.now() - timedelta(days=365 - 12, hours=1))
    assert connection_status(account).label == "Authorization expires in 11 days"


@pytest.mark.django_db
def test_access_denied_names_the_operation():
    account = make_account(
        status=Status.ACCESS_DENIED,
        status_detail="Amazon denied access to Reports.getReportSchedules.",
    )
    assert "Reports.getReportSchedules" in connection_status(account).explanation


@pytest.mark.django_db
def test_banner_names_accounts_that_need_attention(logged_in_client):
    make_account(status=Status.AUTHORIZATION_REVOKED, display_name="Revoked Shop")
    make_account(selling_partner_id="A2FINESHOP0002", display_name="Fine Shop")
    body = logged_in_client.get("/").content.decode()
    assert "Revoked Shop: Authorization revoked." in body
    assert "Fine Shop:" not in body


@pytest.mark.django_db
def test_banner_reads_exactly_the_accounts_whose_status_needs_attention():
    """The banner's query reads only the accounts that can need attention; which ones do is
    still connection_status()'s to say, for every stored status, age and token."""
    ages = [None, 1, 334, 336, 364, 366, 800]  # days since authorization; warning from 335
    accounts = [
        make_account(
            selling_partner_id=f"A{index:04d}{status[:6].upper()}",
            status=status,
            authorized_at=None if age is None else timezone.now() - timedelta(days=age),
            refresh_token_encrypted=crypto.encrypt_secret(TOKEN) if token else "",
            last_success_at=None if status == Status.NEVER_CHECKED else timezone.now(),
        )
        for index, (status, age, token) in enumerate(
            (status, age, token) for status in Status for age in ages for token in (True, False)
        )
    ]
    expected = {a.pk for a in accounts if connection_status(a).needs_attention}
    assert len(expected) > 10
    assert {account.pk for account, _ in accounts_needing_attention()} == expected


def test_the_banner_is_read_only_when_shown(rf, user, django_assert_num_queries):
    """An htmx fragment rendered with the request shows no banner and asks nothing for it."""
    make_account(status=Status.AUTHORIZATION_REVOKED, display_name="Revoked Shop")
    request = rf.get("/")
    request.user = user
    with django_assert_num_queries(0):
        context = attention_banner(request)
    with django_assert_num_queries(1):
        names = [account.display_name for account, _ in context["accounts_needing_attention"]]
    assert names == ["Revoked Shop"]


@pytest.mark.django_db
def test_connect_start_redirects_to_the_consent_page_without_referrer(logged_in_client):
    response = logged_in_client.post("/settings/connect/", {"region": "na"})
    assert response.status_code == 302
    assert response["Referrer-Policy"] == "no-referrer"
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["state"][0] in logged_in_client.session[consent.SESSION_KEY]
    assert query["redirect_uri"] == ["http://testserver/settings/connect/callback/"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "no state"),
        ("?state=forged&selling_partner_id=A1TESTSELLER01&spapi_oauth_code=c", "does not belong"),
    ],
)
def test_a_bad_callback_shows_a_page_stores_nothing_and_is_logged(logged_in_client, query, message):
    logged_in_client.post("/settings/connect/", {"region": "eu"})
    response = logged_in_client.get(f"/settings/connect/callback/{query}")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert SellerAccount.objects.count() == 0
    assert ApiCall.objects.get().operation == "Consent.callback"


@pytest.mark.django_db
def test_settings_page_never_shows_the_token(logged_in_client):
    account = make_account()
    body = logged_in_client.get("/settings/").content.decode()
    assert account.display_name in body
    assert TOKEN not in body and account.refresh_token_encrypted not in body


@pytest.mark.django_db
def test_admin_never_shows_the_token(admin_client):
    account = make_account()
    body = admin_client.get(f"/admin/amazon_settings/selleraccount/{account.pk}/change/")
    assert body.status_code == 200
    text = body.content.decode()
    assert TOKEN not in text and account.refresh_token_encrypted not in text


@pytest.mark.django_db
def test_disconnect_deletes_the_token_and_keeps_the_account(logged_in_client):
    account = make_account(order_import_active=True)
    ApiCall.objects.create(
        at=timezone.now(), account=account, operation="x", method="GET", path="/", outcome="success"
    )
    response = logged_in_client.post(f"/settings/accounts/{account.pk}/disconnect/")
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.refresh_token_encrypted == ""
    assert not account.order_import_active
    assert connection_status(account).key == "disconnected"
    assert account.api_calls.count() == 1


@pytest.mark.django_db
def test_order_import_is_off_by_default_and_toggles(logged_in_client):
    account = make_account()
    assert not account.order_import_active
    logged_in_client.post(f"/settings/accounts/{account.pk}/order-import/", {"active": "on"})
    account.refresh_from_db()
    assert account.order_import_active
    logged_in_client.post(f"/settings/accounts/{account.pk}/order-import/", {})
    account.refresh_from_db()
    assert not account.order_import_active


@pytest.mark.django_db
def test_self_authorization_rejects_what_is_not_a_refresh_token(logged_in_client):
    response = logged_in_client.post(
        "/settings/self-authorize/",
        {"selling_partner_id": "A1TESTSELLER01", "region": "eu", "refresh_token": "hello"},
    )
    assert response.status_code == 400
    assert "start with Atzr|" in response.content.decode()
    assert SellerAccount.objects.count() == 0


@pytest.mark.django_db
def test_old_log_entries_are_pruned():
    from amazon_settings.services import prune_api_calls

    old = timezone.now() - timedelta(days=91)
    ApiCall.objects.create(at=old, operation="x", method="GET", path="/", outcome="success")
    ApiCall.objects.create(
        at=timezone.now(), operation="y", method="GET", path="/", outcome="success"
    )
    assert prune_api_calls() == 1
    assert prune_api_calls() == 0  # twice is safe
    assert list(ApiCall.objects.values_list("operation", flat=True)) == ["y"]


@pytest.mark.django_db
def test_usable_accounts_are_connected_and_not_refused():
    usable = {
        make_account(selling_partner_id=f"A1USABLE{status[:6].upper()}", status=status)
        for status in (Status.CONNECTED, Status.NEVER_CHECKED, Status.UNREACHABLE)
    }
    refused = [
        make_account(selling_partner_id=f"A1REFUSED{status[:6].upper()}", status=status)
        for status in SellerAccount.REFUSED_STATUSES
    ]
    tokenless = make_account(selling_partner_id="A1NOTOKEN", refresh_token_encrypted="")

    assert set(SellerAccount.objects.usable()) == usable
    assert set(SellerAccount.objects.connected()) == usable | set(refused)
    assert {a for a in SellerAccount.objects.all() if a.is_usable} == usable
    assert not tokenless.is_usable


@pytest.mark.django_db
def test_selected_marketplace_ids_are_the_ticked_ones_sorted():
    account = make_account()
    for marketplace_id, selected in (("A1PA6795UKMFR9", True), ("A13V1IB3VIYZZH", True)):
        account.marketplaces.create(
            marketplace_id=marketplace_id, country_code="DE", name="x", selected=selected
        )
    account.marketplaces.create(
        marketplace_id="APJ6JRA9NG5V4", country_code="IT", name="y", selected=False
    )
    assert account.marketplaces.selected_ids() == ["A13V1IB3VIYZZH", "A1PA6795UKMFR9"]

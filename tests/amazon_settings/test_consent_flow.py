"""Settings against the Amazon sandbox over real HTTP: consent, renew, disconnect, statuses."""

from __future__ import annotations

import html
import logging
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from amazon_settings import crypto
from amazon_settings.models import ApiCall, SellerAccount
from amazon_settings.selectors import connection_status
from amazon_settings.services import check_connection, forget_access_token

pytestmark = pytest.mark.django_db

EU_SELLER = "A2MUELLERHW7QX"
NA_SELLER = "A3CEDARRIDGE9K"
CALLBACK = "http://127.0.0.1:8000/settings/connect/callback/"


class FormFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "hidden":
            self.fields[attributes["name"]] = attributes.get("value") or ""


def consent_on_amazon(
    consent_url: str, *, seller: str, action: str = "confirm"
) -> requests.Response:
    """What the seller does in the browser on Seller Central's consent page."""
    page = requests.get(consent_url, timeout=10)
    assert page.status_code == 200, page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    parser = FormFields()
    parser.feed(page.text)
    return requests.post(
        consent_url,
        data={**parser.fields, "selling_partner_id": seller, "action": action},
        allow_redirects=False,
        timeout=10,
    )


def callback_path(amazon_answer: requests.Response) -> str:
    assert amazon_answer.status_code == 302, amazon_answer.text
    location = urlsplit(amazon_answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    return f"{location.path}?{location.query}"


def connect(
    client, *, region: str = "eu", seller: str = EU_SELLER, start: str = "/settings/connect/"
):
    started = client.post(start, {"region": region})
    assert started.status_code == 302
    return client.get(callback_path(consent_on_amazon(started["Location"], seller=seller)))


def test_connect_through_the_consent_page(logged_in_client, amazon, caplog):
    caplog.set_level(logging.DEBUG)
    response = connect(logged_in_client)
    assert response.status_code == 302
    account = SellerAccount.objects.get()
    assert (account.selling_partner_id, account.region) == (EU_SELLER, "eu")
    assert account.display_name == "Müller Haushaltswaren"
    assert connection_status(account).key == "connected"
    assert sorted(account.marketplaces.values_list("country_code", flat=True)) == [
        "DE",
        "ES",
        "FR",
        "GB",
        "IT",
    ]
    page = logged_in_client.get("/settings/").content.decode()
    assert "is connected: Amazon granted access to 5 marketplaces" in page
    assert "Amazon.de (DE)" in page
    assert str(account.authorization_expires_at.year) in page
    # The token is stored encrypted, and never logged.
    refresh_token = crypto.decrypt_secret(account.refresh_token_encrypted)
    assert refresh_token.startswith("Atzr|")
    assert "Atzr|" not in caplog.text and "Atza|" not in caplog.text
    for call in ApiCall.objects.all():
        assert "Atz" not in f"{call.path} {call.error_message}"
    assert set(ApiCall.objects.values_list("operation", flat=True)) == {
        "LWA.exchangeCode",
        "LWA.refreshToken",
        "Sellers.getMarketplaceParticipations",
    }
    assert not ApiCall.objects.exclude(outcome="success").exists()


def test_renew_updates_the_same_account(logged_in_client, amazon):
    connect(logged_in_client)
    account = SellerAccount.objects.get()
    first_grant, first_cipher = account.authorized_at, account.refresh_token_encrypted
    renewed = logged_in_client.post(f"/settings/accounts/{account.pk}/renew/")
    assert renewed["Referrer-Policy"] == "no-referrer"
    logged_in_client.get(callback_path(consent_on_amazon(renewed["Location"], seller=EU_SELLER)))
    account.refresh_from_db()
    assert SellerAccount.objects.count() == 1
    assert account.authorized_at > first_grant
    assert account.refresh_token_encrypted != first_cipher


def test_disconnect_then_connect_again(logged_in_client, amazon):
    connect(logged_in_client)
    account = SellerAccount.objects.get()
    logged_in_client.post(f"/settings/accounts/{account.pk}/disconnect/")
    account.refresh_from_db()
    assert connection_status(account).key == "disconnected"
    connect(logged_in_client)
    account.refresh_from_db()
    assert connection_status(account).key == "connected"


def test_a_replayed_callback_is_refused(logged_in_client, amazon):
    started = logged_in_client.post("/settings/connect/", {"region": "eu"})
    path = callback_path(consent_on_amazon(started["Location"], seller=EU_SELLER))
    assert logged_in_client.get(path).status_code == 302
    account = SellerAccount.objects.get()
    replay = logged_in_client.get(path)
    assert replay.status_code == 400
    assert "already used" in replay.content.decode()
    assert SellerAccount.objects.get().refresh_token_encrypted == account.refresh_token_encrypted


def test_a_reused_code_with_a_fresh_state_stores_nothing(logged_in_client, amazon):
    started = logged_in_client.post("/settings/connect/", {"region": "eu"})
    path = callback_path(consent_on_amazon(started["Location"], seller=EU_SELLER))
    code = re.search(r"spapi_oauth_code=([^&]+)", path).group(1)
    logged_in_client.get(path)
    SellerAccount.objects.all().delete()
    second = logged_in_client.post("/settings/connect/", {"region": "eu"})
    state = re.search(r"state=([^&]+)", second["Location"]).group(1)
    response = logged_in_client.get(
        f"/settings/connect/callback/?state={state}&selling_partner_id={EU_SELLER}&spapi_oauth_code={code}"
    )
    assert response.status_code == 400
    assert "Amazon did not accept the authorization" in response.content.decode()
    assert SellerAccount.objects.count() == 0


def test_an_expired_code_stores_nothing(logged_in_client, amazon):
    started = logged_in_client.post("/settings/connect/", {"region": "eu"})
    path = callback_path(consent_on_amazon(started["Location"], seller=EU_SELLER))
    amazon.advance_clock(301)  # the code lives five minutes
    response = logged_in_client.get(path)
    assert response.status_code == 400
    assert SellerAccount.objects.count() == 0


def test_cancel_on_amazon_connects_nothing(logged_in_client, amazon):
    amazon.control("app", {"cancel_mode": "redirect"})
    started = logged_in_client.post("/settings/connect/", {"region": "na"})
    answer = consent_on_amazon(started["Location"], seller=NA_SELLER, action="cancel")
    response = logged_in_client.get(callback_path(answer))
    assert "The authorization was cancelled on Amazon" in response.content.decode()
    assert SellerAccount.objects.count() == 0


def test_revoked_authorization_shows_in_settings_and_the_banner(logged_in_client, amazon):
    connect(logged_in_client)
    account = SellerAccount.objects.get()
    amazon.control(f"sellers/{EU_SELLER}/revoke", {"region": "eu"})
    forget_access_token(account)
    logged_in_client.post(f"/settings/accounts/{account.pk}/test/")
    account.refresh_from_db()
    assert connection_status(account).key == "authorization_revoked"
    home = logged_in_client.get("/").content.decode()
    assert "Müller Haushaltswaren: Authorization revoked." in home
    settings_page = logged_in_client.get("/settings/").content.decode()
    assert "Renew access" in settings_page
    # Renewing through the consent page brings the account back.
    renewed = logged_in_client.post(f"/settings/accounts/{account.pk}/renew/")
    logged_in_client.get(callback_path(consent_on_amazon(renewed["Location"], seller=EU_SELLER)))
    account.refresh_from_db()
    assert connection_status(account).key == "connected"


def test_rejected_client_secret(logged_in_client, amazon):
    connect(logged_in_client)
    account = SellerAccount.objects.get()
    amazon.control("app", {"client_secret_accepted": False})
    forget_access_token(account)
    checks = check_connection(account)
    account.refresh_from_db()
    assert not checks[0].ok
    assert connection_status(account).key == "client_rejected"
    assert "LWA_CLIENT_SECRET" in connection_status(account).explanation


def test_access_denied_names_the_operation(amazon):
    # An EU authorization used against the North American endpoint: Amazon answers 403.
    token = amazon.refresh_token(EU_SELLER, "eu")
    account = SellerAccount.objects.create(
        selling_partner_id=EU_SELLER,
        region="na",
        display_name="Wrong region",
        refresh_token_encrypted=crypto.encrypt_secret(token),
    )
    checks = check_connection(account)
    account.refresh_from_db()
    assert [check.ok for check in checks] == [False, False]
    status = connection_status(account)
    assert status.key == "access_denied"
    # The status names the last operation Amazon denied.
    assert "Reports.getReportSchedules" in status.explanation
    assert "403" in status.explanation


def test_unreachable_amazon(amazon, settings):
    token = amazon.refresh_token(EU_SELLER, "eu")
    account = SellerAccount.objects.create(
        selling_partner_id=EU_SELLER,
        region="eu",
        display_name="Offline",
        refresh_token_encrypted=crypto.encrypt_secret(token),
    )
    settings.LWA_TOKEN_URL = "http://127.0.0.1:9/auth/o2/token"  # nothing listens on port 9
    checks = check_connection(account)
    account.refresh_from_db()
    assert not checks[0].ok
    assert connection_status(account).key == "unreachable"
    assert account.last_attempt_at is not None


def test_self_authorization_saves_only_a_working_token(logged_in_client, amazon):
    bad = logged_in_client.post(
        "/settings/self-authorize/",
        {"selling_partner_id": NA_SELLER, "region": "na", "refresh_token": "Atzr|not-a-real-token"},
    )
    assert bad.status_code == 400
    assert "Amazon did not accept the authorization" in bad.content.decode()
    assert SellerAccount.objects.count() == 0
    token = amazon.refresh_token(NA_SELLER, "na")
    good = logged_in_client.post(
        "/settings/self-authorize/",
        {"selling_partner_id": NA_SELLER, "region": "na", "refresh_token": token},
    )
    assert good.status_code == 302
    account = SellerAccount.objects.get()
    assert account.authorization_method == "self"
    assert sorted(account.marketplaces.values_list("country_code", flat=True)) == ["CA", "US"]
    assert token not in logged_in_client.get("/settings/").content.decode()


def test_connect_account_command(amazon, tmp_path, capsys):
    token_file = tmp_path / "token"
    token_file.write_text(amazon.refresh_token(EU_SELLER, "eu"))
    call_command(
        "connect_account",
        "--selling-partner-id",
        EU_SELLER,
        "--region",
        "eu",
        "--refresh-token-file",
        str(token_file),
        "--import-orders",
    )
    account = SellerAccount.objects.get()
    assert account.order_import_active
    assert "Connected" in capsys.readouterr().out
    token_file.write_text("Atzr|revoked-or-wrong")
    with pytest.raises(CommandError, match="Amazon did not accept"):
        call_command(
            "connect_account",
            "--selling-partner-id",
            NA_SELLER,
            "--region",
            "na",
            "--refresh-token-file",
            str(token_file),
        )


def test_access_token_is_cached_across_calls(amazon):
    token = amazon.refresh_token(EU_SELLER, "eu")
    account = SellerAccount.objects.create(
        selling_partner_id=EU_SELLER,
        region="eu",
        display_name="Cache",
        refresh_token_encrypted=crypto.encrypt_secret(token),
    )
    check_connection(account)
    check_connection(account)
    refreshes = [c for c in amazon.calls() if "token" in c.get("operation", "").lower()]
    assert len(refreshes) == 1, refreshes


def test_tokens_stay_out_of_error_reports(rf, amazon, monkeypatch):
    """Django's error report (the 500 e-mail) of a crash while a token is in hand hides it."""
    import sys

    from django.views.debug import ExceptionReporter

    from amazon_settings import services

    token = amazon.refresh_token(EU_SELLER, "eu")

    def crash(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_store_marketplaces", crash)
    from django.contrib.auth.models import AnonymousUser

    from amazon_settings import views

    request = rf.post(
        "/settings/self-authorize/",
        {"selling_partner_id": EU_SELLER, "region": "eu", "refresh_token": token},
    )
    request.user = AnonymousUser()
    try:
        views.self_authorize(request)
    except RuntimeError:
        report = ExceptionReporter(request, *sys.exc_info()).get_traceback_text()
    else:
        raise AssertionError("the crash did not happen")
    assert "database went away" in report
    assert token not in report
    assert crypto.encrypt_secret(token)[:20] not in report


def test_a_missing_role_is_named_with_the_denied_operation(logged_in_client, amazon):
    connect(logged_in_client)
    account = SellerAccount.objects.get()
    amazon.control("faults", {"kind": "deny", "operation": "getReportSchedules"})
    logged_in_client.post(f"/settings/accounts/{account.pk}/test/")
    account.refresh_from_db()
    status = connection_status(account)
    assert status.key == "access_denied"
    assert "Amazon denied access to Reports.getReportSchedules" in status.explanation
    page = logged_in_client.get("/settings/").content.decode()
    # The first check passed, the second names the denied operation; the fix is offered.
    assert "Sellers.getMarketplaceParticipations</strong>: 5 marketplaces" in page
    assert "Amazon denied access to Reports.getReportSchedules" in page
    assert "Renew access" in page


def test_the_log_shows_calls_with_filters_and_the_fix(logged_in_client, amazon):
    connect(logged_in_client)
    account = SellerAccount.objects.get()
    amazon.control("faults", {"kind": "deny", "operation": "getReportSchedules"})
    logged_in_client.post(f"/settings/accounts/{account.pk}/test/")
    page = logged_in_client.get("/settings/log/").content.decode()
    assert "Sellers.getMarketplaceParticipations" in page
    assert "table-danger" in page  # the denied call stands out
    assert "Fix: renew access in Settings" in page
    errors_only = logged_in_client.get("/settings/log/?outcome=errors").content.decode()
    assert "Reports.getReportSchedules" in errors_only
    assert "<code>Sellers.getMarketplaceParticipations</code>" not in errors_only
    assert "Atz" not in page


def test_test_connection_retries_a_transient_error_once(amazon, settings):
    settings.SPAPI_INTERACTIVE_RETRIES = 1
    account = SellerAccount.objects.create(
        selling_partner_id=EU_SELLER,
        region="eu",
        display_name="Retry",
        refresh_token_encrypted=crypto.encrypt_secret(amazon.refresh_token(EU_SELLER, "eu")),
    )
    amazon.control(
        "faults", {"kind": "error500", "operation": "getMarketplaceParticipations", "count": 1}
    )
    checks = check_connection(account)
    assert checks[0].ok, checks[0].message
    calls = amazon.calls(operation="getMarketplaceParticipations")
    assert [call["status"] for call in calls] == [500, 200]


SMALL_EU_SELLER = "A1KERZENWERK5D"


def tampered(path: str, *, seller: str) -> str:
    """The callback with its selling_partner_id changed, as anyone holding the URL could."""
    changed = re.sub(r"selling_partner_id=[^&]+", f"selling_partner_id={seller}", path)
    assert changed != path
    return changed


def tokens() -> dict[str, str]:
    return dict(SellerAccount.objects.values_list("selling_partner_id", "refresh_token_encrypted"))


def test_a_renewal_cannot_change_another_account(logged_in_client, amazon):
    connect(logged_in_client)
    connect(logged_in_client, seller=SMALL_EU_SELLER)
    muller = SellerAccount.objects.get(selling_partner_id=EU_SELLER)
    before = tokens()

    renewed = logged_in_client.post(f"/settings/accounts/{muller.pk}/renew/")
    path = callback_path(consent_on_amazon(renewed["Location"], seller=EU_SELLER))
    answer = logged_in_client.get(tampered(path, seller=SMALL_EU_SELLER))

    assert answer.status_code == 400
    assert (
        "You started renewing Müller Haushaltswaren (A2MUELLERHW7QX), but Amazon's answer is for "
        "seller A1KERZENWERK5D. Nothing was saved." in html.unescape(answer.content.decode())
    )
    assert tokens() == before
    # Refused before the code was exchanged: only the two connections exchanged one.
    assert ApiCall.objects.filter(operation="LWA.exchangeCode").count() == 2


def test_a_renewal_confirmed_as_another_seller_on_amazon_is_refused(logged_in_client, amazon):
    connect(logged_in_client)
    connect(logged_in_client, seller=SMALL_EU_SELLER)
    muller = SellerAccount.objects.get(selling_partner_id=EU_SELLER)
    before = tokens()
    renewed = logged_in_client.post(f"/settings/accounts/{muller.pk}/renew/")
    answer = logged_in_client.get(
        callback_path(consent_on_amazon(renewed["Location"], seller=SMALL_EU_SELLER))
    )
    assert answer.status_code == 400
    assert "You started renewing Müller Haushaltswaren" in answer.content.decode()
    assert tokens() == before


def test_a_new_connection_cannot_take_over_a_connected_seller(logged_in_client, amazon):
    connect(logged_in_client)
    before = tokens()
    started = logged_in_client.post("/settings/connect/", {"region": "eu"})
    path = callback_path(consent_on_amazon(started["Location"], seller=SMALL_EU_SELLER))
    answer = logged_in_client.get(tampered(path, seller=EU_SELLER))

    assert answer.status_code == 400
    assert (
        "Seller A2MUELLERHW7QX is already connected as Müller Haushaltswaren, so nothing was "
        "saved. To give it a new authorization, use Renew access on Müller Haushaltswaren."
        in answer.content.decode()
    )
    assert tokens() == before
    # Refused before the code was exchanged: only the first connection exchanged one.
    assert ApiCall.objects.filter(operation="LWA.exchangeCode").count() == 1


def test_a_disconnected_seller_may_be_connected_again_as_new(logged_in_client, amazon):
    connect(logged_in_client)
    account = SellerAccount.objects.get()
    logged_in_client.post(f"/settings/accounts/{account.pk}/disconnect/")
    assert connect(logged_in_client).status_code == 302
    account.refresh_from_db()
    assert connection_status(account).key == "connected"
    assert SellerAccount.objects.count() == 1

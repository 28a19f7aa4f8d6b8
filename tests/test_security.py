"""Security across the whole site: headers, CSRF, hostile input, oversized bodies, tokens."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from amazon_settings import consent, crypto
from amazon_settings import services as account_services
from amazon_settings.exceptions import AuthorizationFailed, TokenDecryptionFailed
from amazon_settings.models import AccountMarketplace, ApiCall, SellerAccount
from tests.test_foundation import all_urls, concrete_url

pytestmark = pytest.mark.django_db

TOKEN = "Atzr|IwEBISecurityTestTokenThatMustNeverShow"
DE, FR = "A1PA6795UKMFR9", "A13V1IB3VIYZZH"


def make_account(name: str = "Secure Shop", *, token: str = TOKEN, **fields) -> SellerAccount:
    account = SellerAccount.objects.create(
        selling_partner_id=fields.pop("selling_partner_id", "A1SECURETEST01"),
        region="eu",
        display_name=name,
        refresh_token_encrypted=crypto.encrypt_secret(token) if token else "",
        status=SellerAccount.Status.CONNECTED,
        **fields,
    )
    for marketplace_id, country in ((DE, "DE"), (FR, "FR")):
        AccountMarketplace.objects.create(
            account=account, marketplace_id=marketplace_id, country_code=country, name=country
        )
    return account


def assert_security_headers(response, url: str) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp, url
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp, url
    assert "base-uri 'self'" in csp, url
    assert "camera=()" in response.headers.get("Permissions-Policy", ""), url
    assert response.headers.get("Cross-Origin-Opener-Policy") == "same-origin", url
    assert response.headers.get("X-Content-Type-Options") == "nosniff", url
    assert response.headers.get("Referrer-Policy"), url


@pytest.mark.parametrize(("name", "route"), all_urls())
def test_every_page_sends_the_security_headers(logged_in_client, name, route):
    logged_in_client.raise_request_exception = False
    make_account()
    url = concrete_url(route)
    response = logged_in_client.get(url)
    assert_security_headers(response, url)
    if not route.startswith("admin/") or response.status_code == 200:
        assert response.headers.get("X-Frame-Options") == "DENY", url


@pytest.mark.parametrize("url", ["/login/", "/health/", "/no-such-page/", "/settings/"])
def test_anonymous_answers_carry_the_headers_too(client, url):
    assert_security_headers(client.get(url), url)


def test_static_files_carry_the_headers(client):
    response = client.get("/static/vendor/bootstrap/css/bootstrap.min.css")
    assert response.status_code == 200
    assert_security_headers(response, "static")


def test_forms_may_post_to_amazons_consent_page_and_nowhere_else(client, settings):
    settings.SELLER_CENTRAL_URLS = {
        "eu": "https://sellercentral-europe.amazon.com",
        "na": "https://sellercentral.amazon.com/some/path",
    }
    csp = client.get("/login/")["Content-Security-Policy"]
    form_action = re.search(r"form-action ([^;]*)", csp).group(1).split()
    assert form_action == [
        "'self'",
        "https://sellercentral-europe.amazon.com",
        "https://sellercentral.amazon.com",
    ]
    assert "http:" not in csp.replace("https:", "") and "*" not in csp


def test_scripts_come_from_this_site_only(client):
    csp = client.get("/login/")["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", csp).group(1).split()
    assert script_src == ["'self'"]


def test_templates_carry_no_inline_script():
    """The policy forbids inline scripts: a template with one would break in the browser."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:", re.IGNORECASE)
    found = [
        f"{path.relative_to(django_settings.BASE_DIR)}: {match.group(0)!r}"
        for path in sorted((Path(django_settings.BASE_DIR) / "templates").rglob("*.html"))
        for match in inline.finditer(path.read_text())
    ]
    assert found == []


@pytest.mark.parametrize(
    ("name", "route"),
    # The REST API is read-only and authenticated by a bearer token, which a browser never
    # sends by itself, so CSRF does not reach it (tests/api: a POST answers 405).
    [(name, route) for name, route in all_urls() if not route.startswith("api/v1/")],
)
def test_no_post_without_a_csrf_token(user, name, route):
    """Every URL, including those that only answer GET, refuses a POST without the token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(concrete_url(route), {"region": "eu"})
    assert response.status_code == 403, f"{route} ({name}) answered {response.status_code}"
    assert b"CSRF" in response.content


def test_a_post_with_the_csrf_token_passes(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/settings/")
    token = client.cookies[django_settings.CSRF_COOKIE_NAME].value
    response = client.post("/settings/connect/", {"region": "eu", "csrfmiddlewaretoken": token})
    assert response.status_code == 302


@pytest.mark.parametrize("url", ["/settings/self-authorize/", "/reports/request/", "/login/"])
def test_an_oversized_body_is_refused_without_a_crash(logged_in_client, url):
    logged_in_client.raise_request_exception = False
    body = "display_name=" + "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = logged_in_client.post(url, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (400, 413)


def test_too_many_fields_are_refused_without_a_crash(logged_in_client):
    logged_in_client.raise_request_exception = False
    body = "&".join(f"f{i}=1" for i in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = logged_in_client.post(
        "/reports/request/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400


HOSTILE = [
    "<script>alert(1)</script>",
    "' OR '1'='1'; DROP TABLE orders_order; --",
    "x" * 100_000,
    "\x00\x01\x02",
    "../../etc/passwd",
    "\uff19\uff19",  # full-width digits
    "-1",
    "1e309",
]
DATES = [
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "99999-01-01T00:00",
    "2025-02-30T10:00",
    "1970-01-01T00:00:00",
    "<script>alert(1)</script>",
]


def valid_request(account: SellerAccount) -> dict:
    end = timezone.localtime() - timedelta(hours=1)
    return {
        "account": str(account.pk),
        "kind": "mfn_orders_eu",
        "marketplace_ids": [DE],
        "start": (end - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        "end": end.strftime("%Y-%m-%dT%H:%M"),
    }


def assert_refused_safely(response, field: str | None = None) -> str:
    body = response.content.decode()
    assert response.status_code == 400, response.status_code
    assert "<script>alert(1)</script>" not in body
    assert "DROP TABLE" not in body or "&#x27; OR &#x27;" in body
    if field:
        assert f'id="id_{field}-error"' in body or "invalid-feedback" in body, field
    return body


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("field", ["account", "kind", "marketplace_ids"])
def test_the_request_form_refuses_hostile_choices(logged_in_client, field, value):
    account = make_account()
    data = valid_request(account) | {field: value}
    assert_refused_safely(logged_in_client.post("/reports/request/", data), field)
    from reports.models import Report

    assert not Report.objects.exists()


@pytest.mark.parametrize("value", DATES + HOSTILE)
@pytest.mark.parametrize("field", ["start", "end"])
def test_the_request_form_refuses_hostile_dates(logged_in_client, field, value):
    account = make_account()
    data = valid_request(account) | {field: value}
    assert_refused_safely(logged_in_client.post("/reports/request/", data))
    preview = logged_in_client.post("/reports/request/preview/", data)
    assert preview.status_code == 200
    assert "<script>alert(1)</script>" not in preview.content.decode()


def test_the_request_form_refuses_a_disconnected_account(logged_in_client):
    account = make_account(token="")
    assert_refused_safely(logged_in_client.post("/reports/request/", valid_request(account)))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (field, value)
        for field in ("selling_partner_id", "region", "display_name", "refresh_token")
        for value in HOSTILE
        # A display name may hold any short text (it is escaped where shown): only the
        # values that are too long or hold a NUL byte are refused there.
        if field != "display_name" or len(value) > 100 or "\x00" in value
    ],
)
def test_self_authorization_refuses_hostile_values(logged_in_client, monkeypatch, field, value):
    def must_not_be_called(**kwargs):
        raise AssertionError("an invalid form reached the service")

    monkeypatch.setattr(account_services, "self_authorize", must_not_be_called)
    data = {
        "selling_partner_id": "A1SECURETEST01",
        "region": "eu",
        "display_name": "Shop",
        "refresh_token": TOKEN,
    } | {field: value}
    body = assert_refused_safely(logged_in_client.post("/settings/self-authorize/", data))
    assert TOKEN not in body  # the token field is never echoed back


@pytest.mark.parametrize("value", [*HOSTILE, "", "xx"])
def test_connect_start_refuses_a_hostile_region(logged_in_client, value):
    response = logged_in_client.post("/settings/connect/", {"region": value}, follow=True)
    assert response.status_code == 200
    assert "Choose the region" in response.content.decode()
    assert consent.SESSION_KEY not in logged_in_client.session


@pytest.mark.parametrize("value", HOSTILE)
def test_settings_forms_refuse_hostile_values(logged_in_client, value):
    account = make_account()
    response = logged_in_client.post(
        f"/settings/accounts/{account.pk}/marketplaces/", {"marketplace_ids": [value]}, follow=True
    )
    assert response.status_code == 200
    assert "do not belong to this account" in response.content.decode()
    assert account.marketplaces.filter(selected=True).count() == 2
    response = logged_in_client.post(
        f"/settings/accounts/{account.pk}/order-import/", {"active": value}, follow=True
    )
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()


# 0001-01-01 in Europe/Berlin is before year 1 in UTC: the forms refuse far-off years.
@pytest.mark.parametrize("value", HOSTILE + DATES)
def test_filters_refuse_hostile_values_without_a_crash(logged_in_client, value):
    make_account()
    for url in ("/settings/log/", "/reports/"):
        for field in ("account", "outcome", "status", "kind", "since", "until", "page", "batch"):
            response = logged_in_client.get(url, {field: value})
            assert response.status_code == 200, (url, field)
            assert "<script>alert(1)</script>" not in response.content.decode()


@pytest.mark.parametrize("value", HOSTILE)
def test_schedule_creation_refuses_hostile_values(logged_in_client, value):
    account = make_account()
    prefix = f"account-{account.pk}"
    response = logged_in_client.post(
        f"/reports/schedules/{account.pk}/create/",
        {
            f"{prefix}-report_type": value,
            f"{prefix}-period": value,
            f"{prefix}-marketplace_ids": [value],
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"#account-{account.pk}")


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", "x" * 3000]
)
def test_report_actions_never_redirect_elsewhere(logged_in_client, next_url):
    from reports.models import Report

    report = Report.objects.create(account=make_account(), report_type="GET_AFN_INVENTORY_DATA")
    response = logged_in_client.post(f"/reports/{report.pk}/skip/", {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == "/reports/"


def start_consent(client) -> str:
    started = client.post("/settings/connect/", {"region": "eu"})
    return re.search(r"state=([^&]+)", started["Location"]).group(1)


def test_an_expired_state_is_refused_by_the_callback(logged_in_client, monkeypatch):
    state = start_consent(logged_in_client)
    real_time = consent.time.time
    monkeypatch.setattr(consent.time, "time", lambda: real_time() + 601)
    response = logged_in_client.get(
        "/settings/connect/callback/",
        {"state": state, "selling_partner_id": "A1SECURETEST01", "spapi_oauth_code": "c"},
    )
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert not SellerAccount.objects.exists()


def test_a_state_from_another_session_is_refused(logged_in_client, user):
    state = start_consent(logged_in_client)
    other = Client()
    other.force_login(user)
    response = other.get(
        "/settings/connect/callback/",
        {"state": state, "selling_partner_id": "A1SECURETEST01", "spapi_oauth_code": "c"},
    )
    assert response.status_code == 400
    assert not SellerAccount.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        {"selling_partner_id": "<script>alert(1)</script>", "spapi_oauth_code": "c"},
        {"selling_partner_id": "A1SECURETEST01", "spapi_oauth_code": "c" * 5000},
        {"selling_partner_id": "A1SECURETEST01"},
        {"spapi_oauth_code": "c"},
    ],
)
def test_a_malformed_callback_spends_the_state_and_stores_nothing(logged_in_client, query):
    state = start_consent(logged_in_client)
    response = logged_in_client.get("/settings/connect/callback/", {"state": state, **query})
    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in response.content.decode()
    # Replaying the state with good values is refused too: it was spent.
    replay = logged_in_client.get(
        "/settings/connect/callback/",
        {"state": state, "selling_partner_id": "A1SECURETEST01", "spapi_oauth_code": "c"},
    )
    assert replay.status_code == 400
    assert "already used" in replay.content.decode()
    assert not SellerAccount.objects.exists()


def test_an_error_callback_does_not_echo_its_parameters(logged_in_client):
    response = logged_in_client.get(
        "/settings/connect/callback/",
        {"error": "<script>alert(1)</script>", "state": "<script>alert(1)</script>"},
    )
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_key_rotation_reencrypts_every_token_so_the_old_key_can_go(settings):
    old_key = settings.TOKEN_ENCRYPTION_KEYS[0]
    first = make_account("First", token=TOKEN)
    second = make_account("Second", token=TOKEN + "2", selling_partner_id="A1SECURETEST02")
    disconnected = make_account("Gone", token="", selling_partner_id="A1SECURETEST03")
    cache.set(f"spapi:access-token:{first.pk}", crypto.encrypt_secret("Atza|cached"))
    new_key = Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_token_keys", verbosity=0)
    call_command("rotate_token_keys", verbosity=0)  # twice is harmless
    # Cached access tokens were encrypted with the old key: they are forgotten.
    assert cache.get(f"spapi:access-token:{first.pk}") is None
    settings.TOKEN_ENCRYPTION_KEYS = [new_key]
    for account, token in ((first, TOKEN), (second, TOKEN + "2")):
        account.refresh_from_db()
        assert crypto.decrypt_secret(account.refresh_token_encrypted) == token
    disconnected.refresh_from_db()
    assert disconnected.refresh_token_encrypted == ""
    settings.TOKEN_ENCRYPTION_KEYS = [old_key]
    with pytest.raises(TokenDecryptionFailed):
        crypto.decrypt_secret(first.refresh_token_encrypted)


def test_rotation_with_an_unreadable_token_changes_nothing(settings):
    readable = make_account("Readable")
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    lost = make_account("Lost", selling_partner_id="A1SECURETEST04")
    before = {a.pk: a.refresh_token_encrypted for a in SellerAccount.objects.all()}
    with pytest.raises(CommandError, match="Readable") as caught:
        call_command("rotate_token_keys", verbosity=0)
    assert TOKEN not in str(caught.value)
    assert {a.pk: a.refresh_token_encrypted for a in SellerAccount.objects.all()} == before
    assert lost.pk in before and readable.pk in before


def test_tokens_are_never_in_the_admin(admin_client):
    account = make_account()
    ApiCall.objects.create(
        at=timezone.now(),
        account=account,
        operation="LWA.refreshToken",
        method="POST",
        path="/auth/o2/token",
        outcome="success",
        http_status=200,
    )
    call = ApiCall.objects.get()
    for url in (
        "/admin/amazon_settings/selleraccount/",
        f"/admin/amazon_settings/selleraccount/{account.pk}/change/",
        "/admin/amazon_settings/apicall/",
        f"/admin/amazon_settings/apicall/{call.pk}/change/",
        "/admin/core/auditevent/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert TOKEN not in body and account.refresh_token_encrypted not in body, url
        assert "Atzr" not in body, url


def test_tokens_are_never_logged(logged_in_client, monkeypatch, caplog):
    def refuse(**kwargs):
        raise AuthorizationFailed("Amazon did not accept this refresh token.")

    monkeypatch.setattr(account_services, "self_authorize", refuse)
    caplog.set_level(logging.DEBUG)
    response = logged_in_client.post(
        "/settings/self-authorize/",
        {"selling_partner_id": "A1SECURETEST01", "region": "eu", "refresh_token": TOKEN},
    )
    assert response.status_code == 400
    assert "Amazon did not accept" in response.content.decode()
    assert TOKEN not in response.content.decode()
    assert "Atzr" not in caplog.text

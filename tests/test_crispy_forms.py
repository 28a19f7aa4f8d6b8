"""Every form of the pages is laid out by crispy-forms (issue #16): each page's form, found by
its id, holds each of its fields inside crispy-bootstrap5's wrapper (`div_id_<name>`), so a
field written by hand into a template again fails here."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from amazon_settings.crypto import encrypt_secret
from amazon_settings.models import AccountMarketplace, SellerAccount

pytestmark = pytest.mark.django_db

DE = "A1PA6795UKMFR9"


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch):
    """Nothing is handed to the task queue (Orders missing? hands its test call to it)."""
    monkeypatch.setattr("reports.services.transitions.async_task", lambda *a, **k: None)
    monkeypatch.setattr("reports.services.connection_tests.async_task", lambda *a, **k: None)


@pytest.fixture
def account() -> SellerAccount:
    account = SellerAccount.objects.create(
        selling_partner_id="A1CRISPYFORMS1",
        region="eu",
        display_name="Crispy Shop",
        refresh_token_encrypted=encrypt_secret("Atzr|x"),
        status=SellerAccount.Status.CONNECTED,
    )
    AccountMarketplace.objects.create(
        account=account, marketplace_id=DE, country_code="DE", name="Amazon.de", selected=True
    )
    return account


DATES = ["since", "until"]

# (URL name, whether it takes the account's pk, query string, form id, its fields)
PAGES = [
    (
        "orders:list",
        False,
        "",
        "order-filters",
        ["q", "account", "marketplace", "channel", "status", *DATES],
    ),
    ("orders:returns", False, "", "return-filters", ["q", "account", *DATES]),
    ("orders:stock", False, "", "stock-filters", ["q", "account"]),
    ("orders:invoices", False, "", "invoice-filters", ["q", "account", "kind", "source", *DATES]),
    (
        "amazon_settings:log",
        False,
        "",
        "log-filters",
        ["account", "operation", "outcome", *DATES],
    ),
    ("amazon_settings:settings", False, "", "connect-form", ["region"]),
    ("reports:processing", False, "", "report-filters", ["account", "kind", "status", *DATES]),
    (
        "reports:where_is",
        False,
        "?order_id=123-1234567-1234567",
        "where-is-form",
        ["order_id", "date", "account"],
    ),
    (
        "reports:request",
        False,
        "",
        "request-form",
        ["account", "kind", "marketplace_ids", "start", "end"],
    ),
    ("reports:upload", False, "", "upload-form", ["account", "report_type", "file", "preview"]),
    ("reports:start_import", True, "", "start-import-form", ["import_orders_from"]),
    ("reports:diagnosis", True, "", "import-start-form", ["import_orders_from"]),
]


def form_markup(html: str, form_id: str) -> str:
    """The `<form>` element with `form_id`, start tag to end tag."""
    match = re.search(rf'<form\s[^>]*\bid="{form_id}"[^>]*>.*?</form>', html, re.S)
    assert match, f"no form {form_id}"
    return match.group(0)


@pytest.mark.parametrize(
    ("name", "with_pk", "query", "form_id", "fields"),
    PAGES,
    ids=[page[0] for page in PAGES],
)
def test_each_field_of_the_pages_forms_is_rendered_by_crispy(
    logged_in_client, account, name, with_pk, query, form_id, fields
):
    url = reverse(name, args=[account.pk] if with_pk else [])
    response = logged_in_client.get(url + query)
    assert response.status_code == 200
    form = form_markup(response.content.decode(), form_id)
    for field in fields:
        assert f'id="div_id_{field}"' in form, field
    # Labels and inputs come from crispy's templates, not from a hand-written copy beside them.
    assert form.count(f'id="id_{fields[0]}"') == 1

"""The REST API on SQLite: every answer checked against the served OpenAPI schema; cursors,
tokens, scopes, accounts, buyer data, the rate limit, the docs page and the token page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import jsonschema
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from api import services
from api.models import ApiToken
from api.services import create_token
from core.models import ChangeEvent
from orders.models import Invoice, Order, Return, StockLevel
from orders.services.statuses import ReportedStatus, apply_order_statuses
from reports import tasks
from tests.api.conftest import token_client
from tests.german import GERMAN, compiled_catalogue, page_text
from tests.orders.conftest import NOW, render, run_import, set_invoicing

pytestmark = pytest.mark.django_db

MFN = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
VIDR = "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT"
RETURNS = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
START, END = NOW - timedelta(days=10), NOW - timedelta(days=1)
STOCK = (
    "seller-sku\tfulfillment-channel-sku\tasin\tcondition-type\tWarehouse-Condition-code\t"
    "Quantity Available\r\nSKU-1\tX001\tB001\tNewItem\tSELLABLE\t3\r\n"
    "SKU-2\tX002\tB002\tNewItem\tSELLABLE\t5\r\n"
)


def sync(client: Client, contract, path: str, key: str, *, since: str | None = None, limit=7):
    """Read a change list to its end; returns the (event type, record id) seen and the cursor."""
    seen = []
    while True:
        query = f"?limit={limit}" + (f"&since={since}" if since else "")
        body = contract.check(
            client.get(f"/api/v1/{path}/changes{query}"), f"/api/v1/{path}/changes"
        )
        seen += [(item["event_type"], item[key]["id"]) for item in body["items"]]
        since = body["next_cursor"]
        if not body["has_more"]:
            return seen, since


def walk(client: Client, contract, path: str, *, limit=3, **filters) -> list[dict]:
    """Every item of a list, a page at a time by its cursor."""
    items, cursor = [], None
    while True:
        query = "&".join(f"{k}={v}" for k, v in {"limit": limit, **filters}.items())
        response = client.get(f"/api/v1/{path}?{query}" + (f"&cursor={cursor}" if cursor else ""))
        body = contract.check(response, f"/api/v1/{path}")
        assert response.status_code == 200, body
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def test_a_client_syncing_by_cursor_sees_every_order_once_then_each_later_change(account, contract):
    run_import(account, MFN, render(MFN, START, END))
    client = token_client()
    orders = set(Order.objects.values_list("pk", flat=True))
    assert len(orders) > 10

    seen, cursor = sync(client, contract, "orders", "order")

    assert sorted(pk for _, pk in seen) == sorted(orders)
    assert {event for event, _ in seen} == {"order.created"}
    # Nothing new: the same cursor comes back with nothing.
    assert sync(client, contract, "orders", "order", since=cursor) == ([], cursor)
    # The same report again changes nothing, so announces nothing.
    run_import(account, MFN, render(MFN, START, END))
    assert sync(client, contract, "orders", "order", since=cursor)[0] == []

    cancelled, updated = Order.objects.exclude(status=Order.Status.CANCELED).order_by("pk")[:2]
    later = max(o.last_updated_at for o in (cancelled, updated)) + timedelta(days=1)
    apply_order_statuses(
        account=account,
        statuses=[
            ReportedStatus(cancelled.amazon_order_id, Order.Status.CANCELED, later, "", (2,)),
            ReportedStatus(updated.amazon_order_id, Order.Status.SHIPPED, later, "", (3,)),
        ],
        source_report_id=None,
        marketplace_ids=[],
        now=NOW,
    )
    changes, _ = sync(client, contract, "orders", "order", since=cursor)
    expected = {("order.cancelled", cancelled.pk)}
    if updated.status != Order.Status.SHIPPED:
        expected.add(("order.updated", updated.pk))
    assert set(changes) == expected and len(changes) == len(expected)


def test_orders_list_pages_by_keyset_with_filters_and_every_amount(account, contract):
    run_import(account, MFN, render(MFN, START, END))
    client = token_client()

    everything = walk(client, contract, "orders")
    assert [o["id"] for o in everything] == sorted(Order.objects.values_list("pk", flat=True))
    first = Order.objects.order_by("pk").first()
    shown = everything[0]
    assert shown["amounts"]["total"] == f"{first.total:.2f}"
    assert len(shown["items"]) == first.items.count()
    marketplace = first.marketplace_id
    in_marketplace = walk(client, contract, "orders", marketplace=marketplace)
    assert {o["marketplace_id"] for o in in_marketplace} == {marketplace}
    cut = "2025-03-10T00:00:00Z"
    later = walk(client, contract, "orders", purchased_from=cut)
    assert (
        len(later)
        == Order.objects.filter(purchased_at__gte=datetime(2025, 3, 10, tzinfo=UTC)).count()
    )
    status = first.status
    assert all(o["status"] == status for o in walk(client, contract, "orders", status=status))
    one = client.get(f"/api/v1/orders/{first.pk}")
    assert contract.check(one, "/api/v1/orders/{order_id}")["id"] == first.pk


def test_returns_stock_invoices_accounts_and_reports_follow_the_schema(account, contract):
    run_import(account, MFN, render(MFN, START, END))
    run_import(account, RETURNS, render(RETURNS, START - timedelta(days=30), END))
    run_import(account, "GET_AFN_INVENTORY_DATA", STOCK)
    set_invoicing(account)
    run_import(account, VIDR, render(VIDR, NOW - timedelta(days=61), END))
    client = token_client()

    assert len(walk(client, contract, "returns")) == Return.objects.count() > 0
    assert len(walk(client, contract, "stock")) == StockLevel.objects.count() == 2
    invoices = walk(client, contract, "invoices", limit=50)
    assert len(invoices) == Invoice.objects.count() > 0
    assert len(walk(client, contract, "accounts")) == 1
    assert walk(client, contract, "reports") == []
    returns_seen, _ = sync(client, contract, "returns", "return_line")
    assert {pk for _, pk in returns_seen} == set(Return.objects.values_list("pk", flat=True))
    stock_seen, _ = sync(client, contract, "stock", "stock_level")
    assert sorted(pk for _, pk in stock_seen) == sorted(
        StockLevel.objects.values_list("pk", flat=True)
    )
    invoice_seen, _ = sync(client, contract, "invoices", "invoice")
    assert {e for e, _ in invoice_seen} == {"invoice.issued"}
    level = StockLevel.objects.get(sku="SKU-1")
    history = client.get(f"/api/v1/stock/{level.pk}/history")
    assert [
        c["quantity"] for c in contract.check(history, "/api/v1/stock/{level_id}/history")["items"]
    ] == [3]

    generated = Invoice.objects.filter(source=Invoice.Source.GENERATED).first()
    assert generated is not None
    pdf = client.get(f"/api/v1/invoices/{generated.pk}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    contract.check(pdf, "/api/v1/invoices/{invoice_id}/pdf")
    no_pii = token_client("read_invoices", name="No PII")
    refused = no_pii.get(f"/api/v1/invoices/{generated.pk}/pdf")
    assert (
        contract.check(refused, "/api/v1/invoices/{invoice_id}/pdf")["error"]["code"] == "forbidden"
    )
    listed = walk(no_pii, contract, "invoices", limit=50)
    assert {i["buyer_name"] for i in listed} == {None}


def error(response, contract, path: str) -> tuple[int, str, str | None]:
    body = contract.check(response, path)["error"]
    return response.status_code, body["message"], body["field"]


def test_unknown_revoked_and_missing_tokens_are_401_and_a_missing_scope_403(account, contract):
    path = "/api/v1/orders"
    assert error(Client().get(path), contract, path) == (
        401,
        "Send 'Authorization: Bearer <token>' with an API token.",
        None,
    )
    wrong = Client(HTTP_AUTHORIZATION="Bearer aoi_00000000_nope")
    assert error(wrong.get(path), contract, path)[:2] == (401, services.UNKNOWN_TOKEN)
    token, secret = create_token(name="Shop", scopes=["read_stock"], acting_user=None)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert error(client.get(path), contract, path)[:2] == (
        403,
        "This token lacks the scope “read_orders”.",
    )
    assert client.get("/api/v1/stock").status_code == 200
    assert ApiToken.objects.get().last_used_at is not None
    services.revoke_token(token, acting_user=None)
    assert error(client.get("/api/v1/stock"), contract, "/api/v1/stock")[:2] == (
        401,
        services.REVOKED_TOKEN,
    )
    # Same-prefix guess with another secret: unknown, not revoked.
    forged = Client(HTTP_AUTHORIZATION=f"Bearer aoi_{token.prefix}_forged")
    assert error(forged.get("/api/v1/stock"), contract, "/api/v1/stock")[:2] == (
        401,
        services.UNKNOWN_TOKEN,
    )


def test_a_token_for_one_account_reads_only_that_account(account, other_account, contract):
    run_import(account, MFN, render(MFN, START, END))
    run_import(other_account, "GET_AFN_INVENTORY_DATA", STOCK)
    client = token_client(accounts=[other_account])

    assert walk(client, contract, "orders") == []
    assert {s["account_id"] for s in walk(client, contract, "stock")} == {other_account.pk}
    assert sync(client, contract, "orders", "order")[0] == []
    path = "/api/v1/orders"
    assert error(client.get(f"{path}?account={account.pk}"), contract, path) == (
        403,
        f"This token may not read account {account.pk}.",
        "account",
    )
    order = Order.objects.first()
    missing = client.get(f"/api/v1/orders/{order.pk}")
    assert error(missing, contract, "/api/v1/orders/{order_id}")[0] == 404


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            "cursor=%%%",
            "cursor",
            "Malformed cursor: pass back a `cursor` this list returned, unchanged.",
        ),
        ("purchased_from=yesterday", "purchased_from", None),
        ("status=Lost", "status", None),
        ("limit=0", "limit", None),
    ],
)
def test_a_malformed_filter_or_cursor_is_400_naming_it(account, contract, query, field, message):
    response = token_client().get(f"/api/v1/orders?{query}")
    status, text, named = error(response, contract, "/api/v1/orders")
    assert (status, named) == (400, field)
    if message:
        assert text == message


@pytest.mark.parametrize(
    ("path", "query", "field", "message"),
    [
        ("/api/v1/orders", "purchase_from=2025-01-01", "purchase_from", "Unknown parameter"),
        ("/api/v1/orders", "limit=5&limit=7", "limit", "`limit` is given more than once."),
        ("/api/v1/orders/changes", "cursor=YzE6b3JkZXI6MDo1MDA", "cursor", "Unknown parameter"),
        ("/api/v1/invoices", "status=issued&status=cancelled", "status", "`status` is given"),
        ("/api/v1/orders/{order_id}", "expand=items", "expand", "Unknown parameter `expand`."),
    ],
)
def test_an_unknown_or_repeated_parameter_is_400_naming_it(
    account, contract, path, query, field, message
):
    """A misspelt filter must not be dropped: the list would silently be the whole list."""
    response = token_client().get(path.replace("{order_id}", "1") + f"?{query}")
    status, text, named = error(response, contract, path)
    assert (status, named) == (400, field)
    assert text.startswith(message)


def error_shape(contract, response) -> dict:
    """The body of an answer outside the operations (a method, a path): still `ErrorOut`."""
    body = response.json()
    jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/ErrorOut", "components": contract.schema["components"]}
    ).validate(body)
    return body["error"]


def test_every_other_error_has_the_one_shape_too(account, contract, monkeypatch, caplog):
    client = token_client(name="Warehouse")
    refused = client.post("/api/v1/orders")
    assert (refused.status_code, refused["Allow"]) == (405, "GET")
    assert error_shape(contract, refused)["code"] == "method_not_allowed"
    for path in ("/api/v1/", "/api/v1/order", "/api/v1/orders/1/items"):
        missing = client.get(path)
        assert (missing.status_code, error_shape(contract, missing)["code"]) == (404, "not_found")
    anonymous = Client().get("/api/v1/orders")
    assert anonymous["WWW-Authenticate"] == 'Bearer realm="api"'

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("api.selectors.order_page", broken)
    with caplog.at_level("INFO"):
        failed = client.get("/api/v1/orders")
    assert (failed.status_code, error_shape(contract, failed)["code"]) == (500, "server_error")
    assert "database went away" not in failed.content.decode()
    reported = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert [r.exc_info[1].args for r in reported] == [("the database went away",)]
    assert "API GET /api/v1/orders -> 500 by Warehouse" in [
        r.getMessage() for r in caplog.records if r.name == "api.requests"
    ]


def test_a_cursor_of_another_list_is_refused(account, contract):
    client = token_client()
    cursor = contract.check(client.get("/api/v1/stock/changes"), "/api/v1/stock/changes")[
        "next_cursor"
    ]
    response = client.get(f"/api/v1/orders/changes?since={cursor}")
    assert error(response, contract, "/api/v1/orders/changes") == (
        400,
        "This cursor belongs to the stock list, not to the order list.",
        "since",
    )


def test_buyer_data_needs_the_pii_scope_and_ends_with_the_retention(account, contract, settings):
    run_import(account, MFN, render(MFN, START, END))
    with_pii = token_client(name="Shipping")
    without = token_client("read_orders", name="ERP only")
    order = Order.objects.exclude(buyer_name="").order_by("pk").first()
    path = "/api/v1/orders/{order_id}"

    settings.PII_RETENTION_DAYS = 100_000  # the sandbox's 2025 orders are within it
    shown = contract.check(with_pii.get(f"/api/v1/orders/{order.pk}"), path)
    assert shown["buyer"]["buyer_name"] == order.buyer_name
    assert contract.check(without.get(f"/api/v1/orders/{order.pk}"), path)["buyer"] is None
    settings.PII_RETENTION_DAYS = 30  # the orders of March 2025 are long past it
    assert contract.check(with_pii.get(f"/api/v1/orders/{order.pk}"), path)["buyer"] is None


def test_removing_buyer_data_after_the_retention_announces_nothing_and_serves_the_same(
    account, contract, settings
):
    """The daily removal writes no change event: the API stops serving buyer data at the same
    cutoffs, so what a client sees of an order or an invoice does not change when it runs."""
    settings.PII_RETENTION_DAYS = 30  # the sandbox's orders of March 2025 are long past it
    settings.INVOICE_RETENTION_YEARS = 10
    run_import(account, MFN, render(MFN, START, END))
    Invoice.objects.create(
        account=account,
        amazon_order_id="302-1234567-1234567",
        number="INV-2014-000001",
        transaction_id="SHIPMENT-2014",
        kind="invoice",
        source=Invoice.Source.GENERATED,
        issued_on=date(2014, 3, 1),  # its ten years are over
        buyer_name="Erika Mustermann",
        buyer_address="Hauptstraße 1\n10115 Berlin",
    )
    assert Order.objects.exclude(buyer_name="").exists()
    client = token_client()  # every scope, `pii` included
    _, orders_cursor = sync(client, contract, "orders", "order")
    _, invoices_cursor = sync(client, contract, "invoices", "invoice")

    def served() -> tuple[list[dict], list[dict]]:
        return walk(client, contract, "orders", limit=50), walk(client, contract, "invoices")

    before = served()
    events = ChangeEvent.objects.count()

    removed = tasks.remove_personal_data()

    assert removed.records > 0 and removed.invoices == 1
    assert not Order.objects.exclude(buyer_name="").exists()
    assert not Invoice.objects.exclude(buyer_name="").exists()
    assert ChangeEvent.objects.count() == events
    assert sync(client, contract, "orders", "order", since=orders_cursor)[0] == []
    assert sync(client, contract, "invoices", "invoice", since=invoices_cursor)[0] == []
    assert served() == before


def test_the_rate_limit_answers_429_with_retry_after_until_the_minute_ends(
    account, contract, settings, monkeypatch
):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    client = token_client()
    monkeypatch.setattr(services, "_clock", lambda: 6_000_030.0)  # 30 s into a minute
    assert [client.get("/api/v1/stock").status_code for _ in range(2)] == [200, 200]
    refused = client.get("/api/v1/stock")
    assert refused["Retry-After"] == "30"
    assert error(refused, contract, "/api/v1/stock")[:2] == (
        429,
        "Rate limit of 2 requests per minute reached: retry in 30 s.",
    )
    other = token_client(name="Other")
    assert other.get("/api/v1/stock").status_code == 200  # per token
    monkeypatch.setattr(services, "_clock", lambda: 6_000_061.0)
    assert client.get("/api/v1/stock").status_code == 200


def test_every_request_is_logged_with_the_token_name_never_the_token(account, caplog):
    _, secret = create_token(name="Warehouse", scopes=["read_stock"], acting_user=None)
    with caplog.at_level("INFO", logger="api.requests"):
        Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/stock")
        Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/orders")
    assert [r.getMessage() for r in caplog.records if r.name == "api.requests"] == [
        "API GET /api/v1/stock -> 200 by Warehouse",
        "API GET /api/v1/orders -> 403 by Warehouse",
    ]
    assert secret not in caplog.text


def test_the_docs_page_needs_a_login_and_loads_nothing_from_elsewhere(db, admin_client):
    assert Client().get("/api/v1/docs/").status_code == 302
    page = admin_client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui-bundle.js" in html
    assert re.findall(r"""(?:src|href)=["']((?:https?:)?//[^"']*)""", html) == []
    assert "cdn" not in html.lower()


def test_every_api_operation_is_read_only_and_needs_no_csrf_token(account):
    from tests.test_foundation import all_urls, concrete_url, is_token_url

    client = token_client()
    client.raise_request_exception = False
    routes = [route for name, route in all_urls() if is_token_url(name) and "{" not in route]
    assert len(routes) > 10
    answers = {route: client.post(concrete_url(route)).status_code for route in routes}
    # 405 where GET is served; 404 for the root (a name only) and any other path; the schema
    # is the same for all.
    assert {route: code for route, code in answers.items() if code != 405} == {
        "api/v1/": 404,
        "api/v1/<path:rest>": 404,
        "api/v1/schema/": 200,
    }


def test_admins_make_and_revoke_tokens_and_the_secret_is_shown_once(account, admin_client):
    page = admin_client.post(
        "/settings/api-tokens/",
        {"name": "ERP", "scopes": ["read_orders", "pii"], "accounts": [account.pk]},
    )
    secret = re.search(r"aoi_[0-9a-f]{8}_[\w-]+", page.content.decode()).group(0)
    token = ApiToken.objects.get(name="ERP")
    assert token.scopes == ["read_orders", "pii"]
    assert list(token.accounts.all()) == [account]
    assert secret not in str(ApiToken.objects.values().get())
    assert secret not in admin_client.get("/settings/api-tokens/").content.decode()
    taken = admin_client.post("/settings/api-tokens/", {"name": "ERP", "scopes": ["pii"]})
    assert "A token with this name exists: choose another name." in taken.content.decode()
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/orders").status_code == 200
    admin_client.post(f"/settings/api-tokens/{token.pk}/revoke/")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/orders").status_code == 401


def test_only_who_may_manage_tokens_sees_the_token_page(db):
    from core.roles import OPERATORS, setup_roles

    groups = setup_roles()
    operator = get_user_model().objects.create_user("op", password="pw")
    operator.groups.add(groups[OPERATORS])
    client = Client()
    client.force_login(operator)
    assert client.get("/settings/api-tokens/").status_code == 403
    assert client.post("/settings/api-tokens/", {"name": "x", "scopes": ["pii"]}).status_code == 403
    operator.user_permissions.add(Permission.objects.get(codename="manage_apitoken"))
    operator = get_user_model().objects.get(pk=operator.pk)
    client.force_login(operator)
    assert client.get("/settings/api-tokens/").status_code == 200


def test_records_stored_before_the_change_log_get_their_created_event(account):
    import importlib

    from django.db import connection

    migration = importlib.import_module("orders.migrations.0011_change_events_for_existing_records")
    run_import(account, "GET_AFN_INVENTORY_DATA", STOCK)
    Order.objects.create(account=account, amazon_order_id="302-0000000-0000001")
    ChangeEvent.objects.all().delete()

    class Editor:  # what the migration uses of a schema editor
        def __init__(self):
            self.connection = connection

        def execute(self, sql, params):
            with connection.cursor() as cursor:
                cursor.execute(sql, params)

    migration.record_existing(None, Editor())
    assert sorted(ChangeEvent.objects.values_list("kind", "event_type")) == [
        ("order", "order.created"),
        ("stock", "stock.changed"),
        ("stock", "stock.changed"),
    ]


@pytest.mark.usefixtures(compiled_catalogue.__name__)
def test_the_token_page_in_german(account, admin_client):
    admin_client.post(
        "/settings/api-tokens/", {"name": "ERP", "scopes": ["read_orders", "pii"]}, **GERMAN
    )
    taken = admin_client.post("/settings/api-tokens/", {"name": "ERP", "scopes": ["pii"]}, **GERMAN)
    text = page_text(taken)
    for german in (
        "API-Tokens",
        "Neuer Token",
        "Bestellungen lesen, Personenbezogene Käuferdaten",
        "Ein Token mit diesem Namen gibt es schon: Wählen Sie einen anderen Namen.",
    ):
        assert german in text, german
    assert 'value="Token erstellen"' in taken.content.decode()
    for english in ("New token", "Read orders", "A token with this name exists", "never"):
        assert english not in text, english

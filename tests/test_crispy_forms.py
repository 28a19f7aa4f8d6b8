"""Every form of the pages is laid out by crispy-forms (issue #16): each page's form, found by
its id, holds each of its fields inside crispy-bootstrap5's wrapper (`div_id_<name>`), so a
field written by hand into a template again fails here."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from amazon_settings.crypto import encrypt_secret
from amazon_settings.models import AccountMarketplace, SellerAccount
from tests.test_foundation import all_urls, concrete_url

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
    ("amazon_settings:settings", False, "", "import-start-form-{pk}", ["import_orders_from_{pk}"]),
    ("amazon_settings:settings", False, "", "marketplace-form-{pk}", ["marketplace_ids_{pk}"]),
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
    form = form_markup(response.content.decode(), form_id.format(pk=account.pk))
    fields = [field.format(pk=account.pk) for field in fields]
    for field in fields:
        assert f'id="div_id_{field}"' in form, field
    # Labels and inputs come from crispy's templates, not from a hand-written copy beside them.
    # (A group of checkboxes numbers its inputs: id_<name>_0, id_<name>_1 …)
    assert form.count(f'id="id_{fields[0]}"') + form.count(f'id="id_{fields[0]}_0"') == 1


class _Controls(HTMLParser):
    """Each form control of a page that a person fills in, with the ids of the elements
    around it: `(tag and name, the form's id, whether crispy's wrapper holds it)`."""

    VOID = {"input", "br", "hr", "img", "meta", "link", "source", "wbr", "col", "area", "base"}
    NOT_FILLED = {"hidden", "submit", "button", "reset", "image"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str]] = []
        self.controls: list[tuple[str, str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag in ("input", "select", "textarea") and values.get("type") not in self.NOT_FILLED:
            form = next((i for t, i in reversed(self.stack) if t == "form"), None)
            if form is not None:
                wrapped = any(i.startswith("div_id_") for _t, i in self.stack)
                self.controls.append((f"{tag} {values.get('name', '')}", form, wrapped))
        if tag not in self.VOID:
            self.stack.append((tag, values.get("id", "")))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return


def hand_written_controls(html: str) -> list[tuple[str, str]]:
    """The controls of `html`'s forms that crispy did not render (no `div_id_…` around them).
    Forms of buttons and hidden inputs only (a row's action menu) have none."""
    parser = _Controls()
    parser.feed(html)
    return [(control, form) for control, form, wrapped in parser.controls if not wrapped]


def test_the_check_finds_a_hand_written_field():
    page = (
        '<form id="f"><input type="hidden" name="csrfmiddlewaretoken">'
        '<div id="div_id_q"><input name="q"></div><select name="x"></select>'
        '<button type="submit">Go</button></form>'
    )
    assert hand_written_controls(page) == [("select x", "f")]


@pytest.mark.parametrize(
    ("name", "route"), [(n, r) for n, r in all_urls() if not r.startswith(("admin/", "api/v1"))]
)
def test_no_page_has_a_hand_written_form_field(logged_in_client, account, name, route):
    """Every page reachable by a URL (with the test account's pk for its parameters): no field
    of any form outside crispy's wrappers."""
    logged_in_client.raise_request_exception = False
    response = logged_in_client.get(concrete_url(route).replace("/1/", f"/{account.pk}/"))
    if response.status_code != 200 or "html" not in response.headers.get("Content-Type", ""):
        return
    assert hand_written_controls(response.content.decode()) == []


def test_the_login_page_has_no_hand_written_form_field(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert hand_written_controls(response.content.decode()) == []


TEMPLATES = Path(settings.BASE_DIR) / "templates"
FORM = re.compile(r"<form\b.*?</form>", re.S)
FILLED = re.compile(
    r"<(?:select|textarea)\b|<input\b(?![^>]*type=\"(?:hidden|submit|button)\")|\{\{\s*\w*form\b"
)


def hand_written_fields(template: str) -> list[str]:
    """The `<form>` elements of a template's source that hold a field written by hand, and any
    use of crispy's filters (the layout belongs on the form's FormHelper)."""
    found = [m.group(0)[:80] for m in FORM.finditer(template) if FILLED.search(m.group(0))]
    return found + re.findall(r"\|crispy\b|\|as_crispy_field\b", template)


def test_the_template_check_finds_a_hand_written_field_and_a_filter():
    assert hand_written_fields('<form method="post"><input name="q"></form>')
    assert hand_written_fields("<form>{{ form.q }}</form>")
    assert hand_written_fields("{{ form|crispy }}")
    assert not hand_written_fields(
        '<form method="post">{% csrf_token %}<input type="hidden" name="next" value="/">'
        '<button type="submit">Reset</button></form>'
    )


def test_no_template_writes_a_form_field_by_hand():
    """Forms left in templates are buttons with hidden values only (a row's action menu, the
    language switch, logout): csrf and a button, no field a person fills in."""
    offenders = {
        str(path.relative_to(TEMPLATES)): found
        for path in TEMPLATES.rglob("*.html")
        if (found := hand_written_fields(path.read_text()))
    }
    assert offenders == {}


def test_the_missing_orders_question_on_orders_is_crispy(logged_in_client, account):
    response = logged_in_client.get(reverse("orders:list"), {"q": "123-1234567-1234567"})
    form = form_markup(response.content.decode(), "where-is-order-form")
    assert 'id="div_id_date"' in form
    assert 'name="order_id" value="123-1234567-1234567"' in form
    assert hand_written_controls(response.content.decode()) == []

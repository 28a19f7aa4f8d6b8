"""A new seller's flow in Chromium, in German (locale de-DE) and in English (en-US), and every
page of the dashboard at 1366 x 900 and on a phone (390 x 844).

The flow: login, home, Settings, connecting through the sandbox's consent page, the
start-import question, Reports » Request, Reports » Processing until the report is imported,
the report's details, Orders, an order's page, and Orders' CSV and XLSX exports downloaded
through the page's buttons. On each page no string of the other language may be left: in
German no English text of the catalogue (locale/de/LC_MESSAGES/django.po) whose German differs,
in English no German translation that differs from its English. The exports' header rows are
in the browser's language and the files hold the orders the database holds.

The German flow's data (its account, report and orders) serves the page walk: every page of
the navigation and every detail page the flow reached, screenshotted at both sizes into
test-artifacts/screenshots/pages/ (not committed: .gitignore), with no English left (the same
check, at 1366), no horizontal scroll at 1366 on any of them and at 390 on the pages a seller
uses on a phone. One Chromium for the module; one context per language of the flow and per
size of the walk.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import openpyxl
import polib
import pytest
from django.conf import settings
from django.utils import translation
from playwright.sync_api import expect

from orders.exports import order_columns
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    local_input,
    local_midnight,
)
from tests.german import compiled_catalogue  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow

IMPORT_TIMEOUT = 120_000
PO_PATH = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}|%%")
LOCALES = {"de": "de-DE", "en": "en-US"}
SIZES = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}
PAGES = SCREENSHOTS / "pages"


@cache
def catalogue() -> tuple[polib.POEntry, ...]:
    return tuple(entry for entry in polib.pofile(str(PO_PATH)) if not entry.obsolete)


def text(msgid: str, language: str) -> str:
    """`msgid` as a page in `language` shows it (the catalogue's German, or the English)."""
    if language == "en":
        return msgid
    return next(entry.msgstr for entry in catalogue() if entry.msgid == msgid and entry.msgstr)


@cache
def foreign_fragments(language: str) -> tuple[tuple[str, re.Pattern], ...]:
    """What must not be on a page in `language`: the text of every catalogue entry in the other
    language whose translation differs, as whole-word patterns. Markup and placeholders split
    a message into the fragments a page shows. A fragment that is also part of some text in
    `language` ("Amazon", "Seller Central", "Status") is left out."""

    def english(entry: polib.POEntry) -> list[str]:
        return list(filter(None, [entry.msgid, entry.msgid_plural]))

    def german(entry: polib.POEntry) -> list[str]:
        return list(filter(None, [entry.msgstr, *entry.msgstr_plural.values()]))

    own, other = (german, english) if language == "de" else (english, german)
    own_text = " ".join(" ".join(own(entry)) for entry in catalogue())
    fragments = set()
    for entry in catalogue():
        translations = own(entry)
        for message in other(entry):
            if message in translations:
                continue
            for piece in PLACEHOLDER.split(re.sub(r"<[^>]+>", "\n", message)):
                for line in piece.split("\n"):
                    fragment = line.strip(" .,:;()·»\u2013-")
                    if len(fragment) >= 4 and re.search(r"[A-Za-zÄÖÜäöüß]{3}", fragment):
                        if fragment not in own_text or not re.search(
                            rf"(?<!\w){re.escape(fragment)}(?!\w)", own_text
                        ):
                            fragments.add(fragment)
    return tuple(
        (fragment, re.compile(rf"(?<![\w-]){re.escape(fragment)}(?![\w-])"))
        for fragment in sorted(fragments)
    )


def foreign_words_in(shown: str, language: str) -> list[str]:
    """The fragments of the other language in `shown`."""
    return [fragment for fragment, pattern in foreign_fragments(language) if pattern.search(shown)]


@dataclass
class Flow:
    """What a flow saw: per page checked, the other language's text left on it; and the
    pages it reached, for the page walk."""

    language: str
    left: dict[str, list[str]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)

    def check(self, page, name: str, *, within: str = "body") -> None:
        """Screenshot the page and note what of the other language is left on it (or in
        `within`, the part of it that is translated so far)."""
        page.screenshot(path=str(SCREENSHOTS / f"{self.language}-{name}.png"), full_page=True)
        assert page.locator("html").get_attribute("lang") == self.language, name
        shown = page.locator(within).first.inner_text()
        if within == "body":
            shown = page.title() + "\n" + shown
        self.left[name] = foreign_words_in(shown, self.language)
        self.urls[name] = page.url

    def assert_nothing_left(self) -> None:
        left = {name: words for name, words in self.left.items() if words}
        assert not left, f"text of the other language left on the {self.language} pages: {left}"


@pytest.fixture(scope="module")
def chromium():
    """One Chromium for the module; each test opens its own contexts in it."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: the browser tests need it.")
    from playwright.sync_api import sync_playwright

    PAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def new_page(chromium, *, language: str, size: str = "1366"):
    context = chromium.new_context(
        viewport=SIZES[size],
        locale=LOCALES[language],
        timezone_id="Europe/Berlin",
        accept_downloads=True,
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def log_in(page, demo) -> None:
    page.fill("input[name=username]", demo.username)
    page.fill("input[name=password]", demo.password)
    page.locator('form[action$="/login/"] button[type=submit]').click()
    page.wait_for_url(demo.base_url.rstrip("/") + "/")


def order_ids(demo) -> set[str]:
    return {order_id for (order_id,) in demo.query("SELECT amazon_order_id FROM orders_order")}


def new_seller_flow(page, demo, *, language: str, seller: str) -> Flow:
    """Connect `seller` (an EU seller of the sandbox), request its newest orders and follow
    them to Orders and the exports, in the page's language."""
    flow = Flow(language)
    first_seller = not demo.query("SELECT id FROM amazon_settings_selleraccount")

    page.goto(demo.base_url)
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.locator("h1")).to_have_text(text("Log in", language))
    flow.check(page, "01-login")
    log_in(page, demo)
    if first_seller:
        expect(page.locator("#first-steps")).to_contain_text(
            text("No Amazon account connected yet", language)
        )
    flow.check(page, "02-home")

    page.goto(demo.url("/settings/"))
    flow.check(page, "03-settings")
    page.select_option("#id_region", "eu")
    page.locator("#connect-form button[type=submit]").click()
    expect(page.get_by_role("button", name="Confirm")).to_be_visible()  # Amazon's own page
    page.locator(f"input[name=selling_partner_id][value={seller}]").check()
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(r"/reports/start/\d+/"))
    account_pk = int(re.search(r"/reports/start/(\d+)/", page.url).group(1))
    expect(page.locator("#start-import")).to_contain_text(
        text("From which day should its orders be imported?", language)
    )
    # The browser's date input holds the day in ISO form, whatever the language.
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", page.locator("#id_import_orders_from").input_value())
    flow.check(page, "04-start-import")
    page.get_by_role("link", name=text("Not now", language)).click()

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = local_midnight(now - timedelta(days=2)), now - timedelta(hours=2)
    page.goto(demo.url("/reports/request/"))
    expect(page.locator("h1")).to_have_text(text("Reports » Request", language))
    page.select_option("select[name=account]", str(account_pk))
    page.select_option("select[name=kind]", "mfn_orders_eu")
    page.fill("input[name=start]", local_input(start))
    page.fill("input[name=end]", local_input(end))
    expect(page.locator("#request-preview")).not_to_be_empty()
    flow.check(page, "05-request")
    submit = page.locator("#request-form button[type=submit]")
    expect(submit).to_contain_text(text("Request", language))
    submit.click()

    expect(page).to_have_url(re.compile(r"/reports/\?batch="))
    row = page.locator("tr.report-highlight")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-import-status", "imported", timeout=IMPORT_TIMEOUT)
    expect(row.locator(".import-status")).to_have_text(text("Imported", language))
    if language == "de":
        # Moments as German sellers write them.
        expect(row).to_contain_text(re.compile(r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}"))
    flow.check(page, "06-processing")

    report_pk = row.get_attribute("id").removeprefix("report-")
    page.goto(demo.url(f"/reports/{report_pk}/"))
    flow.check(page, "07-report-detail")

    page.goto(demo.url(f"/orders/?account={account_pk}"))
    expect(page.locator("#orders tr.order-row").first).to_be_visible()
    flow.check(page, "08-orders")
    for export_format in ("csv", "xlsx"):
        check_export(page, demo, language=language, export_format=export_format)

    page.locator("#orders tr.order-row a").first.click()
    expect(page).to_have_url(re.compile(r"/orders/\d+/"))
    flow.check(page, "09-order-detail")
    flow.urls["account"] = str(account_pk)
    return flow


def check_export(page, demo, *, language: str, export_format: str) -> None:
    """Orders' export button downloads the listed orders, with its header in `language`.

    The worker may import more orders while the file is made (the import it started for the
    new account), so the file holds at least the orders before and at most those after."""
    before = order_ids(demo)
    with page.expect_download() as started:
        page.locator(f".export-buttons .export-{export_format}").click()
    download = started.value
    assert download.suggested_filename.endswith(f".{export_format}")
    path = download.path()
    if export_format == "csv":
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    else:
        with path.open("rb") as file:  # a download's file has no .xlsx suffix
            sheet = openpyxl.load_workbook(file, read_only=True).worksheets[0]
            rows = [[cell or "" for cell in row] for row in sheet.iter_rows(values_only=True)]
    after = order_ids(demo)
    header, body = rows[0], rows[1:]
    with translation.override(language):
        assert header == [str(column.header) for column in order_columns(buyer_data=True)]
    assert not foreign_words_in("\n".join(header), language), header
    # Orders lists this account's orders (its filter): all of them are in the database.
    exported = {row[0] for row in body}
    assert exported, f"the {export_format} export holds no orders"
    assert exported <= after
    shown = set(page.locator("#orders tr.order-row td:first-child a").all_inner_texts())
    assert shown & before <= exported


@pytest.fixture(scope="module")
def german_flow(chromium, demo, compiled_catalogue) -> Flow:  # noqa: F811
    page = new_page(chromium, language="de")
    try:
        return new_seller_flow(page, demo, language="de", seller="A2MUELLERHW7QX")
    finally:
        page.context.close()


def test_the_language_checks_find_the_other_language():
    assert foreign_words_in("Reports » Processing", "de")
    assert not foreign_words_in("Berichte » Verarbeitung", "de")
    assert foreign_words_in("Berichte » Verarbeitung", "en")
    assert not foreign_words_in("Reports » Processing", "en")


def test_a_new_seller_in_german(german_flow):
    assert set(german_flow.left) >= {"01-login", "06-processing", "08-orders", "09-order-detail"}
    german_flow.assert_nothing_left()


def test_a_new_seller_in_english(chromium, demo, compiled_catalogue):  # noqa: F811
    page = new_page(chromium, language="en")
    try:
        flow = new_seller_flow(page, demo, language="en", seller="A1KERZENWERK5D")
    finally:
        page.context.close()
    flow.assert_nothing_left()


def every_page(demo, flow: Flow) -> dict[str, str]:
    """Name -> path of every page of the navigation and every detail page the flow's data
    reaches (the login and the 404 page aside)."""
    account = flow.urls["account"]
    report = re.search(r"/reports/\d+/", flow.urls["07-report-detail"]).group(0)
    order = re.search(r"/orders/\d+/", flow.urls["09-order-detail"]).group(0)
    order_id = demo.query(
        "SELECT amazon_order_id FROM orders_order WHERE id = ?", int(order.split("/")[2])
    )[0][0]
    (user,) = demo.query("SELECT id FROM auth_user WHERE username = ?", demo.username)[0]
    return {
        "home": "/",
        "settings": "/settings/",
        "account-cadence": f"/reports/cadence/{account}/",
        "start-import": f"/reports/start/{account}/",
        "request": "/reports/request/",
        "processing": "/reports/",
        "report-detail": report,
        "empty-reports": "/reports/empty/",
        "upload": "/reports/upload/",
        "orders-missing": "/reports/diagnosis/",
        "orders-missing-account": f"/reports/diagnosis/{account}/",
        "where-is": f"/reports/where-is/?order_id={order_id}",
        "data-exchange-log": "/settings/log/",
        "scheduled-reports": "/reports/schedules/",
        "orders": "/orders/",
        "order-detail": order,
        "returns": "/orders/returns/",
        "stock": "/orders/stock/",
        "invoices": "/orders/invoices/",
        "invoicing": f"/orders/invoicing/{account}/",
        "profile": "/profile/",
        "users": "/administration/users/",
        "user-detail": f"/administration/users/{user}/",
        "invite": "/administration/users/invite/",
        "audit-log": "/administration/audit/",
        "api-tokens": "/settings/api-tokens/",
    }


# The pages a seller opens on a phone: none may scroll sideways at 390 px either.
PHONE_PAGES = {
    "login", "home", "settings", "request", "processing", "report-detail", "orders",
    "order-detail", "orders-missing", "where-is", "returns", "stock", "invoices", "profile",
    "not-found",
}  # fmt: skip


def subscribe_webhook(page, demo, *, name: str) -> str:
    """Subscribe a webhook through the German form (its answer shows the new secret); the path
    of the webhook's page."""
    page.goto(demo.url("/settings/webhooks/"))
    page.fill("#id_name", name)
    # The demo answers 404 there: the webhook's page gets failed tries to show.
    page.fill("#id_url", demo.url("/no-such-receiver/"))
    page.locator("input[name=events]").first.check()
    page.locator("input[name=create]").click()
    page.locator("#new-secret").wait_for()
    return page.get_by_role("link", name=name, exact=True).get_attribute("href")


def overflow(page) -> int:
    """How far the page scrolls sideways (0: not at all)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("size", SIZES)
def test_every_page_in_german_screenshotted_and_without_sideways_scroll(
    chromium, demo, german_flow, size
):
    page = new_page(chromium, language="de", size=size)
    scrolls, english = {}, {}

    def visit(name: str, path: str, *, status: int = 200) -> None:
        response = page.goto(demo.url(path))
        assert response.status == status, f"{name}: {path} answered {response.status}"
        page.screenshot(path=str(PAGES / f"{size}-{name}.png"), full_page=True)
        if (size == "1366" or name in PHONE_PAGES) and overflow(page) > 0:
            scrolls[name] = overflow(page)
        if size == "1366":
            left = foreign_words_in(page.title() + "\n" + page.inner_text("body"), "de")
            if left:
                english[name] = left

    try:
        visit("login", "/login/")
        log_in(page, demo)
        for name, path in every_page(demo, german_flow).items():
            visit(name, path)
        # Last: the audit log would show the subscription's path ("/settings/webhooks/").
        webhook = subscribe_webhook(page, demo, name=f"ERP {size}")
        if size == "1366":
            english["webhook-created"] = foreign_words_in(page.inner_text("body"), "de")
        visit("webhooks", "/settings/webhooks/")
        visit("webhook-detail", webhook)
        visit("not-found", "/no-such-page/", status=404)
    finally:
        page.context.close()
    assert not scrolls, f"pages that scroll sideways at {size} px (by px): {scrolls}"
    english = {name: left for name, left in english.items() if left}
    assert not english, f"English left on German pages: {english}"

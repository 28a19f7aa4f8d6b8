"""Reports » Processing, Orders and the home page in Chromium at 1366 x 900 and on a phone
(390 x 844): Processing has no horizontal scroll at 1366, each row's menu offers only the
actions of its report's state, and screenshots of the three pages at both sizes go to
test-artifacts/screenshots/ (not committed: .gitignore).

The pages are served by pytest-django's live server from the test database, filled before the
browser starts (Playwright's loop in this thread would make the ORM refuse afterwards).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from amazon_settings.crypto import encrypt_secret
from amazon_settings.models import AccountMarketplace, SellerAccount
from core.roles import OPERATORS, setup_roles
from reports.models import Report
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, screenshot
from tests.orders.conftest import EU_SELLER, NOW, render, run_import

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

Status = Report.ImportStatus
Amazon = Report.AmazonStatus
PASSWORD = "correct horse 42"
SIZES = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}
MFN = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
LONGEST = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"

# (report type, import status, Amazon's status, leased by the worker, problem) -> the menu.
ROWS = [
    (MFN, Status.QUEUED, Amazon.NONE, False, "", ["reset", "cancel", "skip"]),
    (LONGEST, Status.WAITING, Amazon.IN_QUEUE, False, "", ["reset", "cancel", "skip"]),
    ("GET_AFN_INVENTORY_DATA", Status.WAITING, Amazon.IN_PROGRESS, False, "", ["reset", "skip"]),
    ("GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING", Status.IMPORTING, Amazon.DONE, True, "",
     ["skip"]),
    (MFN, Status.IMPORTED, Amazon.DONE, False, "", ["reset"]),
    (
        "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
        Status.FAILED,
        Amazon.FATAL,
        False,
        "Amazon could not create this report: the range reaches further back than Amazon keeps "
        "this report type, so nothing was imported for these days.",
        ["reset", "skip"],
    ),
    ("GET_AFN_INVENTORY_DATA", Status.HELD, Amazon.DONE, False,
     "The stock report has 3 rows, less than 50 % of the last one: held until you confirm it.",
     ["reset", "skip", "confirm"]),
    ("SC_VAT_TAX_REPORT", Status.CANCELLED, Amazon.CANCELLED, False, "", ["reset"]),
    ("GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT", Status.SKIPPED, Amazon.IN_PROGRESS, False, "",
     ["reset"]),
]  # fmt: skip


@pytest.fixture
def seller_data(live_server) -> dict[int, list[str]]:
    """An Operator, an EU account with a few imported orders and a report in each state;
    returns report pk -> the actions its menu must offer."""
    user = get_user_model().objects.create_user(username="layout", password=PASSWORD)
    user.groups.add(setup_roles()[OPERATORS])
    account = SellerAccount.objects.create(
        selling_partner_id=EU_SELLER.selling_partner_id,
        region="eu",
        display_name="Müller Haushaltswaren GmbH & Co. KG",
        refresh_token_encrypted=encrypt_secret("Atzr|x"),
        status=SellerAccount.Status.CONNECTED,
    )
    for marketplace_id in EU_SELLER.marketplace_ids:
        AccountMarketplace.objects.create(
            account=account, marketplace_id=marketplace_id, country_code="DE", selected=True
        )
    run_import(account, MFN, render(MFN, NOW - timedelta(days=3), NOW))
    now = timezone.now()
    expected = {}
    for number, (report_type, status, amazon, leased, problem, offered) in enumerate(ROWS):
        report = Report.objects.create(
            account=account,
            report_type=report_type,
            import_status=status,
            amazon_status=amazon,
            amazon_report_id=f"5008{number:07d}" if amazon != Amazon.NONE else "",
            data_start=NOW - timedelta(days=30),
            data_end=NOW,
            rows_total=1234 if status in (Status.IMPORTING, Status.IMPORTED) else 0,
            rows_done=600 if status == Status.IMPORTING else 0,
            last_error=problem,
            # The worker's lease outlasts the test, so Reset stays off the importing row's menu.
            leased_until=now + timedelta(hours=1) if leased else None,
            requested_by=user,
        )
        expected[report.pk] = offered
    return expected


@pytest.fixture
def chromium(tmp_path):
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: the browser tests need it.")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize(
    ("locale", "order_statuses"), [("en-US", "Order statuses"), ("de-DE", "Bestellstatus")]
)
def test_processing_fits_1366_and_menus_offer_only_each_states_actions(
    live_server, seller_data, chromium, locale, order_statuses
):
    """In English and in German, whose words are longer."""
    context = chromium.new_context(
        viewport=SIZES["1366"], timezone_id="Europe/Berlin", locale=locale
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "layout")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/reports/")
    rows = page.locator("#reports tr.report-row")
    assert rows.count() == len(ROWS)
    assert scroll_width(page) <= 1366, "Processing scrolls sideways at 1366 px"
    # Nor does the table inside its own scroll box (.table-responsive).
    assert page.locator("#reports").evaluate(
        "table => table.parentElement.scrollWidth <= table.parentElement.clientWidth"
    ), "the report table scrolls sideways at 1366 px"
    # The "Created until" box is as wide as its neighbours, not cut off.
    since = page.locator("#id_since").bounding_box()
    until = page.locator("#id_until").bounding_box()
    assert until["width"] >= since["width"] - 1 and until["width"] >= 120

    for pk, offered in seller_data.items():
        row = page.locator(f"#report-{pk}")
        assert row.locator(".dropdown-menu").count() == 1
        assert row.locator(".dropdown-menu").is_hidden()
        row.locator(".report-actions .dropdown-toggle").click()
        menu = row.locator(".dropdown-menu")
        menu.wait_for(state="visible")
        assert (
            menu.locator("[data-action]").evaluate_all(
                "items => items.map(item => item.dataset.action)"
            )
            == offered
        ), f"report {pk}"
        assert menu.get_by_role("link", name="Details").is_visible()
        # The open menu stays inside the window, not clipped by the table's scroll box.
        box = menu.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1366
        page.keyboard.press("Escape")
        menu.wait_for(state="hidden")
    # The type is its short name, Amazon's code in the tooltip.
    longest = page.locator(f"#reports [data-report-type='{LONGEST}']")
    assert longest.inner_text() == order_statuses
    assert LONGEST in longest.get_attribute("title")

    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        for name, path in (("processing", "/reports/"), ("orders", "/orders/"), ("home", "/")):
            page.goto(f"{live_server.url}{path}")
            screenshot(page, f"layout-{locale}-{name}-{size}")
        if size == "390":
            page.goto(f"{live_server.url}/reports/")
            assert scroll_width(page) <= 390, "Processing scrolls sideways on a phone"
    context.close()

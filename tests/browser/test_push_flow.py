"""Push in a real browser against `make demo`: with the worker's check five minutes away, a
requested report is imported because Amazon's notification arrived (sandbox → local SQS →
the demo's consumer), and the Processing row shows the import's bar move and the report
imported without a page reload. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Demo, local_input, running_demo, screenshot

pytestmark = pytest.mark.slow

SELLER = "A2MUELLERHW7QX"
# Orders the seller sells in the hour the report covers: three batches of the import.
ORDERS = 3000


@pytest.fixture(scope="module")
def push_demo(tmp_path_factory) -> Iterator[Demo]:
    # The worker's check comes every five minutes: a report imported sooner came by push.
    with running_demo(
        tmp_path_factory.mktemp("push-demo"), WORKER_INTERVAL_SECONDS="300"
    ) as running:
        yield running


def log_in_and_connect(page, demo: Demo) -> str:
    page.goto(demo.base_url)
    page.fill("input[name=username]", demo.username)
    page.fill("input[name=password]", demo.password)
    page.locator('form[action$="/login/"] button[type=submit]').click()
    page.goto(demo.url("/settings/"))
    page.select_option("#id_region", "eu")
    page.get_by_role("button", name="Connect Amazon account").click()
    page.locator(f"input[name=selling_partner_id][value={SELLER}]").check()
    page.get_by_role("button", name="Confirm").click()
    # The consent returns to the start-import question; this flow requests (or uploads) by hand.
    expect(page).to_have_url(re.compile(r"/reports/start/\d+/"))
    page.get_by_role("link", name="Not now").click()
    card = page.locator(".card[data-status]").filter(has_text=SELLER)
    expect(card.locator(".status-badge")).to_have_text("Connected")
    return card.get_attribute("id").removeprefix("account-")


def wait_for_push_active(page, demo: Demo, account_pk: str) -> None:
    """Settings, reloaded until the background subscription shows (it takes a task)."""
    deadline = time.monotonic() + 60
    while True:
        page.goto(demo.url("/settings/"))
        badge = page.locator(f"#push-{account_pk} .push-badge")
        if "Push active" in badge.inner_text():
            return
        assert time.monotonic() < deadline, f"push never became active: {badge.inner_text()}"
        time.sleep(1)


def progress(demo: Demo) -> tuple[int, int, str]:
    rows = demo.query(
        "SELECT rows_done, rows_total, import_status FROM reports_report "
        "WHERE source = 'requested' ORDER BY id DESC LIMIT 1"
    )
    return rows[0] if rows else (0, 0, "")


def hold_import_mid_way(demo: Demo) -> sqlite3.Connection:
    """Once the import has committed a batch and not the last, take the database's write lock,
    so the import waits at its next batch (SQLite's busy timeout) while pages still read. The
    caller lets go."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done, total, status = progress(demo)
        if status == "importing" and 0 < done < total:
            holder = sqlite3.connect(demo.var_dir / "db.sqlite3", timeout=30, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
            return holder
        assert status != "imported", "the import finished before it could be watched"
        time.sleep(0.005)
    raise AssertionError(f"the import did not start within two minutes: {progress(demo)}")


def test_with_push_a_requested_report_is_imported_with_the_bar_moving_without_reload(
    page, push_demo
):
    demo = push_demo
    account_pk = log_in_and_connect(page, demo)
    wait_for_push_active(page, demo, account_pk)
    screenshot(page, "push-1-settings-push-active")

    for _ in range(ORDERS // 1000):
        demo.sandbox.control(
            f"sellers/{SELLER}/orders", {"region": "eu", "count": 1000, "fulfillment": "MFN"}
        )
    # Their payments clear within ten minutes: then an order report lists them.
    demo.sandbox.advance_clock(11 * 60)
    now = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    page.goto(demo.url("/reports/request/"))
    page.select_option("select[name=kind]", "mfn_orders_eu")
    page.fill("input[name=start]", local_input(now - timedelta(hours=1)))
    page.fill("input[name=end]", local_input(now))
    page.get_by_role("button", name="Request").click()
    expect(page).to_have_url(re.compile(r"/reports/\?batch="))
    page.evaluate("window.loadedOnce = 'yes'")  # gone if the page were loaded again
    row = page.locator("tr.report-highlight")
    expect(row).to_have_count(1)
    screenshot(page, "push-2-processing-waiting")

    holder = hold_import_mid_way(demo)
    try:
        bar = row.locator(".progress[role=progressbar]")
        expect(bar).to_have_attribute("aria-valuenow", re.compile(r"^([1-9]|[1-9][0-9])$"))
        expect(row).to_contain_text(re.compile(r"[\d,]+ of [\d,]+ lines"))
        screenshot(page, "push-3-processing-importing")
        part = int(bar.get_attribute("aria-valuenow"))
    finally:
        holder.rollback()
        holder.close()

    expect(row).to_have_attribute("data-import-status", "imported", timeout=120_000)
    screenshot(page, "push-4-processing-imported")
    assert 0 < part < 100
    assert page.evaluate("window.loadedOnce") == "yes"
    created = int(re.search(r"([\d,]+) new", row.inner_text()).group(1).replace(",", ""))
    assert created >= ORDERS  # a line per item: an order has one or more
    # Amazon's notification moved it, not the worker's check five minutes away.
    [(message,)] = demo.query(
        "SELECT e.message FROM reports_reportevent e JOIN reports_report r ON r.id = e.report_id "
        "WHERE r.source = 'requested' AND e.message LIKE 'Amazon''s notification:%'"
    )
    # The notification named the document: downloaded without asking Amazon about the report.
    assert message.startswith("Amazon's notification: the report is DONE, with its document ")
    assert message.endswith("; downloaded at once, without asking Amazon about the report again.")

    page.goto(demo.url("/settings/"))
    last = page.locator(f"#push-{account_pk} .push-last")
    expect(last).not_to_contain_text("none yet")
    screenshot(page, "push-5-settings-last-notification")

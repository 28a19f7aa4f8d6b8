"""The seller's flows in a real browser against `make demo` (web server, worker, sandbox).

The tests build on each other, in order: connect, request and import, lose and renew access,
find and fill the gap the lapse left, bad input, and a second account that imports from the
moment it is connected. Each step leaves a screenshot in
test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import pytest
from playwright.sync_api import Route, expect

from tests.browser.conftest import LOCAL, local_input, local_midnight, screenshot

pytestmark = pytest.mark.slow

SELLER = "A2MUELLERHW7QX"  # Müller Haushaltswaren, EU: DE, FR, IT, ES, UK
OTHER_SELLER = "A1KERZENWERK5D"
NA_SELLER = "A3CEDARRIDGE9K"  # US, CA
IMPORT_TIMEOUT = 120_000

# What one flow leaves for the next.
state: dict = {}


def earliest_import_day(asked_at: datetime) -> str:
    """The first whole day, in Berlin, of the 18 months Amazon keeps the EU FBA shipments report
    when asked at `asked_at`: its look-back counts 548 days of hours (less an hour's margin), not
    Berlin's calendar days, which a daylight saving change in between would shift."""
    earliest = (asked_at.astimezone(UTC) - timedelta(days=548, hours=-1)).astimezone(LOCAL)
    return f"{earliest.date() + timedelta(days=1):%Y-%m-%d}"


def sandbox_orders(
    demo, start: datetime, end: datetime, *, cancelled_since: datetime | None = None
) -> set[str]:
    """The MFN orders an order report over [start, end) lists now: paid, not cancelled. With
    `cancelled_since`, those cancelled since then instead: a buyer may cancel a paid order after
    a report listed it, and the dashboard keeps the order it imported."""
    query = urlencode({"region": "eu", "start": start.isoformat(), "end": end.isoformat()})
    orders = demo.sandbox.control(f"sellers/{SELLER}/orders?{query}")["orders"]
    if cancelled_since is not None:
        return {
            o["amazon_order_id"]
            for o in orders
            if o["status"] == "Canceled"
            and datetime.fromisoformat(o["last_updated"]) >= cancelled_since
        }
    return {
        o["amazon_order_id"]
        for o in orders
        if o["fulfillment"] == "MFN" and o["status"] not in ("Pending", "Canceled")
    }


def stored_orders(demo) -> list[str]:
    return [row[0] for row in demo.query("SELECT amazon_order_id FROM orders_order")]


def find_order(page, demo, order_id: str) -> None:
    page.goto(demo.url(f"/orders/?{urlencode({'q': order_id})}"))
    expect(page.locator("main")).to_contain_text(order_id)


def consent(page, seller: str) -> None:
    """On the sandbox's Seller Central consent page: sign in as `seller`, confirm."""
    expect(page.get_by_role("button", name="Confirm")).to_be_visible()
    page.locator(f"input[name=selling_partner_id][value={seller}]").check()


def test_1_a_new_user_connects_an_eu_account(page, demo):
    page.goto(demo.base_url)
    expect(page).to_have_url(re.compile(r"/login/"))
    page.fill("input[name=username]", demo.username)
    page.fill("input[name=password]", demo.password)
    screenshot(page, "1-1-login")
    page.locator('form[action$="/login/"] button[type=submit]').click()
    expect(page.locator("#first-steps")).to_contain_text("No Amazon account connected yet")
    screenshot(page, "1-2-home-new-installation")

    page.goto(demo.url("/settings/"))
    page.select_option("#id_region", "eu")
    page.get_by_role("button", name="Connect Amazon account").click()
    consent(page, SELLER)
    screenshot(page, "1-3-consent-page")
    # The question below is asked between these two moments: a midnight may pass in between.
    asked_between = [datetime.now(UTC)]
    page.get_by_role("button", name="Confirm").click()

    # The consent returns to one question: from which day to import, by default as far back as
    # Amazon keeps the order reports. This flow requests by hand (test 7 starts importing).
    expect(page).to_have_url(re.compile(r"/reports/start/\d+/"))
    expect(page.locator(".alert")).to_contain_text("is connected")
    expect(page.locator("#start-import")).to_contain_text(
        "From which day should its orders be imported?"
    )
    asked_between.append(datetime.now(UTC))
    assert page.locator("#id_import_orders_from").input_value() in {
        earliest_import_day(moment) for moment in asked_between
    }
    screenshot(page, "1-4-start-import-question")
    page.get_by_role("link", name="Not now").click()

    expect(page).to_have_url(re.compile(r"/settings/"))
    card = page.locator(".card[data-status]").filter(has_text=SELLER)
    expect(card).to_have_count(1)
    expect(card.locator(".status-badge")).to_have_text("Connected")
    expect(card.locator(".marketplaces")).to_contain_text("Amazon.de (DE)")
    expect(card.locator(".marketplaces")).to_contain_text("(FR)")
    # Amazon asks for renewal 365 days after the consent: not always in the next year (365 days
    # from January 1st of a leap year is its December 31st).
    expiry = card.locator(".expiry").inner_text()
    assert any(
        str((moment + timedelta(days=365)).astimezone(LOCAL).year) in expiry
        for moment in asked_between
    ), expiry
    state["account_pk"] = card.get_attribute("id").removeprefix("account-")
    expect(card).to_contain_text("Order import off")
    screenshot(page, "1-5-connected")


def test_2_requests_an_mfn_report_and_finds_its_orders(page, demo):
    # Orders cancelled after this may be in the report and imported: see sandbox_orders.
    state["requested_at"] = datetime.fromisoformat(demo.sandbox.control("clock")["now"])
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # Six days: the demo seller's paid MFN orders of a shorter range were none at about one
    # moment in a hundred (at least 6 in each of 322 moments sampled over a year for this one).
    start = local_midnight(now - timedelta(days=6))
    end = now - timedelta(hours=2)
    page.goto(demo.url("/reports/request/"))
    page.select_option("select[name=kind]", "mfn_orders_eu")
    page.fill("input[name=start]", local_input(start))
    page.fill("input[name=end]", local_input(end))
    screenshot(page, "2-1-request-form")
    page.get_by_role("button", name="Request").click()

    expect(page).to_have_url(re.compile(r"/reports/\?batch="))
    row = page.locator("tr.report-highlight")
    expect(row).to_have_count(1)
    screenshot(page, "2-2-processing-waiting")
    # No reload: the row polls itself (htmx) until the worker has imported the report.
    expect(row).to_have_attribute("data-import-status", "imported", timeout=IMPORT_TIMEOUT)
    screenshot(page, "2-3-processing-imported")
    new_lines = int(re.search(r"(\d+) new", row.inner_text()).group(1))

    expected = sandbox_orders(demo, start, end)
    assert expected, "the sandbox has no MFN orders in the range"
    cancelled = sandbox_orders(demo, start, end, cancelled_since=state["requested_at"])
    assert set(stored_orders(demo)) - cancelled == expected
    assert new_lines >= len(expected)  # lines are order items: one order may have several
    find_order(page, demo, sorted(expected)[0])
    screenshot(page, "2-4-order-found")
    state["range"] = (start, end)


def test_3_a_revoked_authorization_is_shown_and_renewed(page, demo):
    demo.sandbox.control(f"sellers/{SELLER}/revoke", {"region": "eu"})
    # Orders keep coming in on Amazon while the dashboard has no access.
    added = demo.sandbox.control(
        f"sellers/{SELLER}/orders", {"region": "eu", "count": 3, "fulfillment": "MFN"}
    )["orders"]
    state["added"] = {order["amazon_order_id"] for order in added}

    page.goto(demo.url("/settings/"))
    card = page.locator(f"#account-{state['account_pk']}")
    card.get_by_role("button", name="Test connection").click()
    expect(card.locator(".status-badge")).to_have_text("Authorization revoked")
    expect(card.locator(".connection-checks")).to_be_visible()
    banner = page.locator(f"[data-banner-account='{state['account_pk']}']")
    expect(banner).to_contain_text("Authorization revoked")
    screenshot(page, "3-1-revoked")

    card.get_by_role("button", name="Renew access").click()
    consent(page, SELLER)
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".alert-success")).to_contain_text("is renewed")
    expect(card.locator(".status-badge")).to_have_text("Connected")
    expect(page.locator(f"[data-banner-account='{state['account_pk']}']")).to_have_count(0)
    screenshot(page, "3-2-renewed")


def test_4_the_gap_of_the_lapse_is_found_requested_and_filled(page, demo):
    # Let Amazon's payment clear for the orders placed during the lapse (at most 10 minutes).
    demo.sandbox.advance_clock(11 * 60)
    start, end = state["range"]
    page.goto(demo.url(f"/reports/diagnosis/{state['account_pk']}/"))
    # The page answers at once; the worker's test call to Amazon comes in by polling.
    expect(page.locator("#connection-test")).to_have_attribute(
        "data-state", "finished", timeout=IMPORT_TIMEOUT
    )
    authorization = page.locator("#check-authorization")
    expect(authorization).to_contain_text("Sellers.getMarketplaceParticipations: 5 marketplaces")
    expect(authorization).to_have_attribute("data-status", "ok")
    # Import from the day of the first report: then the only MFN gap is the time since it.
    page.fill("#id_import_orders_from", start.strftime("%Y-%m-%d"))
    page.locator("#import-start-form button").click()
    expect(page.locator(".alert-success")).to_contain_text("are imported from")
    gaps = page.locator("#check-gaps")
    expect(gaps).to_have_attribute("data-status", "problem")
    expect(gaps).to_contain_text("Merchant Fulfilled Network - Order report - EU")
    mfn = page.locator(".coverage-kind[data-kind=mfn_orders_eu]")
    expect(mfn).to_have_attribute("data-due-gaps", "1")
    gap = mfn.locator("rect.gap")
    expect(gap).to_have_count(1)
    assert gap.get_attribute("data-start").startswith(
        end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    )
    screenshot(page, "4-1-diagnosis-gap")

    gap.click()  # one click: the gap is requested
    expect(page.locator(".alert-success")).to_contain_text("1 report requested")
    screenshot(page, "4-2-gap-requested")
    mfn = page.locator(".coverage-kind[data-kind=mfn_orders_eu]")
    # The timeline polls itself while the report is on its way.
    expect(mfn).to_have_attribute("data-pending-reports", "0", timeout=IMPORT_TIMEOUT)
    expect(mfn).to_have_attribute("data-due-gaps", "0")
    screenshot(page, "4-3-gap-filled")

    stored = stored_orders(demo)
    assert state["added"] <= set(stored)
    assert len(stored) == len(set(stored)), "an order was imported twice"
    covered_until = datetime.fromisoformat(
        demo.query("SELECT MAX(data_end) FROM reports_report WHERE import_status = 'imported'")[0][
            0
        ].replace(" ", "T")
    )
    if covered_until.tzinfo is None:
        covered_until = covered_until.replace(tzinfo=UTC)
    # The clock moved on by minutes since the first report: leave out what was cancelled since.
    cancelled = sandbox_orders(demo, start, covered_until, cancelled_since=state["requested_at"])
    assert set(stored) - cancelled == sandbox_orders(demo, start, covered_until)
    find_order(page, demo, sorted(state["added"])[0])
    screenshot(page, "4-4-lapse-order-found")

    page.goto(demo.base_url)
    strip = page.locator(f"#strip-{state['account_pk']}")
    expect(strip.locator(".connection-status")).to_have_text("Connected")
    bars = page.locator("#orders-chart rect.bar")
    expect(bars).to_have_count(30)
    expect(page.locator("#orders-chart-total")).to_contain_text(f"{len(stored)} order")
    screenshot(page, "4-5-home-dashboard")


def test_5_bad_input_is_refused(page, demo):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    page.goto(demo.url("/reports/request/"))
    page.fill("input[name=start]", local_input(now - timedelta(days=1)))
    page.fill("input[name=end]", local_input(now - timedelta(days=2)))
    page.get_by_role("button", name="Request").click()
    expect(page.locator("#request-form")).to_contain_text("The end must be after the start.")
    reports_before = demo.query("SELECT COUNT(*) FROM reports_report")[0][0]
    screenshot(page, "5-1-invalid-range")

    accounts_before = demo.query("SELECT id, authorized_at FROM amazon_settings_selleraccount")
    page.goto(demo.url("/settings/"))
    page.select_option("#id_region", "eu")
    page.get_by_role("button", name="Connect Amazon account").click()
    consent(page, OTHER_SELLER)
    captured: list[str] = []

    def capture(route: Route) -> None:
        # Let the sandbox answer the Confirm, but keep its redirect to the callback: redirects
        # are not routed, so the answer itself is held here.
        if route.request.method != "POST":
            route.continue_()
            return
        answer = route.fetch(max_redirects=0)
        captured.append(answer.headers["location"])
        route.fulfill(status=200, body="captured", content_type="text/plain")

    consent_page = re.compile(r".*/apps/authorize/consent.*")
    page.route(consent_page, capture)
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("body")).to_have_text("captured")
    page.unroute(consent_page)
    (callback,) = captured
    parts = urlparse(callback)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert query["selling_partner_id"] == OTHER_SELLER
    query["state"] = "tampered" + query["state"][8:]
    response = page.goto(urlunparse(parts._replace(query=urlencode(query))))
    assert response.status == 400
    expect(page.locator("main")).to_contain_text("does not belong to a connection you started here")
    screenshot(page, "5-2-tampered-callback")

    assert demo.query("SELECT id, authorized_at FROM amazon_settings_selleraccount") == (
        accounts_before
    )
    assert demo.query("SELECT COUNT(*) FROM reports_report")[0][0] == reports_before
    page.goto(demo.url("/settings/"))
    expect(page.locator(".card[data-status]").filter(has_text=OTHER_SELLER)).to_have_count(0)


def test_6_page_scripts_run_under_the_policy_and_disconnect_asks_first(page, demo):
    """Scripts come from static files only (script-src 'self'): the Request form's behaviour
    and the confirmations still work, and the browser reports no blocked script."""
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(demo.url("/reports/request/"))
    page.select_option("select[name=kind]", "fba_orders_eu")
    description = page.locator("#kind-description")
    expect(description).not_to_be_empty()
    first = description.inner_text()
    page.select_option("select[name=kind]", "mfn_orders_eu")
    expect(description).not_to_have_text(first)

    page.goto(demo.url("/settings/"))
    card = page.locator(f"#account-{state['account_pk']}")
    asked: list[str] = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    card.get_by_role("button", name="Disconnect").click()
    expect(card.locator(".status-badge")).to_have_text("Connected")
    page.once("dialog", lambda dialog: answer(dialog, True))
    card.get_by_role("button", name="Disconnect").click()
    expect(page.locator(".alert")).to_contain_text("disconnected")
    screenshot(page, "6-1-disconnected-after-confirm")
    assert len(asked) == 2 and all("Its token is deleted" in text for text in asked)
    assert blocked == []


def test_7_a_new_connection_imports_without_further_clicks(page, demo):
    page.goto(demo.url("/settings/"))
    page.select_option("#id_region", "na")
    page.get_by_role("button", name="Connect Amazon account").click()
    consent(page, NA_SELLER)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/reports/start/\d+/"))
    question = page.locator("#start-import")
    expect(question).to_contain_text("Amazon Fulfillment Network - Order report - NA 548 days")
    expect(question).to_contain_text("Merchant Fulfilled Network - Order report - NA 60 days")
    page.get_by_role("button", name="Start importing").click()

    # Processing of the new account: its first reports, imported with no request by hand.
    expect(page).to_have_url(re.compile(r"/reports/\?account=\d+"))
    expect(page.locator(".alert-success")).to_contain_text("Importing the orders of")
    screenshot(page, "7-1-import-started")
    mfn = page.locator("tr.report-row").filter(
        has=page.locator('[data-report-type="GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING"]')
    )
    expect(mfn).to_have_count(1)
    expect(mfn).to_have_attribute("data-import-status", "imported", timeout=IMPORT_TIMEOUT)
    screenshot(page, "7-2-first-orders-imported")
    (order_id,) = demo.query(
        "SELECT o.amazon_order_id FROM orders_order o JOIN amazon_settings_selleraccount a "
        "ON o.account_id = a.id WHERE a.selling_partner_id = ? AND o.fulfillment_channel = "
        "'MFN' LIMIT 1",
        NA_SELLER,
    )[0]
    find_order(page, demo, order_id)

    # Settings: the import is on (the switch pauses it), each type on its cadence.
    page.goto(demo.url("/settings/"))
    card = page.locator(".card[data-status]").filter(has_text=NA_SELLER)
    expect(card).to_contain_text("Order import on")
    expect(card.locator(".cadence-summary")).to_contain_text(
        "Merchant Fulfilled Network - Order report - NA: every 15 minutes · on an Amazon schedule"
    )
    screenshot(page, "7-3-settings-cadence")

    # Report cadence: a period Amazon cannot keep is refused beside its field.
    card.get_by_role("link", name="Report cadence").click()
    page.select_option("#id_fba_orders_na", "PT1H")
    page.get_by_role("button", name="Save cadence").click()
    expect(page.locator("#cadence-fba_orders_na .invalid-feedback")).to_have_text(
        "Amazon makes this report at most every 4 hours: choose that or longer."
    )
    screenshot(page, "7-4-cadence-field-error")
    page.select_option("#id_fba_orders_na", "PT4H")
    page.select_option("#id_fba_stock", "PT2H")
    page.get_by_role("button", name="Save cadence").click()
    expect(page.locator(".alert-success")).to_contain_text(
        "Amazon Fulfillment Network - Stock report: every hour → every 2 hours"
    )
    expect(page.locator("#cadence-fba_stock")).to_have_attribute("data-interval", "every 2 hours")
    screenshot(page, "7-5-cadence-saved")

"""A new seller's flow in a German browser (Chromium with locale de-DE): login, home,
connecting, the start-import question, Reports » Request and Reports » Processing, all in
German. On each page no English string of the catalogue may be left (one whose German
differs), checked against locale/de/LC_MESSAGES/django.po. Screenshots: test-artifacts/.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import polib
import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, screenshot

pytestmark = pytest.mark.slow

SELLER = "A2MUELLERHW7QX"
LOCAL = ZoneInfo("Europe/Berlin")
IMPORT_TIMEOUT = 120_000
PO_PATH = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}|%%")


@cache
def english_fragments() -> tuple[re.Pattern, ...]:
    """The English text of every catalogue entry whose German differs, as whole-word patterns:
    markup and placeholders split a message into the fragments a page shows. A fragment that
    is also part of some German translation ("Amazon", "Seller Central") is left out."""
    catalogue = [entry for entry in polib.pofile(str(PO_PATH)) if not entry.obsolete]
    german = " ".join(
        " ".join([entry.msgstr, *entry.msgstr_plural.values()]) for entry in catalogue
    )
    fragments = set()
    for entry in catalogue:
        translations = [entry.msgstr, *entry.msgstr_plural.values()]
        for english in filter(None, [entry.msgid, entry.msgid_plural]):
            if english in translations:
                continue
            for piece in PLACEHOLDER.split(re.sub(r"<[^>]+>", "\n", english)):
                for line in piece.split("\n"):
                    fragment = line.strip(" .,:;()·»\u2013-")
                    if len(fragment) >= 4 and re.search(r"[A-Za-z]{3}", fragment):
                        if not re.search(rf"(?<!\w){re.escape(fragment)}(?!\w)", german):
                            fragments.add(fragment)
    return tuple(
        re.compile(rf"(?<![\w-]){re.escape(fragment)}(?![\w-])") for fragment in sorted(fragments)
    )


def assert_german(page, name: str, *, within: str = "body") -> None:
    screenshot(page, f"de-{name}")
    assert page.locator("html").get_attribute("lang") == "de"
    text = page.locator(within).first.inner_text()
    if within == "body":
        text = page.title() + "\n" + text
    left = sorted({p.pattern for p in english_fragments() if p.search(text)})
    assert not left, f"English left on {name}: {left}"


@pytest.fixture(scope="module")
def german_page(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: the browser tests need it.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-de")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1366, "height": 900},
            locale="de-DE",
            timezone_id="Europe/Berlin",
        )
        context.set_default_timeout(15_000)
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def test_the_english_check_finds_english():
    assert any(p.search("Reports » Processing") for p in english_fragments())
    assert not any(p.search("Berichte » Verarbeitung") for p in english_fragments())


def test_a_new_seller_in_german(german_page, demo):
    page = german_page
    page.goto(demo.base_url)
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.locator("h1")).to_have_text("Anmelden")
    assert_german(page, "1-login")
    page.fill("input[name=username]", demo.username)
    page.fill("input[name=password]", demo.password)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#first-steps")).to_contain_text("Noch kein Amazon-Verkäuferkonto")
    assert_german(page, "2-home")

    page.goto(demo.url("/settings/"))
    # Settings' own text is translated on the issue's other branch (amazon_settings): here its
    # navigation only. After the merge, check the whole page as the others.
    assert_german(page, "3-settings", within="nav")
    page.select_option("#id_region", "eu")
    page.locator("#connect-form button[type=submit]").click()
    expect(page.get_by_role("button", name="Confirm")).to_be_visible()  # Amazon's own page
    page.locator(f"input[name=selling_partner_id][value={SELLER}]").check()
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(r"/reports/start/\d+/"))
    expect(page.locator("#start-import")).to_contain_text(
        "Ab welchem Tag sollen die Bestellungen importiert werden?"
    )
    # The browser's date input holds the day in ISO form, whatever the language.
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", page.locator("#id_import_orders_from").input_value())
    # The question itself; the cadence summary below it (report type names, cadences in words)
    # is not translated yet.
    assert_german(page, "4-start-import", within="#start-import")
    page.get_by_role("link", name="Jetzt nicht").click()

    now = datetime.now(LOCAL).replace(second=0, microsecond=0)
    start, end = (now - timedelta(days=2)).replace(hour=0, minute=0), now - timedelta(hours=2)
    page.goto(demo.url("/reports/request/"))
    expect(page.locator("h1")).to_have_text("Berichte » Anfordern")
    page.select_option("select[name=kind]", "mfn_orders_eu")
    page.fill("input[name=start]", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=end]", end.strftime("%Y-%m-%dT%H:%M"))
    expect(page.locator("#request-preview")).not_to_be_empty()
    assert_german(page, "5-request")
    submit = page.locator("#request-form button[type=submit]")
    expect(submit).to_contain_text("Anfordern")
    submit.click()

    expect(page).to_have_url(re.compile(r"/reports/\?batch="))
    expect(page.locator(".alert-success")).to_contain_text("Bericht angelegt")
    row = page.locator("tr.report-highlight")
    expect(row).to_have_attribute("data-import-status", "imported", timeout=IMPORT_TIMEOUT)
    expect(row.locator(".import-status")).to_have_text("Importiert")
    expect(row.locator(".counters")).to_contain_text(re.compile(r"\d+ (Zeile|Zeilen)\b"))
    # Moments as German sellers write them.
    expect(row).to_contain_text(re.compile(r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}"))
    assert_german(page, "6-processing")

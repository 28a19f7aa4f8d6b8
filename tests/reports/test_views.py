"""The reports pages: Request, Processing (htmx polling, row actions), details, schedules."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse, set_script_prefix
from django.utils import timezone

from amazon_settings.crypto import encrypt_secret
from amazon_settings.models import AccountMarketplace, SellerAccount
from amazon_settings.spapi import ReportSchedule, SpApiAuthError, SpApiRequestError
from reports import stored_texts
from reports.documents import store_raw_document
from reports.models import Report, ReportEvent, ReportRowError
from reports.services import actions, pipeline
from reports.views.processing import ReportUrls

pytestmark = pytest.mark.django_db

Status = Report.ImportStatus
Amazon = Report.AmazonStatus

DE, FR, IT, US = "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4", "ATVPDKIKX0DER"


def make_account(
    name: str, *, region: str = "eu", connected: bool = True, marketplaces=()
) -> SellerAccount:
    account = SellerAccount.objects.create(
        selling_partner_id=f"A{abs(hash(name)) % 10**12:012d}",
        region=region,
        display_name=name,
        refresh_token_encrypted=encrypt_secret("Atzr|x") if connected else "",
        status=SellerAccount.Status.CONNECTED if connected else SellerAccount.Status.DISCONNECTED,
    )
    for marketplace_id, country, selected in marketplaces:
        AccountMarketplace.objects.create(
            account=account,
            marketplace_id=marketplace_id,
            country_code=country,
            name=f"Amazon.{country.lower()}",
            selected=selected,
        )
    return account


@pytest.fixture
def eu_account() -> SellerAccount:
    return make_account(
        "EU Shop", marketplaces=[(DE, "DE", True), (FR, "FR", True), (IT, "IT", False)]
    )


@pytest.fixture
def na_account() -> SellerAccount:
    return make_account("US Shop", region="na", marketplaces=[(US, "US", True)])


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch):
    """Nothing is handed to the task queue: no broker in these tests."""
    monkeypatch.setattr("reports.services.transitions.enqueue_reports", lambda ids: 0)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def local(moment: datetime) -> str:
    """How a browser's datetime-local input sends a moment (in the current time zone)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def field_error(response, field: str) -> str:
    """The first error shown under a field of the request form (crispy's `error_1_id_<field>`)."""
    match = re.search(rf'id="error_1_id_{field}"><strong>([^<]*)<', response.content.decode())
    return html.unescape(match.group(1)) if match else ""


def request_data(account: SellerAccount, **overrides) -> dict:
    now = timezone.now()
    data = {
        "account": account.pk,
        "kind": "fba_orders_eu",
        "marketplace_ids": [DE, FR],
        "start": local(now - timedelta(days=70)),
        "end": local(now - timedelta(hours=1)),
    }
    data.update(overrides)
    return data


def make_report(account: SellerAccount, **fields) -> Report:
    defaults = {
        "report_type": "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
        "marketplace_ids": [DE],
        "data_start": timezone.now() - timedelta(days=2),
        "data_end": timezone.now() - timedelta(days=1),
        "source": Report.Source.AUTOMATIC,
    }
    defaults.update(fields)
    return Report.objects.create(account=account, **defaults)


def test_request_form_groups_kinds_and_ticks_the_accounts_marketplaces(
    logged_in_client, eu_account, na_account
):
    make_account("Gone", connected=False)
    response = logged_in_client.get(reverse("reports:request"))
    body = response.content.decode()
    assert response.status_code == 200
    for group in ("MFN", "FBA", "VCS"):
        assert f'<optgroup label="{group}">' in body
    assert 'data-description="Importing FBA orders for EU sellers"' in body
    assert 'type="datetime-local"' in body
    # Only connected accounts are offered.
    assert "EU Shop" in body and "US Shop" in body and "Gone" not in body
    # Selected marketplaces, all ticked; the deselected one is not offered.
    assert re.search(rf'value="{DE}"\s+id="mp-{eu_account.pk}-{DE}" checked', body)
    assert re.search(rf'value="{FR}"\s+id="mp-{eu_account.pk}-{FR}" checked', body)
    assert IT not in body
    # The other account's marketplaces are there for the script, hidden and not submitted.
    assert f'data-account-marketplaces="{na_account.pk}" hidden disabled' in body


# A fixed "now" for the request page's ready ranges: their values follow the clock.
PRESET_NOW = datetime(2026, 3, 29, 14, 37, 21, tzinfo=UTC)


@pytest.fixture
def preset_now(monkeypatch) -> datetime:
    monkeypatch.setattr("django.utils.timezone.now", lambda: PRESET_NOW)
    return PRESET_NOW


def input_value(body: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', body)
    return re.search(r'value="([^"]*)"', match.group(0)).group(1)


def preset_links(body: str) -> dict[str, dict[str, str]]:
    """The ready ranges under the request form's dates: key -> the link's attributes."""
    links = {}
    for tag in re.findall(r'<a class="btn btn-sm btn-outline-secondary range-preset"[^>]*>', body):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        attrs["hidden"] = " hidden" in tag
        links[attrs["data-preset"], attrs.get("data-account", "")] = attrs
    return links


def test_request_form_offers_ready_ranges(logged_in_client, eu_account, na_account, preset_now):
    SellerAccount.objects.filter(pk=eu_account.pk).update(
        import_orders_from=datetime(2026, 2, 10, 23, 0, tzinfo=UTC)  # Feb 11 in Berlin
    )
    body = logged_in_client.get(reverse("reports:request")).content.decode()
    links = preset_links(body)
    # 29 March 2026 is the day Berlin changes to summer time: midnights stay local midnights.
    local_now = timezone.localtime(preset_now)
    assert local_now.utcoffset() == timedelta(hours=2)
    assert links["7", ""]["data-start"] == "2026-03-22T00:00"
    assert links["30", ""]["data-start"] == "2026-02-27T00:00"
    assert links["60", ""]["data-start"] == "2026-01-28T00:00"
    assert {links[key, ""]["data-end"] for key in ("7", "30", "60")} == {"2026-03-29T16:37"}
    assert html.unescape(links["30", ""]["href"]) == (
        f"?range=30&account={eu_account.pk}&kind=mfn_orders_eu"
    )
    since = links["import-start", str(eu_account.pk)]
    assert since["data-start"] == "2026-02-11T00:00" and not since["hidden"]
    assert "Since “Import orders from” (2026-02-11)</a>" in body
    # The other account's start is there for the script, hidden until that account is chosen.
    assert links["import-start", str(na_account.pk)]["hidden"]
    # Without a choice, the form opens on the last 7 days.
    assert input_value(body, "start") == "2026-03-22T00:00"
    assert input_value(body, "end") == "2026-03-29T16:37"


@pytest.mark.parametrize(
    ("preset", "start"),
    [("30", "2026-02-27T00:00"), ("60", "2026-01-28T00:00"), ("import-start", "2026-02-11T00:00")],
)
def test_a_ready_range_link_opens_the_form_with_it(
    logged_in_client, eu_account, preset_now, preset, start
):
    SellerAccount.objects.filter(pk=eu_account.pk).update(
        import_orders_from=datetime(2026, 2, 10, 23, 0, tzinfo=UTC)
    )
    body = logged_in_client.get(
        reverse("reports:request"),
        {"range": preset, "account": eu_account.pk, "kind": "fba_orders_eu"},
    ).content.decode()
    assert input_value(body, "start") == start
    assert input_value(body, "end") == "2026-03-29T16:37"
    assert re.search(r'<option value="fba_orders_eu"[^>]*selected', body)


def test_a_hostile_ready_range_link_opens_the_default_range(
    logged_in_client, eu_account, preset_now
):
    body = logged_in_client.get(
        reverse("reports:request"), {"range": "<x>", "account": "x1", "kind": "nope"}
    ).content.decode()
    assert input_value(body, "start") == "2026-03-22T00:00"


def test_request_end_before_start(logged_in_client, eu_account):
    now = timezone.now()
    data = request_data(
        eu_account, start=local(now - timedelta(days=2)), end=local(now - timedelta(days=3))
    )
    response = logged_in_client.post(reverse("reports:request"), data)
    assert response.status_code == 400
    assert field_error(response, "end") == "The end must be after the start."
    assert not Report.objects.exists()


def test_request_end_in_the_future(logged_in_client, eu_account):
    data = request_data(eu_account, end=local(timezone.now() + timedelta(days=1)))
    response = logged_in_client.post(reverse("reports:request"), data)
    assert field_error(response, "end") == "The end cannot be in the future."


def test_request_beyond_look_back(logged_in_client, eu_account):
    now = timezone.now()
    data = request_data(eu_account, kind="mfn_orders_eu", start=local(now - timedelta(days=90)))
    response = logged_in_client.post(reverse("reports:request"), data)
    error = field_error(response, "start")
    assert error.startswith(
        "Amazon keeps Merchant Fulfilled Network - Order report - EU data for 60 days; "
        "start on or after "
    )
    assert field_error(response, "end") == ""


def test_request_kind_of_another_region(logged_in_client, eu_account):
    response = logged_in_client.post(
        reverse("reports:request"), request_data(eu_account, kind="mfn_orders_na")
    )
    assert (
        field_error(response, "kind")
        == "Merchant Fulfilled Network - Order report - NA is not available in Europe."
    )


def test_request_account_not_connected(logged_in_client, eu_account):
    gone = make_account("Gone", connected=False, marketplaces=[(DE, "DE", True)])
    response = logged_in_client.post(reverse("reports:request"), request_data(gone))
    assert field_error(response, "account") == (
        "Gone is not connected to Amazon. Renew access in Settings."
    )


def test_request_marketplaces_of_another_account(logged_in_client, eu_account, na_account):
    response = logged_in_client.post(
        reverse("reports:request"), request_data(eu_account, marketplace_ids=[US])
    )
    assert field_error(response, "marketplace_ids") == "Choose marketplaces of EU Shop."
    response = logged_in_client.post(
        reverse("reports:request"), request_data(eu_account, marketplace_ids=[])
    )
    assert field_error(response, "marketplace_ids") == "Choose at least one marketplace."
    # What the seller unticked stays unticked.
    assert re.search(rf'id="mp-{eu_account.pk}-{DE}"\s*>', response.content.decode())


def test_split_preview_says_how_the_range_is_sent(logged_in_client, eu_account):
    url = reverse("reports:request_preview")
    response = logged_in_client.post(url, request_data(eu_account), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert (
        "This range is longer than one request may cover (31 days): it will be sent as 3 "
        "consecutive requests." in response.content.decode()
    )
    assert 'id="request-preview"' in response.content.decode()
    now = timezone.now()
    short = request_data(eu_account, start=local(now - timedelta(days=5)))
    assert "One request covers this range." in logged_in_client.post(url, short).content.decode()
    stock = request_data(eu_account, kind="fba_stock")
    assert "the range is ignored" in logged_in_client.post(url, stock).content.decode()
    future = request_data(eu_account, end=local(now + timedelta(days=2)))
    assert "The end cannot be in the future." in logged_in_client.post(url, future).content.decode()


def test_split_preview_also_on_a_refused_submit(logged_in_client, eu_account):
    data = request_data(eu_account, marketplace_ids=[])
    response = logged_in_client.post(reverse("reports:request"), data)
    assert "it will be sent as 3 consecutive requests." in response.content.decode()


def test_request_creates_reports_and_highlights_the_batch(logged_in_client, eu_account, user):
    other = make_report(eu_account)
    response = logged_in_client.post(reverse("reports:request"), request_data(eu_account))
    created = Report.objects.exclude(pk=other.pk)
    assert created.count() == 3
    batch = created.first().batch
    assert {r.batch for r in created} == {batch}
    assert all(r.requested_by == user and r.marketplace_ids == sorted([DE, FR]) for r in created)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('reports:processing')}?batch={batch}"

    page = logged_in_client.get(response["Location"])
    body = page.content.decode()
    assert "3 reports created, 0 reused" in body
    assert body.count("report-highlight") == 3
    assert f'id="report-{other.pk}" class="report-row"' in body

    # The same request again reuses the pending reports instead of asking Amazon twice.
    again = logged_in_client.post(reverse("reports:request"), request_data(eu_account), follow=True)
    assert Report.objects.count() == 4
    assert "0 reports created, 3 reused" in again.content.decode()


def test_request_page_without_connected_account(logged_in_client):
    response = logged_in_client.get(reverse("reports:request"))
    assert 'id="no-connected-accounts"' in response.content.decode()


def test_processing_shows_both_statuses_counters_and_source(logged_in_client, eu_account, user):
    waiting = make_report(
        eu_account,
        amazon_report_id="50001",
        amazon_status=Amazon.IN_QUEUE,
        import_status=Status.WAITING,
        source=Report.Source.REQUESTED,
        requested_by=user,
    )
    imported = make_report(
        eu_account,
        report_type="GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING",
        amazon_report_id="50002",
        amazon_status=Amazon.DONE,
        import_status=Status.IMPORTED,
        rows_total=12,
        rows_created=7,
        rows_updated=3,
        rows_unchanged=1,
        rows_failed=1,
        source=Report.Source.SCHEDULE,
    )
    body = logged_in_client.get(reverse("reports:processing")).content.decode()
    assert "Merchant Fulfilled Network - Order report - EU" in body
    assert "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING" in body
    assert "In queue" in body and "Waiting for Amazon" in body
    assert "Done" in body and "Imported" in body
    assert "Requested by seller" in body and "Amazon schedule" in body
    assert "12 lines" in body and "7 new · 3 changed" in body
    assert "1 unchanged · " in body and "1 with errors" in body
    assert waiting.amazon_report_id in body and imported.amazon_report_id in body


def test_processing_shows_progress_while_importing(logged_in_client, eu_account):
    make_report(eu_account, import_status=Status.IMPORTING, rows_total=200, rows_done=50)
    body = logged_in_client.get(reverse("reports:processing")).content.decode()
    assert (
        'class="progress-bar progress-bar-striped progress-bar-animated" style="width: 25%"' in body
    )


def test_processing_explains_problems_in_plain_words(logged_in_client, eu_account):
    make_report(
        eu_account,
        import_status=Status.WAITING,
        amazon_status=Amazon.IN_QUEUE,
        failure_reason=Report.FailureReason.AUTH,
        last_error=stored_texts.stored_text(stored_texts.DENIED, error="403 Unauthorized"),
    )
    # Requested by hand: one row of its own (automatic ones without data are folded).
    make_report(
        eu_account,
        import_status=Status.NO_DATA,
        amazon_status=Amazon.CANCELLED,
        last_error=pipeline.NO_DATA_MESSAGE,
        source=Report.Source.REQUESTED,
    )
    make_report(
        eu_account,
        import_status=Status.FAILED,
        amazon_status=Amazon.FATAL,
        failure_reason=Report.FailureReason.AMAZON_FATAL,
        last_error="Amazon could not create this report: A client error occurred.",
    )
    body = logged_in_client.get(reverse("reports:processing")).content.decode()
    assert "Amazon denied access: renew access in Settings" in body
    assert f'href="{reverse("amazon_settings:settings")}#account-{eu_account.pk}"' in body
    assert "Amazon found no data in this range" in body
    assert "Amazon could not create this report: A client error occurred." in body


def test_processing_filters(logged_in_client, eu_account, na_account):
    mfn = make_report(eu_account, amazon_report_id="61", import_status=Status.WAITING)
    fba = make_report(
        eu_account,
        amazon_report_id="62",
        report_type="GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING",
        import_status=Status.IMPORTED,
    )
    us = make_report(
        na_account,
        amazon_report_id="63",
        report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
        import_status=Status.FAILED,
    )
    Report.objects.filter(pk=us.pk).update(created_at=timezone.now() - timedelta(days=10))

    def shown(**query) -> set[int]:
        body = logged_in_client.get(reverse("reports:processing"), query).content.decode()
        return {int(pk) for pk in re.findall(r'<tr id="report-(\d+)"', body)}

    assert shown() == {mfn.pk, fba.pk, us.pk}
    assert shown(account=na_account.pk) == {us.pk}
    assert shown(kind="fba_orders_eu") == {fba.pk}
    assert shown(kind="mfn_orders_eu") == {mfn.pk}
    assert shown(status="unfinished") == {mfn.pk}
    assert shown(status="failed") == {us.pk}
    assert shown(since=local(timezone.now() - timedelta(days=1))) == {mfn.pk, fba.pk}
    assert shown(until=local(timezone.now() - timedelta(days=1))) == {us.pk}


def test_processing_paginates_by_50(logged_in_client, eu_account):
    Report.objects.bulk_create(
        Report(
            account=eu_account, report_type="GET_AFN_INVENTORY_DATA", import_status=Status.IMPORTED
        )
        for _ in range(51)
    )
    first = logged_in_client.get(reverse("reports:processing"), {"status": "imported"})
    assert first.content.decode().count('<tr id="report-') == 50
    assert "Page 1 of 2" in first.content.decode()
    assert 'href="?status=imported&page=2"' in first.content.decode()
    second = logged_in_client.get(reverse("reports:processing"), {"status": "imported", "page": 2})
    assert second.content.decode().count('<tr id="report-') == 1


def test_processing_pages_keep_the_filters_and_end_on_the_last_page(logged_in_client, eu_account):
    Report.objects.bulk_create(
        Report(
            account=eu_account, report_type="GET_AFN_INVENTORY_DATA", import_status=Status.IMPORTED
        )
        for _ in range(55)
    )
    make_report(eu_account, import_status=Status.FAILED)
    url = reverse("reports:processing")

    second = logged_in_client.get(url, {"status": "imported", "page": 2}).content.decode()
    assert second.count('<tr id="report-') == 5
    assert 'href="?status=imported&page=1">Newer<' in second
    assert ">Older<" not in second
    assert "Page 2 of 2" in second

    past_the_end = logged_in_client.get(url, {"status": "imported", "page": 9})
    assert past_the_end.context["page"].number == 2
    assert past_the_end.content.decode().count('<tr id="report-') == 5


def test_processing_with_more_reports_than_the_count_limit(
    logged_in_client, eu_account, monkeypatch
):
    """No count of every report: past the limit the pages are numbered without a total."""
    monkeypatch.setattr("core.pagination.COUNT_LIMIT", 60)
    Report.objects.bulk_create(
        Report(
            account=eu_account, report_type="GET_AFN_INVENTORY_DATA", import_status=Status.IMPORTED
        )
        for _ in range(120)
    )
    url = reverse("reports:processing")
    first = logged_in_client.get(url).content.decode()
    assert "Page 1</span>" in first and "Page 1 of" not in first
    assert 'href="?page=2">Older<' in first
    last = logged_in_client.get(url, {"page": 3}).content.decode()
    assert last.count('<tr id="report-') == 20
    assert "Page 3 of 3" in last and ">Older<" not in last


def test_unfinished_row_polls_itself(logged_in_client, eu_account):
    report = make_report(eu_account, import_status=Status.WAITING, amazon_status=Amazon.IN_PROGRESS)
    row_url = reverse("reports:row", args=[report.pk])
    page = logged_in_client.get(reverse("reports:processing")).content.decode()
    assert f'hx-get="{row_url}" hx-trigger="every 5s"' in page
    response = logged_in_client.get(row_url, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.strip().startswith(f'<tr id="report-{report.pk}"')
    assert 'hx-trigger="every 5s"' in body and 'hx-swap="outerHTML"' in body
    assert f'href="{reverse("reports:detail", args=[report.pk])}"' in body


def test_finished_row_stops_polling_with_286(logged_in_client, eu_account):
    report = make_report(eu_account, import_status=Status.IMPORTED, amazon_status=Amazon.DONE)
    response = logged_in_client.get(
        reverse("reports:row", args=[report.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 286
    assert "Imported" in response.content.decode()
    assert "hx-trigger" not in response.content.decode()
    page = logged_in_client.get(reverse("reports:processing")).content.decode()
    assert "hx-trigger" not in page


def test_row_url_without_htmx_goes_to_details(logged_in_client, eu_account):
    report = make_report(eu_account)
    response = logged_in_client.get(reverse("reports:row", args=[report.pk]))
    assert response["Location"] == reverse("reports:detail", args=[report.pk])


def test_reset_imports_again(logged_in_client, eu_account):
    report = make_report(
        eu_account, amazon_report_id="70", import_status=Status.FAILED, last_error="Boom."
    )
    response = logged_in_client.post(
        reverse("reports:reset", args=[report.pk]),
        {"next": f"{reverse('reports:processing')}?status=failed"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"{reverse('reports:processing')}?status=failed"
    assert "The report will be imported again; nothing is doubled." in response.content.decode()
    report.refresh_from_db()
    assert report.import_status == Status.QUEUED


def test_cancel_a_report_not_yet_sent(logged_in_client, eu_account):
    report = make_report(eu_account, import_status=Status.QUEUED)
    page = logged_in_client.get(reverse("reports:processing")).content.decode()
    assert reverse("reports:cancel", args=[report.pk]) in page
    response = logged_in_client.post(reverse("reports:cancel", args=[report.pk]), follow=True)
    assert "The report is cancelled." in response.content.decode()
    report.refresh_from_db()
    assert report.import_status == Status.CANCELLED


def test_row_actions_are_one_form_posting_to_each_action(logged_in_client, eu_account):
    report = make_report(eu_account, import_status=Status.QUEUED)
    page = logged_in_client.get(reverse("reports:processing")).content.decode()
    assert page.count(f'action="{reverse("reports:reset", args=[report.pk])}"') == 1
    assert f'formaction="{reverse("reports:cancel", args=[report.pk])}"' in page
    assert f'formaction="{reverse("reports:skip", args=[report.pk])}"' in page
    assert reverse("reports:confirm", args=[report.pk]) not in page
    assert f'href="{reverse("reports:detail", args=[report.pk])}"' in page
    assert f'hx-get="{reverse("reports:row", args=[report.pk])}"' in page


def test_report_urls_are_what_reverse_gives():
    assert ReportUrls().for_report(1234) == {
        name: reverse(f"reports:{name}", args=[1234]) for name in ReportUrls.NAMES
    }
    set_script_prefix("/aoi/")
    try:
        urls = ReportUrls().for_report(7)
        assert urls["reset"] == "/aoi/reports/7/reset/" == reverse("reports:reset", args=[7])
    finally:
        set_script_prefix("/")


def test_cancel_after_amazon_started_is_not_allowed(logged_in_client, eu_account):
    report = make_report(
        eu_account,
        amazon_report_id="71",
        import_status=Status.WAITING,
        amazon_status=Amazon.IN_PROGRESS,
    )
    page = logged_in_client.get(reverse("reports:processing")).content.decode()
    assert reverse("reports:cancel", args=[report.pk]) not in page
    response = logged_in_client.post(reverse("reports:cancel", args=[report.pk]), follow=True)
    assert (
        "Only a report that Amazon has not started (in queue) can be cancelled."
        in html.unescape(response.content.decode())
    )
    report.refresh_from_db()
    assert report.import_status == Status.WAITING


def test_skip(logged_in_client, eu_account):
    report = make_report(eu_account, import_status=Status.WAITING, amazon_status=Amazon.IN_PROGRESS)
    response = logged_in_client.post(reverse("reports:skip", args=[report.pk]), follow=True)
    assert "The report is skipped." in response.content.decode()
    assert Report.objects.get(pk=report.pk).import_status == Status.SKIPPED


def test_confirm_held_report_calls_the_service(logged_in_client, eu_account, user, monkeypatch):
    report = make_report(
        eu_account,
        report_type="GET_AFN_INVENTORY_DATA",
        import_status=Status.HELD,
        last_error="The stock of 40 SKUs would drop to 0; confirm if that is real.",
    )
    calls = []

    def confirm(report, *, acting_user):
        calls.append((report.pk, acting_user))
        return actions.ActionResult(report, "The report is imported.")

    monkeypatch.setattr(actions, "confirm_held_report", confirm)
    page = logged_in_client.get(reverse("reports:processing")).content.decode()
    assert reverse("reports:confirm", args=[report.pk]) in page
    response = logged_in_client.post(reverse("reports:confirm", args=[report.pk]), follow=True)
    assert calls == [(report.pk, user)]
    assert "The report is imported." in response.content.decode()


def test_confirm_a_report_that_is_not_held(logged_in_client, eu_account):
    report = make_report(eu_account, import_status=Status.IMPORTED)
    response = logged_in_client.post(reverse("reports:confirm", args=[report.pk]), follow=True)
    assert "Only a held report can be confirmed." in response.content.decode()


def test_action_ignores_a_foreign_next(logged_in_client, eu_account):
    report = make_report(eu_account, import_status=Status.QUEUED)
    response = logged_in_client.post(
        reverse("reports:skip", args=[report.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("reports:processing")


def test_actions_need_post(logged_in_client, eu_account):
    report = make_report(eu_account, import_status=Status.QUEUED)
    assert logged_in_client.get(reverse("reports:cancel", args=[report.pk])).status_code == 405


TSV = "order-id\tsku\tproduct-name\n302-1\tSKU-1\tCafé crème\n\n302-2\tSKU-2\tTee\n".encode(
    "cp1252"
)


def stored_report(account: SellerAccount, content: bytes = TSV, charset: str = "cp1252", **fields):
    report = make_report(
        account,
        amazon_report_id="80001",
        amazon_status=Amazon.DONE,
        import_status=Status.IMPORTED,
        **fields,
    )
    store_raw_document(report, content, charset=charset)
    report.save()
    return report


def test_details_show_history_row_errors_and_rows(logged_in_client, eu_account):
    report = stored_report(eu_account)
    ReportEvent.objects.create(
        report=report,
        at=timezone.now(),
        import_status="waiting",
        message="Sent to Amazon as report 80001.",
    )
    ReportRowError.objects.create(
        report=report, line_number=4, reason="The quantity is not a number."
    )
    response = logged_in_client.get(reverse("reports:detail", args=[report.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Sent to Amazon as report 80001." in body
    assert '<td class="text-end">4</td><td>The quantity is not a number.</td>' in body
    assert '<th class="text-nowrap">order-id</th><th class="text-nowrap">sku</th>' in body
    assert "Café crème" in body
    # Line numbers are the document's, blank lines included.
    assert (
        '<td class="text-end text-body-secondary">4</td><td class="text-nowrap">302-2</td>' in body
    )
    assert reverse("reports:download", args=[report.pk]) in body
    assert reverse("reports:raw", args=[report.pk]) in body


def test_details_show_xml_as_text(logged_in_client, eu_account):
    xml = (
        b'<?xml version="1.0"?>\n'
        b"<AmazonEnvelope><Message><OrderID>1</OrderID></Message></AmazonEnvelope>\n"
    )
    report = stored_report(
        eu_account, content=xml, charset="utf-8", report_type="GET_ORDER_REPORT_DATA_INVOICING"
    )
    body = logged_in_client.get(reverse("reports:detail", args=[report.pk])).content.decode()
    assert '<pre class="bg-body border rounded p-2 small" id="document-xml"' in body
    assert "&lt;AmazonEnvelope&gt;&lt;Message&gt;" in body


def test_details_without_document(logged_in_client, eu_account):
    report = make_report(eu_account)
    body = logged_in_client.get(reverse("reports:detail", args=[report.pk])).content.decode()
    assert "No document stored yet" in body
    assert reverse("reports:download", args=[report.pk]) not in body


def test_download_returns_the_exact_bytes_with_their_charset(logged_in_client, eu_account):
    report = stored_report(eu_account)
    response = logged_in_client.get(reverse("reports:download", args=[report.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == TSV
    assert response["Content-Type"] == "text/plain; charset=cp1252"
    assert response["Content-Disposition"] == (
        'attachment; filename="80001-GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING.txt"'
    )


def test_raw_view_is_decoded_utf8_text(logged_in_client, eu_account):
    report = stored_report(eu_account)
    response = logged_in_client.get(reverse("reports:raw", args=[report.pk]))
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert b"".join(response.streaming_content) == TSV.decode("cp1252").encode("utf-8")


def test_download_and_raw_are_404_without_a_file(logged_in_client, eu_account):
    report = make_report(eu_account)
    assert logged_in_client.get(reverse("reports:download", args=[report.pk])).status_code == 404
    assert logged_in_client.get(reverse("reports:raw", args=[report.pk])).status_code == 404


def test_pages_need_login(client, eu_account):
    report = make_report(eu_account)
    for url in (
        reverse("reports:processing"),
        reverse("reports:request"),
        reverse("reports:schedules"),
        reverse("reports:detail", args=[report.pk]),
        reverse("reports:download", args=[report.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


class FakeClient:
    """Stands in for SpApiClient behind the real call_amazon (which records the outcome)."""

    def __init__(self, *, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[tuple] = []
        self.schedules = [
            ReportSchedule(
                report_schedule_id="SCH-1",
                report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
                period="P1D",
                marketplace_ids=(DE, FR),
                next_report_creation_time=timezone.now() + timedelta(hours=3),
            )
        ]

    def _fail(self) -> None:
        if self.error is not None:
            raise self.error

    def get_report_schedules(self, *, report_types):
        self.calls.append(("list", tuple(report_types)))
        self._fail()
        return [s for s in self.schedules if s.report_type in report_types]

    def create_report_schedule(self, *, report_type, marketplace_ids, period):
        self.calls.append(("create", report_type, tuple(marketplace_ids), period))
        self._fail()
        return "SCH-2"

    def cancel_report_schedule(self, report_schedule_id):
        self.calls.append(("cancel", report_schedule_id))
        self._fail()


@pytest.fixture
def fake_amazon(monkeypatch):
    fake = FakeClient()
    monkeypatch.setattr("amazon_settings.services.client_for", lambda account, **options: fake)
    return fake


def test_schedules_page_lists_amazon_schedules(logged_in_client, eu_account, fake_amazon):
    make_account("Gone", connected=False)
    response = logged_in_client.get(reverse("reports:schedules"))
    body = response.content.decode()
    assert fake_amazon.calls == [
        (
            "list",
            (
                "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT",
                "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
                "GET_ORDER_REPORT_DATA_INVOICING",
            ),
        )
    ]
    assert "SCH-1" in body and "Every day" in body and "Amazon.de, Amazon.fr" in body
    assert "Merchant Fulfilled Network - Order report - EU" in body
    assert "Gone" not in body
    # The create form: only the region's schedulable types (with the XML twin), all periods.
    assert 'value="GET_ORDER_REPORT_DATA_INVOICING"' in body
    assert 'value="GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING"' not in body
    # Amazon's report type values: stock and returns "can be requested", not scheduled.
    assert 'value="GET_AFN_INVENTORY_DATA"' not in body
    assert 'value="GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"' not in body
    assert 'value="GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING"' not in body
    assert 'value="PT5M"' in body and 'value="P1M"' in body and 'value="PT84H"' in body
    # Laid out by crispy (issue #16): each field in crispy-bootstrap5's wrapper.
    for field in ("report_type", "period", "marketplace_ids"):
        assert f'id="div_id_account-{eu_account.pk}-{field}"' in body
    eu_account.refresh_from_db()
    assert eu_account.last_success_at is not None  # went through call_amazon


def test_create_schedule(logged_in_client, eu_account, fake_amazon):
    prefix = f"account-{eu_account.pk}"
    response = logged_in_client.post(
        reverse("reports:schedule_create", args=[eu_account.pk]),
        {
            f"{prefix}-report_type": "GET_ORDER_REPORT_DATA_INVOICING",
            f"{prefix}-period": "PT12H",
            f"{prefix}-marketplace_ids": [FR, DE],
        },
        follow=True,
    )
    assert (
        "create",
        "GET_ORDER_REPORT_DATA_INVOICING",
        tuple(sorted([DE, FR])),
        "PT12H",
    ) in fake_amazon.calls
    assert (
        "Amazon creates Merchant Fulfilled Network - Order report - EU (XML) every 12 hours "
        "(schedule SCH-2)" in response.content.decode()
    )


def test_create_schedule_rejects_a_type_of_another_region(
    logged_in_client, eu_account, fake_amazon
):
    prefix = f"account-{eu_account.pk}"
    response = logged_in_client.post(
        reverse("reports:schedule_create", args=[eu_account.pk]),
        {
            f"{prefix}-report_type": "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
            f"{prefix}-period": "P1D",
            f"{prefix}-marketplace_ids": [DE],
        },
        follow=True,
    )
    assert not [call for call in fake_amazon.calls if call[0] == "create"]
    assert "Report type: Select a valid choice." in response.content.decode()


def test_cancel_schedule(logged_in_client, eu_account, fake_amazon):
    response = logged_in_client.post(
        reverse("reports:schedule_cancel", args=[eu_account.pk, "SCH-1"]), follow=True
    )
    assert ("cancel", "SCH-1") in fake_amazon.calls
    assert "Schedule SCH-1 is cancelled on Amazon." in response.content.decode()


def test_amazon_errors_show_as_messages(logged_in_client, eu_account, fake_amazon):
    fake_amazon.error = SpApiAuthError(
        reason="access_denied",
        operation="Reports.getReportSchedules",
        status=403,
        code="Unauthorized",
        message="Access to requested resource is denied.",
    )
    body = html.unescape(logged_in_client.get(reverse("reports:schedules")).content.decode())
    assert f"EU Shop: {fake_amazon.error}" in body
    assert 'class="alert alert-danger' in body
    eu_account.refresh_from_db()
    assert eu_account.status == SellerAccount.Status.ACCESS_DENIED

    fake_amazon.error = SpApiRequestError(
        operation="Reports.cancelReportSchedule",
        status=404,
        code="NotFound",
        message="No such schedule.",
    )
    response = logged_in_client.post(
        reverse("reports:schedule_cancel", args=[eu_account.pk, "SCH-9"]), follow=True
    )
    assert str(fake_amazon.error) in html.unescape(response.content.decode())


def test_a_wide_or_endless_line_keeps_the_details_page_small(logged_in_client, eu_account):
    # A header of 300,000 columns (more than one line the preview reads) with a row of as many
    # 40-character cells (about 12 MB); a header of 2,000 columns with one such row; a cell of
    # 5,000 characters.
    wide = "\t".join(f"c{n}" for n in range(300_000)) + "\n"
    cells = "\t".join("x" * 40 for _ in range(300_000)) + "\n"
    two_thousand = "\t".join(f"c{n}" for n in range(2000)) + "\n" + "\t".join("x" * 2000) + "\n"
    long_cell = "order-id\tnote\n302-1\t" + "y" * 5000 + "\n"
    for content, expect in (
        ((wide + cells).encode(), "No rows are shown: the first line is longer than the preview"),
        (
            two_thousand.encode(),
            "All rows are shown. Only the first 100 columns are shown; 1,900 more are not.",
        ),
        (long_cell.encode(), "All rows are shown. Long values are cut."),
    ):
        report = stored_report(eu_account, content=content, charset="utf-8")
        response = logged_in_client.get(reverse("reports:detail", args=[report.pk]))
        body = response.content.decode()
        assert response.status_code == 200
        assert len(body) < 200_000, len(body)
        assert expect in body
        report.delete()
    assert "y" * 299 + "…" in body and "y" * 300 not in body


def test_a_last_line_without_its_newline_is_not_a_cut_preview(logged_in_client, eu_account):
    report = stored_report(eu_account, content=b"order-id\tsku\n302-1\tSKU-1", charset="utf-8")
    body = logged_in_client.get(reverse("reports:detail", args=[report.pk])).content.decode()
    assert "SKU-1" in body
    assert 'id="preview-limits"' not in body


def test_the_preview_stops_at_its_reading_budget(logged_in_client, eu_account):
    # 40,000 rows of 10 characters: more than the preview reads, far fewer than 200 rows shown.
    content = "order-id\n" + "".join(f"{n:09d}\n" for n in range(40_000))
    report = stored_report(eu_account, content=content.encode(), charset="utf-8")
    body = logged_in_client.get(reverse("reports:detail", args=[report.pk])).content.decode()
    assert "The first 200 rows are shown" in body
    assert "000000199" in body and "000000200" not in body

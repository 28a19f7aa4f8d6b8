"""Reports API 2021-06-30: requests, validation, listing and the report lifecycle."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.sandbox.conftest import (
    CA,
    DE,
    EU_SMALL_SELLER,
    FR,
    REPORTS,
    UK,
    US,
    Api,
    assert_error,
    assert_response,
    sandbox_now,
)

# Their reports read the demo histories: at a known moment, not at the real time (see there).
pytestmark = pytest.mark.usefixtures("sandbox_at_known_moment")
SHIPMENTS = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL"
INVENTORY = "GET_AFN_INVENTORY_DATA"
VAT_INVOICES = "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT"
# Not an FBA type: no regeneration window, so it can be requested again at once.
VCS = "SC_VAT_TAX_REPORT"
NA_ONLY = "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING"
XML_ONLY_SCHEDULED = "GET_ORDER_REPORT_DATA_INVOICING"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def last_days(sandbox, days: int) -> dict[str, str]:
    now = sandbox_now(sandbox)
    return {"dataStartTime": iso(now - timedelta(days=days)), "dataEndTime": iso(now)}


def test_lifecycle_in_queue_in_progress_done(sandbox, eu):
    report_id = eu.create_report(SHIPMENTS, [DE, FR], **last_days(sandbox, 7))
    sandbox.control(f"reports/{report_id}", {"queue_seconds": 100, "processing_seconds": 100})

    queued = eu.report(report_id)
    assert queued["processingStatus"] == "IN_QUEUE"
    assert queued["reportId"].isdigit()
    assert queued["marketplaceIds"] == [DE, FR]
    assert "processingStartTime" not in queued and "reportDocumentId" not in queued

    sandbox.advance_clock(150)
    running = eu.report(report_id)
    assert running["processingStatus"] == "IN_PROGRESS"
    assert "processingStartTime" in running and "processingEndTime" not in running

    sandbox.advance_clock(100)
    done = eu.report(report_id)
    assert done["processingStatus"] == "DONE"
    assert done["reportDocumentId"].startswith("amzn1.tortuga.4.eu.")
    assert done["processingEndTime"] >= done["processingStartTime"] >= done["createdTime"]
    # Finished reports do not change any more.
    sandbox.advance_clock(3000)
    assert eu.report(report_id) == done


def test_reports_finish_by_themselves(eu, sandbox):
    report_id = eu.create_report(SHIPMENTS, [DE], **last_days(sandbox, 3))
    assert eu.wait(report_id)["processingStatus"] == "DONE"


def test_a_range_without_data_ends_cancelled_without_document(sandbox, eu):
    now = iso(sandbox_now(sandbox) - timedelta(hours=1))
    report_id = eu.create_report(SHIPMENTS, [DE], dataStartTime=now, dataEndTime=now)

    report = eu.finish(report_id)
    assert report["processingStatus"] == "CANCELLED"
    assert "reportDocumentId" not in report


def test_fba_report_again_inside_its_regeneration_window_is_fatal(sandbox, eu):
    first = eu.create_report(INVENTORY, [DE])
    other_marketplaces = eu.create_report(INVENTORY, [DE, FR])
    again = eu.create_report(INVENTORY, [DE])

    assert eu.finish(first)["processingStatus"] == "DONE"
    assert eu.report(other_marketplaces)["processingStatus"] == "DONE"
    fatal = eu.report(again)
    assert fatal["processingStatus"] == "FATAL"
    error_document = eu.document(fatal["reportDocumentId"])
    body = json.loads(gzip.decompress(eu.download(error_document["url"]).content))
    assert set(body) == {"errorDetails"} and "recently" in body["errorDetails"]
    # After the window (30 min, divided by the time factor) it may be requested again.
    sandbox.advance_clock(1800)
    assert eu.finish(eu.create_report(INVENTORY, [DE]))["processingStatus"] == "DONE"


def _advance_to_day(sandbox, day: int) -> datetime:
    now = sandbox_now(sandbox)
    first_of_next = (now.replace(day=1) + timedelta(days=32)).replace(day=1)
    target = first_of_next.replace(day=day, hour=12, minute=0, second=0, microsecond=0)
    sandbox.advance_clock((target - now).total_seconds())
    return target


def test_vat_transactions_before_the_third_are_fatal(sandbox, eu):
    now = _advance_to_day(sandbox, 2)
    eu.token = sandbox.access_token(eu.seller, "eu")
    report_id = eu.create_report(
        "GET_VAT_TRANSACTION_DATA",
        [DE],
        dataStartTime=iso(now - timedelta(days=20)),
        dataEndTime=iso(now - timedelta(days=2)),
    )
    report = eu.finish(report_id)
    assert report["processingStatus"] == "FATAL"
    document = eu.document(report["reportDocumentId"])
    details = json.loads(gzip.decompress(eu.download(document["url"]).content))["errorDetails"]
    assert "3rd day" in details


def test_vat_transactions_from_the_third_are_done(sandbox, eu):
    now = _advance_to_day(sandbox, 3)
    eu.token = sandbox.access_token(eu.seller, "eu")
    report_id = eu.create_report(
        "GET_VAT_TRANSACTION_DATA",
        [DE],
        dataStartTime=iso(now - timedelta(days=20)),
        dataEndTime=iso(now - timedelta(days=2)),
    )
    assert eu.finish(report_id)["processingStatus"] == "DONE"


def test_cancel_only_while_in_queue(sandbox, eu):
    queued = eu.create_report(SHIPMENTS, [DE], **last_days(sandbox, 2))
    sandbox.control(f"reports/{queued}", {"queue_seconds": 1000})
    response = eu.request("DELETE", f"{REPORTS}/reports/{queued}")
    assert_response(response, "cancelReport", 200)
    assert response.content == b""
    cancelled = eu.report(queued)
    assert cancelled["processingStatus"] == "CANCELLED"

    done = eu.create_report(SHIPMENTS, [DE], **last_days(sandbox, 2))
    assert eu.finish(done)["processingStatus"] == "DONE"
    response = eu.request("DELETE", f"{REPORTS}/reports/{done}")
    assert_error(response, "cancelReport", 400, "InvalidInput")
    response = eu.request("DELETE", f"{REPORTS}/reports/{cancelled['reportId']}")
    assert_error(response, "cancelReport", 400, "InvalidInput")


def test_unknown_or_foreign_report_is_404(sandbox, eu):
    report_id = eu.create_report(SHIPMENTS, [DE], **last_days(sandbox, 2))
    other = Api(sandbox, EU_SMALL_SELLER, "eu")

    assert_error(other.get(f"{REPORTS}/reports/{report_id}"), "getReport", 404, "NotFound")
    assert_error(eu.get(f"{REPORTS}/reports/99"), "getReport", 404, "NotFound")
    assert_error(eu.get(f"{REPORTS}/reports/abc"), "getReport", 404, "NotFound")


def _create(api: Api, **body) -> object:
    return api.post(f"{REPORTS}/reports", body)


@pytest.mark.parametrize(
    ("body", "message_part", "details"),
    [
        ({"marketplaceIds": [DE]}, "required parameters missing", "reportType;"),
        ({"reportType": SHIPMENTS}, "required parameters missing", "marketplaceIds;"),
        ({}, "required parameters missing", "reportType;marketplaceIds;"),
        ({"reportType": "GET_NO_SUCH_REPORT", "marketplaceIds": [DE]}, "reportType", ""),
        # NA-only type on the EU endpoint.
        (
            {"reportType": "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING", "marketplaceIds": [DE]},
            "",
            "",
        ),
        # XML twins exist only as schedules.
        (
            {"reportType": "GET_ORDER_REPORT_DATA_INVOICING", "marketplaceIds": [DE]},
            "scheduled",
            "",
        ),
        ({"reportType": SHIPMENTS, "marketplaceIds": []}, "between 1 and 25", ""),
        ({"reportType": SHIPMENTS, "marketplaceIds": [US]}, US, ""),
        ({"reportType": SHIPMENTS, "marketplaceIds": ["A28R8C7NBKEWEA"]}, "marketplaceIds", ""),
        ({"reportType": SHIPMENTS, "marketplaceIds": [DE], "dataStartTime": "yesterday"}, "", ""),
        ({"reportType": SHIPMENTS, "marketplaceIds": [DE], "reportOptions": {"a": 1}}, "", ""),
    ],
)
def test_create_report_validation(eu, body, message_part, details):
    error = assert_error(_create(eu, **body), "createReport", 400, "InvalidInput")
    assert message_part in error["message"]
    if details:
        assert error["details"] == details


def test_create_report_time_rules(sandbox, eu):
    now = sandbox_now(sandbox)
    future = iso(now + timedelta(hours=1))
    assert_error(
        _create(eu, reportType=SHIPMENTS, marketplaceIds=[DE], dataEndTime=future),
        "createReport",
        400,
        "InvalidInput",
    )
    assert_error(
        _create(
            eu,
            reportType=SHIPMENTS,
            marketplaceIds=[DE],
            dataStartTime=iso(now - timedelta(days=1)),
            dataEndTime=iso(now - timedelta(days=2)),
        ),
        "createReport",
        400,
        "InvalidInput",
    )
    too_long = _create(eu, reportType=SHIPMENTS, marketplaceIds=[DE], **last_days(sandbox, 32))
    error = assert_error(too_long, "createReport", 400, "InvalidInput")
    assert "31 days" in error["message"]
    # Types that ignore the range (inventory snapshots) take any range.
    inventory = _create(eu, reportType=INVENTORY, marketplaceIds=[DE], **last_days(sandbox, 400))
    assert_response(inventory, "createReport", 202)
    # Offsets and naive times are understood.
    local = (now - timedelta(days=1)).astimezone(datetime.now(UTC).astimezone().tzinfo).isoformat()
    assert_response(
        _create(eu, reportType=SHIPMENTS, marketplaceIds=[DE], dataStartTime=local),
        "createReport",
        202,
    )


def test_na_seller_reports_na_marketplaces(sandbox, na):
    report_id = na.create_report(SHIPMENTS, [US, CA], **last_days(sandbox, 7))
    assert na.finish(report_id)["processingStatus"] == "DONE"
    assert_error(
        _create(na, reportType=SHIPMENTS, marketplaceIds=[DE]), "createReport", 400, "InvalidInput"
    )


def _list(api: Api, **params) -> object:
    return api.get(f"{REPORTS}/reports", params=params)


def test_get_reports_filters_and_pages(sandbox, eu):
    ids = [eu.create_report(VCS, [DE], **last_days(sandbox, 2)) for _ in range(3)]
    ids.append(eu.create_report(VCS, [FR], **last_days(sandbox, 2)))
    inventory = eu.create_report(INVENTORY, [UK])
    sandbox.control(f"reports/{ids[1]}", {"outcome": "fatal"})
    eu.finish(ids[0])

    body = assert_response(_list(eu, reportTypes=VCS, pageSize=2), "getReports", 200)
    assert [r["reportId"] for r in body["reports"]] == [ids[3], ids[2]]
    page2 = _list(eu, nextToken=body["nextToken"])
    body2 = assert_response(page2, "getReports", 200)
    assert [r["reportId"] for r in body2["reports"]] == [ids[1], ids[0]]
    assert "nextToken" not in body2

    both = assert_response(
        _list(eu, reportTypes=f"{VCS},{INVENTORY}", marketplaceIds=UK), "getReports", 200
    )
    assert [r["reportId"] for r in both["reports"]] == [inventory]
    fatal = assert_response(
        _list(eu, reportTypes=VCS, processingStatuses="FATAL"), "getReports", 200
    )
    assert [r["reportId"] for r in fatal["reports"]] == [ids[1]]
    others = _list(eu, reportTypes=VCS, processingStatuses="DONE,CANCELLED,IN_QUEUE")
    assert len(assert_response(others, "getReports", 200)["reports"]) == 3
    # Repeated parameters work like comma-separated ones.
    repeated = eu.get(f"{REPORTS}/reports?reportTypes={VCS}&reportTypes={INVENTORY}")
    assert len(assert_response(repeated, "getReports", 200)["reports"]) == 5
    # Another seller sees none of them.
    other = Api(sandbox, EU_SMALL_SELLER, "eu")
    assert assert_response(_list(other, reportTypes=VCS), "getReports", 200) == {"reports": []}


def test_get_reports_created_window(sandbox, eu):
    eu.create_report(SHIPMENTS, [DE], **last_days(sandbox, 2))
    now = sandbox_now(sandbox)
    sandbox.advance_clock(100)
    later = _list(eu, reportTypes=SHIPMENTS, createdSince=iso(now + timedelta(seconds=50)))
    assert assert_response(later, "getReports", 200)["reports"] == []
    future = _list(eu, reportTypes=SHIPMENTS, createdSince=iso(now + timedelta(seconds=500)))
    assert_error(future, "getReports", 400, "InvalidInput")
    earlier = _list(eu, reportTypes=SHIPMENTS, createdUntil=iso(now - timedelta(hours=1)))
    assert assert_response(earlier, "getReports", 200)["reports"] == []
    # Reports older than 90 days are gone.
    sandbox.advance_clock(91 * 86400)
    eu.token = sandbox.access_token(eu.seller, "eu")
    assert assert_response(_list(eu, reportTypes=SHIPMENTS), "getReports", 200)["reports"] == []


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"pageSize": "5"},
        {"reportTypes": SHIPMENTS, "pageSize": "0"},
        {"reportTypes": SHIPMENTS, "pageSize": "101"},
        {"reportTypes": SHIPMENTS, "pageSize": "ten"},
        {"reportTypes": ",".join(f"T{i}" for i in range(11))},
        {"reportTypes": SHIPMENTS, "processingStatuses": "FINISHED"},
        {"reportTypes": SHIPMENTS, "marketplaceIds": ",".join([DE] * 11)},
        {"reportTypes": SHIPMENTS, "createdSince": "2000-01-01T00:00:00Z"},
        {"reportTypes": SHIPMENTS, "createdSince": "not-a-date"},
        {"nextToken": "bm90LWpzb24"},
        {"nextToken": "e30=", "pageSize": "5"},
        {"nextToken": "e30=", "reportTypes": SHIPMENTS},
    ],
)
def test_get_reports_validation(eu, params):
    assert_error(_list(eu, **params), "getReports", 400, "InvalidInput")


def test_seller_central_reports_are_listed(sandbox, eu):
    now = sandbox_now(sandbox)
    created = sandbox.control(
        "reports",
        {
            "selling_partner_id": eu.seller,
            "region": "eu",
            "report_type": SHIPMENTS,
            "marketplace_ids": [DE],
            "data_start": (now - timedelta(days=3)).isoformat(),
            "data_end": now.isoformat(),
        },
    )
    assert created["origin"] == "seller_central"

    listed = assert_response(_list(eu, reportTypes=SHIPMENTS), "getReports", 200)["reports"]
    assert [r["reportId"] for r in listed] == [created["reportId"]]
    assert eu.finish(created["reportId"])["processingStatus"] == "DONE"

"""Amazon-side report schedules: CRUD, replacement, and the reports they create."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.sandbox.conftest import DE, FR, REPORTS, assert_error, assert_response, sandbox_now
from tests.sandbox.test_reports import iso

FLAT_ORDERS = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
XML_ORDERS = "GET_ORDER_REPORT_DATA_INVOICING"


def create_schedule(api, report_type: str, marketplace_ids: list[str], period: str, **fields):
    return api.post(
        f"{REPORTS}/schedules",
        {"reportType": report_type, "marketplaceIds": marketplace_ids, "period": period, **fields},
    )


def test_create_get_list_cancel(eu):
    response = create_schedule(eu, XML_ORDERS, [DE], "PT15M", reportOptions={"x": "y"})
    schedule_id = assert_response(response, "createReportSchedule", 201)["reportScheduleId"]
    assert schedule_id.isdigit()

    schedule = assert_response(
        eu.get(f"{REPORTS}/schedules/{schedule_id}"), "getReportSchedule", 200
    )
    assert schedule["reportType"] == XML_ORDERS
    assert schedule["period"] == "PT15M"
    assert schedule["marketplaceIds"] == [DE]
    assert schedule["reportOptions"] == {"x": "y"}
    listed = assert_response(
        eu.get(f"{REPORTS}/schedules", params={"reportTypes": f"{XML_ORDERS},{FLAT_ORDERS}"}),
        "getReportSchedules",
        200,
    )
    assert [s["reportScheduleId"] for s in listed["reportSchedules"]] == [schedule_id]

    cancelled = eu.request("DELETE", f"{REPORTS}/schedules/{schedule_id}")
    assert_response(cancelled, "cancelReportSchedule", 200)
    assert_error(eu.get(f"{REPORTS}/schedules/{schedule_id}"), "getReportSchedule", 404, "NotFound")
    listed = eu.get(f"{REPORTS}/schedules", params={"reportTypes": XML_ORDERS})
    assert assert_response(listed, "getReportSchedules", 200) == {"reportSchedules": []}


def test_same_type_and_marketplaces_replaces_the_schedule(eu):
    first = create_schedule(eu, FLAT_ORDERS, [DE, FR], "P1D").json()["reportScheduleId"]
    other = create_schedule(eu, FLAT_ORDERS, [DE], "P1D").json()["reportScheduleId"]
    second = create_schedule(eu, FLAT_ORDERS, [FR, DE], "PT12H").json()["reportScheduleId"]

    listed = eu.get(f"{REPORTS}/schedules", params={"reportTypes": FLAT_ORDERS}).json()
    assert sorted(s["reportScheduleId"] for s in listed["reportSchedules"]) == sorted(
        [other, second]
    )
    assert eu.get(f"{REPORTS}/schedules/{first}").status_code == 404


def test_a_schedule_creates_reports_on_its_period(sandbox, eu):
    start = sandbox_now(sandbox) + timedelta(seconds=60)
    response = create_schedule(eu, XML_ORDERS, [DE], "P1D", nextReportCreationTime=iso(start))
    schedule_id = response.json()["reportScheduleId"]
    listed = eu.get(f"{REPORTS}/reports", params={"reportTypes": XML_ORDERS}).json()
    assert listed == {"reports": []}

    # P1D divided by the test time factor (120) is 12 minutes: three runs in 30 minutes.
    sandbox.advance_clock(60 + 30 * 60)
    body = assert_response(
        eu.get(f"{REPORTS}/reports", params={"reportTypes": XML_ORDERS}), "getReports", 200
    )
    reports = body["reports"]
    assert len(reports) == 3
    assert {r["reportScheduleId"] for r in reports} == {schedule_id}
    oldest = reports[-1]
    assert oldest["createdTime"] == iso(start).replace("Z", "+00:00")[:19] + "+00:00"
    assert oldest["dataEndTime"] == oldest["createdTime"]
    assert {r["processingStatus"] for r in reports} <= {"DONE", "CANCELLED"}
    schedule = eu.get(f"{REPORTS}/schedules/{schedule_id}").json()
    assert schedule["nextReportCreationTime"] > iso(sandbox_now(sandbox))[:19]


def test_scheduling_the_xml_twin_cancels_the_flat_schedule(eu):
    flat = create_schedule(eu, FLAT_ORDERS, [DE], "P1D").json()["reportScheduleId"]
    xml = create_schedule(eu, XML_ORDERS, [DE], "P1D").json()["reportScheduleId"]

    assert eu.get(f"{REPORTS}/schedules/{flat}").status_code == 404
    listed = eu.get(f"{REPORTS}/schedules", params={"reportTypes": f"{FLAT_ORDERS},{XML_ORDERS}"})
    assert [s["reportScheduleId"] for s in listed.json()["reportSchedules"]] == [xml]


@pytest.mark.parametrize(
    "body",
    [
        {"reportType": XML_ORDERS, "marketplaceIds": [DE]},
        {"reportType": XML_ORDERS, "marketplaceIds": [DE], "period": "PT7M"},
        # Requested-only types cannot be scheduled.
        {
            "reportType": "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL",
            "marketplaceIds": [DE],
            "period": "P1D",
        },
        {"reportType": XML_ORDERS, "marketplaceIds": ["ATVPDKIKX0DER"], "period": "P1D"},
    ],
)
def test_create_schedule_validation(eu, body):
    response = eu.post(f"{REPORTS}/schedules", body)
    assert_error(response, "createReportSchedule", 400, "InvalidInput")


def test_get_schedules_needs_report_types(eu):
    assert_error(eu.get(f"{REPORTS}/schedules"), "getReportSchedules", 400, "InvalidInput")

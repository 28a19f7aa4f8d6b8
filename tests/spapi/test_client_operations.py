"""Every public operation: request checked against Amazon's model, and the model's own
``x-amzn-api-sandbox`` answers parsed into our dataclasses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from responses import matchers

from amazon_settings.spapi import (
    MarketplaceParticipation,
    Report,
    ReportDocument,
    ReportSchedule,
    RestrictedDataToken,
    SpApiError,
    SpApiRequestError,
)

from .support import (
    ENDPOINT,
    TOKEN_1,
    assert_body_valid,
    assert_path_matches,
    assert_query_valid,
    find_operation,
    sandbox_example,
)

REPORTS = f"{ENDPOINT}/reports/2021-06-30"
RDT_URL = f"{ENDPOINT}/tokens/2021-03-01/restrictedDataToken"
MILLIS = datetime(2024, 3, 11, 13, 47, 20, 677000, tzinfo=UTC)


def sent(mocked, index: int = -1):
    return mocked.calls[index].request


def test_get_marketplace_participations_parses_the_sandbox_answer(client, mocked, sellers_model):
    example = sandbox_example(sellers_model, "getMarketplaceParticipations", "200")
    mocked.get(
        f"{ENDPOINT}/sellers/v1/marketplaceParticipations",
        json=example["response"],
        match=[matchers.query_param_matcher({}, strict_match=True)],
    )

    participations = client.get_marketplace_participations()

    assert participations == [
        MarketplaceParticipation(
            marketplace_id="ATVPDKIKX0DER",
            country_code="US",
            name="Amazon.com",
            currency="USD",
            language="en_US",
            domain="www.amazon.com",
            is_participating=True,
            has_suspended_listings=False,
            store_name="BestSellerStore",
        )
    ]
    request = sent(mocked)
    assert_path_matches(sellers_model, "getMarketplaceParticipations", request.method, request.url)


def test_marketplace_participation_without_store_name_from_older_models(client, mocked):
    mocked.get(
        f"{ENDPOINT}/sellers/v1/marketplaceParticipations",
        json={
            "payload": [
                {
                    "marketplace": {
                        "id": "A1PA6795UKMFR9",
                        "name": "Amazon.de",
                        "countryCode": "DE",
                        "defaultCurrencyCode": "EUR",
                        "defaultLanguageCode": "de_DE",
                        "domainName": "www.amazon.de",
                    },
                    "participation": {"isParticipating": True, "hasSuspendedListings": True},
                }
            ]
        },
    )

    [participation] = client.get_marketplace_participations()

    assert participation.store_name is None
    assert participation.has_suspended_listings is True


def test_get_reports_sends_valid_filters_and_parses_the_sandbox_answer(
    client, mocked, reports_model
):
    example = sandbox_example(reports_model, "getReports", "200")
    parameters = example["request"]["parameters"]
    mocked.get(
        f"{REPORTS}/reports",
        json=example["response"],
        match=[
            matchers.query_param_matcher(
                {
                    "reportTypes": "FEE_DISCOUNTS_REPORT,GET_AFN_INVENTORY_DATA",
                    "processingStatuses": "IN_QUEUE,IN_PROGRESS",
                },
                strict_match=True,
            )
        ],
    )

    page = client.get_reports(
        report_types=parameters["reportTypes"]["value"],
        processing_statuses=parameters["processingStatuses"]["value"],
    )

    assert page.next_token == example["response"]["nextToken"]
    assert page.reports == (
        Report(
            report_id="ReportId1",
            report_type="FEE_DISCOUNTS_REPORT",
            processing_status="IN_PROGRESS",
            created_time=MILLIS - timedelta(days=1),
            data_start_time=MILLIS,
            data_end_time=MILLIS + timedelta(days=1),
            processing_start_time=MILLIS - timedelta(days=1),
            processing_end_time=MILLIS + timedelta(days=1),
        ),
    )
    request = sent(mocked)
    assert_path_matches(reports_model, "getReports", request.method, request.url)
    assert_query_valid(reports_model, "getReports", request.url)


def test_get_reports_sends_every_filter_in_amazons_format(client, mocked, reports_model):
    mocked.get(f"{REPORTS}/reports", json={"reports": []})
    berlin = timezone(timedelta(hours=2))

    page = client.get_reports(
        report_types=["GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"],
        processing_statuses=["DONE", "CANCELLED", "FATAL"],
        marketplace_ids=["A1PA6795UKMFR9", "A13V1IB3VIYZZH"],
        page_size=100,
        created_since=datetime(2025, 3, 1, 2, 0, tzinfo=berlin),
        created_until=datetime(2025, 3, 2, 0, 0, 0, 250000, tzinfo=UTC),
    )

    assert page.reports == ()
    assert page.next_token is None
    query = assert_query_valid(reports_model, "getReports", sent(mocked).url)
    assert query == {
        "reportTypes": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
        "processingStatuses": "DONE,CANCELLED,FATAL",
        "marketplaceIds": "A1PA6795UKMFR9,A13V1IB3VIYZZH",
        "pageSize": "100",
        "createdSince": "2025-03-01T00:00:00Z",
        "createdUntil": "2025-03-02T00:00:00.250Z",
    }


def test_next_token_is_sent_alone(client, mocked, reports_model):
    mocked.get(
        f"{REPORTS}/reports",
        json={"reports": []},
        match=[matchers.query_param_matcher({"nextToken": "abc=="}, strict_match=True)],
    )

    client.get_reports(next_token="abc==")

    assert_query_valid(reports_model, "getReports", sent(mocked).url)


def test_next_token_with_filters_is_refused_before_calling(client, mocked):
    with pytest.raises(ValueError, match="alone"):
        client.get_reports(next_token="abc", report_types=["GET_AFN_INVENTORY_DATA"])
    with pytest.raises(ValueError, match="report_types or next_token"):
        client.get_reports(processing_statuses=["DONE"])
    with pytest.raises(TypeError):
        client.get_reports(report_types="GET_AFN_INVENTORY_DATA")
    with pytest.raises(ValueError, match="naive"):
        client.get_reports(report_types=["T"], created_since=datetime(2025, 1, 1))  # noqa: DTZ001
    assert len(mocked.calls) == 0


def report(report_id: str) -> dict:
    return {
        "reportId": report_id,
        "reportType": "GET_AFN_INVENTORY_DATA",
        "processingStatus": "DONE",
        "createdTime": "2021-02-24T16:42:19+00:00",
        "reportDocumentId": f"amzn1.tortuga.3.{report_id}.T1",
    }


def test_iter_reports_follows_next_token_page_by_page(client, mocked, reports_model):
    mocked.get(
        f"{REPORTS}/reports",
        json={"reports": [report("1"), report("2")], "nextToken": "page-2"},
        match=[
            matchers.query_param_matcher(
                {"reportTypes": "GET_AFN_INVENTORY_DATA", "pageSize": "2"}, strict_match=True
            )
        ],
    )
    mocked.get(
        f"{REPORTS}/reports",
        json={"reports": [report("3"), report("4")], "nextToken": "page-3"},
        match=[matchers.query_param_matcher({"nextToken": "page-2"}, strict_match=True)],
    )
    mocked.get(
        f"{REPORTS}/reports",
        json={"reports": [report("5")]},
        match=[matchers.query_param_matcher({"nextToken": "page-3"}, strict_match=True)],
    )

    reports = list(client.iter_reports(report_types=["GET_AFN_INVENTORY_DATA"], page_size=2))

    assert [r.report_id for r in reports] == ["1", "2", "3", "4", "5"]
    assert reports[0].created_time == datetime(2021, 2, 24, 16, 42, 19, tzinfo=UTC)
    assert len(mocked.calls) == 3
    for call in mocked.calls:
        assert_query_valid(reports_model, "getReports", call.request.url)


def test_iter_reports_stops_on_a_repeated_next_token(client, mocked):
    mocked.get(f"{REPORTS}/reports", json={"reports": [report("1")], "nextToken": "same"})

    with pytest.raises(SpApiError, match="same nextToken twice"):
        list(client.iter_reports(report_types=["GET_AFN_INVENTORY_DATA"]))


def test_create_report_body_fits_the_model_and_returns_the_id(client, mocked, reports_model):
    example = sandbox_example(reports_model, "createReport", "202")
    value = example["request"]["parameters"]["body"]["value"]
    mocked.post(f"{REPORTS}/reports", status=202, json=example["response"])

    report_id = client.create_report(
        report_type=value["reportType"],
        marketplace_ids=value["marketplaceIds"],
        data_start_time=datetime(2024, 3, 10, 20, 11, 24, tzinfo=UTC),
    )

    assert report_id == "ID323"
    request = sent(mocked)
    body = json.loads(request.body)
    assert body == {
        "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
        "marketplaceIds": ["A1PA6795UKMFR9", "ATVPDKIKX0DER"],
        "dataStartTime": "2024-03-10T20:11:24Z",
    }
    assert_path_matches(reports_model, "createReport", request.method, request.url)
    assert_body_valid(reports_model, "CreateReportSpecification", body)


def test_create_report_sends_every_field(client, mocked, reports_model):
    mocked.post(f"{REPORTS}/reports", status=202, json={"reportId": "1"})

    client.create_report(
        report_type="GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING",
        marketplace_ids=("A1PA6795UKMFR9",),
        data_start_time=datetime(2025, 1, 1, tzinfo=UTC),
        data_end_time=datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC),
        report_options={"ShowSalesChannel": "true"},
    )

    body = json.loads(sent(mocked).body)
    assert_body_valid(reports_model, "CreateReportSpecification", body)
    assert body["reportOptions"] == {"ShowSalesChannel": "true"}
    assert body["dataEndTime"] == "2025-01-31T23:59:59Z"


def test_create_report_refuses_a_bare_string_of_marketplaces(client, mocked):
    with pytest.raises(TypeError):
        client.create_report(report_type="T", marketplace_ids="A1PA6795UKMFR9")
    assert len(mocked.calls) == 0


def test_get_report_parses_the_sandbox_answer(client, mocked, reports_model):
    example = sandbox_example(reports_model, "getReport", "200")
    report_id = example["request"]["parameters"]["reportId"]["value"]
    mocked.get(f"{REPORTS}/reports/{report_id}", json=example["response"])

    result = client.get_report(report_id)

    assert result.report_id == "ReportId1"
    assert result.processing_status == "IN_PROGRESS"
    assert result.created_time == MILLIS - timedelta(days=1)
    assert result.created_time.tzinfo is UTC
    assert result.report_document_id is None
    request = sent(mocked)
    assert_path_matches(reports_model, "getReport", request.method, request.url)


def test_get_report_quotes_the_id_into_one_path_segment(client, mocked):
    mocked.get(f"{REPORTS}/reports/a%2Fb", json=report("a/b"))

    assert client.get_report("a/b").report_id == "a/b"


def test_cancel_report_sends_delete_and_returns_none(client, mocked, reports_model):
    example = sandbox_example(reports_model, "cancelReport", "200")
    report_id = example["request"]["parameters"]["reportId"]["value"]
    mocked.delete(f"{REPORTS}/reports/{report_id}", status=200)

    assert client.cancel_report(report_id) is None
    request = sent(mocked)
    assert_path_matches(reports_model, "cancelReport", request.method, request.url)


def test_cancel_report_of_a_running_report_is_a_request_error(client, mocked, reports_model):
    example = sandbox_example(reports_model, "cancelReport", "400")
    mocked.delete(f"{REPORTS}/reports/1", status=400, json=example["response"])

    with pytest.raises(SpApiRequestError):
        client.cancel_report("1")


def test_get_report_schedules_parses_the_sandbox_answer(client, mocked, reports_model):
    example = sandbox_example(reports_model, "getReportSchedules", "200")
    report_types = example["request"]["parameters"]["reportTypes"]["value"]
    mocked.get(f"{REPORTS}/schedules", json=example["response"])

    schedules = client.get_report_schedules(report_types=report_types)

    assert schedules == [
        ReportSchedule(
            report_schedule_id="ID1",
            report_type="FEE_DISCOUNTS_REPORT",
            period="PT5M",
            marketplace_ids=("ATVPDKIKX0DER",),
            next_report_creation_time=datetime(2024, 3, 11, 15, 3, 44, 973000, tzinfo=UTC),
        ),
        ReportSchedule(
            report_schedule_id="ID2",
            report_type="GET_FBA_FULFILLMENT_CUSTOMER_TAXES_DATA",
            period="PT5M",
            next_report_creation_time=datetime(2024, 3, 11, 15, 3, 44, 973000, tzinfo=UTC),
        ),
    ]
    request = sent(mocked)
    assert_path_matches(reports_model, "getReportSchedules", request.method, request.url)
    query = assert_query_valid(reports_model, "getReportSchedules", request.url)
    assert query == {"reportTypes": "FEE_DISCOUNTS_REPORT,GET_FBA_FULFILLMENT_CUSTOMER_TAXES_DATA"}


def test_create_report_schedule_body_fits_the_model(client, mocked, reports_model):
    example = sandbox_example(reports_model, "createReportSchedule", "201")
    value = example["request"]["parameters"]["body"]["value"]
    mocked.post(f"{REPORTS}/schedules", status=201, json=example["response"])

    schedule_id = client.create_report_schedule(
        report_type=value["reportType"],
        marketplace_ids=value["marketplaceIds"],
        period=value["period"],
        next_report_creation_time=datetime(2024, 3, 10, 20, 11, 24, tzinfo=UTC),
        report_options={"ShowSalesChannel": "true"},
    )

    assert schedule_id == "ID323"
    request = sent(mocked)
    body = json.loads(request.body)
    assert_path_matches(reports_model, "createReportSchedule", request.method, request.url)
    assert_body_valid(reports_model, "CreateReportScheduleSpecification", body)
    assert body["nextReportCreationTime"] == "2024-03-10T20:11:24Z"


def test_get_report_schedule_parses_the_sandbox_answer(client, mocked, reports_model):
    example = sandbox_example(reports_model, "getReportSchedule", "200")
    schedule_id = example["request"]["parameters"]["reportScheduleId"]["value"]
    mocked.get(f"{REPORTS}/schedules/{schedule_id}", json=example["response"])

    schedule = client.get_report_schedule(schedule_id)

    assert schedule.report_schedule_id == "ReportScheduleId1"
    assert schedule.next_report_creation_time == MILLIS + timedelta(days=1)
    assert schedule.marketplace_ids == ()
    assert schedule.report_options == {}
    assert_path_matches(reports_model, "getReportSchedule", sent(mocked).method, sent(mocked).url)


def test_cancel_report_schedule_sends_delete(client, mocked, reports_model):
    mocked.delete(f"{REPORTS}/schedules/ID", status=200)

    assert client.cancel_report_schedule("ID") is None
    request = sent(mocked)
    assert_path_matches(reports_model, "cancelReportSchedule", request.method, request.url)


def test_get_report_document_parses_the_sandbox_answer(client, mocked, reports_model):
    example = sandbox_example(reports_model, "getReportDocument", "200")
    document_id = example["request"]["parameters"]["reportDocumentId"]["value"]
    mocked.get(
        f"{REPORTS}/documents/{document_id}",
        json=example["response"],
        match=[matchers.query_param_matcher({}, strict_match=True)],
    )

    document = client.get_report_document(document_id)

    assert document == ReportDocument(
        report_document_id=document_id,
        url="https://d34o8swod1owfl.cloudfront.net/Report_47700__GET_MERCHANT_LISTINGS_ALL_DATA_.txt",
        compression_algorithm=None,
    )
    request = sent(mocked)
    assert_path_matches(reports_model, "getReportDocument", request.method, request.url)


def test_create_restricted_data_token_body_fits_the_model(client, mocked, tokens_model):
    example = sandbox_example(tokens_model, "createRestrictedDataToken", "200")
    mocked.post(RDT_URL, json=example["response"])

    rdt = client.create_restricted_data_token(path="/orders/v0/orders/{orderId}/address")

    assert rdt == RestrictedDataToken(
        token="Atz.sprdt|IQEBLjAsAhRmHjNgHpi0U-Dme37rR6CuUpSR", expires_in=3600
    )
    assert "IQEB" not in repr(rdt)
    request = sent(mocked)
    body = json.loads(request.body)
    assert body == {
        "restrictedResources": [{"method": "GET", "path": "/orders/v0/orders/{orderId}/address"}]
    }
    assert_path_matches(tokens_model, "createRestrictedDataToken", request.method, request.url)
    assert_body_valid(tokens_model, "CreateRestrictedDataTokenRequest", body)


def test_restricted_document_uses_an_rdt_for_exactly_its_path(
    client, mocked, reports_model, tokens_model, tokens
):
    document_id = "amzn1.tortuga.4.eu.0356cf79-b8b0-4226-b4b9-0ee058ea5760.T1ABCDEFG"
    path = f"/reports/2021-06-30/documents/{document_id}"
    rdt = "Atz.sprdt|RestrictedTokenForThisDocument"
    mocked.post(
        RDT_URL,
        json={"restrictedDataToken": rdt, "expiresIn": 3600},
        match=[
            matchers.json_params_matcher(
                {"restrictedResources": [{"method": "GET", "path": path}]}
            ),
            matchers.header_matcher({"x-amz-access-token": TOKEN_1}),
        ],
    )
    mocked.get(
        f"{ENDPOINT}{path}",
        json={"reportDocumentId": document_id, "url": "https://example.s3/doc?sig=1"},
        match=[matchers.header_matcher({"x-amz-access-token": rdt})],
    )

    document = client.get_report_document(document_id, restricted=True)

    assert document.report_document_id == document_id
    assert [c.request.method for c in mocked.calls] == ["POST", "GET"]
    assert_body_valid(
        tokens_model, "CreateRestrictedDataTokenRequest", json.loads(mocked.calls[0].request.body)
    )
    assert tokens.calls == [False]  # the LWA token only for the RDT call
    assert "sig=1" not in repr(document)


def test_every_reports_operation_has_a_client_method(client, reports_model):
    operation_ids = {
        operation["operationId"]
        for operations in reports_model["paths"].values()
        for method, operation in operations.items()
        if method != "parameters"
    }
    methods = {
        "getReports": "get_reports",
        "createReport": "create_report",
        "getReport": "get_report",
        "cancelReport": "cancel_report",
        "getReportSchedules": "get_report_schedules",
        "createReportSchedule": "create_report_schedule",
        "getReportSchedule": "get_report_schedule",
        "cancelReportSchedule": "cancel_report_schedule",
        "getReportDocument": "get_report_document",
    }

    assert operation_ids == set(methods)
    for operation_id, name in methods.items():
        doc = getattr(client, name).__doc__
        assert f"``{operation_id}``" in doc
        assert "https://developer-docs.amazon.com/sp-api/docs/" in doc
        assert find_operation(reports_model, operation_id)

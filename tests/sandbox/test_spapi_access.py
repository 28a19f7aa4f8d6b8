"""Who may call the Selling Partner API: access tokens, regions, headers, rate limits."""

from __future__ import annotations

import uuid

from tests.sandbox.conftest import (
    EU_SELLER,
    EU_SMALL_SELLER,
    NA_SELLER,
    REPORTS,
    US,
    Api,
    assert_error,
    assert_response,
)
from tests.sandbox.test_lwa import token

PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"
INVALID = "The access token you provided is revoked, malformed or invalid."


def test_marketplace_participations_match_the_model(eu, na):
    body = assert_response(eu.get(PARTICIPATIONS), "getMarketplaceParticipations", 200)

    assert [p["marketplace"]["countryCode"] for p in body["payload"]] == [
        "DE",
        "FR",
        "IT",
        "ES",
        "GB",
    ]
    de = body["payload"][0]
    assert de == {
        "marketplace": {
            "id": "A1PA6795UKMFR9",
            "name": "Amazon.de",
            "countryCode": "DE",
            "defaultCurrencyCode": "EUR",
            "defaultLanguageCode": "de_DE",
            "domainName": "www.amazon.de",
        },
        "participation": {"isParticipating": True, "hasSuspendedListings": False},
        "storeName": "Müller Haushaltswaren",
    }
    us = assert_response(na.get(PARTICIPATIONS), "getMarketplaceParticipations", 200)
    assert [p["marketplace"]["id"] for p in us["payload"]] == [US, "A2EUQ1WTGCTBG2"]


def test_every_answer_carries_request_id_and_rate_limit(eu):
    first, second = eu.get(PARTICIPATIONS), eu.get(PARTICIPATIONS)

    assert first.headers["x-amzn-RateLimit-Limit"] == "0.016"
    ids = {uuid.UUID(r.headers["x-amzn-RequestId"]) for r in (first, second)}
    assert len(ids) == 2
    refused = eu.get(PARTICIPATIONS, token="")
    assert refused.headers["x-amzn-RateLimit-Limit"] == "0.016"
    assert refused.headers["x-amzn-RequestId"]
    reports = eu.get(f"{REPORTS}/reports", params={"reportTypes": "GET_AFN_INVENTORY_DATA"})
    assert reports.headers["x-amzn-RateLimit-Limit"] == "0.0222"


def test_missing_token_is_403(eu):
    response = eu.get(PARTICIPATIONS, token="")
    assert_error(
        response,
        "getMarketplaceParticipations",
        403,
        "Unauthorized",
        message="Access to requested resource is denied.",
        details="Access token is missing in the request header.",
    )


def test_unknown_token_is_403_invalid(eu):
    response = eu.get(f"{REPORTS}/reports", token="Atza|forged", params={"reportTypes": "X"})
    assert_error(response, "getReports", 403, "Unauthorized", details=INVALID)


def test_access_token_expires_after_an_hour(eu):
    eu.server.advance_clock(3599)
    assert eu.get(PARTICIPATIONS).status_code == 200
    eu.server.advance_clock(2)

    response = eu.get(PARTICIPATIONS)
    assert_error(response, "getMarketplaceParticipations", 403, "Unauthorized", details=INVALID)


def test_revoked_authorization_kills_access_tokens(sandbox, eu):
    other = Api(sandbox, EU_SMALL_SELLER, "eu")
    sandbox.control(f"sellers/{EU_SELLER}/revoke", {"region": "eu"})

    response = eu.get(PARTICIPATIONS)
    assert_error(response, "getMarketplaceParticipations", 403, "Unauthorized", details=INVALID)
    assert other.get(PARTICIPATIONS).status_code == 200


def test_token_of_the_other_region_is_403_with_empty_details(eu, na):
    wrong = eu.http.get(
        eu.server.url(f"/na{PARTICIPATIONS}"), headers={"x-amz-access-token": eu.token}
    )
    assert_error(wrong, "getMarketplaceParticipations", 403, "Unauthorized", details="")
    wrong = na.http.get(
        na.server.url(f"/eu{REPORTS}/reports?reportTypes=GET_AFN_INVENTORY_DATA"),
        headers={"x-amz-access-token": na.token},
    )
    assert_error(wrong, "getReports", 403, "Unauthorized", details="")


def test_unknown_region_is_404(eu):
    response = eu.http.get(
        eu.server.url(f"/fe{PARTICIPATIONS}"), headers={"x-amz-access-token": eu.token}
    )
    assert_error(response, "getMarketplaceParticipations", 404, "NotFound")


def test_a_json_body_needs_the_json_content_type(eu):
    response = eu.request(
        "POST",
        f"{REPORTS}/reports",
        data='{"reportType": "GET_AFN_INVENTORY_DATA", "marketplaceIds": ["A1PA6795UKMFR9"]}',
        headers={"Content-Type": "text/plain"},
    )
    assert_error(response, "createReport", 415, "UnsupportedMediaType")


def test_burst_then_429_then_refill(sandbox, eu):
    path = f"{REPORTS}/schedules"
    params = {"reportTypes": "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"}
    statuses = [eu.get(path, params=params).status_code for _ in range(10)]
    assert statuses == [200] * 10  # getReportSchedules: burst 10

    # The bucket refills at 0.0222/s times the time factor; calls outpace it soon.
    for _ in range(40):
        response = eu.get(path, params=params)
        if response.status_code == 429:
            break
    assert_error(
        response,
        "getReportSchedules",
        429,
        "QuotaExceeded",
        message="You exceeded your quota for the requested resource.",
        details="",
    )
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0222"
    # Buckets are per seller and per operation.
    assert Api(sandbox, EU_SMALL_SELLER, "eu").get(path, params=params).status_code == 200
    assert eu.get(f"{REPORTS}/reports", params={"reportTypes": "X"}).status_code == 200
    # Waiting (here: moving the sandbox clock) refills the bucket.
    sandbox.advance_clock(60)
    assert eu.get(path, params=params).status_code == 200


def test_each_seller_only_sees_itself(sandbox):
    api = Api(sandbox, NA_SELLER, "na")
    body = assert_response(api.get(PARTICIPATIONS), "getMarketplaceParticipations", 200)
    assert {p["storeName"] for p in body["payload"]} == {"Cedar Ridge Outfitters"}


def test_grantless_token_cannot_read_reports(sandbox):
    grantless = token(
        sandbox, grant_type="client_credentials", scope="sellingpartnerapi::migration"
    ).json()["access_token"]
    response = Api(sandbox, EU_SELLER, "eu").get(
        f"{REPORTS}/reports", token=grantless, params={"reportTypes": "GET_AFN_INVENTORY_DATA"}
    )
    assert_error(response, "getReports", 403, "Unauthorized", details="")

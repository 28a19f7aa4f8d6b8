"""``SpApiClient._request``: headers, timeouts, records, logging, retries and the one refresh."""

from __future__ import annotations

import logging

import pytest
import requests
from responses import matchers

from amazon_settings.spapi import (
    SpApiAuthError,
    SpApiError,
    SpApiRequestError,
    SpApiThrottled,
    SpApiTransientError,
)
from amazon_settings.spapi.ratelimit import local_throttle

from .support import ENDPOINT, TOKEN_1, TOKEN_2, USER_AGENT

REPORT_URL = f"{ENDPOINT}/reports/2021-06-30/reports/42"
REPORTS_URL = f"{ENDPOINT}/reports/2021-06-30/reports"
REPORT = {
    "reportId": "42",
    "reportType": "GET_AFN_INVENTORY_DATA",
    "processingStatus": "DONE",
    "createdTime": "2021-02-24T16:42:19+00:00",
}
QUOTA = {
    "errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota.", "details": ""}]
}
UNAVAILABLE = {"errors": [{"code": "ServiceUnavailable", "message": "Try later."}]}
DENIED = "Access to requested resource is denied."
REVOKED = "The access token you provided is revoked, malformed or invalid."


def unauthorized(details: str) -> dict:
    return {"errors": [{"code": "Unauthorized", "message": DENIED, "details": details}]}


def test_headers_carry_the_token_and_user_agent_but_no_authorization(
    client, mocked, session, tokens
):
    session.headers["Authorization"] = "Bearer should-never-be-sent"
    mocked.get(
        REPORT_URL,
        json=REPORT,
        match=[
            matchers.header_matcher({"x-amz-access-token": TOKEN_1, "user-agent": USER_AGENT}),
            matchers.query_param_matcher({}, strict_match=True),
        ],
    )

    client.get_report("42")

    sent = mocked.calls[0].request.headers
    assert "Authorization" not in sent
    assert "content-type" not in sent  # no body, no content type
    assert tokens.calls == [False]


def test_json_bodies_are_sent_as_application_json(client, mocked):
    mocked.post(
        REPORTS_URL,
        status=202,
        json={"reportId": "7"},
        match=[matchers.header_matcher({"content-type": "application/json"})],
    )

    assert client.create_report(report_type="T", marketplace_ids=["A1PA6795UKMFR9"]) == "7"


def test_every_attempt_gets_the_timeout_and_a_record(client, mocked, session, records):
    mocked.get(REPORT_URL, status=503, json=UNAVAILABLE, headers={"x-amzn-RequestId": "r1"})
    mocked.get(
        REPORT_URL,
        json=REPORT,
        headers={"x-amzn-RequestId": "r2", "x-amzn-RateLimit-Limit": "2.0"},
    )

    client.get_report("42")

    assert [r["timeout"] for r in session.requests] == [12.5, 12.5]
    assert [(r.attempt, r.status, r.request_id, r.rate_limit, r.error_code) for r in records] == [
        (1, 503, "r1", None, "ServiceUnavailable"),
        (2, 200, "r2", 2.0, ""),
    ]
    assert all(
        (r.operation, r.method, r.path)
        == ("Reports.getReport", "GET", "/reports/2021-06-30/reports/42")
        for r in records
    )
    assert all(TOKEN_1 not in repr(r) for r in records)


def test_one_log_line_per_response_without_token_or_body(client, mocked, caplog):
    mocked.get(REPORT_URL, status=503, json=UNAVAILABLE, headers={"x-amzn-RequestId": "r1"})
    mocked.get(
        REPORT_URL,
        json=REPORT,
        headers={"x-amzn-RequestId": "r2", "x-amzn-RateLimit-Limit": "2.0"},
    )

    with caplog.at_level(logging.INFO, logger="amazon_settings.spapi"):
        client.get_report("42")

    lines = [r.getMessage() for r in caplog.records if r.name == "amazon_settings.spapi"]
    assert len(lines) == 2
    assert lines[0].startswith("Reports.getReport GET /reports/2021-06-30/reports/42 -> 503")
    assert "request_id=r1" in lines[0]
    assert "request_id=r2 rate_limit=2.0" in lines[1]
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.INFO]
    text = "\n".join(lines)
    assert TOKEN_1 not in text and "GET_AFN_INVENTORY_DATA" not in text


def test_503_is_retried_with_exponential_backoff_and_full_jitter(make_client, mocked, sleeps):
    client = make_client(random=lambda: 0.25, backoff_base=2.0)
    for _ in range(3):
        mocked.get(REPORT_URL, status=503, json=UNAVAILABLE)
    mocked.get(REPORT_URL, json=REPORT)

    report = client.get_report("42")

    assert report.report_id == "42"
    assert sleeps == [0.25 * 2, 0.25 * 4, 0.25 * 8]


def test_retries_stop_after_max_retries_with_the_last_error(make_client, mocked, sleeps):
    client = make_client(max_retries=2)
    mocked.get(
        REPORT_URL, status=500, json={"errors": [{"code": "InternalFailure", "message": "x"}]}
    )

    with pytest.raises(SpApiTransientError) as caught:
        client.get_report("42")

    assert len(mocked.calls) == 3
    assert len(sleeps) == 2
    assert caught.value.status == 500


def test_without_retries_one_call_is_one_attempt_and_no_sleep(make_client, mocked, sleeps):
    # The product's worker builds its clients this way: its reports retry with their backoff.
    client = make_client(max_retries=0)
    mocked.get(REPORT_URL, status=503, json=UNAVAILABLE)
    mocked.get(REPORT_URL, json=REPORT)

    with pytest.raises(SpApiTransientError) as caught:
        client.get_report("42")

    assert len(mocked.calls) == 1
    assert sleeps == []
    assert caught.value.status == 503


@pytest.mark.parametrize(
    "failure",
    [requests.ReadTimeout("read timed out"), requests.ConnectionError("reset by peer")],
)
def test_timeouts_and_connection_errors_are_retried(client, mocked, sleeps, records, failure):
    mocked.get(REPORT_URL, body=failure)
    mocked.get(REPORT_URL, json=REPORT)

    client.get_report("42")

    assert len(sleeps) == 1
    assert [r.status for r in records] == [None, 200]
    assert records[0].error_code in ("Timeout", "ConnectionError")


def test_exhausted_timeouts_raise_our_error_not_requests(make_client, mocked):
    client = make_client(max_retries=1)
    mocked.get(REPORT_URL, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(SpApiTransientError) as caught:
        client.get_report("42")

    assert caught.value.code == "Timeout"
    assert str(caught.value) == (
        "Amazon could not answer Reports.getReport right now; it will be retried "
        "(Timeout: no answer in 12.5 s)"
    )


def test_429_waits_at_least_one_refill_from_the_header(client, mocked, sleeps):
    mocked.get(REPORT_URL, status=429, json=QUOTA, headers={"x-amzn-RateLimit-Limit": "0.2"})
    mocked.get(REPORT_URL, json=REPORT)

    client.get_report("42")

    assert sleeps == [pytest.approx(5.0)]  # 1 / 0.2, more than the jittered 0.5


def test_429_without_header_waits_one_refill_of_the_default_plan(client, mocked, sleeps):
    mocked.get(REPORT_URL, status=429, json=QUOTA)
    mocked.get(REPORT_URL, json=REPORT)

    client.get_report("42")

    assert sleeps == [pytest.approx(0.5)]  # getReport: 2 per second


def test_max_wait_caps_the_total_sleep(make_client, mocked, sleeps):
    client = make_client(max_wait=60)
    mocked.post(REPORTS_URL, status=429, json=QUOTA, headers={"x-amzn-RateLimit-Limit": "0.0167"})

    with pytest.raises(SpApiThrottled) as caught:
        client.create_report(report_type="T", marketplace_ids=["A1PA6795UKMFR9"])

    assert sleeps == [pytest.approx(59.88, abs=0.01)]  # a second wait would pass 60 s
    assert len(mocked.calls) == 2
    assert caught.value.retry_after == pytest.approx(59.88, abs=0.01)


def test_max_wait_below_one_refill_means_no_retry(make_client, mocked, sleeps):
    client = make_client(max_wait=10)
    mocked.get(REPORTS_URL, status=429, json=QUOTA, headers={"x-amzn-RateLimit-Limit": "0.0222"})

    with pytest.raises(SpApiThrottled):
        client.get_reports(report_types=["GET_AFN_INVENTORY_DATA"])

    assert sleeps == []
    assert len(mocked.calls) == 1


@pytest.mark.parametrize(
    ("status", "code"), [(400, "InvalidInput"), (404, "NotFound"), (415, "UnsupportedMediaType")]
)
def test_other_4xx_are_never_retried(client, mocked, sleeps, status, code):
    mocked.get(REPORT_URL, status=status, json={"errors": [{"code": code, "message": "no"}]})

    with pytest.raises(SpApiRequestError):
        client.get_report("42")

    assert len(mocked.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500, "json": {"errors": [{"code": "InternalFailure", "message": "x"}]}},
        {"body": requests.ReadTimeout("read timed out")},
    ],
)
def test_create_report_is_not_retried_when_amazon_may_have_acted(client, mocked, failure):
    mocked.post(REPORTS_URL, **failure)

    with pytest.raises(SpApiTransientError):
        client.create_report(report_type="T", marketplace_ids=["A1PA6795UKMFR9"])

    assert len(mocked.calls) == 1  # a retry could create a second report


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503, "json": UNAVAILABLE},
        {"status": 429, "json": QUOTA, "headers": {"x-amzn-RateLimit-Limit": "1"}},
        {"body": requests.ConnectTimeout("no route")},
    ],
)
def test_create_report_is_retried_when_amazon_certainly_did_nothing(client, mocked, failure):
    mocked.post(REPORTS_URL, **failure)
    mocked.post(REPORTS_URL, status=202, json={"reportId": "9"})

    assert client.create_report(report_type="T", marketplace_ids=["A1PA6795UKMFR9"]) == "9"
    assert len(mocked.calls) == 2


def test_expired_access_token_is_refreshed_once_and_retried(client, mocked, tokens, sleeps):
    mocked.get(
        REPORT_URL,
        status=403,
        json=unauthorized(REVOKED),
        match=[matchers.header_matcher({"x-amz-access-token": TOKEN_1})],
    )
    mocked.get(
        REPORT_URL,
        json=REPORT,
        match=[matchers.header_matcher({"x-amz-access-token": TOKEN_2})],
    )

    assert client.get_report("42").report_id == "42"
    assert tokens.calls == [False, True]
    assert sleeps == []  # a fresh token needs no backoff


class CountingLimiter:
    """A bucket with one token: a second acquire would have to wait longer than allowed."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def acquire(self, key, limit, *, max_wait):
        self.keys.append(key)
        if len(self.keys) > 1:
            raise local_throttle(key, 30.0)
        return 0.0


def test_the_refresh_retry_is_not_held_by_the_local_bucket(make_client, mocked, tokens):
    limiter = CountingLimiter()
    client = make_client(rate_limiter=limiter, limiter_key="seller:1:")
    mocked.get(REPORT_URL, status=403, json=unauthorized(REVOKED))

    with pytest.raises(SpApiAuthError) as raised:
        client.get_report("42")

    # Amazon's answer to the fresh token is what the caller sees, not a local rate limit.
    assert raised.value.code != "LocalRateLimit"
    assert raised.value.is_expired_access_token
    assert tokens.calls == [False, True]
    assert len(mocked.calls) == 2
    assert limiter.keys == ["seller:1:Reports.getReport"]


def test_a_second_expired_token_answer_gives_up_with_access_denied(client, mocked, tokens):
    mocked.get(REPORT_URL, status=403, json=unauthorized(REVOKED))

    with pytest.raises(SpApiAuthError) as caught:
        client.get_report("42")

    assert caught.value.reason == "access_denied"
    assert tokens.calls == [False, True]
    assert len(mocked.calls) == 2


def test_a_missing_role_is_not_refreshed(client, mocked, tokens):
    mocked.get(REPORT_URL, status=403, json=unauthorized(""))

    with pytest.raises(SpApiAuthError) as caught:
        client.get_report("42")

    assert tokens.calls == [False]
    assert len(mocked.calls) == 1
    assert str(caught.value) == (
        "Amazon denied access to Reports.getReport (403 Unauthorized: " + DENIED + ")"
    )


def test_token_provider_errors_pass_through_unchanged(make_client, mocked):
    revoked = SpApiAuthError(reason="authorization_revoked", operation="LWA.refreshToken")

    def failing(*, force_refresh: bool = False) -> str:
        raise revoked

    client = make_client(token_provider=failing)

    with pytest.raises(SpApiAuthError) as caught:
        client.get_report("42")

    assert caught.value is revoked
    assert len(mocked.calls) == 0


def test_a_200_that_is_not_json_is_an_unexpected_response(client, mocked):
    mocked.get(REPORT_URL, body="<html>maintenance</html>")

    with pytest.raises(SpApiError) as caught:
        client.get_report("42")

    assert caught.value.code == "UnexpectedResponse"


def test_a_200_missing_required_fields_is_an_unexpected_response(client, mocked):
    mocked.get(REPORT_URL, json={"reportId": "42"})

    with pytest.raises(SpApiError) as caught:
        client.get_report("42")

    assert type(caught.value) is SpApiError
    assert caught.value.code == "UnexpectedResponse"


def test_the_token_refresh_does_not_use_up_a_retry(make_client, mocked, tokens, sleeps):
    client = make_client(max_retries=2)
    mocked.get(REPORT_URL, status=403, json=unauthorized(REVOKED))
    mocked.get(REPORT_URL, status=503, json=UNAVAILABLE)
    mocked.get(REPORT_URL, status=503, json=UNAVAILABLE)
    mocked.get(REPORT_URL, json=REPORT)

    assert client.get_report("42").report_id == "42"
    assert tokens.calls == [False, True, False, False]
    assert len(sleeps) == 2

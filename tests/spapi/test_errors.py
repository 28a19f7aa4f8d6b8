"""The error taxonomy: each status and body becomes the class the caller acts on."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from amazon_settings.spapi import (
    SpApiAuthError,
    SpApiError,
    SpApiRequestError,
    SpApiThrottled,
    SpApiTransientError,
    error_from_response,
)
from amazon_settings.spapi.errors import LWA_EXCHANGE_CODE, LWA_REFRESH_TOKEN

from .support import find_operation

REVOKED_DETAILS = "The access token you provided is revoked, malformed or invalid."
REFRESH_REVOKED = (
    "The request has an invalid grant parameter : refresh_token. "
    "User may have revoked or didn't grant the permission."
)


def make_response(
    status: int, body: Any = None, headers: dict[str, str] | None = None, reason: str = ""
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = reason
    response.headers = CaseInsensitiveDict(headers or {})
    if isinstance(body, bytes):
        response._content = body
    else:
        response._content = b"" if body is None else json.dumps(body).encode()
    return response


def amazon_errors(code: str, message: str, details: str = "") -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "details": details}]}


def test_missing_role_is_access_denied_with_a_plain_sentence():
    response = make_response(
        403,
        amazon_errors("Unauthorized", "Access to requested resource is denied."),
        {"x-amzn-RequestId": "req-1"},
    )

    error = error_from_response(response, operation="Reports.getReportSchedules")

    assert type(error) is SpApiAuthError
    assert error.reason == "access_denied"
    assert (error.status, error.code, error.request_id) == (403, "Unauthorized", "req-1")
    assert error.operation == "Reports.getReportSchedules"
    assert str(error) == (
        "Amazon denied access to Reports.getReportSchedules "
        "(403 Unauthorized: Access to requested resource is denied.)"
    )
    assert not error.is_expired_access_token


def test_expired_access_token_is_access_denied_that_a_refresh_cures():
    response = make_response(
        403,
        amazon_errors("Unauthorized", "Access to requested resource is denied.", REVOKED_DETAILS),
    )

    error = error_from_response(response, operation="Reports.getReport")

    assert isinstance(error, SpApiAuthError)
    assert error.reason == "access_denied"
    assert error.details == REVOKED_DETAILS
    assert error.is_expired_access_token
    assert str(error).endswith(f"denied. {REVOKED_DETAILS})")


@pytest.mark.parametrize(
    ("status", "body", "cls", "text"),
    [
        (
            400,
            amazon_errors(
                "InvalidInput", "One or more required parameters missing", "marketplaceIds;"
            ),
            SpApiRequestError,
            "Amazon rejected the request to Reports.createReport "
            "(400 InvalidInput: One or more required parameters missing marketplaceIds;)",
        ),
        (
            404,
            amazon_errors("NotFound", "Resource not found"),
            SpApiRequestError,
            "Amazon rejected the request to Reports.createReport "
            "(404 NotFound: Resource not found)",
        ),
        (
            415,
            amazon_errors("UnsupportedMediaType", "Invalid Content-Type"),
            SpApiRequestError,
            "Amazon rejected the request to Reports.createReport "
            "(415 UnsupportedMediaType: Invalid Content-Type)",
        ),
        (
            401,
            amazon_errors("Unauthorized", "Access to requested resource is denied."),
            SpApiAuthError,
            "Amazon denied access to Reports.createReport "
            "(401 Unauthorized: Access to requested resource is denied.)",
        ),
        (
            500,
            amazon_errors("InternalFailure", "We encountered an internal error."),
            SpApiTransientError,
            "Amazon could not answer Reports.createReport right now; it will be retried "
            "(500 InternalFailure: We encountered an internal error.)",
        ),
        (
            503,
            amazon_errors("ServiceUnavailable", "Service temporarily unavailable."),
            SpApiTransientError,
            "Amazon could not answer Reports.createReport right now; it will be retried "
            "(503 ServiceUnavailable: Service temporarily unavailable.)",
        ),
        (
            501,
            amazon_errors("NotImplemented", "Not implemented."),
            SpApiError,
            "Amazon could not complete Reports.createReport (501 NotImplemented: Not implemented.)",
        ),
    ],
)
def test_status_picks_the_class(status, body, cls, text):
    error = error_from_response(make_response(status, body), operation="Reports.createReport")

    assert type(error) is cls
    assert str(error) == text


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient_but_not_throttled(status):
    error = error_from_response(make_response(status), operation="Reports.getReport")

    assert isinstance(error, SpApiTransientError)
    assert not isinstance(error, SpApiThrottled)


def test_html_from_a_load_balancer_uses_the_reason_phrase():
    response = make_response(502, b"<html><body>Bad Gateway</body></html>", reason="Bad Gateway")

    error = error_from_response(response, operation="Reports.getReport")

    assert isinstance(error, SpApiTransientError)
    assert (error.code, error.message) == ("", "Bad Gateway")
    assert str(error).endswith("(502: Bad Gateway)")


def test_quota_exceeded_waits_one_refill_of_the_applied_rate():
    response = make_response(
        429,
        amazon_errors("QuotaExceeded", "You exceeded your quota for the requested resource."),
        {"x-amzn-RateLimit-Limit": "0.0167"},
    )

    error = error_from_response(response, operation="Reports.createReport")

    assert isinstance(error, SpApiThrottled)
    assert error.retry_after == pytest.approx(1 / 0.0167)
    assert str(error) == (
        "Amazon throttled Reports.createReport; try again in 60 s "
        "(429 QuotaExceeded: You exceeded your quota for the requested resource.)"
    )


@pytest.mark.parametrize("header", [None, "", "garbage", "0"])
def test_quota_exceeded_without_a_usable_header_uses_the_default(header):
    headers = {"x-amzn-RateLimit-Limit": header} if header is not None else {}
    response = make_response(429, amazon_errors("QuotaExceeded", "quota"), headers)

    error = error_from_response(response, operation="Reports.getReport", default_retry_after=0.5)

    assert isinstance(error, SpApiThrottled)
    assert error.retry_after == 0.5


def test_sandbox_style_numeric_code_is_said_once():
    body = amazon_errors("400", "Invalid input", "Invalid input in processing status")

    error = error_from_response(make_response(400, body), operation="Reports.getReports")

    assert str(error) == (
        "Amazon rejected the request to Reports.getReports "
        "(400: Invalid input Invalid input in processing status)"
    )


def test_every_sandbox_400_example_of_the_reports_model_is_a_request_error(reports_model):
    examples = []
    for operations in reports_model["paths"].values():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            sandbox = operation["responses"].get("400", {}).get("x-amzn-api-sandbox")
            if sandbox:
                examples += [(operation["operationId"], s["response"]) for s in sandbox["static"]]
    assert len(examples) >= 9

    for operation_id, body in examples:
        error = error_from_response(make_response(400, body), operation=f"Reports.{operation_id}")
        assert isinstance(error, SpApiRequestError)
        assert error.message == body["errors"][0]["message"]


def test_sellers_error_shape_is_read_too(sellers_model):
    _, _, operation = find_operation(sellers_model, "getAccount")
    body = operation["responses"]["400"]["x-amzn-api-sandbox"]["static"][0]["response"]

    error = error_from_response(make_response(400, body), operation="Sellers.getAccount")

    assert isinstance(error, SpApiRequestError)
    assert (error.code, error.message, error.details) == ("InvalidInput", "Invalid Input", "")


@pytest.mark.parametrize(
    ("status", "body", "operation", "reason", "headline"),
    [
        (
            400,
            {"error_description": REFRESH_REVOKED, "error": "invalid_grant"},
            LWA_REFRESH_TOKEN,
            "authorization_revoked",
            "Amazon no longer accepts this seller's authorization",
        ),
        (
            400,
            {
                "error_description": "The request has an invalid grant parameter : code",
                "error": "invalid_grant",
            },
            LWA_EXCHANGE_CODE,
            "invalid_code",
            "Amazon rejected the authorization code",
        ),
        (
            401,
            {"error_description": "Client authentication failed", "error": "invalid_client"},
            LWA_REFRESH_TOKEN,
            "client_rejected",
            "Amazon rejected the app's LWA client ID or client secret",
        ),
        (
            400,
            {
                "error_description": "The request has an invalid grant parameter : code",
                "error": "invalid_grant",
            },
            "LWA.somethingElse",
            "invalid_code",
            "Amazon rejected the authorization code",
        ),
    ],
)
def test_lwa_bodies_become_auth_errors_with_a_reason(status, body, operation, reason, headline):
    error = error_from_response(make_response(status, body), operation=operation)

    assert isinstance(error, SpApiAuthError)
    assert error.reason == reason
    assert (error.code, error.message) == (body["error"], body["error_description"])
    assert str(error).startswith(headline)
    assert str(error).endswith(f"({status} {body['error']}: {body['error_description']})")


def test_other_lwa_errors_are_request_errors():
    body = {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}

    error = error_from_response(make_response(400, body), operation=LWA_REFRESH_TOKEN)

    assert type(error) is SpApiRequestError
    assert error.code == "unsupported_grant_type"


def test_errors_never_carry_tokens():
    body = {
        "errors": [
            {
                "code": "Unauthorized",
                "message": "Token Atza|IwEBIsecret-access rejected",
                "details": "refresh Atzr|IwEBIsecret-refresh and rdt Atz.sprdt|secret-rdt",
            }
        ]
    }

    error = error_from_response(make_response(403, body), operation="Reports.getReport")

    text = f"{error} {error!r} {error.message} {error.details}"
    for secret in ("secret-access", "secret-refresh", "secret-rdt", "Atza|", "Atzr|"):
        assert secret not in text
    assert "[redacted]" in str(error)


def test_errors_survive_pickling_with_their_attributes():
    error = SpApiThrottled(
        retry_after=45.0, operation="Reports.getReports", status=429, code="QuotaExceeded"
    )

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes

    assert type(copy) is SpApiThrottled
    assert (copy.retry_after, copy.status, copy.code) == (45.0, 429, "QuotaExceeded")
    assert str(copy) == str(error)

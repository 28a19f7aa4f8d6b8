"""Contract tests of the Amazon sandbox over real HTTP: shared fixtures and assertions."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime
from functools import cache

import jsonschema
import pytest
import requests

from tests.sandbox_server import APP_ID, CLIENT_ID, CLIENT_SECRET, SandboxServer
from tests.testdata import AMAZON_MODELS_DIR

EU_SELLER = "A2MUELLERHW7QX"  # DE, FR, IT, ES, UK
EU_SMALL_SELLER = "A1KERZENWERK5D"  # DE only
NA_SELLER = "A3CEDARRIDGE9K"  # US, CA
DE, FR, UK, US, CA = (
    "A1PA6795UKMFR9",
    "A13V1IB3VIYZZH",
    "A1F83G8C2ARO7P",
    "ATVPDKIKX0DER",
    "A2EUQ1WTGCTBG2",
)
CALLBACK = "http://127.0.0.1:8000/settings/connect/callback/"
REPORTS = "/reports/2021-06-30"
FINISHED = frozenset({"DONE", "CANCELLED", "FATAL"})

__all__ = ["APP_ID", "CLIENT_ID", "CLIENT_SECRET"]


@cache
def _model(name: str) -> dict:
    return json.loads((AMAZON_MODELS_DIR / name).read_text())


def _operation(model: str, operation_id: str) -> dict:
    for methods in _model(model)["paths"].values():
        for op in methods.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op
    raise KeyError(operation_id)


def _validate(model: str, schema: dict, body: object) -> None:
    root = {**schema, "definitions": _model(model)["definitions"]}
    jsonschema.Draft4Validator(root, format_checker=jsonschema.FormatChecker()).validate(body)


MODEL_OF = {
    "getMarketplaceParticipations": "sellers.json",
    "createRestrictedDataToken": "tokens_2021-03-01.json",
    **dict.fromkeys(
        (
            "getDestinations",
            "createDestination",
            "getSubscription",
            "createSubscription",
            "getSubscriptionById",
            "deleteSubscriptionById",
        ),
        "notifications.json",
    ),
}


def assert_response(response: requests.Response, operation_id: str, status: int) -> object:
    """Assert status, Amazon's headers, and that the body matches the model's schema for that
    status (every error against ErrorList); returns the parsed body (None when empty)."""
    assert response.status_code == status, response.text
    assert response.headers["x-amzn-RequestId"]
    assert response.headers["Content-Type"] == "application/json"
    model = MODEL_OF.get(operation_id, "reports_2021-06-30.json")
    if not response.content:
        assert status in (200, 201, 202) and operation_id.startswith("cancel")
        return None
    body = response.json()
    schema = _operation(model, operation_id)["responses"][str(status)].get("schema")
    assert schema is not None, f"{operation_id} has no {status} schema"
    _validate(model, schema, body)
    if status >= 400:
        _validate("reports_2021-06-30.json", {"$ref": "#/definitions/ErrorList"}, body)
        assert body["errors"], body
    return body


def assert_error(
    response: requests.Response, operation_id: str, status: int, code: str, **expected: str
) -> dict:
    """Assert an ErrorList answer with this code (and message/details when given)."""
    body = assert_response(response, operation_id, status)
    error = body["errors"][0]
    assert error["code"] == code, body
    for key, value in expected.items():
        assert error[key] == value, body
    return error


class Api:
    """An SP-API client for one seller in one region, as a product would call it."""

    def __init__(self, server: SandboxServer, seller: str, region: str) -> None:
        self.server = server
        self.seller = seller
        self.region = region
        self.token = server.access_token(seller, region)
        self.http = requests.Session()

    def request(
        self, method: str, path: str, *, token: str | None = None, **kwargs
    ) -> requests.Response:
        headers = {"x-amz-access-token": self.token if token is None else token}
        headers.update(kwargs.pop("headers", {}))
        return self.http.request(
            method,
            self.server.url(f"/{self.region}{path}"),
            headers=headers,
            timeout=kwargs.pop("timeout", 30),
            **kwargs,
        )

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: dict, **kwargs) -> requests.Response:
        return self.request("POST", path, json=body, **kwargs)

    def create_report(self, report_type: str, marketplace_ids: list[str], **fields) -> str:
        response = self.post(
            f"{REPORTS}/reports",
            {"reportType": report_type, "marketplaceIds": marketplace_ids, **fields},
        )
        return assert_response(response, "createReport", 202)["reportId"]

    def report(self, report_id: str) -> dict:
        return assert_response(self.get(f"{REPORTS}/reports/{report_id}"), "getReport", 200)

    def finish(self, report_id: str) -> dict:
        """Move the sandbox clock past any processing delay and read the report."""
        self.server.advance_clock(600)
        return self.report(report_id)

    def wait(self, report_id: str, timeout: float = 30) -> dict:
        """Poll getReport (real time) until the report is finished."""
        deadline = time.monotonic() + timeout
        while True:
            report = self.report(report_id)
            if report["processingStatus"] in FINISHED or time.monotonic() > deadline:
                return report
            time.sleep(0.1)

    def document(self, document_id: str, *, token: str | None = None) -> dict:
        response = self.get(f"{REPORTS}/documents/{document_id}", token=token)
        return assert_response(response, "getReportDocument", 200)

    def rdt(self, document_id: str) -> str:
        response = self.post(
            "/tokens/2021-03-01/restrictedDataToken",
            {
                "restrictedResources": [
                    {"method": "GET", "path": f"{REPORTS}/documents/{document_id}"}
                ]
            },
        )
        return assert_response(response, "createRestrictedDataToken", 200)["restrictedDataToken"]

    def download(self, url: str) -> requests.Response:
        return self.http.get(url, timeout=30)


def gunzip_text(response: requests.Response) -> str:
    """The document text, decoded with the charset the download declares."""
    charset = response.headers["Content-Type"].split("charset=")[1]
    return gzip.decompress(response.content).decode(charset)


@pytest.fixture(autouse=True)
def _clean_sandbox(request):
    """Every test that uses the sandbox starts from a reset one (clock, faults, state)."""
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").reset()


# A moment at which every report the tests of reports, documents and faults ask the demo sellers'
# histories for has rows. The histories are random per day: at about one moment in twenty a range
# of two days in one marketplace holds no order (one in six for VCS in France), and the sandbox
# answers that, as Amazon does, with CANCELLED instead of DONE, so these tests failed on some
# days when they read the histories at the real time. Chosen by rendering the tests' report
# types, marketplaces and ranges (one to seven days) at noon of a day and up to a day after it:
# every one has 3 rows or more. Far ahead, as the sandbox clock only moves forward.
KNOWN_MOMENT = datetime(2099, 1, 16, 12, tzinfo=UTC)


def sandbox_now(sandbox) -> datetime:
    return datetime.fromisoformat(sandbox.control("clock")["now"])


@pytest.fixture
def sandbox_at_known_moment(sandbox) -> datetime:
    """The (reset) sandbox's clock moved on to KNOWN_MOMENT."""
    sandbox.advance_clock((KNOWN_MOMENT - sandbox_now(sandbox)).total_seconds())
    return KNOWN_MOMENT


@pytest.fixture
def eu(sandbox) -> Api:
    return Api(sandbox, EU_SELLER, "eu")


@pytest.fixture
def na(sandbox) -> Api:
    return Api(sandbox, NA_SELLER, "na")

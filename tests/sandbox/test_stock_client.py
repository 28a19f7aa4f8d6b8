"""A public SP-API client (python-amazon-sp-api) works against the sandbox unchanged.

The library has no option for a plain-http endpoint or another LWA host, so the test uses its
extension points: the `auth_token_client_class` argument (an AccessTokenClient subclass with the
sandbox's scheme and host) and a Reports subclass whose endpoint is the sandbox and whose
`host` header is derived correctly (the library strips eight characters, "https://", from the
endpoint to build it).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from sp_api.api import Reports
from sp_api.auth import AccessTokenClient
from sp_api.base import Marketplaces

from tests.sandbox.conftest import CLIENT_ID, CLIENT_SECRET, EU_SELLER, sandbox_now
from tests.sandbox.test_reports import iso


def sandbox_reports(sandbox, refresh_token: str) -> Reports:
    class SandboxLwa(AccessTokenClient):
        scheme = "http://"
        host = urlsplit(sandbox.base_url).netloc

    class SandboxReports(Reports):
        @property
        def headers(self) -> dict:
            headers = super().headers
            headers["host"] = urlsplit(self.endpoint).netloc
            return headers

    client = SandboxReports(
        marketplace=Marketplaces.DE,
        refresh_token=refresh_token,
        credentials={"lwa_app_id": CLIENT_ID, "lwa_client_secret": CLIENT_SECRET},
        auth_token_client_class=SandboxLwa,
        timeout=30,
    )
    client.endpoint = sandbox.url("/eu")
    return client


def test_python_amazon_sp_api_round_trip(sandbox):
    refresh_token = sandbox.refresh_token(EU_SELLER, "eu")
    client = sandbox_reports(sandbox, refresh_token)
    now = sandbox_now(sandbox)

    created = client.create_report(
        reportType="GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL",
        marketplaceIds=[Marketplaces.DE.marketplace_id],
        dataStartTime=iso(now - timedelta(days=7)),
        dataEndTime=iso(now),
    )
    report_id = created.payload["reportId"]
    # Amazon takes its time; the sandbox's clock moves on instead of the test waiting for it.
    sandbox.advance_clock(120)
    report = client.get_report(report_id).payload
    assert report["processingStatus"] == "DONE"

    document = client.get_report_document(report["reportDocumentId"], download=True)

    assert document.character_code.lower() == "cp1252"
    text = document.payload["document"]
    assert text.startswith("amazon-order-id\t")
    assert "Amazon.de" in text
    assert any(ord(c) > 127 for c in text)
    calls = [c["operation"] for c in sandbox.calls() if c["operation"] != "getReport"]
    assert calls == ["lwaToken", "createReport", "getReportDocument", "downloadDocument"]

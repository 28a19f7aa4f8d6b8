"""Report documents: getReportDocument, presigned downloads, gzip, charsets, RDTs."""

from __future__ import annotations

import gzip
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.sandbox.conftest import (
    DE,
    EU_SMALL_SELLER,
    REPORTS,
    UK,
    US,
    Api,
    assert_error,
    assert_response,
    gunzip_text,
)
from tests.sandbox.test_reports import SHIPMENTS, last_days

# Their reports read the demo histories: at a known moment, not at the real time (see there).
pytestmark = pytest.mark.usefixtures("sandbox_at_known_moment")
ORDERS_EU = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"  # restricted (buyer PII)


def done_document(api: Api, report_type: str, marketplace_ids: list[str], days: int = 7) -> str:
    report_id = api.create_report(report_type, marketplace_ids, **last_days(api.server, days))
    report = api.finish(report_id)
    assert report["processingStatus"] == "DONE", report
    return report["reportDocumentId"]


def test_eu_document_is_gzip_labelled_and_encoded_cp1252(eu):
    document_id = done_document(eu, SHIPMENTS, [DE, UK])
    document = eu.document(document_id)
    assert document["reportDocumentId"] == document_id
    assert document["compressionAlgorithm"] == "GZIP"
    query = parse_qs(urlsplit(document["url"]).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["300"]
    assert query["X-Amz-Signature"][0]

    response = eu.download(document["url"])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=Cp1252"
    assert response.headers["Content-Encoding"] == "identity"
    raw = gzip.decompress(response.content)
    text = raw.decode("cp1252")
    assert text.startswith("amazon-order-id\t")
    # Non-ASCII text really is cp1252 bytes, not UTF-8.
    assert any(ord(c) > 127 for c in text)
    assert text.encode("cp1252") == raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    # The same document twice is the same bytes.
    assert eu.download(eu.document(document_id)["url"]).content == response.content


def test_na_document_is_utf8(na):
    document_id = done_document(na, SHIPMENTS, [US])
    response = na.download(na.document(document_id)["url"])

    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    text = gunzip_text(response)
    assert text.startswith("amazon-order-id\t")


def test_the_url_expires_after_five_minutes(sandbox, eu):
    document_id = done_document(eu, SHIPMENTS, [DE])
    url = eu.document(document_id)["url"]
    sandbox.advance_clock(299)
    assert eu.download(url).status_code == 200
    sandbox.advance_clock(2)

    response = eu.download(url)
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/xml"
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in response.text
    # A new getReportDocument call gives a new, working URL.
    assert eu.download(eu.document(document_id)["url"]).status_code == 200


def test_an_altered_url_is_refused(eu):
    url = eu.document(done_document(eu, SHIPMENTS, [DE]))["url"]
    altered = url.replace("X-Amz-Expires=300", "X-Amz-Expires=3000")

    response = eu.download(altered)
    assert response.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text


def test_content_encoding_header_on_request(eu):
    document_id = done_document(eu, SHIPMENTS, [DE])
    response = eu.get(
        f"{REPORTS}/documents/{document_id}", params={"enableContentEncodingUrlHeader": "true"}
    )
    url = assert_response(response, "getReportDocument", 200)["url"]

    download = eu.http.get(url, stream=True)
    assert download.headers["Content-Encoding"] == "gzip"
    # requests undoes Content-Encoding: gzip itself, as Amazon warns clients do.
    assert download.content.decode("cp1252").startswith("amazon-order-id\t")


def test_foreign_or_unknown_document_is_404(sandbox, eu):
    document_id = done_document(eu, SHIPMENTS, [DE])
    other = Api(sandbox, EU_SMALL_SELLER, "eu")

    response = other.get(f"{REPORTS}/documents/{document_id}")
    assert_error(response, "getReportDocument", 404, "NotFound")
    assert_error(
        eu.get(f"{REPORTS}/documents/amzn1.tortuga.4.eu.nope"), "getReportDocument", 404, "NotFound"
    )


def test_restricted_document_needs_a_restricted_data_token(eu):
    document_id = done_document(eu, ORDERS_EU, [DE])

    plain = eu.get(f"{REPORTS}/documents/{document_id}")
    assert_error(plain, "getReportDocument", 403, "Unauthorized", details="")

    rdt = eu.rdt(document_id)
    assert rdt.startswith("Atz.sprdt|")
    document = eu.document(document_id, token=rdt)
    text = gunzip_text(eu.download(document["url"]))
    assert text.startswith("order-id\torder-item-id\t")
    # The RDT is good for that path only.
    other = eu.get(f"{REPORTS}/reports", token=rdt, params={"reportTypes": ORDERS_EU})
    assert_error(other, "getReports", 403, "Unauthorized")
    # Unrestricted documents still take the plain token.
    assert eu.document(done_document(eu, SHIPMENTS, [DE]))["url"]


def test_an_rdt_expires_after_an_hour(sandbox, eu):
    document_id = done_document(eu, ORDERS_EU, [DE])
    rdt = eu.rdt(document_id)
    sandbox.advance_clock(3601)

    response = eu.get(f"{REPORTS}/documents/{document_id}", token=rdt)
    assert_error(response, "getReportDocument", 403, "Unauthorized")


@pytest.mark.parametrize(
    "resources",
    [
        [],
        [{"method": "GET", "path": "/reports/2021-06-30/documents/{reportDocumentId}"}],
        [{"method": "GET", "path": "/orders/v0/orders"}],
        [{"method": "PATCH", "path": "/reports/2021-06-30/documents/x"}],
        [{"path": "/reports/2021-06-30/documents/x"}],
    ],
)
def test_rdt_request_validation(eu, resources):
    response = eu.post("/tokens/2021-03-01/restrictedDataToken", {"restrictedResources": resources})
    assert_error(response, "createRestrictedDataToken", 400, "InvalidInput")


def test_rdt_rate_limit_header(eu):
    response = eu.post("/tokens/2021-03-01/restrictedDataToken", {"restrictedResources": []})
    assert response.headers["x-amzn-RateLimit-Limit"] == "1.0"

"""Fault injection through the control API: every fault the product must survive."""

from __future__ import annotations

import csv
import gzip
import io
import time
import zlib
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import requests

from amazon_sandbox.catalog import seller_by_id
from tests.sandbox.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    DE,
    EU_SELLER,
    EU_SMALL_SELLER,
    REPORTS,
    Api,
    assert_error,
    assert_response,
    gunzip_text,
    sandbox_now,
)
from tests.sandbox.test_documents import ORDERS_EU, done_document
from tests.sandbox.test_reports import (
    SHIPMENTS,
    VAT_INVOICES,
    VCS,
    iso,
    last_days,
)

# Their reports read the demo histories: at a known moment, not at the real time (see there).
pytestmark = pytest.mark.usefixtures("sandbox_at_known_moment")
PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"


def arm(sandbox, **fault) -> dict:
    return sandbox.control("faults", fault)


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("throttle", 429, "QuotaExceeded"),
        ("error500", 500, "InternalFailure"),
        ("error503", 503, "ServiceUnavailable"),
    ],
)
def test_http_faults_hit_the_next_n_calls(sandbox, eu, kind, status, code):
    arm(sandbox, kind=kind, operation="getMarketplaceParticipations", count=2)

    for _ in range(2):
        assert_error(eu.get(PARTICIPATIONS), "getMarketplaceParticipations", status, code)
    assert eu.get(PARTICIPATIONS).status_code == 200
    assert sandbox.control("faults") == {"faults": []}


def test_a_fault_can_target_one_seller(sandbox, eu):
    other = Api(sandbox, EU_SMALL_SELLER, "eu")
    arm(sandbox, kind="error503", operation="getReport", selling_partner_id=EU_SMALL_SELLER)
    report_id = eu.create_report(VCS, [DE], **last_days(sandbox, 1))
    mine = other.create_report(VCS, [DE], **last_days(sandbox, 1))

    assert eu.get(f"{REPORTS}/reports/{report_id}").status_code == 200
    assert_error(other.get(f"{REPORTS}/reports/{mine}"), "getReport", 503, "ServiceUnavailable")
    assert other.get(f"{REPORTS}/reports/{mine}").status_code == 200


def test_a_timeout_holds_the_answer_and_the_call_still_takes_effect(sandbox, eu):
    arm(sandbox, kind="timeout", operation="createReport", hold_seconds=1.5)

    with pytest.raises(requests.Timeout):
        eu.post(f"{REPORTS}/reports", {"reportType": VCS, "marketplaceIds": [DE]}, timeout=0.3)

    # The report was created although the client gave up waiting.
    created = [c for c in _wait_for_calls(sandbox, "createReport") if c["status"] == 202]
    assert len(created) == 1
    listed = eu.get(f"{REPORTS}/reports", params={"reportTypes": VCS}).json()["reports"]
    assert len(listed) == 1


def _wait_for_calls(sandbox, operation: str) -> list[dict]:
    # The held request finishes on the server after the client's timeout; poll the log for it.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        calls = sandbox.calls(operation=operation)
        if calls:
            return calls
        time.sleep(0.1)
    return []


def test_lwa_faults(sandbox):
    refresh = sandbox.refresh_token(EU_SELLER, "eu")
    arm(sandbox, kind="error500", operation="lwaToken")
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }

    failed = requests.post(sandbox.url("/auth/o2/token"), data=data, timeout=10)
    assert failed.status_code == 500
    assert failed.json()["error"] == "server_error"
    assert requests.post(sandbox.url("/auth/o2/token"), data=data, timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("error500", 500, "InternalError"), ("error503", 503, "ServiceUnavailable")],
)
def test_download_faults(sandbox, eu, kind, status, code):
    url = eu.document(done_document(eu, SHIPMENTS, [DE]))["url"]
    arm(sandbox, kind=kind, operation="downloadDocument")

    failed = eu.download(url)
    assert failed.status_code == status
    assert f"<Code>{code}</Code>" in failed.text
    assert eu.download(url).status_code == 200


def test_next_report_stuck(sandbox, eu):
    arm(sandbox, kind="report_stuck", report_type=VCS)
    stuck = eu.create_report(VCS, [DE], **last_days(sandbox, 2))
    normal = eu.create_report(VCS, [DE], **last_days(sandbox, 2))

    sandbox.advance_clock(86400)
    eu.token = sandbox.access_token(eu.seller, "eu")
    assert eu.report(stuck)["processingStatus"] == "IN_PROGRESS"
    assert eu.report(normal)["processingStatus"] == "DONE"


@pytest.mark.parametrize(
    ("kind", "status"), [("report_fatal", "FATAL"), ("report_cancelled", "CANCELLED")]
)
def test_next_report_fatal_or_cancelled(sandbox, eu, kind, status):
    arm(sandbox, kind=kind)
    report = eu.finish(eu.create_report(VCS, [DE], **last_days(sandbox, 2)))

    assert report["processingStatus"] == status
    if status == "FATAL":
        url = eu.document(report["reportDocumentId"])["url"]
        assert b"errorDetails" in gzip.decompress(eu.download(url).content)
    else:
        assert "reportDocumentId" not in report


def test_a_reports_outcome_can_be_forced_until_it_finishes(sandbox, eu):
    report_id = eu.create_report(VCS, [DE], **last_days(sandbox, 2))
    forced = sandbox.control(f"reports/{report_id}", {"outcome": "stuck"})
    assert forced["forcedOutcome"] == "stuck"
    sandbox.advance_clock(600)
    assert eu.report(report_id)["processingStatus"] == "IN_PROGRESS"
    sandbox.control(f"reports/{report_id}", {"outcome": "cancelled"})
    assert eu.report(report_id)["processingStatus"] == "CANCELLED"

    refused = requests.post(
        sandbox.url(f"/_control/reports/{report_id}"), json={"outcome": "fatal"}, timeout=10
    )
    assert refused.status_code == 400
    assert "already finished" in refused.json()["error"]


@pytest.mark.parametrize("corruption", ["truncate", "corrupt"])
def test_damaged_documents_fail_to_decompress(sandbox, eu, corruption):
    document_id = done_document(eu, SHIPMENTS, [DE])
    sandbox.control(f"documents/{document_id}", {"corruption": corruption})

    content = eu.download(eu.document(document_id)["url"]).content
    with pytest.raises((EOFError, OSError, zlib.error)):
        gzip.decompress(content)


def test_a_document_can_be_labelled_with_the_wrong_charset(sandbox, eu):
    document_id = done_document(eu, SHIPMENTS, [DE])
    sandbox.control(f"documents/{document_id}", {"served_charset": "UTF-8"})

    response = eu.download(eu.document(document_id)["url"])
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    raw = gzip.decompress(response.content)
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("cp1252").startswith("amazon-order-id")


def test_added_orders_are_ground_truth_and_in_the_next_report(sandbox, eu):
    before = sandbox_now(sandbox)
    added = sandbox.control(
        f"sellers/{EU_SELLER}/orders",
        {"region": "eu", "count": 3, "fulfillment": "MFN", "marketplace_id": DE},
    )
    assert len(added["orders"]) == 3
    assert {o["marketplace_id"] for o in added["orders"]} == {DE}
    assert {o["fulfillment"] for o in added["orders"]} == {"MFN"}

    sandbox.advance_clock(2 * 3600)
    truth = sandbox.control(
        f"sellers/{EU_SELLER}/orders?region=eu"
        f"&start={(before - timedelta(minutes=1)).isoformat().replace('+', '%2B')}"
        f"&end={sandbox_now(sandbox).isoformat().replace('+', '%2B')}"
    )["orders"]
    truth_ids = {o["amazon_order_id"] for o in truth}
    assert {o["amazon_order_id"] for o in added["orders"]} <= truth_ids

    eu.token = sandbox.access_token(eu.seller, "eu")
    document_id = done_document(eu, VCS, [DE], days=1)
    text = gzip.decompress(eu.download(eu.document(document_id)["url"]).content).decode("utf-8")
    assert all(o["amazon_order_id"] in text for o in added["orders"])


def test_an_added_order_the_buyer_cancels_after_payment(sandbox):
    sandbox.reset()
    placed = sandbox_now(sandbox)
    added = sandbox.control(
        f"sellers/{EU_SELLER}/orders",
        {"region": "eu", "count": 1, "fulfillment": "MFN", "cancel_after_seconds": 3600},
    )
    assert added["cancel_after_seconds"] == 3600
    (order,) = added["orders"]
    query = (
        f"sellers/{EU_SELLER}/orders?region=eu"
        f"&start={(placed - timedelta(seconds=1)).isoformat()}"
        f"&end={(placed + timedelta(seconds=1)).isoformat()}"
    ).replace("+", "%2B")

    def truth() -> dict:
        (found,) = [
            o
            for o in sandbox.control(query)["orders"]
            if o["amazon_order_id"] == order["amazon_order_id"]
        ]
        return found

    sandbox.advance_clock(11 * 60)  # payment clears within ten minutes
    paid = truth()
    assert paid["status"] == "Unshipped"
    sandbox.advance_clock(3600)
    cancelled = truth()
    assert cancelled["status"] == "Canceled"
    cancelled_at = datetime.fromisoformat(cancelled["last_updated"])
    assert cancelled_at - datetime.fromisoformat(paid["last_updated"]) == timedelta(hours=1)


def test_ground_truth_orders_of_a_range(sandbox):
    now = sandbox_now(sandbox)
    start = (now - timedelta(days=7)).isoformat().replace("+", "%2B")
    end = now.isoformat().replace("+", "%2B")
    orders = sandbox.control(f"sellers/{EU_SELLER}/orders?region=eu&start={start}&end={end}")
    assert orders["orders"]
    first = orders["orders"][0]
    assert set(first) == {
        "amazon_order_id",
        "marketplace_id",
        "fulfillment",
        "purchase_date",
        "status",
        "last_updated",
        "items",
        "units",
        "item_total",
        "shipments",
        "returns",
    }
    assert all(
        datetime.fromisoformat(o["purchase_date"]) <= datetime.fromisoformat(o["last_updated"])
        for o in orders["orders"]
    )
    assert all(
        now - timedelta(days=7) <= datetime.fromisoformat(o["purchase_date"]) <= now
        for o in orders["orders"]
    )
    assert {o["fulfillment"] for o in orders["orders"]} <= {"MFN", "AFN"}
    assert all(o["items"] >= 1 for o in orders["orders"])
    assert any(o["items"] >= 2 for o in orders["orders"])  # a week has multi-item orders


def document_rows(api: Api, report_type: str, start: datetime, end: datetime) -> list[dict]:
    """The rows of a finished report of all the seller's marketplaces over [start, end)."""
    marketplaces = list(seller_by_id(api.seller, api.region).marketplace_ids)
    report_id = api.create_report(
        report_type, marketplaces, dataStartTime=iso(start), dataEndTime=iso(end)
    )
    report = api.finish(report_id)
    assert report["processingStatus"] == "DONE", report
    document_id = report["reportDocumentId"]
    url = api.document(document_id, token=api.rdt(document_id))["url"]
    return list(csv.DictReader(io.StringIO(gunzip_text(api.download(url))), delimiter="\t"))


def truth_between(sandbox, start: datetime, end: datetime) -> list[dict]:
    query = f"region=eu&start={start.isoformat()}&end={end.isoformat()}".replace("+", "%2B")
    return sandbox.control(f"sellers/{EU_SELLER}/orders?{query}")["orders"]


def test_the_ground_truth_counts_what_the_order_report_lists(sandbox, eu):
    """Lines, units and item amounts per order: what `make reliability` compares imports with."""
    end = sandbox_now(sandbox).replace(microsecond=0)
    start = end - timedelta(days=7)
    rows = document_rows(eu, ORDERS_EU, start, end)
    listed: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        listed[row["order-id"]].append(row)
    truth = {o["amazon_order_id"]: o for o in truth_between(sandbox, start, end)}
    assert listed
    for order_id, lines in listed.items():
        order = truth[order_id]
        assert order["items"] == len(lines)
        assert order["units"] == sum(int(line["quantity-purchased"]) for line in lines)
        assert Decimal(order["item_total"]) == sum(Decimal(line["item-price"]) for line in lines)
    # Orders placed a day before the end have settled (paid or cancelled) when both are read.
    settled = end - timedelta(days=1)
    assert {
        order_id
        for order_id, order in truth.items()
        if order["fulfillment"] == "MFN"
        and order["status"] not in ("Pending", "Canceled")
        and datetime.fromisoformat(order["purchase_date"]) < settled
    } == {
        order_id
        for order_id, lines in listed.items()
        if datetime.fromisoformat(lines[0]["purchase-date"]) < settled
    }


def test_the_ground_truth_knows_the_transactions_the_vat_data_lists(sandbox, eu):
    """Shipments and returns by date: the invoices and credit notes a VCS Lite import issues."""
    end = sandbox_now(sandbox).replace(microsecond=0)
    start = end - timedelta(days=7)
    rows = document_rows(eu, VAT_INVOICES, start, end)
    # Orders placed up to 40 days before the range still ship or are returned inside it.
    orders = truth_between(sandbox, start - timedelta(days=40), end)
    settled = end - timedelta(days=1)

    def in_range(moment: str) -> bool:
        return start <= datetime.fromisoformat(moment) < settled

    expected = {
        (order["amazon_order_id"], "SHIPMENT", shipment["shipment_id"])
        for order in orders
        for shipment in order["shipments"]
        if in_range(shipment["shipment_date"])
    } | {
        (order["amazon_order_id"], "REFUND", ret["return_id"])
        for order in orders
        for ret in order["returns"]
        if in_range(ret["return_date"])
    }
    listed = {
        (row["order-id"], row["transaction-type"], row["transaction-id"])
        for row in rows
        if datetime.fromisoformat(row["shipment-date"]) < settled
    }
    assert expected
    assert listed == expected


def test_each_history_is_another_seller_history_and_a_reset_returns_to_the_demos(sandbox):
    sandbox.reset()
    now = sandbox_now(sandbox)
    query = (
        f"sellers/{EU_SELLER}/orders?region=eu"
        f"&start={(now - timedelta(days=7)).isoformat()}&end={now.isoformat()}"
    ).replace("+", "%2B")

    def order_ids() -> list[str]:
        return [o["amazon_order_id"] for o in sandbox.control(query)["orders"]]

    assert sandbox.control("history") == {"history": 0}
    demo = order_ids()
    assert sandbox.use_history(3) == {"history": 3}
    other = order_ids()
    assert other and other != demo
    assert order_ids() == other  # a history is as deterministic as the demo's
    sandbox.reset()
    assert order_ids() == demo
    for bad in (-1, "2", 1.5, True):
        response = sandbox.http.post(sandbox.url("/_control/history"), json={"history": bad})
        assert response.status_code == 400
        assert response.json() == {"error": "history must be a whole number >= 0"}


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("faults", {"kind": "meteor", "operation": "getReport"}, 400),
        ("faults", {"kind": "throttle", "operation": "noSuchOperation"}, 400),
        ("faults", {"kind": "timeout", "operation": "getReport"}, 400),
        ("faults", {"kind": "throttle", "operation": "getReport", "count": 0}, 400),
        ("faults", {"kind": "throttle", "operation": "getReport", "color": "red"}, 400),
        ("sellers/NOBODY/refresh-token", {"region": "eu"}, 404),
        (f"sellers/{EU_SELLER}/refresh-token", {"region": "na"}, 404),
        ("reports/123", {"outcome": "fatal"}, 404),
        ("documents/nope", {"corruption": "truncate"}, 404),
        ("clock", {"advance_seconds": -5}, 400),
        ("app", {"cancel_mode": "explode"}, 400),
        (f"sellers/{EU_SELLER}/orders", {"region": "eu", "count": 1, "fulfillment": "X"}, 400),
        (
            f"sellers/{EU_SELLER}/orders",
            {"region": "eu", "count": 1, "fulfillment": "AFN", "cancel_after_seconds": 60},
            400,
        ),
        (
            f"sellers/{EU_SELLER}/orders",
            {"region": "eu", "count": 1, "fulfillment": "MFN", "cancel_after_seconds": 0},
            400,
        ),
    ],
)
def test_control_api_rejects_bad_requests(sandbox, path, body, status):
    response = requests.post(sandbox.url(f"/_control/{path}"), json=body, timeout=10)
    assert response.status_code == status
    assert response.json()["error"]


def test_faults_can_be_listed_and_cleared(sandbox):
    arm(sandbox, kind="throttle", operation="getReport", count=3)
    assert [f["remaining"] for f in sandbox.control("faults")["faults"]] == [3]
    assert sandbox.control("faults", method="DELETE") == {"cleared": 1}
    assert sandbox.control("faults") == {"faults": []}


def test_the_call_log_shows_what_a_client_did(sandbox, eu):
    eu.get(PARTICIPATIONS)
    report_id = eu.create_report(VCS, [DE], **last_days(sandbox, 1))
    eu.report(report_id)
    eu.get(PARTICIPATIONS, token="")

    calls = [c for c in sandbox.calls() if c["operation"] != "lwaToken"]
    assert [(c["operation"], c["selling_partner_id"], c["status"]) for c in calls] == [
        ("getMarketplaceParticipations", EU_SELLER, 200),
        ("createReport", EU_SELLER, 202),
        ("getReport", EU_SELLER, 200),
        ("getMarketplaceParticipations", "", 403),
    ]
    assert calls[1]["method"] == "POST"
    assert calls[1]["path"] == "/eu/reports/2021-06-30/reports"
    assert sandbox.calls(operation="getReport", since_id=str(calls[2]["id"])) == []
    assert_response(eu.get(PARTICIPATIONS), "getMarketplaceParticipations", 200)

"""The two faults that model missing roles and expired document URLs."""

from __future__ import annotations

import requests

from tests.sandbox.conftest import EU_SELLER, REPORTS, assert_response


def test_deny_answers_403_unauthorized_for_one_operation(sandbox):
    token = sandbox.access_token(EU_SELLER, "eu")
    sandbox.control(
        "faults",
        {"kind": "deny", "operation": "getReportSchedules", "selling_partner_id": EU_SELLER},
    )
    url = sandbox.url(f"/eu{REPORTS}/schedules?reportTypes=GET_AFN_INVENTORY_DATA")
    denied = requests.get(url, headers={"x-amz-access-token": token}, timeout=10)
    body = assert_response(denied, "getReportSchedules", 403)
    assert body["errors"][0] == {
        "code": "Unauthorized",
        "message": "Access to requested resource is denied.",
        "details": "",
    }
    # Only the next call: the fault is used up.
    again = requests.get(url, headers={"x-amz-access-token": token}, timeout=10)
    assert_response(again, "getReportSchedules", 200)


def test_expire_url_answers_the_next_download_as_expired(sandbox):
    sandbox.control("faults", {"kind": "expire_url", "operation": "downloadDocument"})
    armed = sandbox.control("faults")["faults"]
    assert [f["kind"] for f in armed] == ["expire_url"]

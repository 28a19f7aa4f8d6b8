"""The sandbox as a server: index, reset, clock, state across restarts, management commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import requests

from tests.sandbox.conftest import EU_SELLER, NA_SELLER, REPORTS, Api
from tests.sandbox_server import REPO_ROOT, SandboxServer

PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"


def test_index_lists_sellers_paths_and_control_api(sandbox):
    index = requests.get(sandbox.url("/"), timeout=10).json()

    assert index["service"] == "amazon-sandbox"
    assert {(s["selling_partner_id"], s["region"]) for s in index["sellers"]} >= {
        (EU_SELLER, "eu"),
        (NA_SELLER, "na"),
    }
    assert index["paths"]["lwa_token"] == sandbox.url("/auth/o2/token")
    assert index["app"]["client_id"] == "amzn1.application-oa2-client.sandbox0demo"
    assert "POST /_control/reset" in index["control"]["endpoints"]


def test_the_clock_only_moves_forward_and_reset_rewinds_it(sandbox):
    start = sandbox.control("clock")
    moved = sandbox.advance_clock(3600)
    assert moved["offset_seconds"] == start["offset_seconds"] + 3600

    sandbox.reset()
    assert sandbox.control("clock")["offset_seconds"] == 0


def test_reset_forgets_tokens_and_faults(sandbox, eu):
    sandbox.control("faults", {"kind": "throttle", "operation": "getReport"})
    sandbox.reset()

    assert eu.get(PARTICIPATIONS).status_code == 403
    assert sandbox.control("faults") == {"faults": []}


def run_command(data_dir, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["SANDBOX_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "amazon_sandbox", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_management_commands_share_the_servers_state(sandbox):
    refresh = run_command(sandbox.data_dir, "sandbox", "mint-token", EU_SELLER, "--region", "eu")
    token = refresh.stdout.strip()
    assert token.startswith("Atzr|")
    response = requests.post(
        sandbox.url("/auth/o2/token"),
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": "amzn1.application-oa2-client.sandbox0demo",
            "client_secret": "sandbox-client-secret",
        },
        timeout=10,
    )
    assert response.status_code == 200

    fault = run_command(
        sandbox.data_dir, "sandbox", "fault", "error503", "--operation", "getReport"
    )
    assert json.loads(fault.stdout)["kind"] == "error503"
    assert sandbox.control("faults")["faults"][0]["operation"] == "getReport"

    run_command(sandbox.data_dir, "sandbox_reset")
    assert sandbox.control("faults") == {"faults": []}


def test_state_survives_a_restart(tmp_path):
    server = SandboxServer.start(tmp_path / "state", time_factor=120)
    try:
        api = Api(server, EU_SELLER, "eu")
        refresh = server.refresh_token(EU_SELLER, "eu")
        report_id = api.create_report("GET_AFN_INVENTORY_DATA", ["A1PA6795UKMFR9"])
        server.advance_clock(600)
    finally:
        server.stop()

    server = SandboxServer.start(tmp_path / "state", time_factor=120)
    try:
        # The access token minted before the restart still works, and so does the refresh token.
        assert (
            api.http.get(
                server.url(f"/eu{PARTICIPATIONS}"), headers={"x-amz-access-token": api.token}
            ).status_code
            == 200
        )
        assert server.control("clock")["offset_seconds"] == 600
        api.server = server
        assert api.report(report_id)["processingStatus"] == "DONE"
        fresh = requests.post(
            server.url("/auth/o2/token"),
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh,
                "client_id": "amzn1.application-oa2-client.sandbox0demo",
                "client_secret": "sandbox-client-secret",
            },
            timeout=10,
        )
        assert fresh.status_code == 200
        listed = api.get(f"{REPORTS}/reports", params={"reportTypes": "GET_AFN_INVENTORY_DATA"})
        assert [r["reportId"] for r in listed.json()["reports"]] == [report_id]
    finally:
        server.stop()

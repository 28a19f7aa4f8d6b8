"""Run the Amazon sandbox as a real HTTP server for tests: `SandboxServer.start(...)`.

The server is `python -m amazon_sandbox serve` in a subprocess, with its own data directory and
a time factor, so tests talk to it exactly as the product does. Helpers wrap the control API.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent

APP_ID = "amzn1.sellerapps.app.00000000-0000-4000-8000-000000000000"
CLIENT_ID = "amzn1.application-oa2-client.sandbox0demo"
CLIENT_SECRET = "sandbox-client-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SandboxServer:
    """A running sandbox: `base_url`, the control API helpers, and `stop()`."""

    def __init__(
        self, process: subprocess.Popen, *, port: int, data_dir: Path, log_path: Path
    ) -> None:
        self.process = process
        self.port = port
        self.data_dir = data_dir
        self.log_path = log_path
        self.base_url = f"http://127.0.0.1:{port}"
        self.http = requests.Session()

    @classmethod
    def start(
        cls,
        data_dir: Path,
        *,
        time_factor: float = 120,
        port: int | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> SandboxServer:
        """Start a server on a free loopback port and wait until `GET /` answers.

        Raises RuntimeError (with the server's output) if it exits or does not answer in time.
        """
        port = port or _free_port()
        data_dir.mkdir(parents=True, exist_ok=True)
        log_path = data_dir / f"server-{port}.log"
        server_env = {
            key: value
            for key, value in os.environ.items()
            if key != "DJANGO_SETTINGS_MODULE" and not key.startswith("SANDBOX_")
        }
        server_env.update(
            {"SANDBOX_DATA_DIR": str(data_dir), "SANDBOX_TIME_FACTOR": str(time_factor)}
        )
        server_env.update(env or {})
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "amazon_sandbox", "serve", "--port", str(port)],
                cwd=REPO_ROOT,
                env=server_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = cls(process, port=port, data_dir=data_dir, log_path=log_path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the sandbox exited:\n{server.output()}")
            try:
                if requests.get(server.base_url + "/", timeout=2).status_code == 200:
                    return server
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        server.stop()
        raise RuntimeError(f"the sandbox did not answer within {timeout}s:\n{server.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop the server (its whole process group) and wait for it."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.http.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def control(self, path: str, json: dict | None = None, *, method: str | None = None) -> Any:
        """Call `/_control/<path>`; POST when a body is given, else GET. Raises on HTTP errors."""
        method = method or ("POST" if json is not None else "GET")
        response = self.http.request(method, self.url(f"/_control/{path}"), json=json, timeout=30)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self.control("reset", {})

    def advance_clock(self, seconds: float) -> dict:
        return self.control("clock", {"advance_seconds": seconds})

    def use_history(self, history: int) -> dict:
        """Serve every seller's history number `history` (0, the demo's, after a reset)."""
        return self.control("history", {"history": history})

    def refresh_token(self, seller_id: str, region: str) -> str:
        """Self-authorize the app for a demo seller (Seller Central's "Authorize app")."""
        return self.control(f"sellers/{seller_id}/refresh-token", {"region": region})[
            "refresh_token"
        ]

    def access_token(self, seller_id: str, region: str) -> str:
        """A fresh access token for a demo seller, through a minted refresh token and LWA."""
        response = self.http.post(
            self.url("/auth/o2/token"),
            data={
                "grant_type": "refresh_token",
                "refresh_token": self.refresh_token(seller_id, region),
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def calls(self, **filters: str) -> list[dict]:
        return self.control("calls?" + "&".join(f"{k}={v}" for k, v in filters.items()))["calls"]

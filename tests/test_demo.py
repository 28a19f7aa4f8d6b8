"""`make demo` end to end: the three processes start, serve, keep data across runs and stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import boto3
import pytest
import requests
from django.conf import settings

from tests.conftest import free_port

pytestmark = pytest.mark.slow


class DemoRun:
    def __init__(self, var_dir, port: int, sandbox_port: int, sqs_port: int):
        env = {
            key: value
            for key, value in os.environ.items()
            if key
            not in {
                "SECRET_KEY",
                "TOKEN_ENCRYPTION_KEYS",
                "DJANGO_SETTINGS_MODULE",
                "ALLOWED_HOSTS",
                "DEMO_MODE",
            }
        }
        env = {k: v for k, v in env.items() if not k.startswith(("PUSH_", "AWS_"))}
        env.update(
            {
                "VAR_DIR": str(var_dir),
                "PORT": str(port),
                "SANDBOX_PORT": str(sandbox_port),
                "SQS_PORT": str(sqs_port),
            }
        )
        self.process = subprocess.Popen(
            [sys.executable, "scripts/demo.py"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, prefix: str, seconds: float = 90) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in self.lines:
                if line.startswith(prefix):
                    return line
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no line starting with {prefix!r}; output:\n" + "\n".join(self.lines))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)


def log_in(base_url: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base_url}login/", timeout=10)
    response = session.post(
        f"{base_url}login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{base_url}login/"},
        timeout=10,
    )
    assert response.status_code == 200
    return session


def children_of(pid: int) -> list[int]:
    result = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
    )
    return [int(p) for p in result.stdout.split()]


def test_demo_runs_everything_and_stops_on_ctrl_c(tmp_path):
    port, sandbox_port, sqs_port = free_port(), free_port(), free_port()
    demo = DemoRun(tmp_path, port, sandbox_port, sqs_port)
    try:
        dashboard = demo.wait_for_line("Dashboard: ").split(": ", 1)[1]
        login = demo.wait_for_line("Login: ")
        sandbox = demo.wait_for_line("Amazon sandbox: ").split(": ", 1)[1]
        queue = demo.wait_for_line("SQS: ").split(": ", 1)[1]
        assert dashboard == f"http://127.0.0.1:{port}/"
        assert sandbox == f"http://127.0.0.1:{sandbox_port}/"
        assert queue == f"http://127.0.0.1:{sqs_port}/123456789012/amazon-order-import"
        # The queue exists, and the sandbox publishes to its server.
        sqs = boto3.client(
            "sqs",
            endpoint_url=f"http://127.0.0.1:{sqs_port}",
            region_name="eu-west-1",
            aws_access_key_id="demo",
            aws_secret_access_key="demo",
        )
        assert sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        assert requests.get(sandbox, timeout=10).json()["paths"]["sqs_endpoint"] == (
            f"http://127.0.0.1:{sqs_port}"
        )
        username, password = re.match(r"Login: (\S+) / (\S+)", login).groups()

        anonymous = requests.get(dashboard, allow_redirects=False, timeout=10)
        assert anonymous.status_code == 302
        assert anonymous.headers["Location"].startswith("/login/")
        assert requests.get(f"{dashboard}login/", timeout=10).status_code == 200
        assert (
            requests.get(
                f"{dashboard}static/vendor/bootstrap/css/bootstrap.min.css", timeout=10
            ).status_code
            == 200
        )
        assert requests.get(sandbox, timeout=10).status_code == 200

        session = log_in(dashboard, username, password)
        home = session.get(dashboard, timeout=10)
        assert "No Amazon account connected yet" in home.text

        # The worker runs its schedules: the heartbeat reaches the home page.
        deadline = time.monotonic() + 90
        while "last ran" not in session.get(dashboard, timeout=10).text:
            assert time.monotonic() < deadline, "the worker never ran its heartbeat"
            time.sleep(2)
        pids = children_of(demo.process.pid)
        # The SQS server, the sandbox, the web server, the worker and the notification consumer.
        assert len(pids) == 5
        printed_before_stop = len(demo.lines)
    finally:
        assert demo.stop() == 0
    demo.reader.join(10)
    # The product's processes stop before the queue and the sandbox they read: nothing complains.
    stopping = demo.lines[printed_before_stop:]
    assert not [line for line in stopping if "WARNING" in line or "Traceback" in line], stopping
    for pid in pids:
        assert (
            not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
        )

    # A second run reuses the database and the login.
    again = DemoRun(tmp_path, port, sandbox_port, sqs_port)
    try:
        assert again.wait_for_line("Login: ") == login
        session = log_in(dashboard, username, password)
        assert "last ran" in session.get(dashboard, timeout=10).text
    finally:
        assert again.stop() == 0


def test_demo_refuses_a_busy_port(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "scripts/demo.py"],
            cwd=settings.BASE_DIR,
            env={**os.environ, "VAR_DIR": str(tmp_path), "PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr

"""The product as `make demo` runs it (web server, worker, Amazon sandbox) and a real Chromium.

One demo per module: `scripts/demo.py` in a subprocess on free ports with its own VAR_DIR, its
printed lines parsed for the dashboard, the login and the sandbox. Chromium is Debian's
(/usr/bin/chromium), driven by Playwright; without it these tests fail, they never skip.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from tests.conftest import free_port
from tests.sandbox_server import SandboxServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
# What the test process itself set for the unit tests (tests/settings.py) stays out of the demo.
DROPPED_ENV = {
    "SECRET_KEY",
    "TOKEN_ENCRYPTION_KEYS",
    "DJANGO_SETTINGS_MODULE",
    "ALLOWED_HOSTS",
    "DEMO_MODE",
    "DEBUG",
    "VAR_DIR",
    "DATABASE_URL",
    "REDIS_URL",
    "AMAZON_SANDBOX_URL",
    "WORKER_INTERVAL_SECONDS",
}

pytestmark = pytest.mark.slow


@dataclass
class Demo:
    """A running demo: where it answers, how to log in, its sandbox and its database file."""

    process: subprocess.Popen
    lines: list[str]
    base_url: str
    username: str
    password: str
    sandbox: SandboxServer
    var_dir: Path

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def query(self, sql: str, *params: object) -> list[tuple]:
        """Read the product's SQLite database directly (read-only), e.g. to count orders."""
        connection = sqlite3.connect(f"file:{self.var_dir / 'db.sqlite3'}?mode=ro", uri=True)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()


def _wait_for_line(process: subprocess.Popen, lines: list[str], prefix: str) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for line in lines:
            if line.startswith(prefix):
                return line
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"the demo printed no {prefix!r} line:\n" + "\n".join(lines[-60:]))


@contextmanager
def running_demo(var_dir: Path, **overrides: str) -> Iterator[Demo]:
    """`scripts/demo.py` on free ports with its own VAR_DIR, the sandbox at a high time factor
    and the worker every 5 s (`overrides` change the environment), stopped at the end."""
    port, sandbox_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in DROPPED_ENV and not key.startswith(("SANDBOX_", "PUSH_", "AWS_"))
    }
    env.update(
        {
            "PORT": str(port),
            "SANDBOX_PORT": str(sandbox_port),
            "SQS_PORT": str(free_port()),
            "VAR_DIR": str(var_dir),
            # Amazon's queueing and processing in a fraction of a second, the worker every 5 s.
            "SANDBOX_TIME_FACTOR": "120",
            "WORKER_INTERVAL_SECONDS": "5",
            **overrides,
        }
    )
    process = subprocess.Popen(
        [sys.executable, "scripts/demo.py"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    try:
        dashboard = _wait_for_line(process, lines, "Dashboard:").split(":", 1)[1].strip()
        login = _wait_for_line(process, lines, "Login:").split(":", 1)[1].strip()
        username, password = re.match(r"(\S+) / (\S+)", login).groups()
        sandbox_url = _wait_for_line(process, lines, "Amazon sandbox:").split(":", 1)[1].strip()
        sandbox = SandboxServer(
            process,
            port=int(sandbox_url.rstrip("/").rsplit(":", 1)[1]),
            data_dir=var_dir / "sandbox",
            log_path=var_dir / "sandbox.log",
        )
        yield Demo(process, lines, dashboard, username, password, sandbox, var_dir)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # the demo stops its children itself
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Demo]:
    with running_demo(tmp_path_factory.mktemp("browser-demo")) as running:
        yield running


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    """A fresh Chromium profile; module-scoped so the browser stops with the module."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: the browser tests need it. Install it with "
            "`apt-get update && apt-get install -y chromium` (.ci/run does this on CI)."
            + (" CI is set: browser tests must run here." if os.environ.get("CI") else ""),
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            timezone_id="Europe/Berlin",
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def page(browser_context):
    page = browser_context.pages[0] if browser_context.pages else browser_context.new_page()
    return page


def screenshot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# The demo's time zone (TIME_ZONE's default), in which its forms take and show moments.
LOCAL = ZoneInfo("Europe/Berlin")


def local_input(moment: datetime) -> str:
    """`moment` as a datetime-local field of the demo holds it. The flows reckon their moments in
    UTC and turn them into Berlin's wall clock only here: arithmetic on Berlin's wall clock lands
    on an hour that does not exist, or exists twice, around a daylight saving change."""
    return moment.astimezone(LOCAL).strftime("%Y-%m-%dT%H:%M")


def local_midnight(moment: datetime) -> datetime:
    """The start of `moment`'s day in the demo's zone."""
    return moment.astimezone(LOCAL).replace(hour=0, minute=0, second=0, microsecond=0)

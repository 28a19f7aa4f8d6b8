"""`make bench-upload`: a 199 MiB report file uploaded through the web server as deployed, while
users keep using the site and the worker imports it.

What it runs, in a temporary folder (nothing of `var/` is touched): the product on SQLite with
django-q2's ORM broker, served by gunicorn as `make demo` serves it (3 processes of 4 threads)
and the worker (`manage.py qcluster`). It writes an MFN order report of BENCH_UPLOAD_MB MiB
(default 199, just under the 200 MiB upload limit; the orders of a rendered sandbox report,
repeated under new order ids), logs in through the login form and uploads the file with a
streamed multipart body. Then, until the worker has imported it, two clients keep reading the
report's page (its htmx poll), Processing and Orders, and a third logs in and out (session
writes) every second.

It prints and writes to BENCHMARKS.md (between its own markers):

* the upload request's time and the growth of the web process that took it: its peak resident
  set (VmHWM) after the upload minus its resident set before (every process is measured; the
  largest growth is reported);
* the worker's import time and rows per second, and how often the progress shown moved;
* the pages' answer times and errors during the import;
* how many times "database is locked" appears in the web server's and the worker's logs.

It exits non-zero when a request failed, the import did not finish, or the database was locked.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = BASE_DIR / "BENCHMARKS.md"
START_MARK = "<!-- bench-upload:start -->"
END_MARK = "<!-- bench-upload:end -->"
HOST = "127.0.0.1"
MFN = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
SELLER = "A2MUELLERHW7QX"
USER, PASSWORD = "bench", "bench-" + secrets.token_urlsafe(8)
IMPORT_TIMEOUT_SECONDS = 1800
LOCKED = re.compile(r"database is locked", re.IGNORECASE)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def environment(var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEMO_MODE="1",
        DEBUG="0",
        VAR_DIR=str(var_dir),
        SECRET_KEY="bench-upload-" + secrets.token_hex(24),
        TOKEN_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS=f"{HOST},localhost",
        WORKER_INTERVAL_SECONDS="10",
        Q_WORKERS="2",
        PYTHONUNBUFFERED="1",
    )
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return env


SETUP = """
import django
django.setup()
from django.contrib.auth import get_user_model
from amazon_settings.models import AccountMarketplace, SellerAccount
from core.roles import OPERATORS, setup_roles
user = get_user_model().objects.create_user(username={user!r}, password={password!r})
user.groups.add(setup_roles()[OPERATORS])
account = SellerAccount.objects.create(
    selling_partner_id={seller!r}, region="eu", display_name="Bench seller"
)
AccountMarketplace.objects.create(
    account=account, marketplace_id="A1PA6795UKMFR9", country_code="DE", name="Amazon.de",
    currency="EUR", selected=True,
)
print(account.pk)
"""


def prepare(env: dict[str, str]) -> int:
    python = sys.executable
    subprocess.run(  # noqa: S603 (our own command)
        [python, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=BASE_DIR, env=env, check=True
    )
    setup = SETUP.format(user=USER, password=PASSWORD, seller=SELLER)
    out = subprocess.run(  # noqa: S603
        [python, "-c", setup], cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True
    ).stdout
    return int(out.strip().splitlines()[-1])


def write_document(path: Path, size_bytes: int) -> int:
    """An MFN order report of about `size_bytes`: a rendered sandbox report's orders, repeated
    with new order ids. Returns its number of data lines."""
    sys.path.insert(0, str(BASE_DIR))
    from amazon_sandbox.catalog import seller_by_id
    from amazon_sandbox.generator import render_report

    seller = seller_by_id(SELLER, "eu")
    text = render_report(
        MFN,
        seller=seller,
        marketplace_ids=["A1PA6795UKMFR9"],
        data_start=datetime(2025, 1, 1, tzinfo=UTC),
        data_end=datetime(2025, 3, 1, tzinfo=UTC),
        now=datetime(2025, 3, 15, tzinfo=UTC),
    ).text
    header, *rows = [line for line in text.splitlines() if line]
    written = lines = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(header + "\n")
        repeat = 0
        while written < size_bytes:
            repeat += 1
            for row in rows:
                order_id, rest = row.split("\t", 1)
                # Same shape as Amazon's ids (3-7-7), unique per repetition.
                line = f"{order_id[:3]}-{repeat:07d}-{order_id[12:]}\t{rest}\n"
                out.write(line)
                written += len(line.encode())
                lines += 1
    return lines


def vm_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listing:
            return [int(p) for p in listing.read().split()]
    except OSError:
        return []


class Client:
    """A browser's session over one keep-alive connection: cookies and the CSRF token."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection(HOST, port, timeout=120)
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body=None, headers: dict | None = None
    ) -> tuple[int, dict, bytes]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return response.status, dict(response.getheaders()), content

    def login(self) -> None:
        self.request("GET", "/login/")
        form = urlencode(
            {
                "username": USER,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.cookies["csrftoken"],
            }
        )
        status, _, _ = self.request(
            "POST",
            "/login/",
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://{HOST}:{self.port}/login/",
            },
        )
        if status != 302:
            raise SystemExit(f"Login failed with HTTP {status}")

    def upload(self, account_pk: int, path: Path) -> tuple[int, str, float]:
        """POST the upload form with the file streamed from disk. Returns status, Location and
        seconds taken."""
        boundary = uuid.uuid4().hex
        fields = {
            "csrfmiddlewaretoken": self.cookies["csrftoken"],
            "account": str(account_pk),
            "report_type": MFN,
        }
        head = b"".join(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            ).encode()
            for name, value in fields.items()
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        length = len(head) + path.stat().st_size + len(tail)

        def body():
            yield head
            with path.open("rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    yield chunk
            yield tail

        started = time.perf_counter()
        status, headers, _ = self.request(
            "POST",
            "/reports/upload/",
            body=body(),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(length),
                "Referer": f"http://{HOST}:{self.port}/reports/upload/",
            },
        )
        return status, headers.get("Location", ""), time.perf_counter() - started


class PageTimes:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def add(self, label: str, seconds: float, status: int) -> None:
        with self.lock:
            self.times.setdefault(label, []).append(seconds)
            if status >= 400:
                self.errors.append(f"{label}: HTTP {status}")


def keep_reading(port: int, paths: dict[str, str], times: PageTimes, stop: threading.Event):
    client = Client(port)
    client.login()
    while not stop.is_set():
        for label, path in paths.items():
            headers = {"HX-Request": "true"} if label == "Report page (htmx poll)" else {}
            started = time.perf_counter()
            try:
                status, _, _ = client.request("GET", path, headers=headers)
            except (OSError, http.client.HTTPException) as error:
                times.errors.append(f"{label}: {error}")
                client = Client(port)
                client.login()
                continue
            times.add(label, time.perf_counter() - started, status)
        stop.wait(0.5)


def keep_logging_in(port: int, times: PageTimes, stop: threading.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            client = Client(port)
            client.login()
            status, _, _ = client.request(
                "POST",
                "/logout/",
                body=urlencode({"csrfmiddlewaretoken": client.cookies["csrftoken"]}),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Referer": f"http://{HOST}:{port}/",
                },
            )
        except (OSError, http.client.HTTPException, SystemExit) as error:
            times.errors.append(f"Log in and out: {error}")
            continue
        times.add("Log in and out (session writes)", time.perf_counter() - started, status)
        stop.wait(1)


def import_state(database: Path, report_pk: int) -> tuple[str, int, int]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
        row = db.execute(
            "SELECT import_status, rows_done, rows_total FROM reports_report WHERE id = ?",
            (report_pk,),
        ).fetchone()
    return row


def percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> int:
    size_mib = int(os.environ.get("BENCH_UPLOAD_MB", "199"))
    folder = Path(tempfile.mkdtemp(prefix="aoi-bench-upload-"))
    var_dir = folder / "var"
    env = environment(var_dir)
    port = free_port()
    processes: dict[str, subprocess.Popen] = {}
    logs = {name: folder / f"{name}.log" for name in ("web", "worker")}
    try:
        print(f"Writing a {size_mib} MiB MFN report …", flush=True)
        document = folder / "orders.txt"
        lines = write_document(document, size_mib * 1024 * 1024)
        account_pk = prepare(env)
        python = sys.executable
        commands = {
            "web": [
                python,
                "-m",
                "gunicorn",
                f"--bind={HOST}:{port}",
                "--workers=3",
                "--threads=4",
                "--keep-alive=75",
                "config.wsgi:application",
            ],
            "worker": [python, "manage.py", "qcluster"],
        }
        for name, command in commands.items():
            processes[name] = subprocess.Popen(  # noqa: S603
                command,
                cwd=BASE_DIR,
                env=env,
                stdout=logs[name].open("w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                if Client(port).request("GET", "/health/")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("The web server did not answer within 60 s")
            time.sleep(0.2)

        uploader = Client(port)
        uploader.login()
        web_workers = children(processes["web"].pid)
        rss_before = {pid: vm_kb(pid, "VmRSS") for pid in web_workers}
        print(f"Uploading {document.stat().st_size / 1024**2:.0f} MiB …", flush=True)
        status, location, upload_seconds = uploader.upload(account_pk, document)
        if status != 302 or "/reports/" not in location:
            raise SystemExit(f"The upload answered HTTP {status} ({location or 'no redirect'})")
        growth_mb = max(
            (vm_kb(pid, "VmHWM") - rss_before[pid]) / 1024 for pid in web_workers if pid
        )
        rss_after_mb = max(vm_kb(pid, "VmRSS") for pid in web_workers) / 1024
        report_pk = int(location.rstrip("/").split("/")[-1])

        times = PageTimes()
        stop = threading.Event()
        readers = [
            threading.Thread(
                target=keep_reading,
                args=(
                    port,
                    {
                        "Report page (htmx poll)": location,
                        "Processing": "/reports/",
                        "Orders": "/orders/",
                    },
                    times,
                    stop,
                ),
                daemon=True,
            )
            for _ in range(2)
        ]
        readers.append(
            threading.Thread(target=keep_logging_in, args=(port, times, stop), daemon=True)
        )
        for reader in readers:
            reader.start()
        database = var_dir / "db.sqlite3"
        started = time.monotonic()
        progress_seen: set[int] = set()
        state = ("importing", 0, 0)
        while time.monotonic() - started < IMPORT_TIMEOUT_SECONDS:
            state = import_state(database, report_pk)
            progress_seen.add(state[1])
            if state[0] != "importing":
                break
            time.sleep(0.5)
        import_seconds = time.monotonic() - started
        stop.set()
        for reader in readers:
            reader.join(timeout=130)
    finally:
        for process in processes.values():
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    locked = {
        name: len(LOCKED.findall(path.read_text(errors="replace"))) for name, path in logs.items()
    }
    result = {
        "size_mib": size_mib,
        "lines": lines,
        "upload_seconds": upload_seconds,
        "web_growth_mb": growth_mb,
        "web_rss_after_mb": rss_after_mb,
        "import_status": state[0],
        "rows_done": state[1],
        "import_seconds": import_seconds,
        "progress_steps": len(progress_seen),
        "pages": {
            label: {
                "requests": len(values),
                "p50_ms": percentile(values, 50) * 1000,
                "p95_ms": percentile(values, 95) * 1000,
                "max_ms": max(values) * 1000,
            }
            for label, values in times.times.items()
        },
        "errors": times.errors,
        "locked": locked,
    }
    section = render(result)
    print(section)
    print(json.dumps({k: v for k, v in result.items() if k != "pages"}, indent=2))
    ok = state[0] == "imported" and not times.errors and not any(locked.values())
    if ok:
        write_benchmarks(section)
        subprocess.run(["rm", "-rf", str(folder)], check=False)  # noqa: S603, S607
    else:
        print(f"Logs kept in {folder}", file=sys.stderr)
    return 0 if ok else 1


def render(result: dict) -> str:
    from bench.run import machine

    info = machine()
    info["sqlite version"] = sqlite3.sqlite_version
    out = [f"### Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", ""]
    out += [f"- {name}: {value}" for name, value in info.items()]
    out += [
        "",
        f"A {result['size_mib']} MiB MFN report ({result['lines']:,} lines) uploaded through"
        " gunicorn (3 processes of 4 threads) on SQLite with the ORM broker; the worker"
        " (2 processes) imports it while two readers and a user logging in and out use the site."
        " Goal: the web process stays flat (far below the file's size), no request fails, no"
        ' "database is locked".',
        "",
        "| Measure | Value |",
        "|---|---:|",
        f"| Upload request (store and queue) | {result['upload_seconds']:.1f} s |",
        f"| Web process growth during the upload (VmHWM - RSS before) | "
        f"{result['web_growth_mb']:.0f} MB |",
        f"| Largest web process RSS after the upload | {result['web_rss_after_mb']:.0f} MB |",
        f"| Import by the worker | {result['import_seconds']:.0f} s"
        f" ({result['rows_done'] / max(result['import_seconds'], 0.001):,.0f} lines/s),"
        f" {result['import_status']} |",
        f"| Progress values seen while importing | {result['progress_steps']} |",
        f"| Failed requests | {len(result['errors'])} |",
        f'| "database is locked" in the web / worker log | {result["locked"]["web"]} /'
        f" {result['locked']['worker']} |",
        "",
        "| Page during the import | Requests | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, page in result["pages"].items():
        out.append(
            f"| {label} | {page['requests']} | {page['p50_ms']:.0f} | {page['p95_ms']:.0f}"
            f" | {page['max_ms']:.0f} |"
        )
    return "\n".join(out) + "\n"


def write_benchmarks(section: str) -> None:
    text = BENCHMARKS_MD.read_text()
    block = f"{START_MARK}\n{section}{END_MARK}"
    if START_MARK in text and END_MARK in text:
        head, _, rest = text.partition(START_MARK)
        _, _, tail = rest.partition(END_MARK)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## Latest `make bench-upload`\n\n" + block + "\n"
    BENCHMARKS_MD.write_text(text)


if __name__ == "__main__":
    sys.exit(main())

"""`make bench-load`: logged-in users on the main pages of the product as it is deployed, with
the worker importing at the same time. BENCHMARKS.md says what runs and what is reported; its
knobs are environment variables (`LoadPlan.from_environment`).

Usage: `python -m bench.load`; `BENCH_LOAD_QUICK=1` for a smoke run that leaves BENCHMARKS.md
alone. PostgreSQL is required (`BENCH_POSTGRES_URL`).

The order of a run (`main`): a new database, the Amazon sandbox with the orders the worker
will import (`place_sandbox_orders`), the README's deployment commands as processes
(`deploy`), the demo sellers connected (`connect_accounts`), gunicorn and qcluster started
(`start_product`), the data seeded (`seed`), the users created; then the users log in and
walk (`bench.loadgen.run_load`) while an operator's report requests keep the worker busy
(`measure`); at the end everything started is stopped and the database dropped, also on
failure or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.cpu import cpu_snapshot, cpu_use
from bench.loadgen import Credentials, LoadResult, PageChoice, PageStats, run_load
from bench.results import (
    ROOT,
    database_url,
    machine,
    postgres_admin,
    postgres_version,
    write_section,
)

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"
START_MARK = "<!-- bench-load:start -->"
END_MARK = "<!-- bench-load:end -->"
HEADING = "### Latest `make bench-load`"

# The goal (issue "Hold under hostile and heavy use").
GOAL_P95_MS = 300.0

# The demo's sandbox pace: a report is ready a second or two after it is requested.
SANDBOX_TIME_FACTOR = 60
SANDBOX_NICENESS = 10
IMPORT_SELLER = ("A2MUELLERHW7QX", "eu")
ORDERS_PER_SANDBOX_CALL = 1000
WORKER_INTERVAL_SECONDS = 10
WORKER_PROCESSES = 3
IMPORTS_AHEAD = 3
STARTUP_SECONDS = 180


@dataclass(frozen=True)
class LoadPlan:
    """How big and how long one run is."""

    quick: bool
    orders: int
    users: int
    warmup_seconds: float
    duration_seconds: float
    think_seconds: tuple[float, float]
    web_workers: int
    import_reports: int  # MFN reports prepared on Amazon's side for the worker
    orders_per_import: int

    @property
    def sandbox_orders(self) -> int:
        return self.import_reports * self.orders_per_import

    @property
    def reports(self) -> int:
        return max(100, self.orders // 50)

    @property
    def api_calls(self) -> int:
        return max(1000, self.orders // 5)

    @classmethod
    def from_environment(cls, env: dict[str, str] | os._Environ = os.environ) -> LoadPlan:
        quick = env.get("BENCH_LOAD_QUICK", "").strip() not in ("", "0")

        def number(name: str, full: float, smoke: float) -> float:
            value = env.get(name, "").strip()
            return float(value) if value else (smoke if quick else full)

        think = env.get("BENCH_LOAD_THINK_SECONDS", "").strip() or "1-3"
        low, _, high = think.partition("-")
        return cls(
            quick=quick,
            orders=int(number("BENCH_LOAD_ORDERS", 1_000_000, 10_000)),
            users=int(number("BENCH_LOAD_USERS", 50, 5)),
            warmup_seconds=number("BENCH_LOAD_WARMUP_SECONDS", 20, 5),
            duration_seconds=number("BENCH_LOAD_SECONDS", 60, 10),
            think_seconds=(float(low), float(high or low)),
            web_workers=int(number("BENCH_LOAD_WEB_WORKERS", 5, 5)),
            # Amazon lets a seller create (and download) 15 reports at once, then one a minute:
            # the worker can take no more in a run of a minute or two.
            import_reports=4 if quick else 15,
            orders_per_import=2_500 if quick else 20_000,
        )


@dataclass
class Dataset:
    """What the users' clicks pick from: ids and values of the seeded data."""

    account_ids: list[int]
    marketplace_ids: list[str]
    order_ids: list[int]
    amazon_order_ids: list[str]
    report_ids: list[int]
    first_purchase: datetime
    import_report_ids: list[int] = field(default_factory=list)


def page_menu(data: Dataset) -> list[PageChoice]:
    """The pages users click, with how often (weights, about per cent of clicks)."""

    def days(rng: random.Random) -> tuple[str, str]:
        span = (datetime.now(UTC) - data.first_purchase).days
        start = data.first_purchase + timedelta(days=rng.randrange(max(1, span - 30)))
        return f"{start:%Y-%m-%d}", f"{start + timedelta(days=30):%Y-%m-%d}"

    def order_filter(rng: random.Random) -> str:
        since, until = days(rng)
        return rng.choice(
            [
                f"/orders/?account={rng.choice(data.account_ids)}",
                f"/orders/?marketplace={rng.choice(data.marketplace_ids)}",
                "/orders/?channel=AFN",
                f"/orders/?status={rng.choice(['Shipped', 'Unshipped', 'Canceled'])}",
                f"/orders/?since={since}&until={until}",
                f"/orders/?account={rng.choice(data.account_ids)}&status=Shipped"
                f"&since={since}&until={until}",
                f"/orders/?account={rng.choice(data.account_ids)}&page={rng.randint(2, 5)}",
            ]
        )

    def report_filter(rng: random.Random) -> str:
        return rng.choice(
            [
                "/reports/?status=unfinished",
                "/reports/?status=imported",
                f"/reports/?account={rng.choice(data.account_ids)}",
                "/reports/?kind=mfn_orders_eu",
            ]
        )

    def report_detail(rng: random.Random) -> str:
        # One in four: a report the worker is importing now, with its document's preview.
        if data.import_report_ids and rng.random() < 0.25:
            return f"/reports/{rng.choice(data.import_report_ids)}/"
        return f"/reports/{rng.choice(data.report_ids)}/"

    def report_row(rng: random.Random) -> str:
        return f"/reports/{rng.choice(data.import_report_ids or data.report_ids)}/row/"

    return [
        PageChoice("Home", 10, lambda rng: "/"),
        PageChoice("Orders", 16, lambda rng: "/orders/"),
        PageChoice("Orders, pages 2-10", 5, lambda rng: f"/orders/?page={rng.randint(2, 10)}"),
        PageChoice("Orders, filtered", 14, order_filter),
        PageChoice(
            "Orders, order ID search",
            4,
            lambda rng: f"/orders/?q={rng.choice(data.amazon_order_ids)}",
        ),
        PageChoice("Orders, text search", 2, lambda rng: f"/orders/?q=SKU-{rng.randint(100, 499)}"),
        PageChoice("Order details", 12, lambda rng: f"/orders/{rng.choice(data.order_ids)}/"),
        PageChoice("Returns", 4, lambda rng: "/orders/returns/"),
        PageChoice("Stock", 3, lambda rng: "/orders/stock/"),
        PageChoice("Invoices", 4, lambda rng: "/orders/invoices/"),
        PageChoice("Processing", 8, lambda rng: "/reports/"),
        PageChoice("Processing, filtered", 3, report_filter),
        PageChoice("Report details", 4, report_detail),
        PageChoice("Processing row (htmx poll)", 4, report_row, htmx=True),
        PageChoice("Settings", 2, lambda rng: "/settings/"),
        PageChoice("Data exchange » Log", 2, lambda rng: "/settings/log/"),
        PageChoice("Reports » Request", 2, lambda rng: "/reports/request/"),
        PageChoice("Orders missing? (accounts)", 1, lambda rng: "/reports/diagnosis/"),
    ]


class Servers:
    """The processes of the run, each in its own session (so each is stopped with everything
    it started), with their output in files under the run's folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        with (self.folder / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 (our own commands)
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def check_running(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited ({process.returncode}):\n{self.output(name)[-3000:]}"
                )

    def output(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM to every session, SIGKILL to what is left after 20 s (the worker finishes
        the task it is on first) or when this stop is itself interrupted."""
        try:
            for process in self.processes.values():
                if process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            for process in self.processes.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
        finally:
            # The whole group, also when its leader is gone: a child may outlive it.
            for process in self.processes.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def product_environment(
    *, database: str, var_dir: Path, sandbox_url: str, redis_url: str
) -> dict[str, str]:
    """Production settings for the product's processes; nothing of this shell's Django, test
    or benchmark variables leaks in."""
    from cryptography.fernet import Fernet

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "BENCH_", "TEST_", "SANDBOX_", "SPAPI_", "LWA_", "Q_"))
        and key
        not in {
            "DEMO_MODE",
            "DEBUG",
            "DATABASE_URL",
            "REDIS_URL",
            "VAR_DIR",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "TOKEN_ENCRYPTION_KEYS",
            "TRUSTED_PROXY_IPS",
            "AMAZON_SANDBOX_URL",
            "WORKER_INTERVAL_SECONDS",
        }
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "DATABASE_URL": database,
            "VAR_DIR": str(var_dir),
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": HOST,
            "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "TRUSTED_PROXY_IPS": HOST,
            "AMAZON_SANDBOX_URL": sandbox_url,
            "WORKER_INTERVAL_SECONDS": str(WORKER_INTERVAL_SECONDS),
            "Q_WORKERS": str(WORKER_PROCESSES),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def deploy(env: dict[str, str]) -> None:
    """The README's deployment commands, as processes."""
    for command in (
        ["migrate", "--no-input"],
        ["setup_roles"],
        ["setup_schedules"],
        ["collectstatic", "--no-input"],
    ):
        done = subprocess.run(  # noqa: S603 (our own commands)
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {command[0]} failed:\n{done.stdout}{done.stderr}")


def start_product(servers: Servers, env: dict[str, str], *, port: int, web_workers: int) -> None:
    python = sys.executable
    servers.start(
        "gunicorn",
        [
            python,
            "-m",
            "gunicorn",
            f"--bind={HOST}:{port}",
            f"--workers={web_workers}",
            "--threads=4",
            "--keep-alive=75",
            f"--forwarded-allow-ips={HOST}",
            "config.wsgi:application",
        ],
        env,
    )
    servers.start("qcluster", [python, "manage.py", "qcluster"], env)


def place_sandbox_orders(
    sandbox: Any, *, reports: int, orders_per_report: int
) -> list[tuple[datetime, datetime]]:
    """Add orders to the import seller for `reports` MFN reports, 1,000 a call, and answer each
    report's range; then an hour passes on Amazon's side, so every added order is paid and
    listed. Orders are placed at the sandbox's "now" and Amazon's timestamps are whole
    seconds, so each report's orders get whole seconds of their own: the next report's first
    call waits for the next second (the sandbox's clock is this machine's until the end)."""
    seller, region = IMPORT_SELLER
    ranges: list[tuple[datetime, datetime]] = []
    for _ in range(reports):
        if ranges:
            time.sleep(max(0.0, (ranges[-1][1] - datetime.now(UTC)).total_seconds()) + 0.01)
        placed = []
        for start in range(0, orders_per_report, ORDERS_PER_SANDBOX_CALL):
            answer = sandbox.control(
                f"sellers/{seller}/orders",
                {
                    "region": region,
                    "count": min(ORDERS_PER_SANDBOX_CALL, orders_per_report - start),
                    "fulfillment": "MFN",
                },
            )
            placed.append(datetime.fromisoformat(answer["placed_at"]))
        ranges.append((placed[0], placed[-1] + timedelta(seconds=1)))
    sandbox.advance_clock(3600)
    return ranges


def connect_accounts(sandbox: Any) -> list[Any]:
    """The sandbox's demo sellers, connected by self-authorization (as `manage.py
    connect_account` does), with their marketplaces read from Amazon."""
    from amazon_sandbox.catalog import DEMO_SELLERS
    from amazon_settings import services

    return [
        services.self_authorize(
            selling_partner_id=seller.selling_partner_id,
            region=seller.region,
            refresh_token=sandbox.refresh_token(seller.selling_partner_id, seller.region),
            acting_user=None,
        )
        for seller in DEMO_SELLERS
    ]


def seed(plan: LoadPlan, accounts: list[Any]) -> Dataset:
    """The big tables (bench/seeding.py) and what the users' clicks pick from."""
    from django.db import connection

    from bench import seeding
    from orders.marketplaces import MARKETPLACES
    from orders.models import Order
    from reports.models import Report

    channels = {m.id: m.sales_channel for m in MARKETPLACES}
    seeded = [
        seeding.SeededAccount(
            account.pk,
            tuple(
                seeding.SeededMarketplace(m.marketplace_id, channels[m.marketplace_id], m.currency)
                for m in account.marketplaces.order_by("marketplace_id")
            ),
        )
        for account in accounts
    ]
    now = datetime.now(UTC)
    seeding.seed_load_mix(
        seeded, orders=plan.orders, reports=plan.reports, api_calls=plan.api_calls, now=now
    )
    step = max(1, plan.orders // 500)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, amazon_order_id FROM {Order._meta.db_table} WHERE id %% %s = 0",  # noqa: S608
            [step],
        )
        orders = cursor.fetchall()
    reports = list(Report.objects.order_by("?").values_list("pk", flat=True)[:500])
    return Dataset(
        account_ids=[a.pk for a in accounts],
        marketplace_ids=sorted({m.marketplace_id for a in seeded for m in a.marketplaces}),
        order_ids=[pk for pk, _ in orders],
        amazon_order_ids=[amazon_id for _, amazon_id in orders],
        report_ids=reports,
        first_purchase=now - seeding.ORDER_HISTORY,
    )


def create_users(count: int) -> tuple[list[Credentials], Any]:
    """`count` users: an Operator, a Viewer and a Viewer with "Buyer data" in turn. One
    password for all, hashed once (a hash costs hundreds of milliseconds on purpose). Returns
    their credentials and the first Operator."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from core.roles import BUYER_DATA, OPERATORS, VIEWERS, setup_roles

    groups = setup_roles()
    roles = ([OPERATORS], [VIEWERS], [VIEWERS, BUYER_DATA])
    password = secrets.token_urlsafe(12)
    hashed = make_password(password)
    user_model = get_user_model()
    users = user_model.objects.bulk_create(
        user_model(username=f"load{n:03d}", password=hashed) for n in range(1, count + 1)
    )
    for n, user in enumerate(users):
        user.groups.add(*(groups[name] for name in roles[n % len(roles)]))
    return [Credentials(u.username, password) for u in users], users[0]


def request_import(account: Any, start: datetime, end: datetime, operator: Any) -> list[int]:
    """What an operator does in Reports » Request: the MFN order report for a range."""
    from reports.services.requesting import request_reports

    reports = request_reports(
        account,
        kind_key="mfn_orders_eu",
        marketplace_ids=account.marketplaces.selected_ids(),
        start=start,
        end=end,
        acting_user=operator,
    )
    return [r.pk for r in reports]


@dataclass(frozen=True)
class WorkerProgress:
    """Where the requested reports stand: import statuses and failures."""

    statuses: dict[str, int]
    unfinished: int
    failures: list[str]

    @property
    def importing(self) -> bool:
        return bool(self.statuses.get("importing") or self.statuses.get("imported"))


def worker_progress(report_ids: list[int]) -> WorkerProgress:
    from django.db import connection

    from reports.models import Report

    try:
        reports = list(Report.objects.filter(pk__in=report_ids))
    finally:
        connection.close()  # called from helper threads: their connections end with the call
    return WorkerProgress(
        statuses=dict(Counter(r.import_status for r in reports)),
        unfinished=sum(1 for r in reports if not r.is_finished),
        failures=[
            f"report {r.pk}: {r.last_error}"
            for r in reports
            if r.import_status == Report.ImportStatus.FAILED or r.failure_reason
        ],
    )


@dataclass(frozen=True)
class WorkerActivity:
    """What the worker imported, seen from the reports afterwards.

    A document is imported in one transaction, so its progress is invisible until it commits;
    the time a report spent importing (from its download to its import) is known afterwards,
    and its rows are spread evenly over that time to tell the rows imported in the window."""

    rows: int  # rows of the requested reports imported by the end of the run
    rows_in_window: int
    busy_seconds: float  # how much of the window at least one import was running
    progress: WorkerProgress


def worker_activity(report_ids: list[int], window: tuple[datetime, datetime]) -> WorkerActivity:
    from reports.models import Report

    start, end = window
    rows = 0
    in_window = 0.0
    spans = []
    for report in Report.objects.filter(pk__in=report_ids, downloaded_at__isnull=False):
        began, ended = report.downloaded_at, report.imported_at or datetime.now(UTC)
        spans.append((max(began, start), min(ended, end)))
        if report.import_status == Report.ImportStatus.IMPORTED:
            rows += report.rows_done
            seconds = max((ended - began).total_seconds(), 1e-6)
            overlap = max(0.0, (min(ended, end) - max(began, start)).total_seconds())
            in_window += report.rows_done * overlap / seconds
    busy = 0.0
    reach = start
    for low, high in sorted(spans):
        low = max(low, reach)
        if high > low:
            busy += (high - low).total_seconds()
            reach = high
    return WorkerActivity(
        rows=rows,
        rows_in_window=round(in_window),
        busy_seconds=busy,
        progress=worker_progress(report_ids),
    )


def wait_until(
    what: str, check: Any, servers: Servers, *, seconds: float = STARTUP_SECONDS
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        servers.check_running()
        if check():
            return
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not happen within {seconds:.0f} s")


def web_answers(port: int) -> bool:
    import httpx

    try:
        answer = httpx.get(
            f"http://{HOST}:{port}/login/", headers={"X-Forwarded-Proto": "https"}, timeout=5
        )
    except httpx.HTTPError:
        return False
    return answer.status_code == 200


def worker_loop_running(since: datetime) -> bool:
    from django.db import connection

    from reports.models import WorkerHeartbeat
    from reports.services.worker import TICK_LOOP_NAME

    try:
        return WorkerHeartbeat.objects.filter(name=TICK_LOOP_NAME, last_seen_at__gte=since).exists()
    finally:
        connection.close()


async def measure(
    plan: LoadPlan,
    *,
    port: int,
    users: list[Credentials],
    data: Dataset,
    request_next: Any,
    admin_url: str,
    database: str,
    sessions: dict[str, int],
) -> tuple[LoadResult, tuple[datetime, datetime], dict[str, float], datetime | None]:
    """The users' run; the window's start and end, every part's CPU time in it, and when the
    prepared reports ran out (None: they did not)."""
    moments: dict[str, Any] = {}
    stop_feeding = asyncio.Event()

    async def feed() -> None:
        # Keeps IMPORTS_AHEAD requested reports unfinished, so the worker always has the next
        # one when it finishes one, until the window closes or the prepared reports run out.
        while not stop_feeding.is_set():
            progress = await asyncio.to_thread(worker_progress, list(data.import_report_ids))
            if progress.unfinished < IMPORTS_AHEAD:
                ids = await asyncio.to_thread(request_next)
                if ids is None:
                    moments["ran_out"] = datetime.now(UTC)
                    return
                data.import_report_ids.extend(ids)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_feeding.wait(), timeout=1)

    async def at_walk_start() -> None:
        moments["feeder"] = asyncio.create_task(feed())

    async def warm_until() -> None:
        # The window opens once the worker imports: a report that only waits for the worker's
        # next check would measure pages without it.
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            progress = await asyncio.to_thread(worker_progress, list(data.import_report_ids))
            if progress.failures:
                raise RuntimeError("the worker failed: " + "; ".join(progress.failures))
            if progress.importing:
                return
            await asyncio.sleep(0.5)
        raise RuntimeError(f"the worker did not start importing within {STARTUP_SECONDS} s")

    async def at_measure_start() -> None:
        moments["cpu"] = await asyncio.to_thread(cpu_snapshot, admin_url, database)
        moments["start"] = datetime.now(UTC)

    async def at_measure_end() -> None:
        stop_feeding.set()
        cpu = await asyncio.to_thread(cpu_snapshot, admin_url, database)
        moments["cpu"] = cpu_use(moments["cpu"], cpu, sessions)
        moments["end"] = datetime.now(UTC)

    result = await run_load(
        f"http://{HOST}:{port}",
        users,
        page_menu(data),
        warmup_seconds=plan.warmup_seconds,
        duration_seconds=plan.duration_seconds,
        think_seconds=plan.think_seconds,
        proxy_https=True,
        at_walk_start=at_walk_start,
        warm_until=warm_until,
        at_measure_start=at_measure_start,
        at_measure_end=at_measure_end,
    )
    await moments["feeder"]
    return result, (moments["start"], moments["end"]), moments["cpu"], moments.get("ran_out")


def render_markdown(
    *,
    info: dict[str, str],
    plan: LoadPlan,
    result: LoadResult,
    worker: WorkerActivity,
    ran_out: datetime | None,
    window: tuple[datetime, datetime],
    cpu: dict[str, float],
    seed_seconds: float,
    redis: bool,
) -> str:
    overall = result.overall()
    met = overall.p95_ms <= GOAL_P95_MS and result.errors == 0
    cores = os.cpu_count() or 1
    available = cores * plan.duration_seconds
    out = [
        f"### Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC" + (" (quick)" if plan.quick else "")
    ]
    out += ["", *[f"- {name}: {value}" for name, value in info.items()]]
    think = "-".join(f"{t:g}" for t in sorted(set(plan.think_seconds)))
    out += [
        "",
        f"Command: `make bench-load`{' with BENCH_LOAD_QUICK=1' if plan.quick else ''}."
        f" {plan.users} users (the roles in turn), each logged in through the login form,"
        f" clicking every {think} s (think time), {result.warmup_seconds:.0f} s warm-up, then"
        f" {plan.duration_seconds:g} s measured. gunicorn {plan.web_workers} workers x 4"
        f" threads, DEBUG off, HTTPS behind the generator acting as the proxy;"
        f" {'Redis' if redis else 'PostgreSQL'} as broker and cache; the worker (qcluster,"
        f" {WORKER_PROCESSES} processes, a check every {WORKER_INTERVAL_SECONDS} s) importing"
        f" MFN order reports of {plan.orders_per_import:,} orders each, requested one after"
        f" the other from the walk's start so that {IMPORTS_AHEAD} are always waiting or"
        " importing.",
        f"Data: {plan.orders:,} orders (1-3 items) over 3 accounts, their marketplaces and two"
        f" years; {plan.reports:,} reports; a return for 1 order in 40, an invoice for 1 in 2;"
        f" 3,000 stock levels; {plan.api_calls:,} logged calls to Amazon (seeded in"
        f" {seed_seconds:.0f} s).",
        "",
        "| Page | Requests | Errors | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]

    def row(stats: PageStats, bold: bool = False) -> str:
        mark = "**" if bold else ""
        return (
            f"| {mark}{stats.label}{mark} | {stats.requests:,} | {stats.errors} |"
            f" {stats.p50_ms:.0f} | {mark}{stats.p95_ms:.0f}{mark} | {stats.p99_ms:.0f} |"
            f" {stats.max_ms:.0f} |"
        )

    out += [row(s) for s in sorted(result.per_page(), key=lambda s: -s.p95_ms)]
    out.append(row(overall, bold=True))
    logins = [s for s in result.logins if s.ok]
    slowest_login = max((s.seconds for s in logins), default=0.0)
    ran_out_note = "."
    if ran_out is not None and ran_out < window[1]:
        seconds = (ran_out - window[0]).total_seconds()
        ran_out_note = f"; the {plan.import_reports} prepared reports ran out {seconds:.0f} s"
        ran_out_note += " into the window."
    out += [
        "",
        f"Throughput: {result.throughput:.1f} requests/s. Logins before the warm-up:"
        f" {len(logins)} of {len(result.logins)} (slowest {slowest_login:.1f} s).",
        f"Worker: importing during {worker.busy_seconds:.0f} s of the"
        f" {plan.duration_seconds:g} s measured, about {worker.rows_in_window:,} report rows"
        f" in them; {worker.rows:,} rows by the end of the run; the requested reports ended"
        f" {', '.join(f'{n} {s}' for s, n in sorted(worker.progress.statuses.items()))}"
        + ran_out_note,
        "",
        f"CPU seconds in the measured window ({cores} cores: {available:.0f} s available):",
        "",
        "| Part | CPU s | Share of the machine |",
        "|---|---:|---:|",
        *[
            f"| {name} | {seconds:.1f} | {100 * seconds / available:.0f} % |"
            for name, seconds in cpu.items()
        ],
        "",
    ]
    rest = cpu.get("rest of the machine", 0.0)
    if rest > 0.1 * available:
        out += [
            f"Shared machine: other work used {rest:.0f} CPU s ({100 * rest / available:.0f} %)"
            " of the window, time the product could not have; the figures are pessimistic.",
            "",
        ]
    if met:
        out.append(
            f"Goal p95 ≤ {GOAL_P95_MS:.0f} ms and 0 errors: **met** (p95 {overall.p95_ms:.0f} ms)."
        )
    else:
        misses = []
        if overall.p95_ms > GOAL_P95_MS:
            misses.append(
                f"p95 {overall.p95_ms:.0f} ms is {overall.p95_ms / GOAL_P95_MS:.1f}x the goal"
            )
        if result.errors:
            misses.append(f"{result.errors} errors ({'; '.join(result.error_examples[:3])})")
        out.append(
            f"Goal p95 ≤ {GOAL_P95_MS:.0f} ms and 0 errors: **not met**: {'; '.join(misses)}."
        )
    return "\n".join(out) + "\n"


def _commit() -> str:
    """The measured commit, with "+ changes" when the code differs from it (BENCHMARKS.md,
    which the runs write, aside)."""

    def git(*args: str) -> str:
        return subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!BENCHMARKS.md")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return f"{head or 'unknown'}{' + changes' if changed else ''}"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _drop_database(admin_url: str, database: str) -> None:
    from django.apps import apps

    if apps.ready:
        from django.db import connections

        connections.close_all()
    postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10).flushdb()


def main() -> int:
    plan = LoadPlan.from_environment()
    admin_url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    redis_url = os.environ.get("BENCH_REDIS_URL", "").strip()
    try:
        server_version = postgres_version(admin_url)
    except Exception as error:
        print(f"make bench-load needs PostgreSQL; {admin_url} answers: {error}", file=sys.stderr)
        return 2
    # A stopped run (Ctrl-C, kill) still stops its processes and drops its database; Ctrl-C
    # also when a script started the run in the background (which ignores SIGINT).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    began = time.perf_counter()
    with contextlib.ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="aoi-bench-load-"))
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        database = f"aoi_load_{os.getpid()}"
        postgres_admin(admin_url, f'CREATE DATABASE "{database}"')
        stack.callback(_drop_database, admin_url, database)
        if redis_url:
            _flush_redis(redis_url)
            stack.callback(_flush_redis, redis_url)

        from tests.sandbox_server import SandboxServer

        print("Starting the Amazon sandbox…", flush=True)
        sandbox = SandboxServer.start(folder / "sandbox", time_factor=SANDBOX_TIME_FACTOR)
        stack.callback(sandbox.stop)
        os.setpriority(os.PRIO_PGRP, sandbox.process.pid, SANDBOX_NICENESS)
        env = product_environment(
            database=database_url(admin_url, database),
            var_dir=folder / "var",
            sandbox_url=sandbox.base_url,
            redis_url=redis_url,
        )
        print(f"Deploying on a new database {database}…", flush=True)
        deploy(env)
        os.environ.update(env)
        os.environ["LOG_LEVEL"] = "WARNING"  # this process's own log: the services' INFO lines
        import django

        django.setup()
        from django.db import connection
        from django.utils import timezone

        print(f"Adding {plan.sandbox_orders:,} orders on Amazon's side…", flush=True)
        ranges = place_sandbox_orders(
            sandbox, reports=plan.import_reports, orders_per_report=plan.orders_per_import
        )
        accounts = connect_accounts(sandbox)
        servers = Servers(folder)
        stack.callback(servers.stop)
        port = _free_port()
        servers_started = timezone.now()
        start_product(servers, env, port=port, web_workers=plan.web_workers)
        print(f"Seeding {plan.orders:,} orders and the rest…", flush=True)
        seeding_began = time.perf_counter()
        data = seed(plan, accounts)
        seed_seconds = time.perf_counter() - seeding_began
        users, operator = create_users(plan.users)
        print("Waiting for the web server and the worker…", flush=True)
        wait_until("The web server's answer", lambda: web_answers(port), servers)
        wait_until("The worker's first pass", lambda: worker_loop_running(servers_started), servers)
        connection.close()
        import_account = next(a for a in accounts if a.selling_partner_id == IMPORT_SELLER[0])

        def request_next() -> list[int] | None:
            if not ranges:
                return None
            try:
                return request_import(import_account, *ranges.pop(0), operator)
            finally:
                connection.close()

        print(
            f"{plan.users} users log in, warm up for {plan.warmup_seconds:g} s and are measured"
            f" for {plan.duration_seconds:g} s…",
            flush=True,
        )
        result, window, cpu, ran_out = asyncio.run(
            measure(
                plan,
                port=port,
                users=users,
                data=data,
                request_next=request_next,
                admin_url=admin_url,
                database=database,
                sessions={
                    "web (gunicorn)": servers.processes["gunicorn"].pid,
                    "worker (qcluster)": servers.processes["qcluster"].pid,
                    "Amazon sandbox": sandbox.process.pid,
                },
            )
        )
        servers.check_running()
        worker = worker_activity(data.import_report_ids, window)
        print("Stopping everything…", flush=True)
    info = machine() | {"PostgreSQL": server_version, "Commit": _commit()}
    section = render_markdown(
        info=info,
        plan=plan,
        result=result,
        worker=worker,
        ran_out=ran_out,
        window=window,
        cpu=cpu,
        seed_seconds=seed_seconds,
        redis=bool(redis_url),
    )
    print()
    print(section)
    if plan.quick:
        print("Quick run: BENCHMARKS.md is left as it is.")
    else:
        write_section(section, start_mark=START_MARK, end_mark=END_MARK, heading=HEADING)
        print("Written to BENCHMARKS.md.")
    print(f"{time.perf_counter() - began:.0f} s in all.")
    problems = []
    if result.errors:
        problems.append(f"{result.errors} requests failed: {'; '.join(result.error_examples)}")
    if worker.progress.failures:
        problems.append("the worker failed: " + "; ".join(worker.progress.failures))
    if not worker.busy_seconds:
        problems.append("the worker imported nothing in the measured window")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("Stopped: what the run started is stopped, its database dropped.", file=sys.stderr)
        sys.exit(130)

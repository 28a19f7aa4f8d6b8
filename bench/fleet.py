"""`make bench-fleet`: a thousand connected sellers, orders arriving all the time, push and
polling side by side. BENCHMARKS.md says what runs and what is reported; the knobs are
environment variables (`FleetPlan.from_environment`).

Usage: `python -m bench.fleet`; `BENCH_FLEET_QUICK=1` for a smoke run (20 sellers, a minute)
that leaves BENCHMARKS.md alone. PostgreSQL is required (`BENCH_POSTGRES_URL`), Redis is used
as broker and cache when `BENCH_REDIS_URL` is set.

The order of a run (`main`): a new database; moto's SQS server and its queue; the Amazon
sandbox with the fleet sellers (`SANDBOX_FLEET_SELLERS`) at a high time factor, pushing to the
queue; the README's deployment commands. Then, in this process, the sellers are connected
through the product's own services in two steps (`connect_fleet`), and after each the cost of
one worker interval over the accounts, all idle, is measured (`measure_idle_pass`). Then the
worker (qcluster, 4 processes) and the notification consumer (with its push lane at the default
PUSH_IMPORT_THREADS) run while the fleet's Amazon-side schedules deliver an order report per
seller every period; every other seller has push switched off in Settings, so it relies on the
worker's check alone. At the end everything started is stopped, the database dropped and the
Redis database flushed, also on failure or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.load import (
    Servers,
    _commit,
    _drop_database,
    _flush_redis,
    deploy,
    product_environment,
    wait_until,
)
from bench.loadgen import percentile
from bench.results import database_url, machine, postgres_admin, postgres_version, write_section

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
START_MARK = "<!-- bench-fleet:start -->"
END_MARK = "<!-- bench-fleet:end -->"
HEADING = "### Latest `make bench-fleet`"
WORKER_PROCESSES = 4
CONNECTING_AT_ONCE = 8
DOWNLOADS = ("Reports.downloadDocument",)
# The MFN order report's default cadence: an Amazon-side schedule every 15 minutes.
SCHEDULE_PERIOD = timedelta(minutes=15)

# The orders of one report in Amazon's time: the MFN order report's schedule covers the 15
# minutes before it, 96 a day.
REPORTS_PER_DAY = timedelta(days=1) / SCHEDULE_PERIOD
# What push cannot do without, per report of a type with buyer data: getReportDocument and the
# restricted data token for it (the notification names the document; see BENCHMARKS.md).
PUSH_FLOOR_CALLS_PER_REPORT = 2

# The goals (issue 14).
GOAL_PUSH_P95_SECONDS = 10.0
GOAL_CALLS_PER_ORDER = 0.01
GOAL_PASS_GROWTH = 5.0


@dataclass(frozen=True)
class FleetPlan:
    """How big and how long one run is."""

    quick: bool
    sellers: int
    time_factor: float
    orders_per_day: float  # per seller, on the sandbox's (real-time) clock
    worker_interval_seconds: int  # the worker's check: the polling-only sellers' safety net
    warmup_seconds: float
    measure_seconds: float
    idle_passes: int
    keep: bool = False  # BENCH_FLEET_KEEP=1: leave the logs and the database for a look

    @property
    def pass_sizes(self) -> tuple[int, int]:
        """The numbers of accounts the idle worker interval is measured with."""
        return (max(1, self.sellers // 10), self.sellers)

    @property
    def report_every_seconds(self) -> float:
        """How often (real seconds) each seller's schedule makes a report."""
        return SCHEDULE_PERIOD.total_seconds() / self.time_factor

    @property
    def new_orders_per_report(self) -> float:
        """The new orders one report of a seller brings in this run: the sandbox's orders
        arrive on its real-time clock (`orders_per_day` a real day) while the time factor
        makes the schedule's reports come `time_factor` times as often, each covering 15
        minutes of which only the last `report_every_seconds` are new."""
        return self.orders_per_day * self.report_every_seconds / 86_400

    @property
    def drain_seconds(self) -> float:
        """How long after the window the run goes on, so that a report done at its end can
        still be imported by the worker's check: two intervals and a minute."""
        return 2 * self.worker_interval_seconds + 60

    @classmethod
    def from_environment(cls, env: dict[str, str] | os._Environ = os.environ) -> FleetPlan:
        quick = env.get("BENCH_FLEET_QUICK", "").strip() not in ("", "0")

        def number(name: str, full: float, smoke: float) -> float:
            value = env.get(name, "").strip()
            return float(value) if value else (smoke if quick else full)

        return cls(
            quick=quick,
            sellers=int(number("BENCH_FLEET_SELLERS", 1000, 20)),
            time_factor=number("BENCH_FLEET_TIME_FACTOR", 4, 60),
            orders_per_day=number("BENCH_FLEET_ORDERS_PER_DAY", 600, 600),
            worker_interval_seconds=int(number("BENCH_FLEET_WORKER_INTERVAL_SECONDS", 60, 20)),
            warmup_seconds=number("BENCH_FLEET_WARMUP_SECONDS", 45, 20),
            measure_seconds=number("BENCH_FLEET_SECONDS", 240, 60),
            idle_passes=int(number("BENCH_FLEET_IDLE_PASSES", 5, 3)),
            keep=env.get("BENCH_FLEET_KEEP", "").strip() not in ("", "0"),
        )


# Pure helpers (tests/bench/test_fleet.py).


@dataclass(frozen=True)
class Latencies:
    """Seconds from Amazon's DONE to the report's orders being in the product's database."""

    seconds: tuple[float, ...]  # sorted
    pending: int  # done in the window, not imported by the end of the run

    @classmethod
    def of(cls, values: list[float], *, pending: int = 0) -> Latencies:
        return cls(tuple(sorted(values)), pending)

    @property
    def count(self) -> int:
        return len(self.seconds)

    @property
    def p50(self) -> float:
        return percentile(self.seconds, 0.50)

    @property
    def p95(self) -> float:
        return percentile(self.seconds, 0.95)

    @property
    def max(self) -> float:
        return self.seconds[-1] if self.seconds else 0.0


@dataclass(frozen=True)
class PassCost:
    """One worker interval over `accounts` idle accounts: median wall time and queries."""

    accounts: int
    seconds: float
    queries: int


@dataclass(frozen=True)
class SideCost:
    """The SP-API calls of one side of the fleet (the sellers with push, or those without) in
    the window, against its reports imported and new orders."""

    reports: int
    orders: int
    calls: int
    calls_by_operation: dict[str, int]

    @property
    def per_report(self) -> float:
        return self.calls / self.reports if self.reports else 0.0

    @property
    def per_order(self) -> float:
        return self.calls / self.orders if self.orders else 0.0


@dataclass(frozen=True)
class FleetResult:
    push: Latencies
    polling: Latencies
    reports_imported: int
    orders_imported: int
    calls: int
    calls_by_operation: dict[str, int]
    throttled: int
    throttled_steady: int
    passes: tuple[PassCost, PassCost]
    import_seconds_p95: float  # download to imported, reports of the window
    # "push" and "polling": the calls per side (a polling-only seller's check costs a
    # getReports every interval whatever it finds; push's floor is per report).
    sides: dict[str, SideCost] = field(default_factory=dict)


@dataclass(frozen=True)
class Goal:
    name: str
    met: bool
    figures: str


def goals(result: FleetResult, *, worker_interval_seconds: int) -> list[Goal]:
    """Each goal of issue 14, met or not, with the figures that say so."""
    small, large = result.passes
    per_order = result.calls / result.orders_imported if result.orders_imported else float("inf")
    polling_bound = worker_interval_seconds + result.import_seconds_p95
    growth = {
        "time": large.seconds / small.seconds if small.seconds else float("inf"),
        "queries": large.queries / small.queries if small.queries else float("inf"),
    }
    return [
        Goal(
            f"DONE → visible p95 ≤ {GOAL_PUSH_P95_SECONDS:g} s with push",
            result.push.count > 0
            and not result.push.pending
            and result.push.p95 <= GOAL_PUSH_P95_SECONDS,
            f"p95 {result.push.p95:.1f} s over {result.push.count} reports"
            + (f", {result.push.pending} not imported by the end" if result.push.pending else ""),
        ),
        Goal(
            "DONE → visible p95 ≤ one poll interval + import time without push",
            result.polling.count > 0
            and not result.polling.pending
            and result.polling.p95 <= polling_bound,
            f"p95 {result.polling.p95:.1f} s over {result.polling.count} reports; bound"
            f" {worker_interval_seconds} s + {result.import_seconds_p95:.1f} s ="
            f" {polling_bound:.1f} s"
            + (
                f", {result.polling.pending} not imported by the end"
                if result.polling.pending
                else ""
            ),
        ),
        Goal(
            "0 throttled calls in steady state",
            result.throttled_steady == 0,
            f"{result.throttled_steady} in the window ({result.throttled} in the whole run)",
        ),
        Goal(
            f"≤ {GOAL_CALLS_PER_ORDER:g} SP-API calls per order",
            per_order <= GOAL_CALLS_PER_ORDER,
            f"{per_order:.2f} ({result.calls:,} calls for {result.orders_imported:,} new orders)",
        ),
        Goal(
            f"a pass over {large.accounts:,} idle accounts ≤ {GOAL_PASS_GROWTH:g}x one over"
            f" {small.accounts:,}",
            growth["time"] <= GOAL_PASS_GROWTH and growth["queries"] <= GOAL_PASS_GROWTH,
            f"{growth['time']:.1f}x the time, {growth['queries']:.1f}x the queries",
        ),
    ]


def render_markdown(
    *,
    info: dict[str, str],
    plan: FleetPlan,
    result: FleetResult,
    when: datetime,
    redis: bool,
) -> str:
    out = [f"### Run of {when:%Y-%m-%d %H:%M} UTC" + (" (quick)" if plan.quick else "")]
    out += ["", *[f"- {name}: {value}" for name, value in info.items()]]
    simulated_hours = plan.measure_seconds * plan.time_factor / 3600
    out += [
        "",
        f"Command: `make bench-fleet`{' with BENCH_FLEET_QUICK=1' if plan.quick else ''}."
        f" {plan.sellers:,} sandbox sellers connected by self-authorization, each importing"
        " the MFN order report on its default Amazon-side schedule (every 15 minutes of"
        f" Amazon's time; the sandbox's time factor {plan.time_factor:g} makes that one every"
        f" {plan.report_every_seconds:.0f} s) and nothing else (the other report types"
        f" switched off in the cadence settings); {plan.orders_per_day:g} orders a day per"
        f" seller. Half the sellers with push (moto's SQS server), half with push switched"
        f" off, imported by the worker's check every {plan.worker_interval_seconds} s."
        f" PostgreSQL, {'Redis' if redis else 'PostgreSQL'} as broker and cache, qcluster with"
        f" {WORKER_PROCESSES} processes and the notification consumer;"
        f" {plan.warmup_seconds:g} s warm-up, then {plan.measure_seconds:g} s measured (about"
        f" {simulated_hours:.1f} h of Amazon's schedules), then up to"
        f" {plan.drain_seconds:g} s for the last reports.",
        "",
        "| DONE → orders visible | Reports | p50 s | p95 s | max s | not imported |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, latencies in (("with push", result.push), ("polling only", result.polling)):
        out.append(
            f"| {label} | {latencies.count:,} | {latencies.p50:.1f} | {latencies.p95:.1f} |"
            f" {latencies.max:.1f} | {latencies.pending} |"
        )
    per_order = result.calls / result.orders_imported if result.orders_imported else 0.0
    operations = ", ".join(
        f"{name} {count:,}" for name, count in sorted(result.calls_by_operation.items())
    )
    small, large = result.passes
    out += _calls_per_side(plan, result)
    out += [
        "",
        f"In the window: {result.reports_imported:,} reports imported,"
        f" {result.orders_imported:,} new orders, {result.calls:,} SP-API calls"
        f" ({per_order:.2f} per order: {operations}), {result.throttled_steady} throttled"
        f" (429) ({result.throttled} in the whole run, setup included). Import time (download"
        f" to imported) p95 {result.import_seconds_p95:.1f} s.",
        "",
        "One worker interval (heartbeat, the pass over the accounts, the push pass, waiting"
        " invoices) over idle accounts with push active, median of"
        f" {plan.idle_passes} passes:",
        "",
        "| Accounts | Wall time ms | SQL queries |",
        "|---:|---:|---:|",
        f"| {small.accounts:,} | {small.seconds * 1000:.0f} | {small.queries} |",
        f"| {large.accounts:,} | {large.seconds * 1000:.0f} | {large.queries} |",
        "",
        "| Goal | Met | Figures |",
        "|---|---|---|",
    ]
    for goal in goals(result, worker_interval_seconds=plan.worker_interval_seconds):
        out.append(f"| {goal.name} | {'**met**' if goal.met else '**not met**'} | {goal.figures} |")
    return "\n".join(out) + "\n"


def orders_a_day_for(calls_per_report: float, *, calls_per_order: float) -> float:
    """The orders a day a seller on the 15-minute schedule needs for `calls_per_order`."""
    return calls_per_report / calls_per_order * REPORTS_PER_DAY


def _calls_per_side(plan: FleetPlan, result: FleetResult) -> list[str]:
    """The calls of the sellers with push and of those without, and what the push side's
    cost per report means for sellers of other sizes (BENCHMARKS.md explains it)."""
    if not result.sides:
        return []
    out = [
        "",
        "| SP-API calls in the window | Reports imported | New orders | Calls | per report"
        " | per order | by operation |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for label, key in (("with push", "push"), ("polling only", "polling")):
        side = result.sides.get(key)
        if side is None:
            continue
        operations = ", ".join(
            f"{name} {count:,}" for name, count in sorted(side.calls_by_operation.items())
        )
        out.append(
            f"| {label} | {side.reports:,} | {side.orders:,} | {side.calls:,} |"
            f" {side.per_report:.2f} | {side.per_order:.2f} | {operations} |"
        )
    amazon_orders = plan.orders_per_day / REPORTS_PER_DAY
    floor = PUSH_FLOOR_CALLS_PER_REPORT
    out += [
        "",
        f"Orders per report: this run's sellers place {plan.orders_per_day:g} orders a day on"
        f" the sandbox's real-time clock while their schedules, {plan.time_factor:g} times as"
        f" fast, make a report every {plan.report_every_seconds:.0f} s: about"
        f" {plan.new_orders_per_report:.2f} new orders per report. The same seller on Amazon's"
        f" 15-minute schedule has {amazon_orders:.2f} per report; with push's floor of"
        f" {floor} calls per report (getReportDocument and its restricted data token) that is"
        f" {floor / amazon_orders:.2f} calls per order. 0.01 per order needs"
        f" {floor / 0.01:.0f} orders per report: a seller with"
        f" {orders_a_day_for(floor, calls_per_order=0.01):,.0f} orders a day on the 15-minute"
        f" schedule.",
    ]
    return out


# The run.


def fleet_ids(first: int, last: int) -> list[str]:
    from amazon_sandbox.catalog import fleet_seller_id

    return [fleet_seller_id(n) for n in range(first, last + 1)]


def connect_fleet(sandbox: Any, seller_ids: list[str], *, push_every_other: bool) -> list[Any]:
    """What each seller does in Settings, through the product's services: self-authorization
    with a refresh token from Seller Central (the sandbox's control API), the cadences (MFN
    orders only), push switched off for every other seller, and the start of the import from
    now, and the Amazon-side schedule the worker would make (`make_amazon_schedule`). Push is
    subscribed as the connection's background task would."""
    from django.db import connection
    from django.utils import timezone

    from amazon_settings import push, services
    from reports.catalog import automatic_kinds
    from reports.services import cadences, requesting

    def connect(seller_id: str) -> Any:
        try:
            return connect_one(seller_id)
        finally:
            connection.close()  # each thread's own connection ends with its seller

    def connect_one(seller_id: str) -> Any:
        account = services.self_authorize(
            selling_partner_id=seller_id,
            region="eu",
            refresh_token=sandbox.refresh_token(seller_id, "eu"),
            acting_user=None,
        )
        number = int(seller_id[-7:])
        if push_every_other and number % 2 == 0:
            push.set_push(account, active=False, acting_user=None)
        else:
            push.subscribe_account(account)
        cadences.set_cadences(
            account,
            intervals={
                kind.key: None
                for kind in automatic_kinds("eu")
                if not (kind.imports_orders and kind.schedulable)
            },
            acting_user=None,
        )
        requesting.start_order_import(account, start=timezone.now(), acting_user=None)
        make_amazon_schedule(account)
        return account

    # Sellers connect at the same time, as a thousand sellers would: a few at once.
    with ThreadPoolExecutor(max_workers=CONNECTING_AT_ONCE) as pool:
        return list(pool.map(connect, seller_ids))


def make_amazon_schedule(account: Any) -> None:
    """What the worker's pass does first for a newly connected seller, done here as the seller
    connects, before anything is measured: the Amazon-side schedule of the order report
    (`cadences.sync_amazon_schedule`). The worker spreads this over its passes
    (WORKER_ACCOUNTS_PER_PASS at a time); done here, the window sees the schedules' reports
    from its start."""
    from reports.catalog import BY_KEY
    from reports.models import ReportCadence
    from reports.services import cadences

    for cadence in ReportCadence.objects.filter(account=account).select_related("account"):
        kind = BY_KEY.get(cadence.kind)
        if kind is not None and kind.schedulable and kind.imports_orders:
            cadences.sync_amazon_schedule(
                cadence, kind=kind, marketplaces=cadences.marketplaces_for(account, kind)
            )


def idle_everything(later: datetime) -> None:
    """Nothing due for any account until `later`: cadences, discovery, push checks."""
    from amazon_settings.models import PushSubscription, SellerAccount
    from reports.models import DiscoveryCursor, ReportCadence

    ReportCadence.objects.update(next_request_at=later)
    for account in SellerAccount.objects.filter(discovery_cursor__isnull=True):
        DiscoveryCursor.objects.get_or_create(
            account=account, defaults={"checked_until": later, "next_check_at": later}
        )
    DiscoveryCursor.objects.update(next_check_at=later)
    PushSubscription.objects.exclude(next_attempt_at=None).update(next_attempt_at=later)


def wake_everything(now: datetime) -> None:
    """Undo `idle_everything`: the worker looks at every account at its next pass."""
    from reports.models import DiscoveryCursor, ReportCadence

    ReportCadence.objects.update(next_request_at=now)
    DiscoveryCursor.objects.update(next_check_at=now)


def one_interval() -> int:
    """What the worker's schedules run every interval (the test in tests/test_query_counts.py
    counts the same)."""
    from orders import tasks as order_tasks
    from reports import tasks

    tasks.heartbeat()
    handed_out = tasks.tick()
    tasks.push_pass()
    order_tasks.issue_waiting_invoices()
    return handed_out


def measure_idle_pass(accounts: int, passes: int) -> PassCost:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    idle_everything(timezone.now() + timedelta(hours=1))
    one_interval()  # warm: heartbeat rows, caches
    times, counts = [], []
    for _ in range(passes):
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            one_interval()
            times.append(time.perf_counter() - began)
        counts.append(len(queries.captured_queries))
    return PassCost(accounts, statistics.median(times), int(statistics.median(counts)))


def amazon_finished(
    sandbox: Any, sellers: list[str], window: tuple[datetime, datetime]
) -> dict[str, str]:
    """The fleet's reports Amazon (the sandbox) finished in the window, found by the product
    or not: report ID -> seller. The product's database alone cannot show a report its check
    has not found yet."""
    import requests

    from amazon_settings.spapi.types import parse_datetime

    def of_seller(seller_id: str) -> list[dict[str, Any]]:
        # Seller by seller: the whole list at once takes the sandbox longer than a timeout.
        response = requests.get(
            sandbox.url("/_control/reports"),
            params={"selling_partner_id": seller_id, "region": "eu"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["reports"]

    start, end = window
    finished = {}
    with ThreadPoolExecutor(max_workers=CONNECTING_AT_ONCE) as pool:
        for reports in pool.map(of_seller, sellers):
            for report in reports:
                if report.get("processingStatus") != "DONE" or not report.get("processingEndTime"):
                    continue
                if start <= parse_datetime(report["processingEndTime"]) < end:
                    finished[report["reportId"]] = report["sellingPartnerId"]
    return finished


def collect(
    plan: FleetPlan, window: tuple[datetime, datetime], amazon: dict[str, str]
) -> dict[str, Any]:
    """Latencies, calls and orders of the window, from the product's database; the reports of
    `amazon` (`amazon_finished`) it does not know count as not imported."""
    from django.db.models import Count

    from amazon_settings.models import ApiCall, PushSubscription, SellerAccount
    from orders.models import Order
    from reports.models import Report

    start, end = window
    pushed = set(
        PushSubscription.objects.filter(state=PushSubscription.State.ACTIVE).values_list(
            "account_id", flat=True
        )
    )
    done = Report.objects.filter(
        amazon_status=Report.AmazonStatus.DONE,
        amazon_processing_end_at__gte=start,
        amazon_processing_end_at__lt=end,
    )
    push_seconds: list[float] = []
    polling_seconds: list[float] = []
    pending = {"push": 0, "polling": 0}
    import_seconds: list[float] = []
    for report in done.only(
        "account_id", "amazon_processing_end_at", "imported_at", "downloaded_at", "import_status"
    ):
        side = "push" if report.account_id in pushed else "polling"
        if report.import_status != Report.ImportStatus.IMPORTED or report.imported_at is None:
            pending[side] += 1
            continue
        seconds = (report.imported_at - report.amazon_processing_end_at).total_seconds()
        (push_seconds if side == "push" else polling_seconds).append(seconds)
        if report.downloaded_at:
            import_seconds.append((report.imported_at - report.downloaded_at).total_seconds())
    known = set(
        Report.objects.filter(amazon_report_id__in=list(amazon)).values_list(
            "amazon_report_id", flat=True
        )
    )
    accounts = dict(SellerAccount.objects.values_list("selling_partner_id", "pk"))
    for report_id, seller_id in amazon.items():
        if report_id not in known:
            pending["push" if accounts.get(seller_id) in pushed else "polling"] += 1
    # Reports done before the window whose orders only arrive in it were not counted: neither
    # are calls made for them; calls are counted by when they were made, orders by when they
    # were first imported, both in the window.
    # The presigned document download is S3's, not an SP-API operation: logged, not counted.
    calls = ApiCall.objects.filter(at__gte=start, at__lt=end).exclude(operation__in=DOWNLOADS)
    new_orders = Order.objects.filter(created_at__gte=start, created_at__lt=end)
    imported_reports = Report.objects.filter(imported_at__gte=start, imported_at__lt=end).exclude(
        import_status=Report.ImportStatus.NO_DATA
    )
    sides = {}
    for key, of_side in (
        ("push", {"account_id__in": pushed}),
        ("polling", {"account_id__in": set(accounts.values()) - pushed}),
    ):
        side_calls = calls.filter(**of_side)
        sides[key] = SideCost(
            reports=imported_reports.filter(**of_side).count(),
            orders=new_orders.filter(**of_side).count(),
            calls=side_calls.count(),
            calls_by_operation=dict(
                side_calls.values_list("operation")
                .annotate(n=Count("pk"))
                .values_list("operation", "n")
            ),
        )
    return {
        "sides": sides,
        "push": Latencies.of(push_seconds, pending=pending["push"]),
        "polling": Latencies.of(polling_seconds, pending=pending["polling"]),
        "reports_imported": Report.objects.filter(imported_at__gte=start, imported_at__lt=end)
        .exclude(import_status=Report.ImportStatus.NO_DATA)
        .count(),
        "orders_imported": Order.objects.filter(created_at__gte=start, created_at__lt=end).count(),
        "calls": calls.count(),
        "calls_by_operation": dict(
            calls.values_list("operation").annotate(n=Count("pk")).values_list("operation", "n")
        ),
        "throttled_steady": calls.filter(http_status=429).count(),
        "throttled": ApiCall.objects.filter(http_status=429)
        .exclude(operation__in=DOWNLOADS)
        .count(),
        "import_seconds_p95": percentile(sorted(import_seconds), 0.95),
    }


def start_sqs(folder: Path) -> tuple[Any, str, dict[str, str]]:
    """moto's SQS server and the queue; returns the server, the queue URL and the AWS
    environment the product's processes need."""
    from tests.sqs_server import ACCOUNT, CREDENTIALS, REGION, SqsServer

    server = SqsServer.start(folder / "sqs")
    url, _arn = server.create_queue("amazon-order-import")
    env = {
        "PUSH_SQS_QUEUE_URL": url,
        "AWS_ENDPOINT_URL_SQS": server.endpoint_url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
    }
    assert ACCOUNT in url
    return server, url, env


def main() -> int:
    plan = FleetPlan.from_environment()
    admin_url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    redis_url = os.environ.get("BENCH_REDIS_URL", "").strip()
    prefix = os.environ.get("BENCH_FLEET_DATABASE_PREFIX", "aoi_fleet")
    try:
        server_version = postgres_version(admin_url)
    except Exception as error:
        print(f"make bench-fleet needs PostgreSQL; {admin_url} answers: {error}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    began = time.perf_counter()
    with contextlib.ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="aoi-bench-fleet-"))
        database = f"{prefix}_{os.getpid()}"
        postgres_admin(admin_url, f'CREATE DATABASE "{database}"')
        if plan.keep:
            # For a look afterwards: the processes' logs and the product's database stay.
            stack.callback(print, f"Kept: the logs in {folder}, the database {database}.")
        else:
            stack.callback(shutil.rmtree, folder, ignore_errors=True)
            stack.callback(_drop_database, admin_url, database)
        if redis_url:
            _flush_redis(redis_url)
            stack.callback(_flush_redis, redis_url)

        from tests.sandbox_server import SandboxServer

        print("Starting the SQS server and the Amazon sandbox…", flush=True)
        sqs, _queue_url, aws_env = start_sqs(folder)
        stack.callback(sqs.stop)
        sandbox = SandboxServer.start(
            folder / "sandbox",
            time_factor=plan.time_factor,
            env={
                "SANDBOX_FLEET_SELLERS": str(plan.sellers),
                "SANDBOX_FLEET_ORDERS_PER_DAY": str(plan.orders_per_day),
                "SANDBOX_SQS_ENDPOINT_URL": sqs.endpoint_url,
            },
        )
        stack.callback(sandbox.stop)
        env = product_environment(
            database=database_url(admin_url, database),
            var_dir=folder / "var",
            sandbox_url=sandbox.base_url,
            redis_url=redis_url,
        )
        env.update(aws_env)
        env.update(
            {
                "WORKER_INTERVAL_SECONDS": str(plan.worker_interval_seconds),
                "Q_WORKERS": str(WORKER_PROCESSES),
                "PUSH_GRACE_SECONDS": str(10 * plan.worker_interval_seconds),
            }
        )
        print(f"Deploying on a new database {database}…", flush=True)
        deploy(env)
        os.environ.update(env)
        os.environ["LOG_LEVEL"] = "WARNING"
        import django

        django.setup()
        from django.db import connection
        from django.utils import timezone

        small, large = plan.pass_sizes
        passes = []
        first = 1
        for size in (small, large):
            print(f"Connecting fleet sellers {first:,} to {size:,}…", flush=True)
            connect_fleet(sandbox, fleet_ids(first, size), push_every_other=True)
            first = size + 1
            print(f"Measuring a worker interval over {size:,} idle accounts…", flush=True)
            passes.append(measure_idle_pass(size, plan.idle_passes))
        wake_everything(timezone.now())
        connection.close()

        servers = Servers(folder)
        stack.callback(servers.stop)
        started = timezone.now()
        servers.start("qcluster", [sys.executable, "manage.py", "qcluster"], env)
        servers.start("consumer", [sys.executable, "manage.py", "consume_notifications"], env)
        from bench.load import worker_loop_running

        if plan.worker_interval_seconds < 60:
            wait_until("The worker's first pass", lambda: worker_loop_running(started), servers)
        print(
            f"Warming up for {plan.warmup_seconds:g} s, then measuring for"
            f" {plan.measure_seconds:g} s…",
            flush=True,
        )
        time.sleep(plan.warmup_seconds)
        window_start = timezone.now()
        time.sleep(plan.measure_seconds)
        window_end = timezone.now()
        servers.check_running()
        print(f"Letting the last reports in ({plan.drain_seconds:g} s at most)…", flush=True)
        deadline = time.monotonic() + plan.drain_seconds
        window = (window_start, window_end)
        while time.monotonic() < deadline:
            figures = collect(plan, window, {})
            connection.close()
            if not figures["push"].pending and not figures["polling"].pending:
                break
            time.sleep(5)
        print("Asking Amazon which reports it finished in the window…", flush=True)
        finished = amazon_finished(sandbox, fleet_ids(1, plan.sellers), window)
        figures = collect(plan, window, finished)
        servers.check_running()
        print("Stopping everything…", flush=True)
    result = FleetResult(passes=(passes[0], passes[1]), **figures)
    info = machine() | {"PostgreSQL": server_version, "Commit": _commit()}
    section = render_markdown(
        info=info, plan=plan, result=result, when=window_start, redis=bool(redis_url)
    )
    print()
    print(section)
    if plan.quick:
        print("Quick run: BENCHMARKS.md is left as it is.")
    else:
        write_section(section, start_mark=START_MARK, end_mark=END_MARK, heading=HEADING)
        print("Written to BENCHMARKS.md.")
    print(f"{time.perf_counter() - began:.0f} s in all.")
    if not result.push.count or not result.polling.count:
        print("FAILED: no report was imported in the window", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("Stopped: what the run started is stopped, its database dropped.", file=sys.stderr)
        sys.exit(130)

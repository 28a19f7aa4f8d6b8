"""`make bench-api`: a full sync of 1,000,000 orders through the REST API, over real HTTP.

On PostgreSQL (`BENCH_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/postgres) a new
database is migrated and given one seller account and one API token (scope `read_orders`).
Then, for each size (100,000 and 1,000,000 orders of 1-3 items: `bench.seeding.seed_orders`,
the orders table emptied before each size), gunicorn is started as in production (one process
of 4 threads, `config.settings`, DEBUG off) and a client reads every order the way an ERP's
first sync does: `GET /api/v1/orders?limit=1000`, then each `next_cursor` passed back as
`cursor` until it is null, each page's JSON parsed.

Per size it reports pages per second, orders per second and the whole time, and the web
process's memory: its resident set (VmRSS) after a first request, when 10 %, 50 % and 100 % of
the orders were read, and the highest resident set sampled every 0.1 s during the sync. Flat
memory: the same figures for ten times the orders. It checks every order was read exactly once
and fails otherwise. The 1-minute load average is noted at the start and at its highest.

Knobs: `BENCH_API_QUICK=1` a smoke run (2,000 and 5,000 orders, pages of 500; BENCHMARKS.md
left alone), `BENCH_API_SIZES=10000,50000`, `BENCH_API_PAGE_SIZE`, `BENCH_DB_PREFIX` (the
database's name), `BENCH_REDIS_URL` (Redis as the cache that holds the rate limit's counts;
otherwise the database cache, as by default). The per-token rate limit is raised for the run
(`API_RATE_LIMIT_PER_MINUTE`): it measures the API, not the limit. Writes its section of
BENCHMARKS.md between its markers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.load import (
    HOST,
    Servers,
    _commit,
    _drop_database,
    _flush_redis,
    product_environment,
    wait_until,
)
from bench.results import (
    BENCHMARKS_MD,
    database_url,
    machine,
    postgres_admin,
    postgres_version,
    write_section,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
START_MARK = "<!-- bench-api:start -->"
END_MARK = "<!-- bench-api:end -->"
HEADING = "## Latest `make bench-api`"
SIZES = (100_000, 1_000_000)
QUICK_SIZES = (2_000, 5_000)
PAGE_SIZE = 1000
QUICK_PAGE_SIZE = 500
WEB_THREADS = 4
RATE_LIMIT = 1_000_000  # per minute: the run measures the API, not the limit
# The share of the orders read at which the web process's memory is noted.
MILESTONES = (0.1, 0.5, 1.0)
SAMPLE_SECONDS = 0.1
REQUEST_TIMEOUT = 120.0
STARTUP_SECONDS = 120.0
ACCOUNT_ID = "A2MUELLERHW7QX"
SEED_NOW = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ApiPlan:
    sizes: tuple[int, ...]
    page_size: int
    quick: bool

    @classmethod
    def from_environment(cls, env: Mapping[str, str] = os.environ) -> ApiPlan:
        quick = env.get("BENCH_API_QUICK", "").strip() not in ("", "0")
        sizes = tuple(int(s) for s in env.get("BENCH_API_SIZES", "").split(",") if s.strip())
        page_size = int(env.get("BENCH_API_PAGE_SIZE", "0") or 0)
        return cls(
            sizes=sizes or (QUICK_SIZES if quick else SIZES),
            page_size=page_size or (QUICK_PAGE_SIZE if quick else PAGE_SIZE),
            quick=quick,
        )


@dataclass
class SyncResult:
    orders: int
    page_size: int
    pages: int
    seconds: float
    seed_seconds: float
    rss_start_mb: float
    rss_at_mb: dict[float, float]  # share of the orders read -> VmRSS then
    rss_peak_mb: float
    duplicates: int
    missing: int
    load_max: float

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0

    @property
    def exact(self) -> bool:
        return self.duplicates == 0 and self.missing == 0


@dataclass
class Report:
    plan: ApiPlan
    info: dict[str, str]
    load_start: float
    results: list[SyncResult] = field(default_factory=list)
    redis: bool = False


def vm_kb(pid: int, name: str) -> int:
    """A /proc/<pid>/status figure in KiB (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(f"{name}:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def web_worker(master_pid: int) -> int | None:
    """The pid of gunicorn's one worker process, once it runs."""
    try:
        with open(f"/proc/{master_pid}/task/{master_pid}/children") as listing:
            pids = [int(pid) for pid in listing.read().split()]
    except OSError:
        return None
    return pids[0] if pids else None


class MemorySampler:
    """The highest VmRSS of a process, read every SAMPLE_SECONDS in a thread; and the highest
    1-minute load average meanwhile."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = vm_kb(pid, "VmRSS")
        self.load_max = os.getloadavg()[0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.peak_kb = max(self.peak_kb, vm_kb(self.pid, "VmRSS"))
            self.load_max = max(self.load_max, os.getloadavg()[0])

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kb = max(self.peak_kb, vm_kb(self.pid, "VmRSS"))


@dataclass
class Sync:
    """What one full sync saw: pages, seconds, the web process's VmRSS (MiB) after a first
    request (key 0.0) and at each milestone, its sampled peak, and orders read twice or never."""

    pages: int
    seconds: float
    rss_at_mb: dict[float, float]
    peak_mb: float
    load_max: float
    duplicates: int
    missing: int


def sync_orders(base_url: str, secret: str, *, page_size: int, expected: int, web_pid: int) -> Sync:
    """Read every order page by page, as a client's first sync does."""
    import httpx

    headers = {"Authorization": f"Bearer {secret}", "X-Forwarded-Proto": "https"}
    seen: set[int] = set()
    duplicates = pages = 0
    at: dict[float, float] = {}
    with httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT) as client:
        client.get("/api/v1/orders", params={"limit": 1}).raise_for_status()  # warm up
        at[0.0] = vm_kb(web_pid, "VmRSS") / 1024
        with MemorySampler(web_pid) as sampler:
            started = time.perf_counter()
            params: dict[str, str | int] = {"limit": page_size}
            while True:
                answer = client.get("/api/v1/orders", params=params)
                if answer.status_code != 200:
                    raise RuntimeError(
                        f"Page {pages + 1}: {answer.status_code}: {answer.text[:300]}"
                    )
                page = answer.json()
                pages += 1
                for order in page["items"]:
                    if order["id"] in seen:
                        duplicates += 1
                    seen.add(order["id"])
                for share in MILESTONES:
                    if share not in at and len(seen) >= share * expected:
                        at[share] = vm_kb(web_pid, "VmRSS") / 1024
                if not page["next_cursor"]:
                    break
                params = {"limit": page_size, "cursor": page["next_cursor"]}
            seconds = time.perf_counter() - started
    for share in MILESTONES:  # fewer orders than expected: noted at the end
        at.setdefault(share, vm_kb(web_pid, "VmRSS") / 1024)
    return Sync(
        pages=pages,
        seconds=seconds,
        rss_at_mb=at,
        peak_mb=sampler.peak_kb / 1024,
        load_max=sampler.load_max,
        duplicates=duplicates,
        missing=max(0, expected - len(seen)),
    )


def run_child(kind: str, env: dict[str, str], **options: object) -> dict:
    command = [sys.executable, "-m", "bench.api", "child", kind]
    for name, value in options.items():
        command += [f"--{name}", str(value)]
    done = subprocess.run(  # noqa: S603 (our own command)
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise RuntimeError(f"The bench child {kind!r} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_prepare(args: argparse.Namespace) -> dict:
    """Migrate; one seller account and a token that reads orders (its secret goes to the
    parent: a throwaway database's); then the first size's orders, saving a child's start."""
    import django

    django.setup()
    from django.core.management import call_command

    from amazon_settings.models import SellerAccount
    from api.models import Scope
    from api.services import create_token

    call_command("migrate", verbosity=0)
    account = SellerAccount.objects.create(
        selling_partner_id=ACCOUNT_ID, region="eu", display_name="Bench seller"
    )
    _, secret = create_token(
        name="Bench ERP", scopes=[Scope.READ_ORDERS], accounts=(), acting_user=None
    )
    args.account = account.pk
    return {"account": account.pk, "secret": secret, **child_seed(args)}


def child_seed(args: argparse.Namespace) -> dict:
    """Empty the orders (and what hangs on them), then seed `--orders` orders of 1-3 items."""
    import django

    django.setup()  # again from child_prepare: does nothing
    from django.db import connection

    from bench import seeding
    from orders.models import Order

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {connection.ops.quote_name(Order._meta.db_table)} RESTART IDENTITY CASCADE"
        )
    accounts = [seeding.SeededAccount(args.account, seeding.EU_MARKETPLACES)]
    seeding.seed_orders(accounts, args.orders, now=SEED_NOW, extra_items=True)
    seeding.analyze()
    return {"seed_seconds": time.perf_counter() - started, "orders": Order.objects.count()}


CHILDREN = {"prepare": child_prepare, "seed": child_seed}


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _web_answers(base_url: str) -> bool:
    import httpx

    try:
        # 401 without a token: the API is up (the URLconf, the database, the cache).
        answer = httpx.get(
            f"{base_url}/api/v1/orders", headers={"X-Forwarded-Proto": "https"}, timeout=5
        )
    except httpx.HTTPError:
        return False
    return answer.status_code == 401


def measure_size(
    *,
    size: int,
    plan: ApiPlan,
    env: dict[str, str],
    account: int,
    secret: str,
    folder: Path,
    seeded: dict | None = None,
) -> SyncResult:
    """Seed `size` orders (unless `seeded` says it is done), start gunicorn, sync, stop it."""
    seeded = seeded or run_child("seed", env, orders=size, account=account)
    if seeded["orders"] != size:
        raise RuntimeError(f"Seeded {seeded['orders']} orders, not {size}")
    print(f"{size:,} orders seeded in {seeded['seed_seconds']:.0f} s", flush=True)
    servers = Servers(folder)
    port = _free_port()
    base_url = f"http://{HOST}:{port}"
    try:
        servers.start(
            "gunicorn",
            [
                sys.executable,
                "-m",
                "gunicorn",
                f"--bind={HOST}:{port}",
                "--workers=1",
                f"--threads={WEB_THREADS}",
                f"--timeout={int(REQUEST_TIMEOUT)}",
                f"--forwarded-allow-ips={HOST}",
                "config.wsgi:application",
            ],
            env,
        )
        wait_until(
            "The web server's answer",
            lambda: _web_answers(base_url),
            servers,
            seconds=STARTUP_SECONDS,
        )
        pid = web_worker(servers.processes["gunicorn"].pid)
        if pid is None:
            raise RuntimeError("gunicorn answers without a worker process")
        sync = sync_orders(base_url, secret, page_size=plan.page_size, expected=size, web_pid=pid)
        servers.check_running()
    finally:
        servers.stop()
    return SyncResult(
        orders=size,
        page_size=plan.page_size,
        pages=sync.pages,
        seconds=sync.seconds,
        seed_seconds=seeded["seed_seconds"],
        rss_start_mb=sync.rss_at_mb[0.0],
        rss_at_mb=sync.rss_at_mb,
        rss_peak_mb=sync.peak_mb,
        duplicates=sync.duplicates,
        missing=sync.missing,
        load_max=sync.load_max,
    )


def render_markdown(report: Report, *, now: datetime | None = None) -> str:
    when = now or datetime.now(UTC)
    plan = report.plan
    lines = [f"### Run of {when:%Y-%m-%d %H:%M} UTC", ""]
    lines += [f"- {key}: {value}" for key, value in report.info.items()]
    load_max = max((r.load_max for r in report.results), default=report.load_start)
    lines += [
        f"- Load average (1 min): {report.load_start:.1f} at the start, {load_max:.1f} at its"
        " highest during the syncs (2 CPUs shared with other jobs: the times are slower than"
        " on an idle machine; the memory is not affected)",
        "",
        f"Command: `make bench-api`{' (BENCH_API_QUICK=1)' if plan.quick else ''}. One seller"
        " account's orders (1-3 items each) read through `GET /api/v1/orders` by a token with"
        f" `read_orders`: pages of {plan.page_size:,} (`limit`), each `next_cursor` passed back"
        " as `cursor` until it is null, every page's JSON parsed by the client. gunicorn with"
        f" one process of {WEB_THREADS} threads, `config.settings` (DEBUG off), PostgreSQL,"
        f" {'Redis' if report.redis else 'the database cache'} holding the rate limit's counts"
        " (limit raised for the run). Memory is the web process's resident set (VmRSS): after"
        " a first request, when 10 %, 50 % and 100 % of the orders were read, and the highest"
        f" sampled every {SAMPLE_SECONDS:g} s.",
        "",
        "| orders | pages | time | pages/s | orders/s | RSS start | RSS at 10 % | at 50 % "
        "| at 100 % | peak RSS | each order once |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report.results:
        exact = "yes" if r.exact else f"**no**: {r.duplicates} twice, {r.missing} missing"
        lines.append(
            f"| {r.orders:,} | {r.pages:,} | {r.seconds:,.0f} s | {r.pages_per_second:.1f} "
            f"| {r.orders_per_second:,.0f} | {r.rss_start_mb:.0f} MiB "
            f"| {r.rss_at_mb[0.1]:.0f} MiB | {r.rss_at_mb[0.5]:.0f} MiB "
            f"| {r.rss_at_mb[1.0]:.0f} MiB | {r.rss_peak_mb:.0f} MiB | {exact} |"
        )
    if len(report.results) >= 2:
        small, big = report.results[0], report.results[-1]
        factor = big.orders / small.orders
        lines += [
            "",
            f"{factor:g}x the orders took {big.seconds / small.seconds:.1f}x the time"
            f" ({small.orders_per_second:,.0f} and {big.orders_per_second:,.0f} orders/s); the"
            f" peak resident set went from {small.rss_peak_mb:.0f} to {big.rss_peak_mb:.0f} MiB.",
        ]
    return "\n".join(lines) + "\n"


def run(
    plan: ApiPlan,
    *,
    admin_url: str,
    database_prefix: str,
    redis_url: str = "",
    output: Path | None,
) -> Report:
    """Run the plan on a new database of the server `admin_url` (named `database_prefix` and
    this process's id; dropped afterwards); the section goes into `output` (BENCHMARKS.md's
    format) after every size, when given. Raises RuntimeError when an order was read twice or
    not at all."""
    report = Report(
        plan=plan,
        info=machine() | {"PostgreSQL": postgres_version(admin_url), "Commit": _commit()},
        load_start=os.getloadavg()[0],
        redis=bool(redis_url),
    )
    database = f"{database_prefix}_{os.getpid()}"
    with contextlib.ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="aoi-bench-api-"))
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        postgres_admin(admin_url, f'CREATE DATABASE "{database}"')
        stack.callback(_drop_database, admin_url, database)
        if redis_url:
            _flush_redis(redis_url)
            stack.callback(_flush_redis, redis_url)
        env = product_environment(
            database=database_url(admin_url, database),
            var_dir=folder / "var",
            sandbox_url=f"http://{HOST}:9",  # no Amazon in this run
            redis_url=redis_url,
        )
        env["API_RATE_LIMIT_PER_MINUTE"] = str(RATE_LIMIT)
        env["LOG_LEVEL"] = "WARNING"  # the request log's INFO line per page stays out
        print(f"Migrating a new database {database}…", flush=True)
        prepared = run_child("prepare", env, orders=plan.sizes[0])
        for number, size in enumerate(plan.sizes):
            result = measure_size(
                seeded=prepared if number == 0 else None,
                size=size,
                plan=plan,
                env=env,
                account=prepared["account"],
                secret=prepared["secret"],
                folder=folder,
            )
            report.results.append(result)
            print(
                f"{size:,} orders: {result.pages:,} pages in {result.seconds:.1f} s"
                f" ({result.pages_per_second:.1f} pages/s, {result.orders_per_second:,.0f}"
                f" orders/s), peak RSS {result.rss_peak_mb:.0f} MiB",
                flush=True,
            )
            if output is not None:
                write_section(
                    render_markdown(report),
                    start_mark=START_MARK,
                    end_mark=END_MARK,
                    heading=HEADING,
                    path=output,
                )
    wrong = [r for r in report.results if not r.exact]
    if wrong:
        raise RuntimeError(
            "; ".join(
                f"{r.orders:,} orders: {r.duplicates} read twice, {r.missing} never" for r in wrong
            )
        )
    return report


def main() -> int:
    plan = ApiPlan.from_environment()
    admin_url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    try:
        postgres_version(admin_url)
    except Exception as error:
        print(f"make bench-api needs PostgreSQL; {admin_url} answers: {error}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    report = run(
        plan,
        admin_url=admin_url,
        database_prefix=os.environ.get("BENCH_DB_PREFIX", "aoi_bench_api"),
        redis_url=os.environ.get("BENCH_REDIS_URL", "").strip(),
        output=None if plan.quick else BENCHMARKS_MD,
    )
    print()
    print(render_markdown(report))
    print("Quick run: BENCHMARKS.md left as it is." if plan.quick else "Written to BENCHMARKS.md.")
    return 0


def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.api child")
    parser.add_argument("kind", choices=sorted(CHILDREN))
    parser.add_argument("--orders", type=int, default=0)
    parser.add_argument("--account", type=int, default=0)
    args = parser.parse_args(argv)
    print(json.dumps(CHILDREN[args.kind](args)))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child_main(sys.argv[2:])
    else:
        try:
            sys.exit(main())
        except KeyboardInterrupt:
            print("Stopped: the web server is stopped, the database dropped.", file=sys.stderr)
            sys.exit(130)

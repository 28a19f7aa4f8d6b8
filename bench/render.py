"""`make bench-render`: the CPU one page costs the web process, page by page, on a seeded
PostgreSQL database, through Django's test client. BENCHMARKS.md says what runs.

Usage: `python -m bench.render`. `BENCH_RENDER_QUICK=1` is a smoke run (2,000 orders, 5 requests
a page) that leaves BENCHMARKS.md alone. Other knobs: `BENCH_RENDER_ORDERS` (20,000),
`BENCH_RENDER_REQUESTS` (30 a page), `BENCH_RENDER_LANGUAGE` (`en`; `de` renders in German),
`BENCH_RENDER_DATABASE` (an existing database this script seeded before, kept: no seeding, no
drop; `BENCH_RENDER_KEEP=1` keeps the database a run creates, for that), `BENCH_RENDER_DUMP`
(a folder: each page's first answer is written there, CSRF tokens masked, to compare two
versions of the code on one database), `BENCH_RENDER_PROFILE` (a page label, or a part of one:
cProfile of that page's requests, the top functions printed). The database's name starts with
`SCALEOUT_DATABASE_PREFIX` (default `aoi`), on the server `BENCH_POSTGRES_URL`.

Why CPU time: `make bench-load` showed the web processes' CPU (about 35 ms a page) as the
largest part of a loaded machine's work. `time.process_time()` counts this process's CPU only
(the view, the ORM, the driver's client side, the templates), not PostgreSQL's, and hardly
moves when other processes share the machine, so two versions can be compared on a busy one.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import random
import re
import statistics
import sys
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.results import (
    database_url,
    machine,
    postgres_admin,
    postgres_version,
    write_section,
)

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
START_MARK = "<!-- bench-render:start -->"
END_MARK = "<!-- bench-render:end -->"
HEADING = "### Latest `make bench-render`"
WARMUP_REQUESTS = 3
USERNAME = "render"
_CSRF = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+')


@dataclass(frozen=True)
class RenderPlan:
    quick: bool
    orders: int
    requests: int
    language: str
    database: str  # an existing database to reuse, or ""
    keep: bool
    dump: str
    profile: str

    @property
    def reports(self) -> int:
        return max(100, self.orders // 50)

    @property
    def api_calls(self) -> int:
        return max(1000, self.orders // 5)

    @classmethod
    def from_environment(cls, env: dict[str, str] | os._Environ = os.environ) -> RenderPlan:
        quick = env.get("BENCH_RENDER_QUICK", "").strip() not in ("", "0")
        return cls(
            quick=quick,
            orders=int(env.get("BENCH_RENDER_ORDERS") or (2_000 if quick else 20_000)),
            requests=int(env.get("BENCH_RENDER_REQUESTS") or (5 if quick else 30)),
            language=env.get("BENCH_RENDER_LANGUAGE") or "en",
            database=env.get("BENCH_RENDER_DATABASE", "").strip(),
            keep=env.get("BENCH_RENDER_KEEP", "").strip() not in ("", "0"),
            dump=env.get("BENCH_RENDER_DUMP", "").strip(),
            profile=env.get("BENCH_RENDER_PROFILE", "").strip(),
        )


@dataclass(frozen=True)
class PageCost:
    label: str
    requests: int
    cpu_median_ms: float
    cpu_p95_ms: float
    wall_median_ms: float
    queries: float  # per request, on average
    kilobytes: float


def seed(plan: RenderPlan) -> None:
    """The demo sellers as connected accounts with their marketplaces, the big tables
    (bench/seeding.py: what `make bench-load` seeds, scaled to `plan.orders`) and the user."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from amazon_sandbox.catalog import DEMO_SELLERS, MARKETPLACES
    from amazon_settings.crypto import encrypt_secret
    from amazon_settings.models import AccountMarketplace, SellerAccount
    from bench import seeding
    from core.roles import BUYER_DATA, OPERATORS, setup_roles

    by_id = MARKETPLACES
    seeded = []
    for seller in DEMO_SELLERS:
        account = SellerAccount.objects.create(
            selling_partner_id=seller.selling_partner_id,
            region=seller.region,
            display_name=seller.store_name,
            refresh_token_encrypted=encrypt_secret("bench-render-token"),
            status=SellerAccount.Status.CONNECTED,
            authorized_at=timezone.now(),
            last_success_at=timezone.now(),
        )
        for marketplace_id in seller.marketplace_ids:
            m = by_id[marketplace_id]
            AccountMarketplace.objects.create(
                account=account,
                marketplace_id=m.id,
                country_code=m.country_code,
                name=m.name,
                currency=m.currency,
                domain=m.domain,
            )
        seeded.append(
            seeding.SeededAccount(
                account.pk,
                tuple(
                    seeding.SeededMarketplace(mid, by_id[mid].sales_channel, by_id[mid].currency)
                    for mid in sorted(seller.marketplace_ids)
                ),
            )
        )
    # Midnight: two runs on one day seed the same dates.
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    seeding.seed_load_mix(
        seeded, orders=plan.orders, reports=plan.reports, api_calls=plan.api_calls, now=now
    )
    groups = setup_roles()
    user = get_user_model().objects.create_user(username=USERNAME, password="render-password-1")  # noqa: S106
    # An Operator who may see buyers' data: every part of every page is rendered.
    user.groups.add(groups[OPERATORS], groups[BUYER_DATA])


def dataset():
    """What the pages' URLs pick from, read from the database the same way on every run."""
    from django.db import connection

    from amazon_settings.models import SellerAccount
    from bench.load import Dataset
    from bench.seeding import ORDER_HISTORY
    from orders.models import Order
    from reports.models import Report

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), min(purchased_at) FROM {Order._meta.db_table}")  # noqa: S608
        count, first = cursor.fetchone()
        step = max(1, count // 500)
        cursor.execute(
            f"SELECT id, amazon_order_id FROM {Order._meta.db_table}"  # noqa: S608
            " WHERE id %% %s = 0 ORDER BY id",
            [step],
        )
        orders = cursor.fetchall()
    accounts = list(SellerAccount.objects.order_by("pk").prefetch_related("marketplaces"))
    return Dataset(
        account_ids=[a.pk for a in accounts],
        marketplace_ids=sorted({m.marketplace_id for a in accounts for m in a.marketplaces.all()}),
        order_ids=[pk for pk, _ in orders],
        amazon_order_ids=[amazon_id for _, amazon_id in orders],
        report_ids=list(Report.objects.order_by("pk").values_list("pk", flat=True)[::40][:500]),
        first_purchase=first or datetime.now(UTC) - ORDER_HISTORY,
    )


def measure(plan: RenderPlan) -> list[PageCost]:
    """Each page of `make bench-load`'s menu, `plan.requests` times after warm-ups, with the
    same URLs on every run (each page's random choices are seeded with its label)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from bench.load import page_menu

    client = Client(headers={"accept-language": plan.language})
    client.force_login(get_user_model().objects.get(username=USERNAME))
    data = dataset()
    dump = Path(plan.dump) if plan.dump else None
    if dump:
        dump.mkdir(parents=True, exist_ok=True)
    costs = []
    for choice in page_menu(data):
        rng = random.Random(zlib.crc32(choice.label.encode()))
        paths = [choice.path(rng) for _ in range(WARMUP_REQUESTS + plan.requests)]
        headers = {"HX-Request": "true"} if choice.htmx else {}

        def get(path: str, headers: dict[str, str] = headers):
            response = client.get(path, headers=headers)
            if response.status_code not in (200, 286):
                raise RuntimeError(f"GET {path} answered {response.status_code}")
            return response

        for path in paths[:WARMUP_REQUESTS]:
            get(path)
        profiled = bool(plan.profile) and plan.profile.lower() in choice.label.lower()
        profiler = cProfile.Profile(time.process_time) if profiled else None
        cpu, wall, sizes = [], [], []
        queries = 0

        def count(run, sql, params, many, context):
            nonlocal queries
            queries += 1
            return run(sql, params, many, context)

        with connection.execute_wrapper(count):
            for n, path in enumerate(paths[WARMUP_REQUESTS:]):
                if profiler:
                    profiler.enable()
                wall_start, cpu_start = time.perf_counter(), time.process_time()
                response = get(path)
                cpu.append((time.process_time() - cpu_start) * 1000)
                wall.append((time.perf_counter() - wall_start) * 1000)
                if profiler:
                    profiler.disable()
                sizes.append(len(response.content))
                if dump and n == 0:
                    slug = re.sub(r"[^a-z0-9]+", "-", choice.label.lower()).strip("-")
                    html = _CSRF.sub(r"\1(token)", response.content.decode())
                    (dump / f"{slug}.html").write_text(f"<!-- GET {path} -->\n{html}")
        cpu.sort()
        costs.append(
            PageCost(
                label=choice.label,
                requests=len(cpu),
                cpu_median_ms=statistics.median(cpu),
                cpu_p95_ms=cpu[max(0, round(0.95 * len(cpu)) - 1)],
                wall_median_ms=statistics.median(wall),
                queries=queries / len(cpu),
                kilobytes=statistics.mean(sizes) / 1024,
            )
        )
        if profiler:
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(30)
            sys.stderr.write(f"--- cProfile: {choice.label} ---\n{out.getvalue()}")
    return costs


def load_mix_ms(costs: list[PageCost]) -> float:
    """The CPU of one average click of `make bench-load`'s menu (the weighted mean of the
    pages' medians)."""
    from bench.load import page_menu

    weights = {c.label: c.weight for c in page_menu(dataset())}
    total = sum(weights[c.label] for c in costs)
    return sum(weights[c.label] * c.cpu_median_ms for c in costs) / total


def render_markdown(
    plan: RenderPlan, info: dict[str, str], costs: list[PageCost], mix_ms: float
) -> str:
    lines = [
        f"### Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        *(f"- {name}: {value}" for name, value in info.items()),
        "",
        f"Command: `make bench-render`. {plan.orders:,} orders (1-3 items) over the three demo"
        f" sellers, {plan.reports:,} reports, returns, invoices, stock and {plan.api_calls:,}"
        f" logged calls (bench/seeding.py, as `make bench-load` seeds, smaller). An Operator"
        f" with buyer data, language `{plan.language}`, production settings (DEBUG off), the"
        f" test client; each page of `make bench-load`'s menu {plan.requests} times after"
        f" {WARMUP_REQUESTS} warm-ups, the same URLs every run. CPU is this process's"
        " (`time.process_time()`: view, ORM, driver, templates; not PostgreSQL's).",
        "",
        "| Page | CPU median ms | CPU p95 ms | wall median ms | queries | KiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in sorted(costs, key=lambda c: -c.cpu_median_ms):
        lines.append(
            f"| {c.label} | {c.cpu_median_ms:.1f} | {c.cpu_p95_ms:.1f} | {c.wall_median_ms:.1f}"
            f" | {c.queries:.1f} | {c.kilobytes:.0f} |"
        )
    lines += [
        "",
        f"One click of the load mix (the menu's weights over the medians): {mix_ms:.1f} ms of CPU.",
        "",
    ]
    return "\n".join(lines)


def _commit() -> str:
    import subprocess

    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return done.stdout.strip() or "unknown"


def main() -> int:
    plan = RenderPlan.from_environment()
    admin_url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    prefix = os.environ.get("SCALEOUT_DATABASE_PREFIX", "").strip() or "aoi"
    database = plan.database or f"{prefix}_render_{os.getpid()}"
    try:
        version = postgres_version(admin_url)
    except Exception as error:
        print(f"bench-render needs PostgreSQL ({admin_url}): {error}", file=sys.stderr)
        return 1
    os.environ["DATABASE_URL"] = database_url(admin_url, database)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    created = not plan.database
    if created:
        postgres_admin(admin_url, f'CREATE DATABASE "{database}"')
    try:
        import django

        django.setup()
        from django.core.management import call_command

        # No setup_test_environment(): its instrumented template rendering (a signal per
        # template) is CPU a deployed page does not spend. bench.settings allows "testserver".
        if created:
            started = time.perf_counter()
            call_command("migrate", verbosity=0)
            seed(plan)
            print(f"Seeded {database} in {time.perf_counter() - started:.0f} s.")
        costs = measure(plan)
        mix_ms = load_mix_ms(costs)
        info = machine() | {
            "PostgreSQL": version,
            "Commit": _commit(),
            "Load average at the start (1 min)": f"{os.getloadavg()[0]:.1f}",
        }
        section = render_markdown(plan, info, costs, mix_ms)
        print(section)
        if not plan.quick and not plan.database:
            write_section(section, start_mark=START_MARK, end_mark=END_MARK, heading=HEADING)
    finally:
        if created and not plan.keep:
            from django.db import connections

            connections.close_all()
            postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{database}"')
        elif created:
            print(f"Kept the database {database} (BENCH_RENDER_DATABASE={database} reuses it).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

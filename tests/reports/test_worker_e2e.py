"""The whole loop with a real django-q2 cluster process against the sandbox over HTTP.

Request → Amazon's statuses → download → import → orders in the database, and a second,
overlapping report imports no duplicate. Everything runs in its own processes on a SQLite file,
as `make demo` runs it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings

from tests.amazon_fixtures import EU_SELLER, mfn_report_orders, ranges_sharing_an_order

pytestmark = pytest.mark.slow


@pytest.fixture
def backend():
    """The embedded defaults, or PostgreSQL + Redis in the scale-out run."""
    if not os.environ.get("TEST_DATABASE_URL"):
        yield {}
        return
    from tests.scaleout import empty_redis, fresh_postgres_database

    with fresh_postgres_database() as database_url:
        yield {"DATABASE_URL": database_url, "REDIS_URL": empty_redis()}


def product_env(tmp_path, sandbox, backend: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DJANGO_SETTINGS_MODULE",
            "DATABASE_URL",
            "REDIS_URL",
            "SECRET_KEY",
            "DEMO_MODE",
            "TEST_DATABASE_URL",
            "TEST_REDIS_URL",
        }
    }
    env.update(
        {
            "DEMO_MODE": "1",
            "VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "AMAZON_SANDBOX_URL": sandbox.base_url,
            "WORKER_INTERVAL_SECONDS": "2",
            "Q_WORKERS": "2",
        }
    )
    env.update(backend or {})
    if os.environ.get("TEST_DOCUMENTS_S3"):
        # The scale-out run: the processes share documents through the session's S3 stand-in.
        from tests.moto_server import ENDPOINT_ENV, MotoServer

        moto = MotoServer(os.environ[ENDPOINT_ENV])
        env.update(moto.documents_env(moto.create_bucket("e2e-documents"), tmp_path.name))
    return env


def files_on_disk(tmp_path) -> list[str]:
    """Documents the processes kept on their disk (none when S3 holds them)."""
    return [str(path) for path in (tmp_path / "media").rglob("*") if path.is_file()]


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def shell(env: dict[str, str], code: str) -> object:
    out = manage(env, "shell", "--no-imports", "-c", code)
    return json.loads(out.strip().splitlines()[-1])


REQUEST = """
import json
from datetime import datetime
from amazon_settings.models import SellerAccount
from reports.services.requesting import request_reports
account = SellerAccount.objects.get()
reports = request_reports(account, kind_key="mfn_orders_eu",
    marketplace_ids=list(account.marketplaces.values_list("marketplace_id", flat=True)),
    start=datetime.fromisoformat("{start}"), end=datetime.fromisoformat("{end}"),
    acting_user=None)
print(json.dumps([r.pk for r in reports]))
"""

# Waits inside one process (a `manage.py shell` per poll would cost a Django start-up each):
# until every report of `ids` is imported, one of them ends otherwise, or the deadline passes.
WAIT = """
import json, time
from orders.models import Order
from reports.models import Report
ids = {ids}
deadline = time.monotonic() + {seconds}
while True:
    reports = list(Report.objects.filter(pk__in=ids))
    if all(r.import_status == "imported" for r in reports) or any(
        r.import_status in ("failed", "skipped", "cancelled") for r in reports
    ) or time.monotonic() > deadline:
        break
    time.sleep(0.25)
print(json.dumps({{
    "reports": {{r.pk: [r.import_status, r.amazon_status, r.rows_created, r.rows_updated,
                        r.rows_unchanged, r.rows_total, r.last_error]
                 for r in Report.objects.all()}},
    "order_ids": sorted(Order.objects.values_list("amazon_order_id", flat=True)),
    "statuses": sorted({{s for r in Report.objects.all()
                         for s in r.events.values_list("import_status", flat=True)}}),
}}))
"""

# The worker's pass, queued at once: the schedule `setup_schedules` registered would start it
# too, but django-q2's scheduler first looks after about 30 seconds (the browser flows, on
# `make demo`, wait for the scheduled pass).
START_PASS = """
from django_q.tasks import async_task
async_task("reports.tasks.tick")
print("[]")
"""


def request(env, data_range: tuple[datetime, datetime]) -> list[int]:
    start, end = data_range
    return shell(env, REQUEST.format(start=start.isoformat(), end=end.isoformat()))


def wait_until_imported(env, ids: list[int], seconds: float = 120) -> dict:
    state = shell(env, WAIT.format(ids=list(ids), seconds=seconds))
    rows = [state["reports"][str(pk)] for pk in ids]
    assert all(row[0] == "imported" for row in rows), f"not imported: {rows}"
    return state


def niceness_in_session(session_id: int) -> list[int]:
    """The niceness of every process of a session (Linux /proc; the fields after the command's
    closing parenthesis: state, ppid, pgrp, session, ..., niceness as the 17th)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[3]) == session_id:
            found.append(int(fields[16]))
    return sorted(found)


def test_the_worker_imports_requested_reports_without_duplicates(
    tmp_path, sandbox, sandbox_history, backend
):
    env = product_env(tmp_path, sandbox, backend)
    first_range, second_range = ranges_sharing_an_order(sandbox, now=datetime.now(UTC))
    first_orders = mfn_report_orders(sandbox, *first_range)
    second_orders = mfn_report_orders(sandbox, *second_range)
    shared = first_orders.keys() & second_orders.keys()
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "setup_schedules")
    token_file = tmp_path / "token"
    token_file.write_text(sandbox.refresh_token(EU_SELLER, "eu"))
    manage(
        env,
        "connect_account",
        "--selling-partner-id",
        EU_SELLER,
        "--region",
        "eu",
        "--refresh-token-file",
        str(token_file),
    )
    worker_log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        (first_id,) = request(env, first_range)
        shell(env, START_PASS)
        first = wait_until_imported(env, [first_id])
        if os.environ.get("TEST_DOCUMENTS_S3"):
            assert files_on_disk(tmp_path) == []
        else:
            assert len(files_on_disk(tmp_path)) == 1
        created, updated, unchanged, total = first["reports"][str(first_id)][2:6]
        # Report lines are order items: an order of two items is two lines and one order.
        assert (created, updated, unchanged) == (sum(first_orders.values()), 0, 0)
        assert total == created
        assert first["order_ids"] == sorted(first_orders)
        assert {"queued", "waiting", "downloading", "importing", "imported"} <= set(
            first["statuses"]
        )

        (second_id,) = request(env, second_range)
        second = wait_until_imported(env, [second_id])
        created, updated, unchanged = second["reports"][str(second_id)][2:5]
        new_orders = second_orders.keys() - first_orders.keys()
        assert created == sum(second_orders[o] for o in new_orders)
        assert (updated, unchanged) == (0, sum(second_orders[o] for o in shared))
        # No order twice: the stored ids are exactly the orders of both ranges, each once.
        assert second["order_ids"] == sorted(first_orders.keys() | second_orders.keys())
        # The processes that ran the imports yield the CPU to the web (WORKER_NICENESS); the
        # cluster's own processes keep the priority they were started with.
        niceness = niceness_in_session(worker.pid)
        assert niceness.count(10) == 2, niceness  # Q_WORKERS processes
        assert 0 in niceness, niceness
    except AssertionError:
        print((tmp_path / "worker.log").read_text()[-5000:])
        raise
    finally:
        # The work is done and checked; a graceful django-q2 shutdown only costs time.
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()

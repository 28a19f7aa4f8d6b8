"""Four worker processes on PostgreSQL + Redis, overlapping reports of the same accounts at once.

Every report is handed to the workers several times (as a broker may deliver a task again, and
as several ticks may race), the reports overlap each other, and two accounts share the load.
The result must be: zero duplicate records, counters that add up, no report imported twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings

from tests.amazon_fixtures import EU_SELLER
from tests.reports.test_worker_e2e import manage, shell
from tests.scaleout import empty_redis, fresh_postgres_database

pytestmark = pytest.mark.slow

NA_SELLER = "A3CEDARRIDGE9K"
WORKERS = 4

SETUP = """
import json
from datetime import timedelta
from django.utils import timezone
from amazon_settings.models import SellerAccount
from reports.services.requesting import request_reports
now = timezone.now().replace(minute=0, second=0, microsecond=0)
ids = []
for account in SellerAccount.objects.all():
    kinds = ["mfn_orders_eu", "fba_orders_eu"] if account.region == "eu" else [
        "mfn_orders_na", "fba_orders_na"]
    marketplaces = list(account.marketplaces.values_list("marketplace_id", flat=True))
    for kind in kinds:
        # Overlapping windows: each day is covered two or three times. Amazon makes an FBA
        # report at most every few hours, so that one comes once per account.
        windows = ((12, 6), (9, 3), (7, 2), (4, 1)) if kind.startswith("mfn") else ((12, 1),)
        for start_days, end_days in windows:
            ids += [r.pk for r in request_reports(account, kind_key=kind,
                    marketplace_ids=marketplaces, start=now - timedelta(days=start_days),
                    end=now - timedelta(days=end_days), acting_user=None)]
print(json.dumps(ids))
"""

# Each tick hands every due report out; the duplicates below hand each report out again
# without a lease, as a redelivered task would arrive.
DRIVE = """
import json, time
from django_q.tasks import async_task
from reports.models import Report
from reports.services.worker import tick
# Every report is handed out three times at once, as redelivered tasks would arrive; then the
# ticks go on handing out whatever is due, as the schedule does.
for pk in Report.objects.values_list("pk", flat=True):
    for _ in range(3):
        async_task("reports.tasks.advance_report", pk, "")
deadline = time.monotonic() + 150
while time.monotonic() < deadline:
    if not Report.objects.filter(import_status__in=Report.UNFINISHED).exists():
        break
    tick()
    time.sleep(1)
print(json.dumps(Report.objects.filter(import_status__in=Report.UNFINISHED).count()))
"""

RESULT = """
import json
from django.db.models import Count, Sum
from orders.models import Order, OrderItem, ShipmentLine
from reports.models import Report, ReportEvent
reports = Report.objects.all()
imported_events = (ReportEvent.objects.filter(message__startswith="Imported ")
                   .values("report").annotate(n=Count("pk")))
print(json.dumps({
    "statuses": sorted(set(reports.values_list("import_status", flat=True))),
    "orders": Order.objects.count(),
    "distinct_orders": Order.objects.values("account", "amazon_order_id").distinct().count(),
    "items": OrderItem.objects.count(),
    "mfn_items": OrderItem.objects.filter(order__fulfillment_channel="MFN").count(),
    "distinct_items": OrderItem.objects.values("order", "order_item_id").distinct().count(),
    "lines": ShipmentLine.objects.count(),
    "distinct_lines": ShipmentLine.objects.values(
        "account", "shipment_id", "shipment_item_id").distinct().count(),
    "created": reports.aggregate(n=Sum("rows_created"))["n"],
    "rows": reports.aggregate(n=Sum("rows_total"))["n"],
    "counted": reports.aggregate(
        n=Sum("rows_created") + Sum("rows_updated") + Sum("rows_unchanged") + Sum("rows_failed")
    )["n"],
    "imports_per_report": sorted({e["n"] for e in imported_events}),
    "reports": reports.count(),
}))
"""


def test_four_workers_import_overlapping_reports_exactly_once(tmp_path, sandbox):
    sandbox.reset()
    with fresh_postgres_database() as database_url:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "TEST_", "DATABASE_", "REDIS_"))
            and key not in {"SECRET_KEY", "DEMO_MODE"}
        }
        env.update(
            {
                "DEMO_MODE": "1",
                "VAR_DIR": str(tmp_path),
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "AMAZON_SANDBOX_URL": sandbox.base_url,
                "DATABASE_URL": database_url,
                "REDIS_URL": empty_redis(),
                "WORKER_INTERVAL_SECONDS": "2",
                "Q_WORKERS": "1",
            }
        )
        manage(env, "migrate", "--no-input", "-v", "0")
        for seller, region in ((EU_SELLER, "eu"), (NA_SELLER, "na")):
            token_file = tmp_path / f"token-{seller}"
            token_file.write_text(sandbox.refresh_token(seller, region))
            manage(
                env,
                "connect_account",
                "--selling-partner-id",
                seller,
                "--region",
                region,
                "--refresh-token-file",
                str(token_file),
            )
        report_ids = shell(env, SETUP)
        assert len(report_ids) == 10

        workers = [
            subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            for _ in range(WORKERS)
        ]
        try:
            unfinished = shell(env, DRIVE)
            result = shell(env, RESULT)
        finally:
            # The work is done and checked; a graceful django-q2 shutdown only costs time.
            for worker in workers:
                os.killpg(worker.pid, signal.SIGKILL)
            for worker in workers:
                worker.wait()

    assert unfinished == 0
    assert set(result["statuses"]) <= {"imported", "no_data"}, result
    assert result["orders"] == result["distinct_orders"] > 0
    assert result["items"] == result["distinct_items"]
    assert result["lines"] == result["distinct_lines"] > 0
    # Counters add up: every row is counted once, and each record was created by one report.
    assert result["counted"] == result["rows"]
    # (A row's own record: an item of an MFN order report, a shipment line of an FBA report.)
    assert result["created"] == result["mfn_items"] + result["lines"]
    # No report imported twice, however often it was handed out.
    assert result["imports_per_report"] == [1]

"""`make reliability`: the faults Amazon and machines produce, each through the sandbox.

For every fault the script requests MFN order reports for a range of its own, injects the
fault, lets the worker's steps run (time passing is simulated by making the next step due at
once), applies the fix a seller or operator would apply (renew access, restore the secret,
request the range again, …), and then compares the orders in the database with the sandbox's
ground truth for that range. It prints one row per fault: outcome, orders expected, imported,
duplicates. It exits non-zero when any order is lost or doubled.

Runs on its own SQLite database and sandbox in a temporary folder; nothing of `var/` is touched.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SELLER, REGION, KIND = "A2MUELLERHW7QX", "eu", "mfn_orders_eu"


@dataclass
class Row:
    fault: str
    outcome: str
    expected: int
    imported: int
    duplicates: int

    @property
    def ok(self) -> bool:
        return self.expected == self.imported and self.duplicates == 0


def setup(workdir: Path):
    """Start the sandbox, point a fresh product database at it, connect the EU demo seller."""
    sys.path.insert(0, str(BASE_DIR))
    from tests.sandbox_server import SandboxServer

    sandbox = SandboxServer.start(workdir / "sandbox", time_factor=120)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEMO_MODE": "1",
            "VAR_DIR": str(workdir / "var"),
            "AMAZON_SANDBOX_URL": sandbox.base_url,
            "WORKER_INTERVAL_SECONDS": "2",
            "SPAPI_TIMEOUT_SECONDS": "2",
            "REPORT_LEASE_SECONDS": "3",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from tests.amazon_fixtures import connect_demo_seller

    account = connect_demo_seller(sandbox, SELLER, REGION, import_active=False)
    return sandbox, account


class Harness:
    def __init__(self, sandbox, account) -> None:
        from django.utils import timezone

        self.sandbox = sandbox
        self.account = account
        # Each fault gets its own three days, further back each time, so ranges never overlap.
        self.anchor = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
        self.slot = 0

    def next_range(self) -> tuple[datetime, datetime]:
        """A new range for the next fault. Amazon's createReport allows 15 at once and then one
        a minute; the client-side bucket keeps to that, so between faults the script lets the
        bucket refill, as the minutes between real faults would."""
        from amazon_settings.models import RateLimitBucket

        RateLimitBucket.objects.all().delete()
        end = self.anchor - timedelta(days=3 * self.slot)
        self.slot += 1
        return end - timedelta(days=3), end

    def request(self, start: datetime, end: datetime):
        from reports.services import requesting

        marketplaces = list(self.account.marketplaces.values_list("marketplace_id", flat=True))
        (report,) = requesting.request_reports(
            self.account,
            kind_key=KIND,
            marketplace_ids=marketplaces,
            start=start,
            end=end,
            acting_user=None,
        )
        # No django-q2 cluster runs here: the task the request handed out is this script's
        # `drive`, so the lease taken for that task is let go.
        from reports.models import Report

        Report.objects.filter(pk=report.pk).update(lease_id="", leased_until=None)
        return report

    def drive(self, report, *, steps: int = 40, between: Callable[[], None] | None = None):
        """Run the worker's steps until the report is finished (or the steps run out)."""
        from reports.models import Report
        from reports.services import pipeline

        for _ in range(steps):
            report.refresh_from_db()
            if report.is_finished:
                break
            Report.objects.filter(pk=report.pk).update(next_attempt_at=None)
            pipeline.advance_report(report.pk)
            if between:
                between()
            time.sleep(0.3)
        report.refresh_from_db()
        return report

    def expected(self, start: datetime, end: datetime) -> set[str]:
        orders = self.sandbox.control(
            f"sellers/{SELLER}/orders?region={REGION}"
            f"&start={start.isoformat()}&end={end.isoformat()}".replace("+", "%2B")
        )["orders"]
        return {
            o["amazon_order_id"]
            for o in orders
            if o["fulfillment"] == "MFN" and o["status"] not in ("Pending", "Canceled")
        }

    def row(self, fault: str, outcome: str, start: datetime, end: datetime) -> Row:
        from orders.models import Order

        expected = self.expected(start, end)
        in_db = list(
            Order.objects.filter(account=self.account, amazon_order_id__in=expected).values_list(
                "amazon_order_id", flat=True
            )
        )
        return Row(fault, outcome, len(expected), len(set(in_db)), len(in_db) - len(set(in_db)))


def fault_matrix(h: Harness) -> list[Row]:
    from django.conf import settings

    from amazon_settings import crypto
    from amazon_settings.models import SellerAccount
    from reports.services import actions, pipeline

    rows: list[Row] = []

    def status_of(report) -> str:
        report.refresh_from_db()
        note = f" ({report.failure_reason})" if report.failure_reason else ""
        return f"{report.import_status}{note}"

    def simple(fault: str, arm: dict) -> None:
        start, end = h.next_range()
        h.sandbox.control("faults", arm)
        report = h.drive(h.request(start, end))
        rows.append(h.row(fault, status_of(report), start, end))

    simple("429 burst (3 calls)", {"kind": "throttle", "operation": "createReport", "count": 3})
    simple("500 on getReport", {"kind": "error500", "operation": "getReport", "count": 2})
    simple("503 on getReportDocument", {"kind": "error503", "operation": "getReportDocument"})
    simple("timeout on getReport", {"kind": "timeout", "operation": "getReport", "hold_seconds": 3})
    simple("expired download URL", {"kind": "expire_url", "operation": "downloadDocument"})

    # Connection refused: Amazon is out of reach for a while, then back.
    start, end = h.next_range()
    real = dict(settings.SPAPI_ENDPOINTS)
    settings.SPAPI_ENDPOINTS = {"eu": "http://127.0.0.1:9/eu", "na": "http://127.0.0.1:9/na"}
    report = h.request(start, end)
    h.drive(report, steps=2)
    settings.SPAPI_ENDPOINTS = real
    SellerAccount.objects.filter(pk=h.account.pk).update(status=SellerAccount.Status.CONNECTED)
    report = h.drive(report)
    rows.append(h.row("connection refused", status_of(report), start, end))

    # Broken documents: the report fails with the reason; requesting the range again (a new
    # document) imports it.
    for fault, damage in (
        ("truncated gzip", {"corruption": "truncate"}),
        ("corrupt gzip", {"corruption": "corrupt"}),
    ):
        start, end = h.next_range()
        report = h.request(start, end)
        for _ in range(30):  # until Amazon finished it, before the download
            report.refresh_from_db()
            if report.amazon_document_id:
                break
            from reports.models import Report

            Report.objects.filter(pk=report.pk).update(next_attempt_at=None)
            pipeline.advance_report(report.pk, stop_at=Report.ImportStatus.DOWNLOADING)
            time.sleep(0.3)
        h.sandbox.control(f"documents/{report.amazon_document_id}", damage)
        report = h.drive(report)
        first = status_of(report)
        actions.skip_report(report, acting_user=None) if not report.is_finished else None
        # The seller requests the range again: a fresh report and document.
        again = h.drive(h.request(start, end))
        rows.append(h.row(fault, f"{first} → {status_of(again)}", start, end))

    # A wrong charset label: UTF-8 bytes labelled Cp1252 decode without error but wrongly;
    # the import goes on by order id, so no order is lost or doubled.
    start, end = h.next_range()
    report = h.request(start, end)
    report = h.drive(
        report,
        between=lambda: (
            report.refresh_from_db()
            or (
                report.amazon_document_id
                and h.sandbox.control(
                    f"documents/{report.amazon_document_id}", {"served_charset": "UTF-8"}
                )
            )
        ),
    )
    rows.append(h.row("wrong charset label", status_of(report), start, end))

    # Reports that end badly at Amazon: the seller (or the diagnosis page) asks again.
    for fault, kind in (
        ("report stuck for hours", "report_stuck"),
        ("FATAL", "report_fatal"),
        ("CANCELLED", "report_cancelled"),
    ):
        start, end = h.next_range()
        h.sandbox.control("faults", {"kind": kind})
        report = h.drive(h.request(start, end), steps=6)
        first = status_of(report)
        if not report.is_finished:
            actions.skip_report(report, acting_user=None)
        again = h.drive(h.request(start, end))
        rows.append(h.row(fault, f"{first} → {status_of(again)}", start, end))

    # The authorization is revoked mid-run: the account is marked, the worker waits; renewing
    # (a new refresh token) lets the same report finish.
    start, end = h.next_range()
    report = h.request(start, end)
    pipeline.advance_report(report.pk)  # sent
    h.sandbox.control(f"sellers/{SELLER}/revoke", {"region": REGION})
    from django.core.cache import cache

    cache.clear()
    report = h.drive(report, steps=3)
    h.account.refresh_from_db()
    marked = h.account.status
    SellerAccount.objects.filter(pk=h.account.pk).update(
        refresh_token_encrypted=crypto.encrypt_secret(h.sandbox.refresh_token(SELLER, REGION)),
        status=SellerAccount.Status.CONNECTED,
    )
    h.account.refresh_from_db()
    report = h.drive(report)
    rows.append(
        h.row("authorization revoked mid-run", f"{marked} → {status_of(report)}", start, end)
    )

    # The client secret is rejected until the operator fixes it.
    start, end = h.next_range()
    report = h.request(start, end)
    h.sandbox.control("app", {"client_secret_accepted": False})
    cache.clear()
    report = h.drive(report, steps=3)
    h.account.refresh_from_db()
    marked = h.account.status
    h.sandbox.control("app", {"client_secret_accepted": True})
    SellerAccount.objects.filter(pk=h.account.pk).update(status=SellerAccount.Status.CONNECTED)
    h.account.refresh_from_db()
    report = h.drive(report)
    rows.append(h.row("client secret rejected", f"{marked} → {status_of(report)}", start, end))

    # The database is unavailable for a while: another process holds SQLite's write lock for
    # three seconds; the worker's writes wait for it and go on.
    start, end = h.next_range()
    report = h.request(start, end)
    database = settings.DATABASES["default"]["NAME"]

    def hold_lock() -> None:
        holder = sqlite3.connect(database, timeout=30)
        holder.execute("BEGIN EXCLUSIVE")
        time.sleep(3)
        holder.rollback()
        holder.close()

    locker = threading.Thread(target=hold_lock)
    locker.start()
    time.sleep(0.2)
    report = h.drive(report)
    locker.join()
    rows.append(h.row("database unavailable for 3 s", status_of(report), start, end))

    # A worker process is killed (SIGKILL) in the middle of its step and restarted: the lease
    # runs out and the next worker finishes the report.
    start, end = h.next_range()
    report = h.request(start, end)
    h.drive(report, steps=1)  # sent
    time.sleep(1.5)  # Amazon finishes
    h.sandbox.control(
        "faults", {"kind": "timeout", "operation": "downloadDocument", "hold_seconds": 1.5}
    )
    from reports.models import Report

    Report.objects.filter(pk=report.pk).update(next_attempt_at=None)
    worker = subprocess.Popen(  # noqa: S603 (our own manage.py)
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            f"from reports.services.pipeline import advance_report; advance_report({report.pk})",
        ],
        cwd=BASE_DIR,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(2.5)  # mid-download
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    time.sleep(settings.REPORT_LEASE_SECONDS + 0.5)  # the killed worker's lease runs out
    report = h.drive(report)
    rows.append(h.row("worker killed mid-step (SIGKILL)", status_of(report), start, end))
    return rows


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="aoi-reliability-") as folder:
        sandbox, account = setup(Path(folder))
        try:
            rows = fault_matrix(Harness(sandbox, account))
        finally:
            sandbox.stop()
    width = max(len(r.fault) for r in rows)
    print(f"{'fault':<{width}}  {'outcome':<48} expected imported duplicates")
    for r in rows:
        mark = "" if r.ok else "   <-- LOST OR DOUBLED"
        print(
            f"{r.fault:<{width}}  {r.outcome:<48} {r.expected:>8} {r.imported:>8} "
            f"{r.duplicates:>10}{mark}"
        )
    lost = sum(r.expected - r.imported for r in rows)
    doubled = sum(r.duplicates for r in rows)
    print(f"\n{len(rows)} faults: {lost} orders lost, {doubled} duplicated.")
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

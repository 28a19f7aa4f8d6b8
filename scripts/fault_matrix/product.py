"""The product under test, driven the way the fault matrix needs it.

`start` gives the product its own SQLite database, Amazon sandbox and local SQS server (the
sandbox pushes its notifications there) in a folder, with the settings that turn Amazon's and
the worker's minutes into seconds (below), and connects the EU demo seller through Settings and
the sandbox's consent page, as an operator does (which subscribes it to the notifications). The
notification consumer runs only in the rows about push (`drive(push=True)`): the other rows see
the worker's check alone, as before.

Time: the sandbox's time factor makes Amazon's processing take about a second; the product's
own delays are its settings, shortened here: the worker's interval, the two leases and the
"stuck" threshold. What is left is the backoff the product writes on a report after an error
(30 s and more), and the minutes its rate limiter wants between two createReport calls once
a burst is spent: `time_passes` makes a waiting report due at once, and `minutes_pass` fills
the rate-limit buckets between two rows, as waiting would. Those are the only writes the
harness makes to the product's tables: every state, status, token and lease is written by
the product.

The seller and the operator (`seller_action`, `act`) read what the pages say (the report's
state and problem, the account's status on Settings) and do what those pages offer: renew
access through the consent page, set the app's secret and test the connection, skip a stuck
report, request a failed range again. They never touch the database.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import requests

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SELLER, REGION = "A2MUELLERHW7QX", "eu"

# The product's delays, in seconds, as the matrix runs them (the product's defaults after #).
WORKER_INTERVAL_SECONDS = 2  # 300
REPORT_LEASE_SECONDS = 45  # 900: 15 times the import's, as in the product
IMPORT_LEASE_SECONDS = 3  # 60: a killed import is resumed after this
STUCK_AFTER_SECONDS = 8  # 3 hours
SPAPI_TIMEOUT_SECONDS = 2  # 30
PUSH_GRACE_SECONDS = 3  # 600: a finished report's notification is overdue after this
NOTIFICATION_QUEUE = "fault-matrix-notifications"

# How long one drive waits for a report to finish or to need the seller. Reports the sandbox
# makes finish in a few seconds even through a fault; the stuck row needs STUCK_AFTER_SECONDS.
DRIVE_SECONDS = 12
STEP_PAUSE_SECONDS = 0.2

logger = logging.getLogger("fault_matrix")


def product_environment(
    workdir: Path, sandbox_url: str, *, sqs_endpoint: str, queue_url: str
) -> dict[str, str]:
    """The environment of the product's processes (this one and its worker processes): on
    SQLite and its ORM broker, whatever the caller's environment names (the database row takes
    SQLite's lock), with push through the local SQS server's queue."""
    return {
        "PUSH_SQS_QUEUE_URL": queue_url,
        "AWS_ENDPOINT_URL_SQS": sqs_endpoint,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "fault-matrix",
        "AWS_SECRET_ACCESS_KEY": "fault-matrix",
        "PUSH_SQS_WAIT_SECONDS": "1",
        "PUSH_GRACE_SECONDS": str(PUSH_GRACE_SECONDS),
        "DJANGO_SETTINGS_MODULE": "scripts.fault_matrix.settings",
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "DEMO_MODE": "1",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "VAR_DIR": str(workdir / "var"),
        "AMAZON_SANDBOX_URL": sandbox_url,
        "WORKER_INTERVAL_SECONDS": str(WORKER_INTERVAL_SECONDS),
        "SPAPI_TIMEOUT_SECONDS": str(SPAPI_TIMEOUT_SECONDS),
        "REPORT_LEASE_SECONDS": str(REPORT_LEASE_SECONDS),
        "REPORT_IMPORT_LEASE_SECONDS": str(IMPORT_LEASE_SECONDS),
        "REPORT_STUCK_AFTER_SECONDS": str(STUCK_AFTER_SECONDS),
        "PYTHONPATH": str(BASE_DIR),
    }


class _HiddenFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "hidden":
            self.fields[attributes["name"]] = attributes.get("value") or ""


def consent_in_browser(consent_url: str) -> str:
    """What the seller does on Seller Central's consent page: confirm. Returns the path and
    query Amazon redirects the browser to (the product's callback)."""
    page = requests.get(consent_url, timeout=10)
    page.raise_for_status()
    form = _HiddenFields()
    form.feed(page.text)
    answer = requests.post(
        consent_url,
        data={**form.fields, "selling_partner_id": SELLER, "action": "confirm"},
        allow_redirects=False,
        timeout=10,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"the consent page answered {answer.status_code}: {answer.text[:300]}")
    location = urlsplit(answer.headers["Location"])
    return f"{location.path}?{location.query}"


# What the seller or operator does, named as the table shows it.
RENEW = "renew access"
FIX_APP_CREDENTIALS = "set the app's secret, test connection"
SKIP_AND_REQUEST = "skip, request again"
REQUEST_AGAIN = "request again"


@dataclass
class WorkerProcess:
    """A worker process (`python -m scripts.fault_matrix.worker`) in its own session."""

    process: subprocess.Popen

    def kill(self) -> None:
        """SIGKILL, as when the machine or the OOM killer stops it: nothing runs after."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


class Product:
    def __init__(self, sandbox, workdir: Path, *, sqs=None) -> None:
        from django.contrib.auth import get_user_model
        from django.test import Client

        from core.roles import OPERATORS, setup_roles

        self.sandbox = sandbox
        self.sqs = sqs
        self.workdir = workdir
        # What handling the notifications did, since a row last emptied it.
        self.notification_outcomes: Counter = Counter()
        self.operator = get_user_model().objects.create_user(username="operator")
        self.operator.groups.add(setup_roles()[OPERATORS])
        self.client = Client(SERVER_NAME="127.0.0.1")
        self.client.force_login(self.operator)
        self.account = self._connect()

    # Pages

    def page(self, path: str) -> str:
        response = self.client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        return response.content.decode()

    def _post(self, path: str, data: dict | None = None) -> None:
        response = self.client.post(path, data or {})
        if response.status_code not in (200, 302):
            raise RuntimeError(f"POST {path} answered {response.status_code}")

    def _connect(self):
        from amazon_settings.models import SellerAccount

        started = self.client.post("/settings/connect/", {"region": REGION})
        self.client.get(consent_in_browser(started["Location"]))
        return SellerAccount.objects.get(selling_partner_id=SELLER, region=REGION)

    def renew_access(self) -> None:
        """Settings » Renew access, then Confirm on Amazon's consent page."""
        started = self.client.post(f"/settings/accounts/{self.account.pk}/renew/")
        self.client.get(consent_in_browser(started["Location"]))

    def test_connection(self) -> None:
        self._post(f"/settings/accounts/{self.account.pk}/test/")

    # Reports

    def request(self, kind_key: str, start: datetime, end: datetime):
        """Reports » Request for the range (its service, as the page calls it). The worker
        task it hands out runs at once (django-q2 runs tasks inline here): it sends the
        report."""
        from reports.services.requesting import request_reports

        self.account.refresh_from_db()
        (report,) = request_reports(
            self.account,
            kind_key=kind_key,
            marketplace_ids=list(
                self.account.marketplaces.values_list("marketplace_id", flat=True)
            ),
            start=start,
            end=end,
            acting_user=self.operator,
        )
        report.refresh_from_db()
        return report

    def reset(self, report) -> None:
        """Processing » Reset: the report is imported again."""
        self._post(f"/reports/{report.pk}/reset/")

    def minutes_pass(self) -> None:
        """Between two faults minutes pass: the product's rate-limit buckets for Amazon are
        full again (Amazon allows 15 createReport calls at once, then one a minute)."""
        from amazon_settings.models import RateLimitBucket

        RateLimitBucket.objects.all().delete()

    def time_passes(self, reports: Iterable) -> None:
        """The backoff of waiting reports is over (see the module docstring)."""
        from django.db import DatabaseError
        from django.utils import timezone

        from reports.models import Report

        now = timezone.now()
        try:
            Report.objects.filter(
                pk__in=[r.pk for r in reports],
                import_status__in=Report.UNFINISHED,
                next_attempt_at__gt=now,
            ).update(next_attempt_at=now)
        except DatabaseError as error:  # the database is locked (a fault): time passes anyway
            logger.info("time_passes: %s", error)

    def drive(self, reports: list, *, seconds: float = DRIVE_SECONDS, push: bool = False) -> None:
        """Worker passes until every report is finished, the seller has something to do, or
        `seconds` are over. With `push`, the notification consumer runs too (a poll of the
        queue before each pass)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for report in reports:
                report.refresh_from_db()
            if all(r.is_finished for r in reports) or any(self.seller_action(r) for r in reports):
                return
            if push:
                self.consume(wait_seconds=0)
            self.time_passes(reports)
            worker_pass()
            time.sleep(STEP_PAUSE_SECONDS)

    # Push

    def consume(self, *, wait_seconds: int = 1) -> Counter:
        """One poll of the notification queue by the consumer; what handling did."""
        from reports.services.notifications import consume_notifications

        outcomes = consume_notifications(wait_seconds=wait_seconds).outcomes
        self.notification_outcomes.update(outcomes)
        return outcomes

    def drain_notifications(self) -> None:
        """The consumer polls until the queue is empty: what the rows before pushed, or the
        rest of a row's own."""
        while self.consume():
            pass

    def push_pass(self) -> None:
        """What the worker's push schedule runs."""
        from reports import tasks

        tasks.push_pass()

    def drive_to_download(self, report, *, seconds: float = DRIVE_SECONDS) -> None:
        """The worker's steps until Amazon has finished the report and the download is next
        (the pipeline's `stop_at`, for a fault that must strike the document)."""
        from reports.models import Report
        from reports.services import pipeline

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            report.refresh_from_db()
            if report.is_finished or report.import_status == Report.ImportStatus.DOWNLOADING:
                return
            self.time_passes([report])
            pipeline.advance_report(report.pk, stop_at=Report.ImportStatus.DOWNLOADING)
            time.sleep(STEP_PAUSE_SECONDS)

    # The seller and the operator

    def seller_action(self, report) -> str | None:
        """What the pages tell the seller or operator to do about `report` now, if anything:
        Processing's problem for the report, and Settings' status of the account."""
        from amazon_settings.selectors import connection_status
        from reports.models import Report

        self.account.refresh_from_db()
        if not self.account.is_usable:
            # Settings says what to do; the report says "renew access in Settings" until the
            # worker next tries it, so it is Settings that is read.
            key = connection_status(self.account).key
            return FIX_APP_CREDENTIALS if key == "client_rejected" else RENEW
        if report.import_status in (Report.ImportStatus.FAILED, Report.ImportStatus.NO_DATA):
            return REQUEST_AGAIN
        if not report.is_finished and report.stuck_since is not None:
            return SKIP_AND_REQUEST
        return None

    def act(self, action: str, report):
        """Do `action` through the product's pages; returns the report to follow (a new one
        when the range is requested again)."""
        if action == RENEW:
            self.renew_access()
            return report
        if action == FIX_APP_CREDENTIALS:
            # The operator puts the secret Amazon accepts into the configuration; the sandbox
            # accepting ours again is the same thing seen from Amazon.
            self.sandbox.control("app", {"client_secret_accepted": True})
            self.test_connection()
            return report
        if action == SKIP_AND_REQUEST:
            self._post(f"/reports/{report.pk}/skip/")
        # The seller asks minutes after the failure, not in the same second.
        self.minutes_pass()
        return self.request(_kind_key(report), report.data_start, report.data_end)

    # Worker processes

    def start_worker(self, env: dict[str, str] | None = None) -> WorkerProcess:
        log = (self.workdir / "worker.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "scripts.fault_matrix.worker"],
            cwd=BASE_DIR,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return WorkerProcess(process)

    # Between rows

    def tidy_up(self, reports: Iterable) -> None:
        """Undo a row's fault so the next row starts clean, whatever the row left: faults
        disarmed, the app's secret accepted, access renewed (a row may have revoked it without
        the account showing it, when its handler is broken), and the row's unfinished reports
        skipped (as a seller tidies Processing)."""
        from reports.services import actions

        self.sandbox.control("faults", method="DELETE")
        self.sandbox.control("app", {"client_secret_accepted": True})
        self.renew_access()
        for report in reports:
            report.refresh_from_db()
            if not report.is_finished:
                actions.skip_report(report, acting_user=self.operator)


def worker_pass() -> None:
    """What the worker's schedules run: the heartbeat (it resumes interrupted imports) and the
    pass that claims due reports, advanced here. An error ends the pass as it ends a django-q2
    task: logged, and the next pass goes on."""
    from reports import tasks
    from reports.services import worker

    try:
        tasks.heartbeat()
        worker.tick(inline=True)
    except Exception:
        logger.exception("a worker pass failed")


def _kind_key(report) -> str:
    from reports.catalog import CATALOG

    return next(k.key for k in CATALOG if report.report_type in k.all_report_types)


def start(workdir: Path) -> Product:
    """Start a local SQS server and the sandbox publishing to it, give the product a fresh
    database pointed at both, set up an operator and connect the EU demo seller through
    Settings (which subscribes it to Amazon's notifications)."""
    sys.path.insert(0, str(BASE_DIR))
    from tests.sandbox_server import SandboxServer
    from tests.sqs_server import SqsServer

    sqs = SqsServer.start(workdir / "sqs")
    queue_url, _ = sqs.create_queue(NOTIFICATION_QUEUE)
    try:
        sandbox = SandboxServer.start(
            workdir / "sandbox",
            time_factor=120,
            env={
                "SANDBOX_SQS_ENDPOINT_URL": sqs.endpoint_url,
                "SANDBOX_NOTIFICATION_INTERVAL_SECONDS": "0.1",
            },
        )
    except Exception:
        sqs.stop()
        raise
    os.environ.update(
        product_environment(
            workdir, sandbox.base_url, sqs_endpoint=sqs.endpoint_url, queue_url=queue_url
        )
    )
    (workdir / "var").mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    return Product(sandbox, workdir, sqs=sqs)

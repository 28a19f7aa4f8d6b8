"""The rows of the fault matrix: one function per fault.

Every row imports MFN orders (and one row also VCS Lite data) of a range of its own while its
fault strikes, lets the worker's passes run, follows what the pages tell the seller and the
operator (`Matrix.follow`), and tallies the database against the sandbox's ground truth. Each
row names the actions its fault calls for (`allowed`): a recovery that needed more, say a
seller requesting again after a mere 500, is a failure too. And each row names the break
(`breaks.py`) that takes its handler away, under which it must fail.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from scripts.fault_matrix import product as p
from scripts.fault_matrix.breaks import BREAKS, ENV_VARIABLE, broken
from scripts.fault_matrix.truth import (
    VAT_LOOK_BACK,
    Tally,
    ground_truth,
    mfn_report_orders,
    tally_orders,
    vat_transactions,
    with_invoices,
)

MFN = "mfn_orders_eu"
VCS_LITE = "vcs_lite"
# Every row's range lies within the 60 days Amazon keeps order reports for.
RANGE = timedelta(days=2)
# A row's range holds at least this many reported orders (see Matrix.next_range).
MIN_ORDERS_PER_RANGE = 2
RANGE_SEARCH_STEP = timedelta(hours=12)
RANGE_SEARCH_STEPS = 20
# Rounds of "the seller does what the page says" before a row gives up.
ROUNDS = 3


@dataclass
class Row:
    fault: str
    path: str  # the report's states, and the actions taken between them
    tally: Tally
    actions: list[str]
    allowed: tuple[str, ...]
    recovery: str = ""  # timings, where the row measures them
    problem: str = ""  # a check of the row itself that failed
    key: str = ""  # the row's key (`Fault.key`)

    @property
    def extra_actions(self) -> list[str]:
        return [a for a in self.actions if a not in self.allowed]

    @property
    def ok(self) -> bool:
        return self.tally.ok and not self.problem and not self.extra_actions


def describe(report) -> str:
    report.refresh_from_db()
    note = report.failure_reason
    if not report.is_finished and report.stuck_since is not None:
        note = "stuck"
    return f"{report.import_status} ({note})" if note else report.import_status


class Matrix:
    """The product and the sandbox, with what every row needs."""

    def __init__(self, product: p.Product) -> None:
        from django.utils import timezone

        self.product = product
        self.sandbox = product.sandbox
        # The environment of the worker processes a row starts: the row's break, if any.
        self.worker_env: dict[str, str] = {}
        # Each row gets a range of its own, further back for each row, so ranges never overlap.
        self.anchor = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=1)

    def next_range(self) -> tuple[datetime, datetime]:
        """The row's range: the next one back from the previous row's that holds orders an MFN
        report lists. Which days hold orders depends on today's date; a range without any
        would end "no data" and test nothing (a row that needs a document could not even
        run), so an empty stretch is skipped, half a day at a time."""
        end = self.anchor
        for _ in range(RANGE_SEARCH_STEPS):
            start = end - RANGE
            sold = mfn_report_orders(ground_truth(self.sandbox, p.SELLER, p.REGION, start, end))
            if len(sold) >= MIN_ORDERS_PER_RANGE:
                self.anchor = start
                return start, end
            end -= RANGE_SEARCH_STEP
        raise RuntimeError(f"no {RANGE} with orders in the sandbox's history before {end}")

    def arm(self, **fault) -> None:
        self.sandbox.control("faults", fault)

    def follow(self, report, *, push: bool = False) -> tuple[object, str, list[str]]:
        """Drive `report` (with the notification consumer running, with `push`) and do what
        the pages say until it needs nobody. Returns the report finally followed, the path
        ("failed (bad_document) → request again → imported") and the actions taken."""
        path, actions = [], []
        for _ in range(ROUNDS):
            self.product.drive([report], push=push)
            action = self.product.seller_action(report)
            if action is None:
                break
            path += [describe(report), action]
            actions.append(action)
            report = self.product.act(action, report)
        else:
            self.product.drive([report], push=push)
        path.append(describe(report))
        return report, " → ".join(path), actions

    def orders_tally(self, start: datetime, end: datetime) -> Tally:
        sold = mfn_report_orders(ground_truth(self.sandbox, p.SELLER, p.REGION, start, end))
        return tally_orders(self.product.account, sold)

    def unused_faults(self) -> str:
        left = self.sandbox.control("faults")["faults"]
        return f"the fault did not strike ({left[0]['kind']} still armed)" if left else ""


def simple(m: Matrix, start: datetime, end: datetime, fault: str, *, allowed=(), **arm) -> Row:
    """Arm one sandbox fault, request the range and follow the report."""
    m.arm(**arm)
    report = m.product.request(MFN, start, end)
    report, path, actions = m.follow(report)
    return Row(
        fault,
        path,
        m.orders_tally(start, end),
        actions,
        allowed,
        problem=m.unused_faults(),
    )


def worker_killed_mid_import(m: Matrix, start: datetime, end: datetime) -> Row:
    """SIGKILL to the worker once the import of a report of several batches has committed some
    of them: the report's page must say that the import was interrupted and resumes, as soon
    as the import's short lease has run out (not the report's long one), and a worker started
    again must go on from the last committed batch.

    Its range is its own: the last hour, in which it places 4,000 orders."""
    from django.utils import timezone

    fault = "worker killed mid-import (SIGKILL)"
    product = m.product
    for _ in range(4):
        m.sandbox.control(
            f"sellers/{p.SELLER}/orders", {"region": p.REGION, "count": 1000, "fulfillment": "MFN"}
        )
    m.sandbox.advance_clock(11 * 60)  # the orders are paid, so the order report lists them
    # Whole seconds, after the orders placed a moment ago.
    end = timezone.now().replace(microsecond=0) + timedelta(seconds=1)
    start = end - timedelta(hours=1)
    report = product.request(MFN, start, end)
    problem = _kill_once_importing(product.start_worker(m.worker_env), report)
    if problem:
        return Row(fault, describe(report), m.orders_tally(start, end), [], (), problem=problem)
    line, lines = report.imported_through_line, report.rows_total + 1
    path = [f"{describe(report)}: killed after line {line:,} of {lines:,}"]
    said_after = _wait_for_interrupted_page(product, report)
    if said_after is None:
        problem = "the report's page never said that the import was interrupted and resumes"
    else:
        path.append("page: interrupted, resuming")
    resumed, done = _resume(product.start_worker(m.worker_env), report, after_line=line)
    path.append(describe(report))
    if done is None:
        problem = problem or "not resumed: the report is still importing"
    timings = []
    if said_after is not None:
        timings.append(
            f"the page said so {said_after:.1f} s after the kill (import lease "
            f"{p.IMPORT_LEASE_SECONDS} s here; the report's lease {p.REPORT_LEASE_SECONDS} s)"
        )
    if resumed is not None:
        timings.append(f"a new worker committed its first batch {resumed:.1f} s after it started")
    if done is not None:
        timings.append(f"and finished after {done:.1f} s")
    return Row(
        fault,
        " → ".join(path),
        m.orders_tally(start, end),
        [],
        (),
        recovery="; ".join(timings) or "no worker resumed it",
        problem=problem,
    )


def _kill_once_importing(worker: p.WorkerProcess, report) -> str:
    """Kill `worker` as soon as the report's import has committed a batch and not the last;
    returns what went wrong, if anything ("" when the kill landed mid-import)."""
    from reports.models import Report

    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            report.refresh_from_db()
            if report.is_finished:
                return "the kill came too late: the import had finished"
            if (
                report.import_status == Report.ImportStatus.IMPORTING
                and 0 < report.rows_done < report.rows_total
            ):
                worker.kill()
                report.refresh_from_db()
                return ""
            time.sleep(0.005)
        return "the import did not start in time"
    finally:
        worker.kill()


def _wait_for_interrupted_page(product: p.Product, report) -> float | None:
    """Seconds from now until the report's page says that the import was interrupted and
    resumes (once the killed worker's import lease has run out), or None when it does not say
    so within a few seconds of that lease."""
    began = time.monotonic()
    deadline = began + p.IMPORT_LEASE_SECONDS + 5
    while time.monotonic() < deadline:
        page = product.page(f"/reports/{report.pk}/")
        if "Interrupted after line" in page and "resuming from there" in page:
            return time.monotonic() - began
        time.sleep(0.2)
    return None


def _resume(worker: p.WorkerProcess, report, *, after_line: int) -> tuple[float | None, ...]:
    """Seconds from `worker`'s start until the import committed a batch after `after_line`,
    and until the report finished (None: not within 15 s); the worker is killed after."""
    started = time.monotonic()
    resumed = None
    try:
        while time.monotonic() < started + 15:
            report.refresh_from_db()
            if resumed is None and report.imported_through_line > after_line:
                resumed = time.monotonic() - started
            if report.is_finished:
                return resumed, time.monotonic() - started
            time.sleep(0.05)
        return resumed, None
    finally:
        worker.kill()


def throttled(m, start, end):
    return simple(
        m, start, end, "429 burst (3 calls)", kind="throttle", operation="createReport", count=3
    )


def error_500(m, start, end):
    return simple(
        m, start, end, "500 on getReport (2 calls)", kind="error500", operation="getReport", count=2
    )


def error_503(m, start, end):
    return simple(
        m, start, end, "503 on getReportDocument", kind="error503", operation="getReportDocument"
    )


def timeout(m, start, end):
    return simple(
        m,
        start,
        end,
        "timeout on getReport",
        kind="timeout",
        operation="getReport",
        hold_seconds=p.SPAPI_TIMEOUT_SECONDS + 1,
    )


def expired_url(m, start, end):
    return simple(
        m, start, end, "expired download URL", kind="expire_url", operation="downloadDocument"
    )


def connection_refused(m: Matrix, start: datetime, end: datetime) -> Row:
    """Amazon is out of reach (nothing listens) for the request and two worker passes."""
    from django.conf import settings
    from django.test import override_settings

    nowhere = {region: f"http://127.0.0.1:9/{region}" for region in settings.SPAPI_ENDPOINTS}
    with override_settings(SPAPI_ENDPOINTS=nowhere):
        report = m.product.request(MFN, start, end)
        for _ in range(2):
            m.product.time_passes([report])
            p.worker_pass()
    report, path, actions = m.follow(report)
    return Row("connection refused", path, m.orders_tally(start, end), actions, ())


def damaged_document(fault: str, corruption: str) -> Callable[[Matrix, datetime, datetime], Row]:
    def run(m: Matrix, start: datetime, end: datetime) -> Row:
        """The document is damaged at Amazon; the report must fail and say so, and the range
        requested again imports it."""
        report = m.product.request(MFN, start, end)
        m.product.drive_to_download(report)
        m.sandbox.control(f"documents/{report.amazon_document_id}", {"corruption": corruption})
        allowed = (p.REQUEST_AGAIN,)
        report, path, actions = m.follow(report)
        return Row(fault, path, m.orders_tally(start, end), actions, allowed)

    return run


def wrong_charset_label(m: Matrix, start: datetime, end: datetime) -> Row:
    """Amazon labels a Cp1252 document UTF-8: the product must find the charset that decodes
    it, on its own."""
    first = m.product.request(MFN, start, end)
    m.product.drive_to_download(first)
    m.sandbox.control(f"documents/{first.amazon_document_id}", {"served_charset": "UTF-8"})
    _, path, actions = m.follow(first)
    first.refresh_from_db()
    with first.raw_file.open("rb") as stored:
        plain_ascii = stored.read().isascii()
    problem = "the document was plain ASCII: the wrong label did not matter" if plain_ascii else ""
    return Row(
        "Cp1252 document labelled UTF-8",
        path,
        m.orders_tally(start, end),
        actions,
        (),
        problem=problem,
    )


def ended_at_amazon(
    fault: str, kind: str, action: str
) -> Callable[[Matrix, datetime, datetime], Row]:
    def run(m: Matrix, start: datetime, end: datetime) -> Row:
        """Amazon never finishes the report, or ends it FATAL or CANCELLED: the page must tell
        the seller, who then requests the range again (skipping the stuck report first)."""
        return simple(m, start, end, fault, allowed=(action,), kind=kind)

    return run


def authorization_revoked(m: Matrix, start: datetime, end: datetime) -> Row:
    """The seller removes the app in Seller Central once the report is sent: Settings must
    offer to renew access, and renewing must let the same report finish."""
    report = m.product.request(MFN, start, end)
    m.sandbox.control(f"sellers/{p.SELLER}/revoke", {"region": p.REGION})
    allowed = (p.RENEW,)
    report, path, actions = m.follow(report)
    return Row("authorization revoked mid-run", path, m.orders_tally(start, end), actions, allowed)


def client_secret_rejected(m: Matrix, start: datetime, end: datetime) -> Row:
    """Login with Amazon rejects the app's secret once the access token in use has expired
    (an hour later on Amazon's clock): Settings must tell the operator, and a new secret and
    Test connection must let the same report finish."""
    report = m.product.request(MFN, start, end)
    m.sandbox.control("app", {"client_secret_accepted": False})
    m.sandbox.advance_clock(3600)
    allowed = (p.FIX_APP_CREDENTIALS,)
    report, path, actions = m.follow(report)
    return Row("client secret rejected", path, m.orders_tally(start, end), actions, allowed)


def database_locked(m: Matrix, start: datetime, end: datetime) -> Row:
    """Another process holds the database's write lock for 3 s while a worker is in the middle
    of its download step (it holds the report's lease): the step must wait and go on."""
    from django.conf import settings
    from django.db import connections

    from reports.models import Report

    report = m.product.request(MFN, start, end)
    m.product.drive_to_download(report)
    # The download answers after a second, so the lock is taken while the step is under way.
    m.arm(kind="timeout", operation="downloadDocument", hold_seconds=1)
    m.product.time_passes([report])

    def one_pass() -> None:
        try:
            p.worker_pass()
        finally:
            connections.close_all()

    step = threading.Thread(target=one_pass)
    step.start()
    deadline = time.monotonic() + 10
    leased = False
    while time.monotonic() < deadline and step.is_alive() and not leased:
        leased = Report.objects.filter(pk=report.pk).exclude(lease_id="").exists()
        time.sleep(0.01)
    holder = sqlite3.connect(settings.DATABASES["default"]["NAME"], timeout=30)
    holder.execute("BEGIN EXCLUSIVE")
    time.sleep(3)
    holder.rollback()
    holder.close()
    released = time.monotonic()
    step.join()
    went_on = time.monotonic() - released
    report, path, actions = m.follow(report)
    return Row(
        "database locked for 3 s mid-step",
        path,
        m.orders_tally(start, end),
        actions,
        (),
        recovery=f"the step ended {went_on:.1f} s after the lock was let go",
        problem=m.unused_faults() or ("" if leased else "the lock came when no step was under way"),
    )


def imported_twice(m: Matrix, start: datetime, end: datetime) -> Row:
    """The seller resets imported MFN and VCS Lite reports ("import again"): the same lines
    arrive twice, and no line, unit or invoice may be doubled."""
    product = m.product
    reports = [product.request(kind, start, end) for kind in (MFN, VCS_LITE)]
    paths, actions = [], []
    for report in reports:
        report, path, taken = m.follow(report)
        product.reset(report)
        report, again, more = m.follow(report)
        paths.append(f"{path} → reset → {again}")
        actions += taken + more
    truth = ground_truth(m.sandbox, p.SELLER, p.REGION, start - VAT_LOOK_BACK, end)
    tally = with_invoices(
        m.orders_tally(start, end), product.account, vat_transactions(truth, start, end)
    )
    return Row("same reports imported twice (Reset)", "; ".join(paths), tally, actions, ())


def _handled(product: p.Product) -> str:
    outcomes = product.notification_outcomes
    return ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())) or "none"


def _imports_of(report) -> int:
    from reports.models import ReportEvent

    return ReportEvent.objects.filter(report=report, message__startswith="Imported ").count()


def _imported_once(report) -> str:
    """The row's check for a notification that came twice or late: one import, not more."""
    imports = _imports_of(report)
    return "" if imports == 1 else f"the report was imported {imports} times"


def notification_dropped(m: Matrix, start: datetime, end: datetime) -> Row:
    """Amazon's notification never reaches the queue (a queue policy that keeps Amazon out
    fails silently): the worker's check must import the report all the same, and Settings
    must say that push is not working, with the likely cause, once the grace period is over."""
    product = m.product
    product.drain_notifications()  # the notifications of the rows before: push works
    product.notification_outcomes.clear()
    m.arm(kind="notification_drop")
    report = product.request(MFN, start, end)
    report, path, actions = m.follow(report, push=True)
    problem = m.unused_faults()
    said_after = None
    began = time.monotonic()
    while not problem and time.monotonic() < began + p.PUSH_GRACE_SECONDS + 10:
        product.consume(wait_seconds=0)  # the consumer is running: the cause is the queue's
        product.push_pass()
        if "Push is not working" in product.page("/settings/"):
            said_after = time.monotonic() - began
            break
        time.sleep(0.2)
    if not problem and said_after is None:
        problem = "Settings never said that push is not working"
    return Row(
        "notification dropped",
        f"{path} (notifications handled: {_handled(product)})",
        m.orders_tally(start, end),
        actions,
        (),
        recovery=(
            f"Settings said push is not working {said_after:.1f} s after the import "
            f"(grace {p.PUSH_GRACE_SECONDS} s)"
            if said_after is not None
            else ""
        ),
        problem=problem,
    )


def notification_duplicated(m: Matrix, start: datetime, end: datetime) -> Row:
    """Amazon's notification arrives twice (SQS delivers at least once), the second copy ten
    minutes later, after the report was imported: the report must be imported once, and both
    copies must leave the queue. (Two copies side by side would not tell: while the first one's
    report waits for the worker, the second finds nothing to do, with or without the guard.)"""
    from django.conf import settings

    product = m.product
    product.drain_notifications()
    product.notification_outcomes.clear()
    m.arm(kind="notification_duplicate", hold_seconds=600)
    report = product.request(MFN, start, end)
    report, path, actions = m.follow(report, push=True)
    handled_before = sum(product.notification_outcomes.values())
    m.sandbox.advance_clock(600)  # the second copy is sent now
    deadline = time.monotonic() + 15
    while (
        sum(product.notification_outcomes.values()) == handled_before
        and time.monotonic() < deadline
    ):
        product.consume()
    product.drain_notifications()
    left = product.sqs.messages(settings.PUSH_SQS_QUEUE_URL)
    problem = m.unused_faults() or _imported_once(report)
    if not problem and sum(product.notification_outcomes.values()) == handled_before:
        problem = "the second copy never came"
    if not problem and left:
        problem = f"{left} notifications stayed in the queue"
    return Row(
        "notification twice",
        f"{path} (notifications handled: {_handled(product)})",
        m.orders_tally(start, end),
        actions,
        (),
        problem=problem,
    )


def notification_delayed(m: Matrix, start: datetime, end: datetime) -> Row:
    """Amazon's notification comes ten minutes late, after the worker's check imported the
    report (so after the notifications of later reports): it must change nothing."""
    from reports.models import ReportNotification

    product = m.product
    product.drain_notifications()
    product.notification_outcomes.clear()
    m.arm(kind="notification_delay", hold_seconds=600)
    report = product.request(MFN, start, end)
    report, path, actions = m.follow(report, push=True)
    m.sandbox.advance_clock(600)  # the notification is sent now
    late = ReportNotification.objects.filter(amazon_report_id=report.amazon_report_id)
    deadline = time.monotonic() + 15
    while not late.exists() and time.monotonic() < deadline:
        product.consume()
    problem = m.unused_faults() or ("" if late.exists() else "the late notification never came")
    problem = problem or _imported_once(report)
    report.refresh_from_db()
    return Row(
        "notification 10 min late",
        f"{path} → late notification → {describe(report)} "
        f"(notifications handled: {_handled(product)})",
        m.orders_tally(start, end),
        actions,
        (),
        problem=problem,
    )


@dataclass(frozen=True)
class Fault:
    key: str  # for --only
    run: Callable[[Matrix, datetime, datetime], Row]
    defeated_by: str  # the key of BREAKS whose break must make this row fail


FAULTS: tuple[Fault, ...] = (
    # First: it places orders "now", before any row moves the sandbox's clock ahead.
    Fault("kill", worker_killed_mid_import, "leases_never_lapse"),
    Fault("429", throttled, "no_retry"),
    Fault("500", error_500, "no_retry"),
    Fault("503", error_503, "no_retry"),
    Fault("timeout", timeout, "no_retry"),
    Fault("expired-url", expired_url, "expired_url_final"),
    Fault("refused", connection_refused, "no_retry"),
    Fault("truncated", damaged_document("truncated gzip", "truncate"), "damage_unnoticed"),
    Fault("corrupt", damaged_document("corrupt gzip", "corrupt"), "damage_unnoticed"),
    Fault("charset", wrong_charset_label, "charset_label_trusted"),
    Fault(
        "stuck",
        ended_at_amazon("report stuck for hours", "report_stuck", p.SKIP_AND_REQUEST),
        "stuck_unflagged",
    ),
    Fault(
        "fatal", ended_at_amazon("FATAL", "report_fatal", p.REQUEST_AGAIN), "final_states_ignored"
    ),
    Fault(
        "cancelled",
        ended_at_amazon("CANCELLED", "report_cancelled", p.REQUEST_AGAIN),
        "final_states_ignored",
    ),
    Fault("revoked", authorization_revoked, "auth_unnoticed"),
    Fault("secret", client_secret_rejected, "auth_unnoticed"),
    Fault("database", database_locked, "database_lock_unhandled"),
    Fault("twice", imported_twice, "keys_per_import"),
    Fault("push-dropped", notification_dropped, "check_leaves_waiting_to_push"),
    Fault("push-twice", notification_duplicated, "notification_reimports"),
    Fault("push-late", notification_delayed, "notification_reimports"),
)


def run(
    product: p.Product, *, only: set[str] | None = None, break_handlers: bool = False
) -> list[Row]:
    """Run the rows (those of `only`, by key, if given) in order; with `break_handlers`, each
    under the break that takes its handler away."""
    from reports.models import Report

    matrix = Matrix(product)
    rows = []
    for fault in FAULTS:
        if only is not None and fault.key not in only:
            continue
        start, end = matrix.next_range()
        product.minutes_pass()
        before = set(Report.objects.values_list("pk", flat=True))
        name = fault.defeated_by if break_handlers else None
        matrix.worker_env = {ENV_VARIABLE: name, **BREAKS[name].env} if name else {}
        try:
            with broken(name):
                row = fault.run(matrix, start, end)
            row.key = fault.key
        finally:
            product.tidy_up(Report.objects.exclude(pk__in=before))
        rows.append(row)
    return rows

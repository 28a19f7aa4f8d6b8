"""The background worker: its pass over the accounts (`tick`), its heartbeat, and the django-q2
schedules that run them, registered in code so that every deploy has the same ones.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, connections
from django.db.models import F
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from amazon_settings.exceptions import AccountNotConnected
from amazon_settings.models import SellerAccount
from amazon_settings.spapi import SpApiError
from reports.models import Report, WorkerHeartbeat
from reports.services import cadences
from reports.services.discovery import discover_reports
from reports.services.pipeline import advance_report
from reports.services.requesting import request_due_types
from reports.services.transitions import claim_reports, enqueue_reports, hand_out

logger = logging.getLogger(__name__)


def record_worker_heartbeat(*, name: str = WorkerHeartbeat.WORKER) -> WorkerHeartbeat:
    """Note that the worker ran now. Idempotent: one row per name, moved forward."""
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"last_seen_at": timezone.now()}
    )
    return heartbeat


def yield_cpu_to_the_web(**_signal: object) -> None:
    """django-q2's `post_spawn` receiver: each worker process runs at WORKER_NICENESS, so that
    where the worker shares the CPUs with the web server, an import takes what the pages leave
    instead of making every page wait behind it. Never raises the priority (a process may not)."""
    niceness = settings.WORKER_NICENESS
    if niceness > os.getpriority(os.PRIO_PROCESS, 0):
        os.setpriority(os.PRIO_PROCESS, 0, niceness)


def resume_interrupted_imports() -> int:
    """Hand out the imports whose worker stopped mid-way (their short import lease ran out), so
    they go on within about a minute instead of at the next pass. Run with the heartbeat,
    every minute. Returns how many were handed out."""
    stopped = Report.objects.filter(
        import_status=Report.ImportStatus.IMPORTING, leased_until__lte=timezone.now()
    ).values_list("pk", flat=True)
    return enqueue_reports(stopped)


# The row whose `last_seen_at` is the moment the running pass's hold on the accounts ends: of
# two passes that overlap (a pass over many accounts that outlasts the interval, a second
# worker), only one does the per-account work.
ACCOUNT_WORK_NAME = "worker-account-work"
# Longer than any pass can run: django-q2 stops a task after its timeout (settings.Q_CLUSTER).
ACCOUNT_WORK_HOLD = timedelta(minutes=10)


def tick(*, inline: bool = False) -> int:
    """One pass of the worker: advance the due reports, then request what is due, discover, and
    advance what that made due.

    The reports already due are handed out first, so they never wait behind the calls the pass
    makes per account; a report discovery registers is handed out at once. The per-account work
    is bounded (`PassBudget`: settings.WORKER_ACCOUNTS_PER_PASS accounts, four fifths of an
    interval); the accounts left over stay due and come first next time. Of two passes that
    overlap, only one does the per-account work (`ACCOUNT_WORK_NAME`); the other only hands out
    due reports.

    Idempotent and cheap when nothing is due: discovery looks only at accounts whose discovery
    cursor is due, the automatic requests only at the report types whose cadence is due
    (`requesting.request_due_types`). With `inline`, the due reports are advanced here instead
    of by separate tasks. Returns the number of reports handed out.
    """
    record_worker_heartbeat()
    handed_out = _advance_due(inline=inline)
    now = timezone.now()
    if not _take_pass(now):
        return handed_out
    shared_out_until = None
    try:
        budget = PassBudget.for_interval()
        cadences.ensure_cadences_of_active_accounts(now=now)
        # The automatic requests (and Amazon-side schedules) first, in the first half of the
        # budget's time; discovery, the safety net, in what is left.
        request_due_types(now=now, limit=budget.accounts, until=budget.halfway)
        cadences.cancel_paused_schedules()
        found, shared_out_until = _discover(now=now, budget=budget, inline=inline)
        handed_out += found
    finally:
        # Discovery handed to a task holds the accounts until the task stops.
        _end_pass(at=shared_out_until)
    return handed_out + _advance_due(inline=inline)


@dataclass(frozen=True)
class PassBudget:
    """How much per-account work one pass does at most: `accounts` accounts for each kind of
    work (automatic requests, discovery), until `until` (time.monotonic; `ends_at` on the
    clock, for the task discovery is handed to); the requests until `halfway`."""

    accounts: int
    until: float
    halfway: float
    ends_at: datetime

    @classmethod
    def for_interval(cls) -> PassBudget:
        seconds = max(5.0, settings.WORKER_INTERVAL_SECONDS * 0.8)
        began = time.monotonic()
        return cls(
            max(1, settings.WORKER_ACCOUNTS_PER_PASS),
            began + seconds,
            began + seconds / 2,
            timezone.now() + timedelta(seconds=seconds),
        )

    def spent(self) -> bool:
        return time.monotonic() >= self.until


def _take_pass(now: datetime) -> bool:
    """Hold the per-account work for this pass, unless another pass holds it."""
    WorkerHeartbeat.objects.get_or_create(
        name=ACCOUNT_WORK_NAME, defaults={"last_seen_at": now - timedelta(seconds=1)}
    )
    return bool(
        WorkerHeartbeat.objects.filter(name=ACCOUNT_WORK_NAME, last_seen_at__lte=now).update(
            last_seen_at=now + ACCOUNT_WORK_HOLD
        )
    )


def _end_pass(*, at: datetime | None = None) -> None:
    """Let the next pass do the per-account work, from `at` on (now by default)."""
    WorkerHeartbeat.objects.filter(name=ACCOUNT_WORK_NAME).update(last_seen_at=at or timezone.now())


def _advance_due(*, inline: bool, ids: list[int] | None = None) -> int:
    """Claim the due reports (of `ids` only, if given) and advance each: here with `inline`,
    else by a task each. Returns how many."""
    claimed = claim_reports() if ids is None else claim_reports(ids=ids, limit=len(ids))
    for pk, lease_id in claimed:
        if inline:
            advance_report(pk, lease_id)
        else:
            hand_out(pk, lease_id)
    return len(claimed)


# Discovery goes to a task of its own (`discover_accounts`, checking settings.DISCOVERY_THREADS
# accounts at once) once a pass has this many accounts to check: each check is a getReports
# that waits for Amazon, and one process going through a thousand of them one after the other
# does not get round within an interval. Fewer are checked in the pass itself.
FAN_OUT_FROM = 50
# SQLite has one writer at a time, and each check writes a few times (the rate-limit bucket,
# the call log, the account's cursor): more threads would only queue longer for the file's lock,
# which the imports in the other processes need too, and a write that waits out the busy
# timeout fails. PostgreSQL takes them all.
SQLITE_DISCOVERY_THREADS = 4


def _discover(*, now: datetime, budget: PassBudget, inline: bool) -> tuple[int, datetime | None]:
    """Discovery for the accounts whose check is due, the longest due first, within `budget`:
    in this pass, or, for many accounts (FAN_OUT_FROM) and a worker of several processes, in
    one `discover_accounts` task that checks them in threads and stops at the budget's end.
    What it registers is handed out at once (without `inline`; with it, at the end of the
    pass). Returns how many reports were handed out here, and when the task stops (None
    without a task)."""
    due = (
        SellerAccount.objects.usable()
        .filter(order_import_active=True)
        .exclude(discovery_cursor__next_check_at__gt=now)
        .order_by(F("discovery_cursor__next_check_at").asc(nulls_first=True), "pk")
    )
    account_ids = list(due.values_list("pk", flat=True)[: budget.accounts])
    # The rest of the budget, on the clock (the task runs in another process).
    until = budget.ends_at
    # One task, not one per process: its threads do the waiting for Amazon, and the other
    # processes download and import what they find at once instead of behind the checks
    # (bench-fleet: a found report waited in the queue behind the checks of other accounts).
    if inline or int(settings.Q_CLUSTER.get("workers", 1)) < 2 or len(account_ids) < FAN_OUT_FROM:
        found = discover_accounts(
            account_ids, pass_started_at=now, until=until, hand_out_found=not inline
        )
        return found, None
    async_task(
        "reports.tasks.discover_accounts", account_ids, now, until, group="discover_accounts"
    )
    return 0, until


def discovery_threads() -> int:
    """How many accounts a `discover_accounts` task checks at once: settings.DISCOVERY_THREADS,
    on SQLite at most SQLITE_DISCOVERY_THREADS."""
    threads = max(1, settings.DISCOVERY_THREADS)
    if connection.vendor == "sqlite":
        return min(threads, SQLITE_DISCOVERY_THREADS)
    return threads


def discover_accounts(
    account_ids: list[int],
    *,
    pass_started_at: datetime,
    until: datetime,
    hand_out_found: bool = True,
    threads: int = 1,
) -> int:
    """Discovery for these accounts, taken in this order until `until`: one after the other, or
    up to `threads` at once, each thread taking the next account when its check is done. An
    account checked meanwhile (by a pass that overlapped) is left alone. What it registers is
    handed out at once with `hand_out_found`. Returns how many reports were handed out."""
    accounts = SellerAccount.objects.usable().filter(pk__in=account_ids, order_import_active=True)
    by_pk = {account.pk: account for account in accounts}
    queue = iter([by_pk[pk] for pk in account_ids if pk in by_pk])
    threads = min(threads, len(by_pk))
    if threads <= 1:
        return _check_accounts(
            lambda: next(queue, None),
            pass_started_at=pass_started_at,
            until=until,
            hand_out=hand_out_found,
        )
    # The threads take the accounts from one queue, in order: the longest due first, whichever
    # thread is free.
    taking = threading.Lock()

    def take() -> SellerAccount | None:
        with taking:
            return next(queue, None)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="discovery") as pool:
        futures = [
            pool.submit(
                _check_accounts_in_thread,
                take,
                pass_started_at=pass_started_at,
                until=until,
                hand_out=hand_out_found,
            )
            for _ in range(threads)
        ]
        return sum(future.result() for future in futures)


def _check_accounts_in_thread(
    take: Callable[[], SellerAccount | None],
    *,
    pass_started_at: datetime,
    until: datetime,
    hand_out: bool,
) -> int:
    """`_check_accounts` in a thread of a discovery task's pool, which closes the database
    connections the thread opened: the thread ends with the task, its connections must not
    stay open behind it."""
    try:
        return _check_accounts(
            take, pass_started_at=pass_started_at, until=until, hand_out=hand_out
        )
    finally:
        connections.close_all()


def _check_accounts(
    take: Callable[[], SellerAccount | None],
    *,
    pass_started_at: datetime,
    until: datetime,
    hand_out: bool,
) -> int:
    """Check the accounts `take` gives, one after the other, until it gives None; none is taken
    from `until` on. Returns how many reports were handed out."""
    handed_out = 0
    while timezone.now() < until:
        account = take()
        if account is None:
            break
        try:
            found = discover_reports(account, pass_started_at=pass_started_at)
        except (SpApiError, AccountNotConnected) as error:
            logger.warning("Discovery for %s stopped: %s", account, error)
            continue
        except IntegrityError:
            continue  # an overlapping check registered the same report: it is there
        due_now = [r.pk for r in found if r.next_attempt_at is not None]
        if due_now and hand_out:
            handed_out += _advance_due(inline=False, ids=due_now)
    return handed_out


TICK_LOOP_NAME = "tick-loop"


def run_worker_pass() -> int:
    """What the schedule runs. With an interval of a minute or more, one tick that fans out
    tasks. With a shorter one (the demo), django-q2's scheduler is too coarse (about once a
    minute), so one worker loops for the minute, ticking every interval and advancing the due
    reports itself; a second loop started meanwhile steps aside instead of starving the
    other workers."""
    interval = settings.WORKER_INTERVAL_SECONDS
    if interval >= 60:
        return tick()
    now = timezone.now()
    WorkerHeartbeat.objects.get_or_create(
        name=TICK_LOOP_NAME, defaults={"last_seen_at": now - timedelta(hours=1)}
    )
    took_over = WorkerHeartbeat.objects.filter(
        name=TICK_LOOP_NAME, last_seen_at__lt=now - timedelta(seconds=55)
    ).update(last_seen_at=now)
    if not took_over:
        return 0
    handed_out = 0
    deadline = now + timedelta(seconds=50)
    while True:
        handed_out += tick(inline=True)
        if timezone.now() + timedelta(seconds=interval) >= deadline:
            return handed_out
        _sleep(interval)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    func: str
    seconds: int


def worker_schedules() -> list[ScheduleSpec]:
    interval = settings.WORKER_INTERVAL_SECONDS
    return [
        # The heartbeat runs every minute at most, so "worker alive" is never older than that.
        ScheduleSpec("worker.heartbeat", "reports.tasks.heartbeat", min(interval, 60)),
        # The worker's pass, every 5 minutes by default: discover, request what each report
        # type's cadence makes due, poll, import.
        ScheduleSpec("reports.tick", "reports.tasks.tick", interval),
        # Invoices that waited (for the seller's legal data, for the invoice a credit note
        # corrects) are issued within a pass of the worker; imports issue the rest at once.
        ScheduleSpec("invoices.issue", "orders.tasks.issue_waiting_invoices", interval),
        # Push: subscriptions made, retried and verified, and whether notifications arrive.
        ScheduleSpec("push.check", "reports.tasks.push_pass", interval),
        # E-mail notifications (each occurrence once): a separate task, so that a slow or
        # failing mail server never holds up the pass.
        ScheduleSpec("notifications.email", "reports.tasks.send_notifications", interval),
        # Webhooks: the change log's new events to each subscription, and the retries that are
        # due, every minute (the API app's task; a dotted path, not an import).
        ScheduleSpec("webhooks.deliver", "api.tasks.deliver_webhooks", 60),
        # Data exchange » Log keeps 90 days; pruning once a day keeps the table small.
        ScheduleSpec("log.prune", "amazon_settings.tasks.prune_api_calls", 24 * 60 * 60),
        # Amazon's Data Protection Policy: buyer data and raw documents holding it go after
        # PII_RETENTION_DAYS; checking once a day keeps them at most a day longer.
        ScheduleSpec(
            "privacy.remove_personal_data",
            "reports.tasks.remove_personal_data",
            24 * 60 * 60,
        ),
    ]


def register_schedules() -> list[Schedule]:
    """Create or update every schedule by name. Idempotent: run it on every deploy."""
    registered = []
    for spec in worker_schedules():
        # django-q2 schedules count in whole minutes; sub-minute work is fanned out by the
        # tasks themselves.
        minutes = max(1, spec.seconds // 60)
        schedule, _ = Schedule.objects.update_or_create(
            name=spec.name,
            defaults={"func": spec.func, "schedule_type": Schedule.MINUTES, "minutes": minutes},
        )
        registered.append(schedule)
    return registered

"""A worker pass over many accounts: its per-account work is bounded and spread over passes,
and the reports already due never wait behind it (issue 14, the fleet benchmark: a pass that
called getReports for a thousand accounts one after another outlasted the interval, passes
piled up, and neither the Amazon-side schedules nor the finished reports got their turn)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from amazon_settings.crypto import encrypt_secret
from amazon_settings.models import SellerAccount
from reports import tasks as tasks_module
from reports.models import DiscoveryCursor, Report, WorkerHeartbeat
from reports.services import worker
from reports.services.cadences import ensure_cadences

pytestmark = pytest.mark.django_db

ACCOUNTS = 12
PER_PASS = 5


def add_accounts(count: int, *, discovery_due_at: datetime) -> list[SellerAccount]:
    """Accounts with order import on, their automatic requests looked after for an hour, their
    discovery due from `discovery_due_at` (one second apart, the first the longest due)."""
    later = timezone.now() + timedelta(hours=1)
    accounts = []
    for n in range(count):
        account = SellerAccount.objects.create(
            selling_partner_id=f"A9FLEET{n:07d}",
            region="eu",
            display_name=f"Fleet {n}",
            refresh_token_encrypted=encrypt_secret("Atzr|fleet"),
            status=SellerAccount.Status.CONNECTED,
            order_import_active=True,
        )
        ensure_cadences(account, now=later)
        DiscoveryCursor.objects.create(
            account=account,
            checked_until=discovery_due_at,
            next_check_at=discovery_due_at + timedelta(seconds=n),
        )
        accounts.append(account)
    return accounts


@pytest.fixture
def steps(monkeypatch, settings):
    """What the pass did, in order: ("discover", account id) for each discovery (a stand-in
    for getReports that finds nothing and moves the cursor on, as the real one does) and
    ("hand out", report id) for each report handed to a task."""
    settings.WORKER_ACCOUNTS_PER_PASS = PER_PASS
    settings.WORKER_INTERVAL_SECONDS = 300
    done: list[tuple[str, int]] = []

    def discover(account: SellerAccount, **options) -> list[Report]:
        done.append(("discover", account.pk))
        now = timezone.now()
        DiscoveryCursor.objects.filter(account=account).update(
            checked_until=now, next_check_at=now + timedelta(minutes=5)
        )
        return []

    monkeypatch.setattr(worker, "discover_reports", discover)
    monkeypatch.setattr(worker, "hand_out", lambda pk, lease_id: done.append(("hand out", pk)))
    return done


def finished_report(account: SellerAccount) -> Report:
    """A report Amazon finished, due for its download now."""
    return Report.objects.create(
        account=account,
        report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
        marketplace_ids=["A1PA6795UKMFR9"],
        data_start=datetime(2026, 1, 1, tzinfo=UTC),
        data_end=datetime(2026, 1, 2, tzinfo=UTC),
        amazon_report_id="90000000001",
        amazon_status=Report.AmazonStatus.DONE,
        import_status=Report.ImportStatus.DOWNLOADING,
        next_attempt_at=timezone.now() - timedelta(seconds=1),
    )


def discovered(steps: list[tuple[str, int]]) -> list[int]:
    return [pk for step, pk in steps if step == "discover"]


def test_a_pass_over_many_accounts_bounds_discovery_and_hands_out_due_reports_first(steps):
    accounts = add_accounts(ACCOUNTS, discovery_due_at=timezone.now() - timedelta(hours=1))
    report = finished_report(accounts[-1])

    worker.tick()

    # The finished report went out before any call for the accounts.
    assert steps[0] == ("hand out", report.pk)
    # Discovery for the longest-due accounts, as many as a pass may take.
    assert discovered(steps) == [a.pk for a in accounts[:PER_PASS]]


def test_the_accounts_left_over_come_first_in_the_next_passes(steps):
    accounts = add_accounts(ACCOUNTS, discovery_due_at=timezone.now() - timedelta(hours=1))

    for _ in range(3):
        worker.tick()

    assert discovered(steps) == [a.pk for a in accounts]  # each once, in three passes


def test_a_pass_that_overlaps_a_running_one_only_hands_out_due_reports(steps):
    accounts = add_accounts(ACCOUNTS, discovery_due_at=timezone.now() - timedelta(hours=1))
    report = finished_report(accounts[0])
    # Another pass is busy with the accounts.
    WorkerHeartbeat.objects.create(
        name=worker.ACCOUNT_WORK_NAME, last_seen_at=timezone.now() + timedelta(minutes=5)
    )

    assert worker.tick() == 1

    assert steps == [("hand out", report.pk)]


def test_a_pass_makes_the_automatic_requests_of_a_bounded_number_of_accounts(steps, monkeypatch):
    from reports.models import ReportCadence
    from reports.services import cadences, requesting

    accounts = add_accounts(ACCOUNTS, discovery_due_at=timezone.now() + timedelta(hours=1))
    now = timezone.now()
    ReportCadence.objects.update(next_request_at=now - timedelta(minutes=1))
    requested: list[int] = []
    monkeypatch.setattr(cadences, "sync_amazon_schedule", lambda *args, **kwargs: None)

    def request(cadence, *, now):  # a stand-in: requested, looked at again in an hour
        requested.append(cadence.account_id)
        cadences.reschedule(cadence, next_request_at=now + timedelta(hours=1))
        return []

    monkeypatch.setattr(requesting, "_request_claimed", request)

    worker.tick()
    assert sorted(set(requested)) == [a.pk for a in accounts[:PER_PASS]]
    worker.tick()
    worker.tick()
    assert sorted(set(requested)) == [a.pk for a in accounts]


def test_discovery_looks_at_an_account_with_working_push_after_the_push_grace_period(settings):
    from amazon_settings.models import PushSubscription
    from reports.services.discovery import check_interval

    settings.WORKER_INTERVAL_SECONDS = 60
    settings.PUSH_GRACE_SECONDS = 600
    pushed, failing, polled = add_accounts(3, discovery_due_at=timezone.now())
    PushSubscription.objects.create(account=pushed, state=PushSubscription.State.ACTIVE)
    PushSubscription.objects.create(account=failing, state=PushSubscription.State.FAILING)

    # Notifications bring the reports of the first; the check is its safety net.
    assert check_interval(pushed) == timedelta(minutes=10)
    assert check_interval(failing) == check_interval(polled) == timedelta(minutes=1)


def test_many_accounts_go_to_one_discovery_task(steps, monkeypatch, settings):
    # One process calling getReports for hundreds of accounts one after the other does not
    # get round within an interval (the fleet benchmark's polling-only sellers): the pass hands
    # them to one task, which checks them in threads, so that the other processes are free
    # for the reports the checks find (split over a task per process, a found report waited
    # in the queue behind the other tasks' checks).
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": 4}
    monkeypatch.setattr(worker, "FAN_OUT_FROM", 4)
    accounts = add_accounts(ACCOUNTS, discovery_due_at=timezone.now() - timedelta(hours=1))
    tasks: list[tuple] = []
    monkeypatch.setattr(
        worker, "async_task", lambda func, *args, **kwargs: tasks.append((func, *args))
    )
    # The automatic requests before it took a while (a hundred seconds of the pass's 240):
    # the task still gets the rest of the budget from when it is handed out.
    spent = timedelta(seconds=100)
    real_now, real_monotonic = timezone.now, time.monotonic
    began = real_now()

    def requests_take_a_while(**kwargs) -> None:
        monkeypatch.setattr(worker.timezone, "now", lambda: real_now() + spent)
        monkeypatch.setattr(worker.time, "monotonic", lambda: real_monotonic() + 100)

    monkeypatch.setattr(worker, "request_due_types", requests_take_a_while)

    worker.tick()
    monkeypatch.setattr(worker.timezone, "now", real_now)
    monkeypatch.setattr(worker.time, "monotonic", real_monotonic)

    assert discovered(steps) == []  # nothing in the pass itself
    assert len(tasks) == 1
    func, account_ids, started, until = tasks[0]
    assert func == "reports.tasks.discover_accounts"
    assert account_ids == [a.pk for a in accounts[:PER_PASS]]  # the longest due first
    # The pass holds the accounts until the task stops, a budget's time after it began.
    hold = WorkerHeartbeat.objects.get(name=worker.ACCOUNT_WORK_NAME).last_seen_at
    assert hold == until
    assert began + timedelta(seconds=239) <= until <= real_now() + timedelta(seconds=240)
    assert until > began + spent  # time left for the task, after the requests

    tasks_module.discover_accounts(account_ids, started, real_now() + spent)
    assert discovered(steps) == [a.pk for a in accounts[:PER_PASS]]


def test_a_worker_of_two_processes_hands_discovery_to_a_task_too(steps, monkeypatch, settings):
    # The task's process does the waiting for Amazon, the other downloads and imports.
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": 2}
    monkeypatch.setattr(worker, "FAN_OUT_FROM", 4)
    add_accounts(ACCOUNTS, discovery_due_at=timezone.now() - timedelta(hours=1))
    tasks: list[tuple] = []
    monkeypatch.setattr(worker, "async_task", lambda func, *args, **kwargs: tasks.append(args))

    worker.tick()

    assert discovered(steps) == []
    assert len(tasks) == 1


def test_a_shared_out_check_stops_at_its_time(steps):
    accounts = add_accounts(3, discovery_due_at=timezone.now() - timedelta(hours=1))
    now = timezone.now()

    worker.discover_accounts([a.pk for a in accounts], pass_started_at=now, until=now)

    assert discovered(steps) == []


# The discovery task checks its accounts in threads (settings.DISCOVERY_THREADS; one in the
# test settings, whose threads would not see a test's uncommitted rows). The tests below whose
# threads touch the database commit what they write (`transaction=True`), and let the checks
# take turns at it: the test database (SQLite in memory) refuses a write while another
# connection writes.


@pytest.fixture
def checks(monkeypatch, settings):
    """The discovery task with three threads; what its checks did: (account id, thread id) for
    each check, in the order they began. `checks.then` runs in each check (nothing by
    default); `checks.found` maps an account id to the reports its check finds."""
    settings.DISCOVERY_THREADS = 3

    class Checks(list):
        then = staticmethod(lambda account: None)
        found: dict[int, list[Report]] = {}

    done = Checks()
    taking_turns = threading.Lock()

    def discover(account: SellerAccount, **options) -> list[Report]:
        with taking_turns:
            done.append((account.pk, threading.get_ident()))
        done.then(account)
        with taking_turns:
            return [make() for make in done.found.get(account.pk, [])]

    monkeypatch.setattr(worker, "discover_reports", discover)
    return done


def test_the_discovery_task_checks_its_accounts_side_by_side(checks, db):
    accounts = add_accounts(9, discovery_due_at=timezone.now() - timedelta(hours=1))
    # Each check waits until three are in flight: one after the other, none would finish.
    in_flight = threading.Barrier(3, timeout=20)
    checks.then = lambda account: in_flight.wait()
    now = timezone.now()

    tasks_module.discover_accounts([a.pk for a in accounts], now, now + timedelta(minutes=4))

    checked = [pk for pk, _ in checks]
    assert sorted(checked) == [a.pk for a in accounts]
    # Taken in order, the longest due first: three at a time.
    for first in range(0, 9, 3):
        assert sorted(checked[first : first + 3]) == [a.pk for a in accounts[first : first + 3]]
    threads = {thread for _, thread in checks}
    assert len(threads) == 3 and threading.get_ident() not in threads


def test_the_discovery_task_takes_no_account_from_its_time_on(checks, monkeypatch, settings, db):
    settings.DISCOVERY_THREADS = 2
    accounts = add_accounts(6, discovery_due_at=timezone.now() - timedelta(hours=1))
    now = timezone.now()
    until = now + timedelta(minutes=4)
    clock = [now]
    monkeypatch.setattr(worker.timezone, "now", lambda: clock[0])
    # Both threads are checking an account when the time is up.
    time_up = threading.Barrier(2, action=lambda: clock.__setitem__(0, until), timeout=20)
    checks.then = lambda account: time_up.wait()

    tasks_module.discover_accounts([a.pk for a in accounts], now, until)

    assert sorted(pk for pk, _ in checks) == [a.pk for a in accounts[:2]]
    assert threading.get_ident() not in {thread for _, thread in checks}


@pytest.mark.django_db(transaction=True)
def test_the_discovery_task_leaves_an_account_checked_meanwhile_alone(monkeypatch, settings):
    from reports.services import discovery

    settings.DISCOVERY_THREADS = 3
    accounts = add_accounts(6, discovery_due_at=timezone.now() - timedelta(hours=1))
    asked: list[tuple[int, int]] = []

    def get_reports(account: SellerAccount, operation, **options) -> list:
        asked.append((account.pk, threading.get_ident()))
        return []

    monkeypatch.setattr(discovery.account_services, "call_amazon", get_reports)
    taking_turns = threading.Lock()
    real_discover = worker.discover_reports

    def discover(account: SellerAccount, **options) -> list[Report]:
        with taking_turns:
            return real_discover(account, **options)

    monkeypatch.setattr(worker, "discover_reports", discover)
    now = timezone.now()
    # A pass that overlapped checked the third after this pass had picked it.
    DiscoveryCursor.objects.filter(account=accounts[2]).update(
        next_check_at=now + timedelta(minutes=5)
    )

    tasks_module.discover_accounts([a.pk for a in accounts], now, now + timedelta(minutes=4))

    assert sorted(pk for pk, _ in asked) == [a.pk for n, a in enumerate(accounts) if n != 2]
    assert threading.get_ident() not in {thread for _, thread in asked}
    # Each checked account is due again an interval after the pass began.
    assert DiscoveryCursor.objects.filter(next_check_at__lte=now).count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_discovery_task_hands_out_what_its_threads_find(checks, monkeypatch):
    accounts = add_accounts(4, discovery_due_at=timezone.now() - timedelta(hours=1))

    def found(account: SellerAccount, number: int):
        return lambda: Report.objects.create(
            account=account,
            report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
            marketplace_ids=["A1PA6795UKMFR9"],
            data_start=datetime(2026, 1, 1, tzinfo=UTC),
            data_end=datetime(2026, 1, 2, tzinfo=UTC),
            amazon_report_id=f"9000000010{number}",
            amazon_status=Report.AmazonStatus.DONE,
            import_status=Report.ImportStatus.DOWNLOADING,
            next_attempt_at=timezone.now(),
        )

    checks.found = {
        accounts[1].pk: [found(accounts[1], 1)],
        accounts[3].pk: [found(accounts[3], 3)],
    }
    handed: list[int] = []
    monkeypatch.setattr(worker, "hand_out", lambda pk, lease_id: handed.append(pk))
    closed: list[int] = []
    close_all = worker.connections.close_all

    def closing() -> None:
        closed.append(threading.get_ident())
        close_all()

    monkeypatch.setattr(worker.connections, "close_all", closing)
    now = timezone.now()

    handed_out = tasks_module.discover_accounts(
        [a.pk for a in accounts], now, now + timedelta(minutes=4)
    )

    reports = Report.objects.filter(amazon_report_id__startswith="9000000010")
    assert handed_out == 2
    assert sorted(handed) == sorted(r.pk for r in reports)
    assert all(r.lease_id for r in reports)  # claimed for the tasks they went to
    # Each of the pool's three workers closed its connections when it was done.
    assert len(closed) == 3 and threading.get_ident() not in closed
    assert {thread for _, thread in checks} <= set(closed)


def test_the_discovery_task_has_at_most_a_few_threads_on_sqlite(settings):
    from django.db import connection

    # SQLite has one writer at a time: more threads would only queue for its lock.
    settings.DISCOVERY_THREADS = 16
    expected = worker.SQLITE_DISCOVERY_THREADS if connection.vendor == "sqlite" else 16
    assert worker.discovery_threads() == expected
    settings.DISCOVERY_THREADS = 0
    assert worker.discovery_threads() == 1

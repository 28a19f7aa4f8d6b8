"""The worker on its cadence, pass after pass, against a sandbox that keeps Amazon's time.

These tests run many worker passes of several minutes each. The sandbox here runs at Amazon's
own pace (time factor 1), so its regeneration windows and Amazon-side schedules are as long as
Amazon's, and both clocks are moved forward by each pass instead of waiting (`shared_clock`).
The shared rate-limit bucket follows the product's clock too, so that passes an hour apart find
Amazon's tokens refilled, as they would be.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from amazon_settings import services as account_services
from amazon_settings.models import AccountMarketplace, InvoicingMode
from amazon_settings.ratelimit import DatabaseTokenBucket
from reports.catalog import BY_KEY
from reports.models import Report, ReportCadence
from reports.services import cadences, worker
from tests.amazon_fixtures import connect_demo_seller
from tests.sandbox_server import SandboxServer

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

Status = Report.ImportStatus
AUTOMATIC = Report.Source.AUTOMATIC
MFN = BY_KEY["mfn_orders_eu"].report_type
FBA = BY_KEY["fba_orders_eu"].report_type
STOCK = BY_KEY["fba_stock"].report_type
RETURNS = BY_KEY["fba_returns"].report_type
VCS = BY_KEY["vcs_invoices"].report_type
VCS_LITE = BY_KEY["vcs_lite"].report_type
STATUS = BY_KEY["order_status"].report_type


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """This module's sandbox: Amazon's durations unscaled (see the module's docstring)."""
    server = SandboxServer.start(
        tmp_path_factory.mktemp("amazon-sandbox-amazon-time"), time_factor=1
    )
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def worker_world(shared_clock, settings, monkeypatch):
    """Tasks run inline by the passes; the rate-limit bucket on the product's clock; a call
    that would have to wait for a token is retried at a later pass instead of sleeping."""
    monkeypatch.setattr("reports.services.transitions.async_task", lambda *args, **kwargs: None)
    monkeypatch.setattr(
        "amazon_settings.services.DatabaseTokenBucket",
        lambda: DatabaseTokenBucket(clock=lambda: timezone.now().timestamp()),
    )
    settings.SPAPI_MAX_WAIT_SECONDS = 0
    return shared_clock


def run_passes(amazon, count: int, *, every: int, check=None) -> None:
    """`count` worker passes, `every` seconds apart on both clocks; `check` after each."""
    for _ in range(count):
        worker.tick(inline=True)
        if check is not None:
            check()
        amazon.advance_clock(every)


def automatic_reports(report_type: str) -> list[Report]:
    return list(
        Report.objects.filter(source=AUTOMATIC, report_type=report_type).order_by("created_at")
    )


def never_two_on_their_way() -> None:
    waiting = Counter(
        (r.account_id, r.report_type, tuple(sorted(r.marketplace_ids)))
        for r in Report.objects.filter(source=AUTOMATIC, import_status__in=Report.UNFINISHED)
    )
    assert max(waiting.values(), default=0) <= 1, waiting


def test_no_pile_up_after_50_worker_passes(worker_world, settings):
    amazon = worker_world
    settings.WORKER_INTERVAL_SECONDS = 300
    connect_demo_seller(amazon)
    # 50 passes of 5 minutes: 4 hours and 10 minutes of Amazon's time.
    run_passes(amazon, 50, every=300, check=never_two_on_their_way)
    counts = Counter(Report.objects.filter(source=AUTOMATIC).values_list("report_type", flat=True))
    # The FBA shipments: the last month at once, the month before only once Amazon's 4-hour
    # regeneration window is over (not one more waiting per pass).
    assert counts[FBA] == 2
    # MFN orders: the history (30 days and the moments since the account was connected, in
    # two equal requests); Amazon's schedule brings the rest, not one request per pass.
    assert counts[MFN] == 2
    assert len(Report.objects.filter(source=Report.Source.SCHEDULE, report_type=MFN)) >= 15
    # Stock every hour, returns once a day, statuses every 15 minutes, each after the last.
    assert counts[STOCK] == 5
    assert counts[RETURNS] == 1
    assert 10 <= counts[STATUS] <= 18
    assert counts[VCS] == counts[VCS_LITE] == 0  # no marketplace invoices through VCS
    assert not Report.objects.filter(import_status=Status.FAILED).exists()
    assert (
        not Report.objects.filter(import_status__in=Report.UNFINISHED, source=AUTOMATIC)
        .filter(created_at__lt=timezone.now() - timedelta(hours=4, minutes=5))
        .exists()
    )


def test_stock_returns_and_vcs_are_requested_on_their_cadence(worker_world, settings):
    amazon = worker_world
    settings.WORKER_INTERVAL_SECONDS = 1800
    account = connect_demo_seller(amazon)
    AccountMarketplace.objects.filter(account=account, country_code="DE").update(
        invoicing_mode=InvoicingMode.AMAZON
    )
    # Only the types this test is about (the others have their own tests).
    cadences.set_cadences(
        account,
        intervals={"mfn_orders_eu": None, "fba_orders_eu": None, "order_status": None},
        acting_user=None,
    )
    # 52 passes of 30 minutes: 26 hours.
    run_passes(amazon, 52, every=1800, check=never_two_on_their_way)

    stock = automatic_reports(STOCK)
    assert len(stock) == 26  # every hour, the first at once
    gaps = [later.created_at - earlier.created_at for earlier, later in itertools.pairwise(stock)]
    assert all(timedelta(hours=1) <= gap < timedelta(hours=1, minutes=30) for gap in gaps), gaps
    for report_type in (RETURNS, VCS):
        first, second = automatic_reports(report_type)  # the history at once, then daily
        assert timedelta(days=1) <= second.created_at - first.created_at < timedelta(hours=24.5)
        # Each day's report starts where the last one ended (an overlap earlier).
        assert second.data_start < first.data_end <= second.data_end
    de = AccountMarketplace.objects.get(account=account, country_code="DE").marketplace_id
    assert all(r.marketplace_ids == [de] for r in automatic_reports(VCS))
    # Amazon accepted every request: none inside a regeneration window, none refused.
    reports = Report.objects.filter(source=AUTOMATIC)
    assert set(reports.values_list("import_status", flat=True)) <= {Status.IMPORTED, Status.NO_DATA}
    assert not automatic_reports(MFN) and not automatic_reports(FBA)


def amazon_schedules(account, *report_types: str) -> list:
    return account_services.call_amazon(
        account, lambda client: client.get_report_schedules(report_types=list(report_types))
    )


def test_types_amazon_lets_schedule_get_an_amazon_schedule_of_their_cadence(worker_world, settings):
    amazon = worker_world
    settings.WORKER_INTERVAL_SECONDS = 300
    account = connect_demo_seller(amazon)
    fr = AccountMarketplace.objects.get(account=account, country_code="FR")
    fr.invoicing_mode = InvoicingMode.VCS_LITE
    fr.save()
    run_passes(amazon, 1, every=300)
    (mfn,) = amazon_schedules(account, MFN)
    assert (mfn.period, sorted(mfn.marketplace_ids)) == (
        "PT15M",
        account.marketplaces.selected_ids(),
    )
    (vidr,) = amazon_schedules(account, VCS_LITE)
    assert (vidr.period, list(vidr.marketplace_ids)) == ("PT12H", [fr.marketplace_id])
    row = ReportCadence.objects.get(account=account, kind="mfn_orders_eu")
    assert row.amazon_schedule_id == mfn.report_schedule_id and not row.schedule_error

    # Passes go on without asking Amazon again; the schedule's reports are found and imported.
    created = len(amazon.calls(operation="createReportSchedule"))
    run_passes(amazon, 6, every=300)
    assert len(amazon.calls(operation="createReportSchedule")) == created
    runs = Report.objects.filter(source=Report.Source.SCHEDULE, report_type=MFN)
    assert runs.count() >= 1
    assert set(runs.values_list("import_status", flat=True)) <= {Status.IMPORTED, Status.NO_DATA}

    # A new cadence replaces the schedule; pausing the import cancels it.
    cadences.set_cadences(
        account, intervals={"mfn_orders_eu": timedelta(hours=1)}, acting_user=None
    )
    run_passes(amazon, 1, every=300)
    (mfn,) = amazon_schedules(account, MFN)
    assert mfn.period == "PT1H"
    account_services.set_order_import(account, active=False)
    run_passes(amazon, 1, every=300)
    assert amazon_schedules(account, MFN, VCS_LITE) == []
    assert not ReportCadence.objects.exclude(amazon_schedule_id="").exists()


def test_a_schedule_that_stops_delivering_is_made_again_and_its_gap_requested(
    worker_world, settings
):
    amazon = worker_world
    settings.WORKER_INTERVAL_SECONDS = 300
    account = connect_demo_seller(amazon)
    # The history is in (two requests), the schedule has delivered.
    run_passes(amazon, 5, every=300)
    assert len(automatic_reports(MFN)) == 2
    (schedule,) = amazon_schedules(account, MFN)
    # Someone cancels it in Seller Central.
    account_services.call_amazon(
        account, lambda client: client.cancel_report_schedule(schedule.report_schedule_id)
    )
    before = len(automatic_reports(MFN))
    # Two periods and two passes later the time since the last report is requested, and the
    # schedule is made again.
    run_passes(amazon, 12, every=300)
    assert len(automatic_reports(MFN)) == before + 1
    (again,) = amazon_schedules(account, MFN)
    assert again.period == "PT15M"

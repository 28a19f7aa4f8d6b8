"""The report pipeline against the Amazon sandbox over HTTP, one state transition at a time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from amazon_settings import crypto
from amazon_settings.models import SellerAccount
from amazon_settings.spapi.documents import WINDOWS_1252
from orders.models import Order
from reports.exceptions import ReportActionNotAllowed
from reports.models import Report
from reports.services import actions, discovery, pipeline, requesting, transitions, worker
from tests.amazon_fixtures import (
    EU_SELLER,
    mfn_report_orders,
    ranges_sharing_an_order,
    sandbox_orders,
)

# Every test runs under several of the sandbox's seller histories: an assertion that holds for
# one calendar's orders only fails here every day, not one day in three.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox_history")]

Status = Report.ImportStatus
MFN_EU = "mfn_orders_eu"


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Tasks are run by the test itself, step by step, instead of a django-q2 cluster."""
    handed = []
    monkeypatch.setattr(
        "reports.services.transitions.async_task", lambda func, *args, **kwargs: handed.append(args)
    )
    return handed


def run_until_finished(report: Report, amazon, *, steps: int = 40) -> Report:
    """Drive the worker's steps until the report is finished, as the worker would.

    Between steps the sandbox clock moves on by a second: in the sandbox's time a report is
    done well within that, so Amazon has always moved on when the next step asks.
    """
    for _ in range(steps):
        report.refresh_from_db()
        if report.is_finished:
            return report
        Report.objects.filter(pk=report.pk).update(next_attempt_at=None)  # as if time passed
        claimed = transitions.claim_reports(ids=[report.pk])
        assert claimed, "the report was not free to claim: a lease was not released"
        pipeline.advance_report(*claimed[0])
        amazon.advance_clock(1)
    report.refresh_from_db()
    return report


def request(
    account,
    *,
    days_back: int = 3,
    length_days: int = 2,
    kind: str = MFN_EU,
    data_range: tuple[datetime, datetime] | None = None,
):
    """Request `kind` for `data_range`, or for `length_days` ending `days_back - length_days`
    days ago in whole hours, so that asking twice asks for the same range."""
    if data_range is None:
        end = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(
            days=days_back - length_days
        )
        data_range = (end - timedelta(days=length_days), end)
    start, end = data_range
    return requesting.request_reports(
        account,
        kind_key=kind,
        marketplace_ids=list(account.marketplaces.values_list("marketplace_id", flat=True)),
        start=start,
        end=end,
        acting_user=None,
    )


def stored_order_ids(account) -> set[str]:
    return set(Order.objects.filter(account=account).values_list("amazon_order_id", flat=True))


def test_request_to_import_then_an_overlapping_report_doubles_nothing(eu_account, amazon):
    first_range, second_range = ranges_sharing_an_order(amazon, now=timezone.now())
    first_orders = mfn_report_orders(amazon, *first_range)
    second_orders = mfn_report_orders(amazon, *second_range)
    shared = first_orders.keys() & second_orders.keys()
    assert shared  # the overlap was placed on an order

    (first,) = request(eu_account, data_range=first_range)
    assert first.import_status == Status.QUEUED
    first = run_until_finished(first, amazon)
    assert first.import_status == Status.IMPORTED, first.last_error
    assert first.amazon_status == Report.AmazonStatus.DONE
    assert first.raw_charset == WINDOWS_1252 and first.raw_size > 0
    # Every MFN order of the range, and a line for each of its items.
    assert stored_order_ids(eu_account) == first_orders.keys()
    assert (first.rows_total, first.rows_created) == (sum(first_orders.values()),) * 2
    assert first.rows_failed == 0

    # A second report overlapping the first by a day: the shared orders' lines are not new.
    (second,) = request(eu_account, data_range=second_range)
    second = run_until_finished(second, amazon)
    assert second.import_status == Status.IMPORTED
    new_orders = second_orders.keys() - first_orders.keys()
    assert second.rows_created == sum(second_orders[o] for o in new_orders)
    assert second.rows_unchanged == sum(second_orders[o] for o in shared)
    assert second.rows_updated == 0  # orders days old do not change within seconds
    assert stored_order_ids(eu_account) == first_orders.keys() | second_orders.keys()
    assert (
        Order.objects.values("account", "amazon_order_id").distinct().count()
        == Order.objects.count()
    )
    history = list(first.events.values_list("import_status", flat=True))
    assert history[0] == Status.QUEUED and history[-1] == Status.IMPORTED


def test_running_a_step_twice_changes_nothing(eu_account, amazon):
    (report,) = request(eu_account)
    pipeline.advance_report(report.pk)
    report.refresh_from_db()
    amazon_id = report.amazon_report_id
    assert report.import_status == Status.WAITING and amazon_id
    pipeline.advance_report(report.pk)  # polls; sends nothing twice
    report = run_until_finished(report, amazon)
    orders = Order.objects.count()
    pipeline.advance_report(report.pk)  # a finished report is left alone
    report.refresh_from_db()
    assert report.amazon_report_id == amazon_id
    assert Order.objects.count() == orders
    sent = [c for c in amazon.calls(operation="createReport") if c["status"] == 202]
    assert len(sent) == 1, sent


def test_a_long_range_is_split_into_requests_amazon_accepts(eu_account, amazon):
    end = timezone.now() - timedelta(hours=1)
    reports = requesting.request_reports(
        eu_account,
        kind_key="fba_orders_eu",
        marketplace_ids=["A1PA6795UKMFR9"],
        start=end - timedelta(days=70),
        end=end,
        acting_user=None,
    )
    assert len(reports) == 3
    assert [r.data_end - r.data_start for r in reports] == [
        timedelta(days=31),
        timedelta(days=31),
        timedelta(days=8),
    ]
    assert reports[0].data_end == reports[1].data_start  # consecutive, no gap
    assert len({r.batch for r in reports}) == 1


def test_an_identical_pending_or_finished_request_is_reused(eu_account, amazon):
    (first,) = request(eu_account)
    (again,) = request(eu_account)
    assert again.pk == first.pk
    run_until_finished(first, amazon)
    (after_done,) = request(eu_account)
    assert after_done.pk == first.pk
    assert Report.objects.count() == 1


def test_reset_imports_again_and_doubles_nothing(eu_account, amazon):
    (report,) = request(eu_account)
    report = run_until_finished(report, amazon)
    orders = Order.objects.count()
    result = actions.reset_report(report, acting_user=None)
    assert "nothing is doubled" in result.message
    report = run_until_finished(report, amazon)
    assert report.import_status == Status.IMPORTED
    assert report.rows_created == 0 and report.rows_updated == 0
    assert report.rows_unchanged == report.rows_total
    assert Order.objects.count() == orders
    created = [c for c in amazon.calls(operation="createReport") if c["status"] == 202]
    assert len(created) == 1  # re-imported from the kept file


def test_cancel_only_while_amazon_has_not_started(eu_account, amazon):
    (queued,) = request(eu_account, days_back=10)
    actions.cancel_report(queued, acting_user=None)  # not sent yet: cancelled locally
    queued.refresh_from_db()
    assert queued.import_status == Status.CANCELLED

    (report,) = request(eu_account, days_back=6)
    pipeline.advance_report(report.pk)
    report.refresh_from_db()
    amazon.control(f"reports/{report.amazon_report_id}", {"queue_seconds": 3600})
    actions.cancel_report(report, acting_user=None)
    report.refresh_from_db()
    assert report.import_status == Status.CANCELLED
    assert report.amazon_status == Report.AmazonStatus.CANCELLED
    assert amazon.calls(operation="cancelReport")

    (running,) = request(eu_account, days_back=20)
    pipeline.advance_report(running.pk)
    running.refresh_from_db()
    amazon.control(
        f"reports/{running.amazon_report_id}", {"queue_seconds": 0, "processing_seconds": 3600}
    )
    Report.objects.filter(pk=running.pk).update(amazon_status="IN_PROGRESS")
    running.refresh_from_db()
    with pytest.raises(ReportActionNotAllowed, match="has not started"):
        actions.cancel_report(running, acting_user=None)


def test_skip_stops_the_work(eu_account, amazon):
    (report,) = request(eu_account)
    actions.skip_report(report, acting_user=None)
    report.refresh_from_db()
    assert report.import_status == Status.SKIPPED
    assert transitions.claim_reports() == []


def test_cancelled_by_amazon_means_no_data(eu_account, amazon):
    amazon.control("faults", {"kind": "report_cancelled"})
    (report,) = request(eu_account)
    report = run_until_finished(report, amazon)
    assert report.import_status == Status.NO_DATA
    assert report.last_error == "Amazon found no data in this range."


def test_fatal_shows_amazons_own_words(eu_account, amazon):
    amazon.control("faults", {"kind": "report_fatal"})
    (report,) = request(eu_account)
    report = run_until_finished(report, amazon)
    assert report.import_status == Status.FAILED
    assert report.failure_reason == Report.FailureReason.AMAZON_FATAL
    assert report.last_error.startswith("Amazon could not create this report:")
    assert "FATAL" not in report.last_error or "gave no reason" not in report.last_error


def test_a_stuck_report_is_flagged_and_polling_goes_on(eu_account, amazon, settings):
    settings.REPORT_STUCK_AFTER_SECONDS = 0
    amazon.control("faults", {"kind": "report_stuck"})
    (report,) = request(eu_account)
    pipeline.advance_report(report.pk)
    report.refresh_from_db()
    Report.objects.filter(pk=report.pk).update(next_attempt_at=None, leased_until=None)
    pipeline.advance_report(report.pk)
    report.refresh_from_db()
    assert report.import_status == Status.WAITING
    assert report.stuck_since is not None
    assert "It may be stuck" in report.last_error
    assert report.next_attempt_at > timezone.now()


def test_throttling_reschedules_with_amazons_rate(eu_account, amazon):
    amazon.control("faults", {"kind": "throttle", "operation": "createReport"})
    (report,) = request(eu_account)
    pipeline.advance_report(report.pk)
    report.refresh_from_db()
    assert report.import_status == Status.QUEUED
    assert report.attempts == 1
    # x-amzn-RateLimit-Limit says 0.0167 per second: no new try for about a minute.
    assert report.next_attempt_at - timezone.now() > timedelta(seconds=50)
    assert "Trying again" in report.last_error
    report = run_until_finished(report, amazon)
    assert report.import_status == Status.IMPORTED


def test_a_worker_step_is_one_call_and_the_report_retries_it_later(eu_account, amazon, settings):
    # Whatever a person's buttons may do, the worker never retries inside a call: the
    # report's backoff is the one retry layer.
    settings.SPAPI_INTERACTIVE_RETRIES = 3
    (report,) = request(eu_account)
    pipeline.advance_report(report.pk)  # sent
    amazon.control("faults", {"kind": "error500", "operation": "getReport", "count": 1})
    Report.objects.filter(pk=report.pk).update(next_attempt_at=None)
    pipeline.advance_report(report.pk)
    report.refresh_from_db()
    assert [call["status"] for call in amazon.calls(operation="getReport")] == [500]
    assert report.import_status == Status.WAITING
    assert report.attempts == 1
    assert report.next_attempt_at > timezone.now()
    report = run_until_finished(report, amazon)
    assert report.import_status == Status.IMPORTED, report.last_error


def test_an_expired_download_url_is_fetched_again(eu_account, amazon):
    amazon.control("faults", {"kind": "expire_url", "operation": "downloadDocument"})
    (report,) = request(eu_account)
    report = run_until_finished(report, amazon)
    assert report.import_status == Status.IMPORTED, report.last_error
    downloads = amazon.calls(operation="downloadDocument")
    assert [c["status"] for c in downloads] == [403, 200]
    assert len(amazon.calls(operation="getReportDocument")) == 2


def held_before_download(report: Report, amazon) -> Report:
    """Drive the report until Amazon finished it and hold it there, so that its document can
    be damaged before the download."""
    for _ in range(20):
        Report.objects.filter(pk=report.pk).update(next_attempt_at=None, leased_until=None)
        pipeline.advance_report(report.pk, stop_at=Status.DOWNLOADING)
        report.refresh_from_db()
        if report.import_status == Status.DOWNLOADING:
            break
        amazon.advance_clock(1)
    assert report.import_status == Status.DOWNLOADING
    assert not report.raw_file  # held before the download
    return report


def test_a_corrupt_document_fails_with_the_reason_and_imports_nothing(eu_account, amazon):
    (report,) = request(eu_account)
    report = held_before_download(report, amazon)
    amazon.control(f"documents/{report.amazon_document_id}", {"corruption": "truncate"})
    report = run_until_finished(report, amazon)
    assert report.import_status == Status.FAILED
    assert report.failure_reason == Report.FailureReason.BAD_DOCUMENT
    assert "could not be read" in report.last_error
    assert Order.objects.count() == 0


def test_utf8_under_amazons_cp1252_label_is_imported_without_mojibake(eu_account, amazon):
    (report,) = request(eu_account, days_back=9, length_days=6)
    report = held_before_download(report, amazon)
    document = amazon.control(f"documents/{report.amazon_document_id}", {"encoding": "utf-8"})
    assert document["served_charset"] == "Cp1252" and document["charset"] == "utf-8"

    report = run_until_finished(report, amazon)

    assert report.import_status == Status.IMPORTED, report.last_error
    names = [
        text
        for values in Order.objects.values_list("recipient_name", "ship_city", "buyer_name")
        for text in values
    ]
    assert any(not text.isascii() for text in names), "no text beyond ASCII to check"
    # Read as Cp1252, UTF-8's two bytes per umlaut become two letters: "MÃ¼ller".
    assert not [text for text in names if "Ã" in text or "Â" in text]
    assert report.raw_charset == "utf-8"
    assert report.events.filter(
        message__contains="Amazon labelled it Cp1252, but its bytes are valid UTF-8"
    ).exists()


def test_revoked_authorization_stops_calls_for_the_account(eu_account, amazon):
    amazon.control(f"sellers/{EU_SELLER}/revoke", {"region": "eu"})
    (report,) = request(eu_account)
    pipeline.advance_report(report.pk)
    report.refresh_from_db()
    eu_account.refresh_from_db()
    assert eu_account.status == SellerAccount.Status.AUTHORIZATION_REVOKED
    assert report.import_status == Status.QUEUED
    assert report.last_error.startswith("Amazon denied access: renew access in Settings.")
    assert report.failure_reason == Report.FailureReason.AUTH
    Report.objects.filter(pk=report.pk).update(next_attempt_at=None)
    assert transitions.claim_reports() == []  # the worker leaves the account alone
    calls_before = len(amazon.calls())
    assert worker.tick() == 0
    assert len(amazon.calls()) == calls_before


def test_a_revocation_behind_a_cached_token_and_a_low_bucket_is_seen_at_once(
    eu_account, amazon, settings
):
    from amazon_settings.models import RateLimitBucket

    settings.SPAPI_MAX_WAIT_SECONDS = 5
    # A first report goes out: the access token is cached now.
    (first,) = request(eu_account, days_back=10)
    pipeline.advance_report(first.pk)
    amazon.control(f"sellers/{EU_SELLER}/revoke", {"region": "eu"})
    # One token left in our own bucket for createReport: the call may go, a second one would
    # wait a minute (createReport refills one token a minute), longer than the worker waits.
    assert RateLimitBucket.objects.filter(key__endswith="createReport").update(tokens=1) == 1

    (report,) = request(eu_account)
    pipeline.advance_report(report.pk)

    report.refresh_from_db()
    eu_account.refresh_from_db()
    assert eu_account.status == SellerAccount.Status.AUTHORIZATION_REVOKED
    assert report.failure_reason == Report.FailureReason.AUTH
    assert report.last_error.startswith("Amazon denied access: renew access in Settings.")
    assert "rate" not in report.last_error.lower()


def test_renewed_access_clears_the_authorization_reason(eu_account, amazon):
    amazon.control(f"sellers/{EU_SELLER}/revoke", {"region": "eu"})
    (report,) = request(eu_account)
    pipeline.advance_report(report.pk)
    report.refresh_from_db()
    assert report.failure_reason == Report.FailureReason.AUTH
    renew_access(eu_account, amazon)
    report = run_until_finished(report, amazon)
    assert report.import_status == Status.IMPORTED, report.last_error
    assert report.failure_reason == Report.FailureReason.NONE
    assert report.last_error == ""


def renew_access(account: SellerAccount, amazon) -> None:
    """What renewing on the consent page leaves behind: a new refresh token, connected."""
    SellerAccount.objects.filter(pk=account.pk).update(
        refresh_token_encrypted=crypto.encrypt_secret(amazon.refresh_token(EU_SELLER, "eu")),
        status=SellerAccount.Status.CONNECTED,
    )
    cache.clear()  # the access token cached for the revoked grant


def test_claiming_leases_each_report_once(eu_account, amazon):
    reports = request(eu_account, days_back=40, length_days=35)
    first = transitions.claim_reports()
    second = transitions.claim_reports()
    assert sorted(pk for pk, _ in first) == sorted(r.pk for r in reports)
    assert second == []


def test_discovery_registers_reports_amazon_made_on_a_schedule(eu_account, amazon):
    made = amazon.control(
        "reports",
        {
            "selling_partner_id": EU_SELLER,
            "region": "eu",
            "report_type": "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
            "data_start": (timezone.now() - timedelta(days=8)).isoformat(),
            "data_end": (timezone.now() - timedelta(days=2)).isoformat(),
        },
    )
    amazon.advance_clock(2)  # Amazon finishes it meanwhile
    found = discovery.discover_reports(eu_account, force=True)
    assert [r.amazon_report_id for r in found] == [made["reportId"]]
    assert found[0].source == Report.Source.DISCOVERED
    assert discovery.discover_reports(eu_account, force=True) == []  # seen once, kept once
    report = run_until_finished(found[0], amazon)
    assert report.import_status == Status.IMPORTED


def test_discovery_checks_an_account_with_working_push_less_often(eu_account, amazon, settings):
    from amazon_settings.models import PushSubscription
    from reports.models import DiscoveryCursor

    settings.WORKER_INTERVAL_SECONDS = 60
    settings.PUSH_GRACE_SECONDS = 600
    PushSubscription.objects.create(account=eu_account, state=PushSubscription.State.ACTIVE)
    before = timezone.now()
    discovery.discover_reports(eu_account, force=True)
    cursor = DiscoveryCursor.objects.get(account=eu_account)
    # The push grace period, less the half interval that lets the pass then find it due.
    assert cursor.next_check_at >= before + timedelta(minutes=10) - timedelta(seconds=30)


def test_an_account_checked_late_in_a_pass_is_due_at_the_next_pass(eu_account, amazon, settings):
    # A pass goes through hundreds of accounts one after the other: one checked 40 s into a
    # pass must be due when the next pass starts an interval after this one started (counted
    # from the check, it came due just after that and waited for the pass after: twice the
    # interval, the fleet benchmark's polling-only p95 of 101 s against a 60 s check).
    from reports.models import DiscoveryCursor

    settings.WORKER_INTERVAL_SECONDS = 60
    pass_started_at = timezone.now() - timedelta(seconds=40)

    discovery.discover_reports(eu_account, force=True, pass_started_at=pass_started_at)

    due_at = DiscoveryCursor.objects.get(account=eu_account).next_check_at
    assert pass_started_at < due_at  # never twice in the same pass
    # Due at the next pass, also one that starts a little early (django-q2's scheduler).
    assert due_at <= pass_started_at + timedelta(seconds=50)


def test_automatic_import_requests_the_time_since_the_last_report(eu_account, amazon, settings):
    settings.WORKER_INTERVAL_SECONDS = 60
    eu_account.authorized_at = timezone.now() - timedelta(days=2)
    eu_account.save()
    created = requesting.request_automatic_reports(eu_account)
    # Every type on its cadence; the VCS reports only for marketplaces whose invoicing uses
    # them (none here).
    assert {r.report_type for r in created} == {
        "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
        "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING",
        "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
        "GET_AFN_INVENTORY_DATA",
        "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
    }
    assert all(r.source == Report.Source.AUTOMATIC for r in created)
    # Right after, nothing is due: no second request for the same time.
    assert requesting.request_automatic_reports(eu_account) == []


def test_an_fba_report_waits_for_amazons_regeneration_window(eu_account, amazon):
    end = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    first, second = (
        requesting.request_reports(
            eu_account,
            kind_key="fba_orders_eu",
            marketplace_ids=["A1PA6795UKMFR9"],
            start=start,
            end=start + timedelta(days=2),
            acting_user=None,
        )[0]
        for start in (end - timedelta(days=10), end - timedelta(days=5))
    )
    pipeline.advance_report(first.pk)
    pipeline.advance_report(second.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.import_status == Status.WAITING
    assert second.import_status == Status.QUEUED  # not sent: Amazon would answer FATAL
    assert second.next_attempt_at - first.sent_at == timedelta(hours=4)
    assert "at most every 4 hours" in second.last_error
    created = [c for c in amazon.calls(operation="createReport") if c["status"] == 202]
    assert len(created) == 1


STATUS_REPORT = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"


def worker_cycle(account, amazon) -> list[Report]:
    """The worker's automatic requests of one pass, each driven until it is imported."""
    return [
        run_until_finished(report, amazon)
        for report in requesting.request_automatic_reports(account)
    ]


def test_a_cancellation_after_import_reaches_the_order(
    eu_account, shared_clock, settings, logged_in_client
):
    amazon = shared_clock
    settings.WORKER_INTERVAL_SECONDS = 60
    eu_account.import_orders_from = timezone.now() - timedelta(hours=2)
    eu_account.save()
    # A buyer orders now and cancels an hour after the payment cleared.
    (placed,) = amazon.control(
        f"sellers/{EU_SELLER}/orders",
        {"region": "eu", "count": 1, "fulfillment": "MFN", "cancel_after_seconds": 3600},
    )["orders"]
    order_id = placed["amazon_order_id"]
    purchased = datetime.fromisoformat(placed["purchase_date"])

    def truth() -> dict:
        (found,) = [
            o
            for o in sandbox_orders(amazon, purchased, purchased + timedelta(seconds=1))
            if o["amazon_order_id"] == order_id
        ]
        return found

    amazon.advance_clock(11 * 60)  # the payment clears within ten minutes
    assert truth()["status"] == "Unshipped"
    first = worker_cycle(eu_account, amazon)
    assert {r.report_type for r in first} >= {
        STATUS_REPORT,
        "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
    }
    assert all(r.import_status in (Status.IMPORTED, Status.NO_DATA) for r in first), [
        r.last_error for r in first
    ]
    order = Order.objects.get(account=eu_account, amazon_order_id=order_id)
    assert order.status == "Unshipped" and not order.status_changes.exists()

    amazon.advance_clock(3600)  # the buyer cancels
    cancelled = truth()
    assert cancelled["status"] == "Canceled"
    second = worker_cycle(eu_account, amazon)
    (status_report,) = [r for r in second if r.report_type == STATUS_REPORT]
    (earlier,) = [r for r in first if r.report_type == STATUS_REPORT]
    # The status reports chain: the second starts where the first ended, an overlap earlier.
    overlap = timedelta(seconds=settings.AUTOMATIC_IMPORT_OVERLAP_SECONDS)
    assert status_report.data_start == earlier.data_end - overlap
    assert status_report.import_status == Status.IMPORTED, status_report.last_error

    order.refresh_from_db()
    assert order.status == "Canceled"
    assert order.last_updated_at == datetime.fromisoformat(cancelled["last_updated"])
    (change,) = order.status_changes.all()
    assert (change.from_status, change.to_status, change.source_report_id) == (
        "Unshipped",
        "Canceled",
        status_report.pk,
    )
    assert change.at == order.last_updated_at

    # A seller who looks sees it cancelled, not something to ship.
    listed = logged_in_client.get(reverse("orders:list"), {"q": order_id}).content.decode()
    assert "Canceled" in listed and "do not ship" in listed
    page = logged_in_client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    local = timezone.localtime(change.at).strftime("%Y-%m-%d %H:%M")
    assert f"Amazon cancelled this order on {local} according to" in page
    assert reverse("reports:detail", args=[status_report.pk]) in page
    assert "Do not ship it." in page

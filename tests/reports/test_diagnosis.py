""" "Orders missing?": coverage and gaps, each check's statuses, the fixes, backfill, home."""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta
from datetime import time as clock_time

import pytest
from django import db
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from amazon_settings import crypto
from amazon_settings.exceptions import TokenDecryptionFailed
from amazon_settings.models import AccountMarketplace, ApiCall, RateLimitBucket, SellerAccount
from amazon_settings.selectors import format_moment
from amazon_settings.services import ConnectionCheck
from orders.models import Order
from reports import coverage, dashboard, selectors
from reports.catalog import BY_KEY
from reports.diagnosis import access, connection_test, imports, results
from reports.exceptions import InvalidReportRequest
from reports.models import ConnectionTest, Report, ReportCadence, WorkerHeartbeat
from reports.services import connection_tests, requesting
from tests.amazon_fixtures import connect_demo_seller

pytestmark = pytest.mark.django_db

Status = Report.ImportStatus
MFN = BY_KEY["mfn_orders_eu"]
FBA = BY_KEY["fba_orders_eu"]
MFN_TYPE = MFN.report_type
STATUS_TYPE = BY_KEY["order_status"].report_type
H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.fixture(autouse=True)
def handed_out(monkeypatch) -> list[tuple[str, tuple]]:
    """The connection tests handed to the worker, as (task path, arguments); reports' tasks
    are dropped."""
    monkeypatch.setattr("reports.services.transitions.async_task", lambda *args, **kwargs: None)
    tasks: list[tuple[str, tuple]] = []
    monkeypatch.setattr(
        "reports.services.connection_tests.async_task",
        lambda func, *args, **kwargs: tasks.append((func, args)),
    )
    return tasks


def run_handed_out(tasks: list[tuple[str, tuple]]) -> int:
    """Run the handed-out tasks as the worker would: by their dotted path."""
    count = 0
    while tasks:
        func, args = tasks.pop(0)
        import_string(func)(*args)
        count += 1
    return count


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def account(now):
    account = SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX",
        region="eu",
        display_name="Müller Haushaltswaren",
        refresh_token_encrypted=crypto.encrypt_secret("Atzr|test"),
        status=SellerAccount.Status.CONNECTED,
        authorized_at=now - 10 * D,
        last_success_at=now - H,
        import_orders_from=now - 10 * D,
    )
    for marketplace_id, country in (("A1PA6795UKMFR9", "DE"), ("A13V1IB3VIYZZH", "FR")):
        AccountMarketplace.objects.create(
            account=account, marketplace_id=marketplace_id, country_code=country, name=country
        )
    return account


@pytest.fixture
def operator(client):
    user = get_user_model().objects.create_superuser(username="op", password="x" * 12)
    client.force_login(user)
    return client


def make_report(account, start, end, status=Status.IMPORTED, report_type=MFN_TYPE, **fields):
    fields.setdefault("imported_at", end if status == Status.IMPORTED else None)
    return Report.objects.create(
        account=account,
        report_type=report_type,
        marketplace_ids=["A1PA6795UKMFR9"],
        data_start=start,
        data_end=end,
        import_status=status,
        **fields,
    )


def fake_test(monkeypatch, *results: tuple[str, bool, str]) -> list[SellerAccount]:
    """Amazon's answers to the test call; returns the accounts it was made for, one per call."""
    tested: list[SellerAccount] = []

    def check_connection(account):
        tested.append(account)
        return [ConnectionCheck(*result) for result in results]

    monkeypatch.setattr("amazon_settings.services.check_connection", check_connection)
    return tested


def test_merge_joins_overlapping_and_adjacent_ranges(now):
    ranges = [(now, now + H), (now + 3 * H, now + 4 * H), (now + H, now + 2 * H)]
    ranges.append((now + 30 * 60 * timedelta(seconds=1), now + 90 * timedelta(minutes=1)))
    assert coverage.merge_ranges(ranges) == [(now, now + 2 * H), (now + 3 * H, now + 4 * H)]


def test_missing_ranges_inside_a_window(now):
    window = (now, now + 10 * H)
    covered = [(now - H, now + H), (now + 3 * H, now + 4 * H), (now + 4 * H, now + 5 * H)]
    assert coverage.missing_ranges(window, covered) == [
        (now + H, now + 3 * H),
        (now + 5 * H, now + 10 * H),
    ]
    assert coverage.missing_ranges(window, [(now - H, now + 11 * H)]) == []
    assert coverage.contains([(now, now + H), (now + H, now + 2 * H)], (now, now + 2 * H))


def test_imported_and_no_data_reports_cover_failed_ones_do_not(account, now):
    start = account.import_orders_from
    make_report(account, start, start + 2 * D)
    make_report(account, start + 2 * D, start + 3 * D, Status.NO_DATA)  # adjacent
    make_report(account, start + D, start + 4 * D)  # overlapping
    make_report(account, start + 4 * D, start + 6 * D, Status.FAILED)
    make_report(account, start + 5 * D, start + 7 * D, Status.WAITING)
    cov = coverage.kind_coverage(account, MFN, now=now)
    assert cov.covered == [(start, start + 4 * D)]
    assert cov.pending == [(start + 5 * D, start + 7 * D)]
    assert [(g.start, g.end) for g in cov.gaps] == [
        (start + 4 * D, start + 5 * D),
        (start + 7 * D, now),
    ]
    assert all(g.due for g in cov.gaps)
    assert cov.pending_reports == 1
    assert cov.covered_percent == 40
    states = [segment.state for segment in cov.segments()]
    assert states == ["covered", "gap", "pending", "gap"]


def test_gaps_start_at_the_import_start_date_and_a_short_tail_is_not_due(account, now):
    make_report(account, now - 20 * D, now - 30 * timedelta(minutes=1))
    cov = coverage.kind_coverage(account, MFN, now=now)
    assert cov.since == account.import_orders_from
    assert cov.covered == [(account.import_orders_from, now - 30 * timedelta(minutes=1))]
    (tail,) = cov.gaps
    assert tail.is_tail and not tail.due and tail.requestable


def test_default_import_start_is_thirty_days_before_connecting(account):
    account.import_orders_from = None
    account.save()
    assert coverage.import_start(account) == account.created_at - timedelta(days=30)


def test_settings_and_orders_missing_show_the_same_import_start(logged_in_client, account):
    """Without a date set by the seller, both pages show the default the import uses."""
    account.import_orders_from = None
    account.save()
    expected = f'value="{timezone.localdate(account.created_at - timedelta(days=30)):%Y-%m-%d}"'
    settings_page = logged_in_client.get(reverse("amazon_settings:settings")).content.decode()
    diagnosis_page = logged_in_client.get(reverse("reports:diagnosis", args=[account.pk]))
    shown = [
        re.search(r'<input[^>]*name="import_orders_from"[^>]*>', page).group(0)
        for page in (settings_page, diagnosis_page.content.decode())
    ]
    assert all(expected in field for field in shown), shown


def test_a_gap_older_than_amazon_keeps_is_not_requestable(account, now):
    account.import_orders_from = now - 90 * D
    account.save()
    make_report(account, now - 60 * D, now)
    (gap,) = coverage.kind_coverage(account, MFN, now=now).gaps
    assert gap.end == now - 60 * D
    assert not gap.requestable


def test_authorization_ok_after_a_successful_test_call(account, now):
    tests = [ConnectionCheck("Sellers.getMarketplaceParticipations", True, "5 marketplaces")]
    check = access.check_authorization(account, tests=tests, now=now)
    assert check.status == results.OK
    assert "Sellers.getMarketplaceParticipations: 5 marketplaces" in [
        e.text for e in check.evidence
    ]


def test_authorization_revoked_is_a_problem_with_renew(account, now):
    account.status = SellerAccount.Status.AUTHORIZATION_REVOKED
    account.save()
    tests = [ConnectionCheck("Sellers.getMarketplaceParticipations", False, "invalid_grant")]
    check = access.check_authorization(account, tests=tests, now=now)
    assert check.status == results.PROBLEM
    assert check.summary == "Amazon does not accept the authorization: Authorization revoked."
    assert [(f.label, f.url) for f in check.fixes] == [
        ("Renew access", reverse("amazon_settings:renew", args=[account.pk]))
    ]


def test_authorization_before_any_call_says_so(account, now):
    check = access.check_authorization(account, tests=[], now=now)
    assert check.summary == f"Amazon accepted the last call at {format_moment(now - H)}."
    account.last_success_at = None
    check = access.check_authorization(account, tests=[], now=now)
    assert check.summary == "No call to Amazon has been made with this authorization yet."


def test_no_token_is_a_problem(account, now):
    account.refresh_token_encrypted = ""
    account.status = SellerAccount.Status.DISCONNECTED
    account.save()
    check = access.check_authorization(account, tests=[], now=now)
    assert check.status == results.PROBLEM
    assert check.fixes[0].label == "Connect again"


def test_unreachable_is_a_warning(account, now):
    account.status = SellerAccount.Status.UNREACHABLE
    account.save()
    check = access.check_authorization(account, tests=[], now=now)
    assert check.status == results.WARNING


def _call(account, at, operation, outcome):
    return ApiCall.objects.create(
        at=at, account=account, operation=operation, method="GET", path="/x", outcome=outcome
    )


def test_access_rights_lists_denied_operations_until_they_succeed(account, now):
    _call(account, now - 2 * H, "getReportSchedules", ApiCall.Outcome.DENIED)
    _call(account, now - H, "getReportSchedules", ApiCall.Outcome.DENIED)
    _call(account, now - H, "getReports", ApiCall.Outcome.DENIED)
    _call(account, now - 20 * D, "createReport", ApiCall.Outcome.DENIED)  # before the grant
    check = access.check_access_rights(account, tests=[], now=now)
    assert check.status == results.PROBLEM
    texts = [e.text for e in check.evidence]
    assert len(texts) == 2
    assert texts[0].startswith("getReportSchedules: denied 2 times, last at ")
    assert texts[1].startswith("getReports: denied 1 time, last at ")
    assert check.fixes[0].label == "Renew access"

    _call(account, now - 30 * timedelta(minutes=1), "getReportSchedules", ApiCall.Outcome.SUCCESS)
    _call(account, now - 30 * timedelta(minutes=1), "getReports", ApiCall.Outcome.SUCCESS)
    check = access.check_access_rights(account, tests=[], now=now)
    assert check.status == results.OK
    assert check.summary == "Amazon denied no call in the last week."


def test_access_rights_from_the_test_call(account, now):
    tests = [
        ConnectionCheck("Sellers.getMarketplaceParticipations", True, "5 marketplaces"),
        ConnectionCheck(
            "Reports.getReportSchedules", False, "Access to requested resource is denied."
        ),
    ]
    check = access.check_access_rights(account, tests=tests, now=now)
    assert check.status == results.PROBLEM
    assert check.evidence[0].text == (
        "Reports.getReportSchedules (test call): Access to requested resource is denied."
    )


@pytest.mark.parametrize(
    ("granted_days_ago", "status"),
    [(10, results.OK), (350, results.WARNING), (366, results.PROBLEM)],
)
def test_expiry(account, now, granted_days_ago, status):
    account.authorized_at = now - granted_days_ago * D
    check = access.check_expiry(account, now=now)
    assert check.status == status
    assert bool(check.fixes) == (status != results.OK)


def test_worker_never_seen_stale_and_alive(account, now, settings):
    settings.WORKER_INTERVAL_SECONDS = 300
    check = imports.check_worker(account, now=now)
    assert check.status == results.PROBLEM
    assert check.fixes[0].text == imports.WORKER_HOW_TO

    WorkerHeartbeat.objects.create(name="worker", last_seen_at=now - 11 * timedelta(minutes=1))
    account.order_import_active = True
    check = imports.check_worker(account, now=now)
    assert check.status == results.WARNING
    assert "has not run for 11 minutes" in check.summary

    WorkerHeartbeat.objects.filter(name="worker").update(last_seen_at=now - timedelta(seconds=20))
    check = imports.check_worker(account, now=now)
    assert check.status == results.OK

    account.order_import_active = False
    check = imports.check_worker(account, now=now)
    assert check.status == results.WARNING
    assert check.fixes[0].label == "Switch order import on"
    assert check.fixes[0].fields == (("active", "on"),)


def test_last_imports_against_the_expected_interval(account, now):
    account.order_import_active = True
    check = imports.check_last_imports(account, now=now)
    assert check.status == results.PROBLEM  # order reports never imported
    make_report(account, now - 2 * H, now - H, imported_at=now - 30 * timedelta(minutes=1))
    make_report(
        account,
        now - 2 * D,
        now - D,
        report_type=FBA.report_type,
        imported_at=now - 10 * H,
    )
    check = imports.check_last_imports(account, now=now)
    by_name = {e.text.split(":")[0]: e.status for e in check.evidence}
    assert by_name[MFN.name] == results.OK
    assert by_name[FBA.name] == results.OK
    Report.objects.filter(report_type=MFN_TYPE).update(imported_at=now - 5 * H)
    check = imports.check_last_imports(account, now=now)
    assert check.status == results.PROBLEM
    mfn = next(e for e in check.evidence if e.text.startswith(str(MFN.name)))
    assert "(5 hours ago; expected every 60 minutes)" in mfn.text
    assert mfn.fixes[0].url == reverse("reports:request")


def test_gaps_check_offers_a_request_per_gap(account, now):
    start = account.import_orders_from
    make_report(account, start, start + 2 * D)
    make_report(account, start + 3 * D, now)
    make_report(account, start, now, report_type=FBA.report_type)
    covs = coverage.account_coverage(account, now=now)
    check = imports.check_gaps(account, coverages=covs, now=now)
    assert check.status == results.PROBLEM
    (evidence,) = check.evidence
    assert evidence.text.startswith(f"{MFN.name}: ")
    assert evidence.text.endswith("(24 hours) is not covered.")
    (fix,) = evidence.fixes
    assert fix.url == reverse("reports:diagnosis_request_gap", args=[account.pk])
    assert dict(fix.fields) == {
        "kind": "mfn_orders_eu",
        "start": (start + 2 * D).isoformat(),
        "end": (start + 3 * D).isoformat(),
    }

    make_report(account, start + 2 * D, start + 3 * D, Status.WAITING)
    check = imports.check_gaps(
        account, coverages=coverage.account_coverage(account, now=now), now=now
    )
    assert check.status == results.WARNING
    assert "1 report is on the way" in check.evidence[0].text

    Report.objects.filter(import_status=Status.WAITING).update(import_status=Status.IMPORTED)
    check = imports.check_gaps(
        account, coverages=coverage.account_coverage(account, now=now), now=now
    )
    assert check.status == results.OK
    assert check.evidence == ()


def test_reports_check_failed_fatal_stuck_cancelled(account, now):
    failed = make_report(
        account,
        now - 3 * D,
        now - 2 * D,
        Status.FAILED,
        failure_reason=Report.FailureReason.RETRIES_EXHAUSTED,
        last_error="Gave up after 8 attempts.",
    )
    covs = coverage.account_coverage(account, now=now)
    check = imports.check_reports(account, coverages=covs, now=now)
    assert check.status == results.PROBLEM
    (evidence,) = check.evidence
    assert "failed (Retries exhausted): Gave up after 8 attempts." in evidence.text
    assert evidence.url == reverse("reports:detail", args=[failed.pk])
    assert evidence.fixes[0].url == reverse("reports:reset", args=[failed.pk])
    assert dict(evidence.fixes[0].fields) == {
        "next": reverse("reports:diagnosis", args=[account.pk])
    }

    # Another report imported the same range since: no longer a problem.
    make_report(account, now - 4 * D, now - D)
    covs = coverage.account_coverage(account, now=now)
    check = imports.check_reports(account, coverages=covs, now=now)
    assert check.status == results.WARNING
    assert "its range was imported by another report since" in check.evidence[0].text

    make_report(
        account, now - 2 * D, now - D, Status.FAILED, amazon_status=Report.AmazonStatus.FATAL
    )
    make_report(account, now - 2 * D, now - D, Status.WAITING, stuck_since=now - H)
    make_report(account, now - 9 * D, now - 8 * D, Status.CANCELLED)
    check = imports.check_reports(account, coverages=covs, now=now)
    texts = [e.text for e in check.evidence]
    assert [" FATAL at Amazon;" in t for t in texts].count(True) == 1
    assert [" stuck at Amazon;" in t for t in texts].count(True) == 1
    assert [t.endswith(" cancelled") for t in texts].count(True) == 1
    assert check.status == results.WARNING  # all their ranges are covered
    old = Report.objects.filter(import_status=Status.CANCELLED).get()
    Report.objects.filter(pk=old.pk).update(created_at=now - 40 * D)
    assert len(imports.check_reports(account, coverages=covs, now=now).evidence) == 3


def test_throttling_in_the_last_day(account, now):
    assert access.check_throttling(account, now=now).status == results.OK
    _call(account, now - 2 * D, "getReport", ApiCall.Outcome.THROTTLED)
    assert access.check_throttling(account, now=now).status == results.OK
    _call(account, now - H, "getReport", ApiCall.Outcome.THROTTLED)
    _call(account, now - 2 * H, "getReport", ApiCall.Outcome.THROTTLED)
    check = access.check_throttling(account, now=now)
    assert check.status == results.WARNING
    assert check.evidence[0].text.startswith("getReport: throttled 2 times, last at ")


def test_requesting_a_gap_splits_it_into_requests_amazon_accepts(account, now):
    reports = requesting.request_missing_range(
        account, kind_key="mfn_orders_eu", start=now - 45 * D, end=now - D, acting_user=None
    )
    assert [(r.data_start, r.data_end) for r in reports] == [
        (now - 45 * D, now - 15 * D),
        (now - 15 * D, now - D),
    ]
    assert all(r.import_status == Status.QUEUED for r in reports)
    assert all(r.marketplace_ids == ["A13V1IB3VIYZZH", "A1PA6795UKMFR9"] for r in reports)
    # Twice: the same reports, nothing new.
    again = requesting.request_missing_range(
        account, kind_key="mfn_orders_eu", start=now - 45 * D, end=now - D, acting_user=None
    )
    assert [r.pk for r in again] == [r.pk for r in reports]


def test_requesting_a_gap_older_than_amazon_keeps(account, now):
    (report,) = requesting.request_missing_range(
        account, kind_key="mfn_orders_eu", start=now - 70 * D, end=now - 50 * D, acting_user=None
    )
    assert report.data_start > now - 60 * D
    with pytest.raises(InvalidReportRequest, match="Amazon keeps"):
        requesting.request_missing_range(
            account,
            kind_key="mfn_orders_eu",
            start=now - 90 * D,
            end=now - 61 * D,
            acting_user=None,
        )


def automatic(account, *types: str) -> list[Report]:
    """The worker's automatic requests of one pass for the account, of `types` only."""
    return [r for r in requesting.request_automatic_reports(account) if r.report_type in types]


def look_again() -> None:
    """Make every report type due, as when the worker comes round to it again."""
    ReportCadence.objects.update(next_request_at=timezone.now())


def test_automatic_requests_reach_back_to_the_import_start_date_newest_first(account, settings):
    settings.WORKER_INTERVAL_SECONDS = 60
    account.import_orders_from = timezone.now() - 40 * D
    account.save()
    created = requesting.request_automatic_reports(account)
    assert all(r.source == Report.Source.AUTOMATIC for r in created)
    (mfn,) = [r for r in created if r.report_type == MFN_TYPE]
    (fba,) = [r for r in created if r.report_type == FBA.report_type]
    # The newest first (today's orders come first): 40 days in two equal requests, neither
    # longer than one request may cover.
    assert mfn.data_end >= account.import_orders_from + 40 * D - timedelta(seconds=5)
    assert mfn.data_end - mfn.data_start == (mfn.data_end - account.import_orders_from) / 2
    assert fba.data_end - fba.data_start == (fba.data_end - account.import_orders_from) / 2
    assert mfn.data_end - mfn.data_start <= MFN.max_range
    # Twice: the requested reports are pending, nothing more is requested meanwhile.
    look_again()
    assert requesting.request_automatic_reports(account) == []
    # Once they are in, the rest of the history, back to the import start date.
    Report.objects.filter(pk__in=[mfn.pk, fba.pk]).update(import_status=Status.IMPORTED)
    look_again()
    (older_fba, older_mfn) = sorted(
        automatic(account, MFN_TYPE, FBA.report_type), key=lambda r: r.report_type
    )
    assert (older_mfn.data_start, older_mfn.data_end) == (
        account.import_orders_from,
        mfn.data_start,
    )
    assert (older_fba.data_start, older_fba.data_end) == (
        account.import_orders_from,
        fba.data_start,
    )


def test_automatic_requests_fill_a_gap_left_by_a_lapse(account, settings):
    settings.WORKER_INTERVAL_SECONDS = 60
    settings.AUTOMATIC_IMPORT_OVERLAP_SECONDS = 3600
    now = timezone.now()
    start = account.import_orders_from
    for report_type in (MFN_TYPE, FBA.report_type):
        make_report(account, start, now - 5 * D, report_type=report_type)
        make_report(account, now - 2 * D, now - timedelta(seconds=10), report_type=report_type)
    make_report(account, start, now - timedelta(seconds=10), report_type=STATUS_TYPE)
    created = automatic(account, MFN_TYPE, FBA.report_type, STATUS_TYPE)
    assert sorted((r.report_type, r.data_start, r.data_end) for r in created) == sorted(
        (t, now - 5 * D - H, now - 2 * D) for t in (MFN_TYPE, FBA.report_type)
    )
    look_again()
    assert automatic(account, MFN_TYPE, FBA.report_type, STATUS_TYPE) == []


def test_the_status_report_chains_its_ranges_one_at_a_time(account, settings):
    settings.WORKER_INTERVAL_SECONDS = 60
    settings.AUTOMATIC_IMPORT_OVERLAP_SECONDS = 3600
    now = timezone.now()
    start = account.import_orders_from
    # The order reports cover everything (up to a moment ahead): only statuses are due.
    for report_type in (MFN_TYPE, FBA.report_type):
        make_report(account, start, now + H, report_type=report_type)
    order_and_status = (MFN_TYPE, FBA.report_type, STATUS_TYPE)

    (first,) = automatic(account, *order_and_status)
    assert (first.report_type, first.data_start) == (STATUS_TYPE, start)
    assert first.data_end >= now and first.source == Report.Source.AUTOMATIC

    # However long Amazon takes, no second one while the first is on its way.
    Report.objects.filter(pk=first.pk).update(data_end=now - 2 * D)
    look_again()
    assert automatic(account, *order_and_status) == []

    # Once it is imported, the next one starts where it ended, an overlap earlier.
    Report.objects.filter(pk=first.pk).update(import_status=Status.IMPORTED)
    look_again()
    (second,) = automatic(account, *order_and_status)
    assert (second.report_type, second.data_start) == (STATUS_TYPE, now - 2 * D - H)
    assert second.data_end >= now
    look_again()
    assert automatic(account, *order_and_status) == []

    # Nothing before the cadence comes round again.
    Report.objects.filter(pk=second.pk).update(import_status=Status.IMPORTED, data_end=now + H)
    look_again()
    assert automatic(account, *order_and_status) == []


def test_the_status_report_is_not_offered_to_request_by_hand(operator, account):
    body = operator.get(reverse("reports:request")).content.decode()
    assert 'value="mfn_orders_eu"' in body
    assert "order_status" not in body
    response = operator.post(
        reverse("reports:request"),
        {
            "account": account.pk,
            "kind": "order_status",
            "marketplace_ids": ["A1PA6795UKMFR9"],
            "start": "2025-01-01T00:00",
            "end": "2025-01-02T00:00",
        },
    )
    assert "Select a valid choice" in response.content.decode()
    assert not Report.objects.exists()
    # Processing can still be filtered by it.
    processing = operator.get(reverse("reports:processing")).content.decode()
    assert 'value="order_status"' in processing


def test_a_recently_failed_range_is_not_requested_again_at_once(account, settings):
    settings.WORKER_INTERVAL_SECONDS = 60
    now = timezone.now()
    start = account.import_orders_from
    make_report(account, start, now - timedelta(seconds=10))
    make_report(account, start, now - timedelta(seconds=10), report_type=FBA.report_type)
    make_report(account, start, now - timedelta(seconds=10), report_type=STATUS_TYPE)
    failed = make_report(account, now - 3 * D, now - 2 * D, Status.FAILED)
    Report.objects.filter(import_status=Status.IMPORTED, report_type=MFN_TYPE).update(
        data_end=now - 3 * D
    )
    make_report(account, now - 2 * D, now - timedelta(seconds=10))
    order_and_status = (MFN_TYPE, FBA.report_type, STATUS_TYPE)
    assert automatic(account, *order_and_status) == []
    Report.objects.filter(pk=failed.pk).update(updated_at=now - 7 * H)
    look_again()
    (again,) = automatic(account, *order_and_status)
    assert again.report_type == MFN_TYPE
    assert again.data_end == now - 2 * D


ANSWERS = (
    ("Sellers.getMarketplaceParticipations", True, "2 marketplaces: DE, FR"),
    ("Reports.getReportSchedules", True, "Amazon granted access to reports."),
)
CHECK_KEYS = (
    "authorization",
    "access_rights",
    "expiry",
    "worker",
    "last_imports",
    "gaps",
    "reports",
    "throttling",
)


def poll(client, account):
    return client.get(
        reverse("reports:diagnosis_connection_test", args=[account.pk]), HTTP_HX_REQUEST="true"
    )


def test_diagnosis_page_answers_at_once_and_the_worker_makes_the_test_call(
    operator, account, monkeypatch, handed_out, django_capture_on_commit_callbacks
):
    tested = fake_test(monkeypatch, *ANSWERS)
    make_report(account, account.import_orders_from, timezone.now() - 2 * D)
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.get(reverse("reports:diagnosis", args=[account.pk]))
    assert response.status_code == 200
    assert tested == []  # the page itself did not call Amazon
    html = response.content.decode()
    for key in CHECK_KEYS:
        assert f'id="check-{key}"' in html
    assert 'class="segment gap' in html
    assert 'id="import-start-form"' in html
    assert 'data-state="waiting"' in html
    assert "Testing the connection to Amazon…" in html
    poll_url = reverse("reports:diagnosis_connection_test", args=[account.pk])
    assert f'hx-get="{poll_url}" hx-trigger="every 2s"' in html
    assert "2 marketplaces: DE, FR" not in html
    test = ConnectionTest.objects.get(account=account)
    assert handed_out == [("reports.tasks.run_connection_test", (test.pk, test.run_id))]

    response = poll(operator, account)
    assert response.status_code == 200  # still waiting: polling goes on
    assert "Waiting for the worker since" in response.content.decode()
    assert 'hx-trigger="every 2s"' in response.content.decode()

    assert run_handed_out(handed_out) == 1
    assert tested == [account]
    response = poll(operator, account)
    assert response.status_code == 286
    assert response["HX-Retarget"] == "#diagnosis-checks"
    assert response["HX-Reswap"] == "outerHTML"
    html = response.content.decode()
    assert 'id="diagnosis-checks"' in html
    for key in CHECK_KEYS:
        assert f'id="check-{key}"' in html
    assert "Sellers.getMarketplaceParticipations: 2 marketplaces: DE, FR" in html
    assert 'id="connection-test" data-state="finished"' in html
    assert "hx-get" not in html.split('id="check-authorization"')[0]

    # Without htmx the fragment's URL is the page.
    response = operator.get(reverse("reports:diagnosis_connection_test", args=[account.pk]))
    assert response.status_code == 302
    assert response.url == reverse("reports:diagnosis", args=[account.pk])


def test_pages_opened_together_share_one_test_call(
    operator, account, monkeypatch, handed_out, django_capture_on_commit_callbacks, now
):
    tested = fake_test(monkeypatch, *ANSWERS)
    url = reverse("reports:diagnosis", args=[account.pk])
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            assert operator.get(url).status_code == 200
    assert len(handed_out) == 1  # queued once, the other pages wait for the same test
    run_handed_out(handed_out)
    with django_capture_on_commit_callbacks(execute=True):
        html = operator.get(url).content.decode()
    # A fresh test is shown as it is, with its answers, and nothing is queued.
    assert handed_out == []
    assert "Sellers.getMarketplaceParticipations: 2 marketplaces: DE, FR" in html
    assert 'data-state="finished"' in html and "hx-trigger" not in html.split("coverage-card")[0]
    assert len(tested) == 1

    # A minute later, the next page asks for a new test.
    test = ConnectionTest.objects.get()
    later = test.finished_at + connection_tests.FRESH_FOR + timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        again = connection_tests.request_connection_test(account, now=later)
    assert again.state == ConnectionTest.State.QUEUED and again.run_id != test.run_id
    assert handed_out == [("reports.tasks.run_connection_test", (test.pk, again.run_id))]


def test_a_test_runs_once_per_request(account, monkeypatch, handed_out, now):
    tested = fake_test(monkeypatch, *ANSWERS)
    first = connection_tests.request_connection_test(account, now=now)
    assert connection_tests.request_connection_test(account, now=now + H / 60) == first
    # The task delivered twice: the second delivery finds the test started and does nothing.
    ran = connection_tests.run_connection_test(first.pk, first.run_id)
    assert ran.state == ConnectionTest.State.FINISHED
    assert ran.results == [
        {"operation": operation, "ok": ok, "message": message} for operation, ok, message in ANSWERS
    ]
    assert connection_tests.run_connection_test(first.pk, first.run_id) is None
    assert len(tested) == 1
    # A task of a replaced request does nothing either.
    later = ran.finished_at + connection_tests.FRESH_FOR + timedelta(seconds=1)
    second = connection_tests.request_connection_test(account, now=later)
    assert connection_tests.run_connection_test(first.pk, first.run_id) is None
    assert ConnectionTest.objects.get().state == ConnectionTest.State.QUEUED
    assert connection_tests.run_connection_test(second.pk, second.run_id).results == ran.results
    assert len(tested) == 2


def test_no_test_without_an_authorization(operator, account, handed_out):
    account.refresh_token_encrypted = ""
    account.status = SellerAccount.Status.DISCONNECTED
    account.save()
    assert connection_tests.request_connection_test(account) is None
    html = operator.get(reverse("reports:diagnosis", args=[account.pk])).content.decode()
    assert 'id="connection-test"' not in html
    assert not ConnectionTest.objects.exists() and handed_out == []
    assert poll(operator, account).status_code == 286


def test_a_test_call_that_cannot_start_says_why(account, monkeypatch, now):
    def undecryptable(account):
        raise TokenDecryptionFailed("The stored token cannot be decrypted with the keys.")

    monkeypatch.setattr("amazon_settings.services.check_connection", undecryptable)
    test = connection_tests.request_connection_test(account, now=now)
    test = connection_tests.run_connection_test(test.pk, test.run_id)
    assert test.state == ConnectionTest.State.FINISHED
    assert connection_tests.connection_checks(test) == [
        ConnectionCheck(
            "Authorization", False, "The stored token cannot be decrypted with the keys."
        )
    ]


def test_when_the_worker_does_not_answer_the_page_says_so_and_asks_again(
    operator, account, monkeypatch, handed_out, django_capture_on_commit_callbacks, now
):
    tested = fake_test(monkeypatch, *ANSWERS)
    WorkerHeartbeat.objects.create(name="worker", last_seen_at=now - 2 * H)
    url = reverse("reports:diagnosis", args=[account.pk])
    with django_capture_on_commit_callbacks(execute=True):
        operator.get(url)
    test = ConnectionTest.objects.get()
    asked_at = now - connection_tests.PICKUP_WITHIN - timedelta(seconds=1)
    ConnectionTest.objects.update(requested_at=asked_at)

    response = poll(operator, account)
    assert response.status_code == 286  # the page stops waiting
    html = response.content.decode()
    assert 'id="connection-test" role="status" data-state="no-answer"' in html
    assert "The test call to Amazon was not made." in html
    assert (
        f"The background worker did not start the test call asked for at "
        f"{format_moment(asked_at)} within 60 seconds: it is not running, or too busy. "
        f"The worker was last seen {format_moment(now - 2 * H)} (2 hours ago). The checks "
        "below use what was recorded before."
    ) in html
    assert f"{imports.WORKER_HOW_TO} Then click Check again." in html
    assert 'id="check-authorization"' in html

    # "Check again" queues a new test; the old task, delivered late, does nothing.
    old_task = handed_out.pop()
    with django_capture_on_commit_callbacks(execute=True):
        assert 'data-state="waiting"' in operator.get(url).content.decode()
    new_run = ConnectionTest.objects.get().run_id
    assert new_run != test.run_id
    assert handed_out == [("reports.tasks.run_connection_test", (test.pk, new_run))]
    import_string(old_task[0])(*old_task[1])
    assert tested == []
    run_handed_out(handed_out)
    assert tested == [account]


def test_a_test_the_worker_started_but_never_finished(account, now):
    test = connection_tests.request_connection_test(account, now=now)
    started_at = now - connection_tests.running_bound()
    ConnectionTest.objects.update(state=ConnectionTest.State.RUNNING, started_at=started_at)
    test.refresh_from_db()
    assert connection_test.connection_test_status(test, now=now).waiting
    status = connection_test.connection_test_status(test, now=now + timedelta(seconds=1))
    assert status.state == connection_test.NO_ANSWER
    assert status.no_answer.startswith(
        f"The background worker started the test call at {format_moment(started_at)} but did "
        "not finish it: it may have stopped. The worker has never run on this installation."
    )
    # A new request replaces the abandoned test.
    assert connection_tests.request_connection_test(account, now=now).state == "running"
    again = connection_tests.request_connection_test(account, now=now + timedelta(seconds=1))
    assert again.state == ConnectionTest.State.QUEUED and again.run_id != test.run_id


def test_the_deadlines_cover_the_longest_test_call(settings):
    settings.SPAPI_TIMEOUT_SECONDS = 30
    settings.SPAPI_MAX_WAIT_SECONDS = 60
    settings.SPAPI_INTERACTIVE_RETRIES = 1
    # A token refresh, then two calls of up to two attempts and a full rate-limiter wait each.
    assert connection_tests.running_bound() == timedelta(seconds=30 + 2 * (2 * 30 + 60))


def test_chooser_goes_to_the_only_account(operator, account):
    response = operator.get(reverse("reports:diagnosis_chooser"))
    assert response.status_code == 302
    assert response.url == reverse("reports:diagnosis", args=[account.pk])


def test_gap_request_view(operator, account):
    now = timezone.now().replace(microsecond=0)
    response = operator.post(
        reverse("reports:diagnosis_request_gap", args=[account.pk]),
        {"kind": "mfn_orders_eu", "start": (now - 3 * D).isoformat(), "end": (now - D).isoformat()},
    )
    assert response.status_code == 302
    (report,) = Report.objects.all()
    assert (report.data_start, report.data_end) == (now - 3 * D, now - D)
    assert report.source == Report.Source.REQUESTED

    response = operator.post(
        reverse("reports:diagnosis_request_gap", args=[account.pk]),
        {"kind": "mfn_orders_eu", "start": (now - D).isoformat(), "end": (now - 2 * D).isoformat()},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("reports:diagnosis", args=[account.pk])
    assert Report.objects.count() == 1


def test_import_start_form(operator, account):
    url = reverse("reports:diagnosis_import_start", args=[account.pk])
    operator.post(url, {"import_orders_from": "2020-01-01"})
    account.refresh_from_db()
    assert timezone.localtime(account.import_orders_from).date().isoformat() == "2020-01-01"
    tomorrow = timezone.localdate() + D
    operator.post(url, {"import_orders_from": tomorrow.isoformat()})
    account.refresh_from_db()
    assert timezone.localtime(account.import_orders_from).date().isoformat() == "2020-01-01"


def test_coverage_fragment_stops_polling_when_nothing_is_pending(operator, account):
    url = reverse("reports:diagnosis_coverage", args=[account.pk])
    pending = make_report(account, timezone.now() - 2 * D, timezone.now() - D, Status.WAITING)
    response = operator.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'hx-trigger="every 5s"' in response.content.decode()
    Report.objects.filter(pk=pending.pk).update(import_status=Status.IMPORTED)
    response = operator.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 286


def test_home_shows_a_strip_per_account_and_the_orders_chart(operator, account):
    make_report(account, account.import_orders_from, timezone.now() - D)
    Report.objects.create(account=account, report_type=MFN_TYPE, import_status=Status.FAILED)
    for index in range(3):
        Order.objects.create(
            account=account,
            amazon_order_id=f"302-000000{index}-0000000",
            purchased_at=timezone.now(),
        )
    response = operator.get(reverse("home"))
    html = response.content.decode()
    assert f'id="strip-{account.pk}"' in html
    assert "1 failed" in html
    assert "0 pending" in html
    # The short name, the full one in its tooltip.
    assert f'<span title="{MFN.name}">{MFN.short_name}</span>: <span' in html
    assert 'id="orders-chart"' in html
    assert "3 orders · most in one day: 3" in html
    assert html.count('class="bar"') == 30
    assert f'data-day="{timezone.localdate():%Y-%m-%d}" data-count="3"' in html


def days_ago(days: int) -> datetime:
    """Noon, in the product's time zone, of the calendar day `days` before today: the chart counts
    calendar days, and `now - days * D` falls on another day in the hour after midnight (or
    before it) for a while after a daylight saving change."""
    return timezone.make_aware(datetime.combine(timezone.localdate() - days * D, clock_time(12)))


def make_orders(account, count, *, created_at=None, purchased_at=None):
    """`count` orders purchased at `purchased_at` (by default when they are imported, now) and
    imported at `created_at` (by default now)."""
    offset = Order.objects.count()
    orders = [
        Order.objects.create(account=account, amazon_order_id=f"302-{offset + n:07d}-0000000")
        for n in range(count)
    ]
    imported = Order.objects.filter(pk__in=[o.pk for o in orders])
    if created_at is not None:
        imported.update(created_at=created_at)
    imported.update(purchased_at=purchased_at or created_at or timezone.now())


@pytest.mark.parametrize("by", ["purchased", "imported"])
def test_orders_per_day_counts_local_days(by):
    today = timezone.localdate()
    midnight = timezone.make_aware(datetime.combine(today, datetime.min.time()))
    account = SellerAccount.objects.create(selling_partner_id="A1", region="eu")
    make_orders(account, 2, created_at=midnight)
    make_orders(account, 1, created_at=midnight - timedelta(minutes=1))
    make_orders(account, 1, created_at=midnight - 30 * D)  # before the first day of the chart
    chart = dashboard.orders_per_day(by=by)
    assert [(bar.day, bar.count) for bar in chart.bars[-2:]] == [(today - D, 1), (today, 2)]
    assert chart.bars[0].day == today - 29 * D
    assert (chart.total, chart.maximum, chart.capped) == (3, 2, False)
    assert chart.bars[-1].label.endswith(": 2 orders")
    assert chart.bars[-2].label.endswith(": 1 order")


def test_orders_per_day_counts_by_purchase_date_unless_asked_for_the_import_day():
    """A first import brings a month of orders on one day: the chart shows when they were
    bought, and the import day only when asked."""
    today = timezone.localdate()
    account = SellerAccount.objects.create(selling_partner_id="A1", region="eu")
    make_orders(account, 3, purchased_at=days_ago(10))
    make_orders(account, 1, purchased_at=days_ago(2))
    make_orders(account, 1, purchased_at=None)
    by_purchase = {bar.day: bar.count for bar in dashboard.orders_per_day().bars if bar.count}
    assert by_purchase == {today - 10 * D: 3, today - 2 * D: 1, today: 1}
    by_import = {
        bar.day: bar.count for bar in dashboard.orders_per_day(by="imported").bars if bar.count
    }
    assert by_import == {today: 5}


def test_home_chart_switches_between_purchase_date_and_import_day(operator, account):
    make_orders(account, 2, purchased_at=days_ago(3))
    three_days_ago = f"{timezone.localdate() - 3 * D:%Y-%m-%d}"
    html = operator.get(reverse("home")).content.decode()
    assert "Orders per purchase date, last 30 days" in html
    assert f'data-day="{three_days_ago}" data-count="2"' in html
    assert re.search(r'class="btn btn-primary active" href="/"[^>]*data-chart-by="purchased"', html)
    html = operator.get(reverse("home"), {"chart": "imported"}).content.decode()
    assert "Orders imported per day, last 30 days" in html
    assert f'data-day="{three_days_ago}" data-count="0"' in html
    assert f'data-day="{timezone.localdate():%Y-%m-%d}" data-count="2"' in html
    assert re.search(r'class="btn btn-primary active"[^>]*data-chart-by="imported"', html)


def test_orders_per_day_counts_a_day_up_to_the_limit():
    account = SellerAccount.objects.create(selling_partner_id="A1", region="eu")
    make_orders(account, 5)
    make_orders(account, 2, created_at=days_ago(1))
    chart = dashboard.orders_per_day(limit=3)
    today, yesterday = chart.bars[-1], chart.bars[-2]
    assert (today.count, today.capped) == (3, True)
    assert today.label.endswith(": more than 3 orders")
    assert (yesterday.count, yesterday.capped) == (2, False)
    assert (chart.total, chart.maximum, chart.capped) == (5, 3, True)
    assert dashboard.orders_per_day(limit=5).capped is False


def test_home_labels_a_day_counted_up_to_the_limit(operator, account, monkeypatch):
    monkeypatch.setattr(dashboard, "DAY_COUNT_LIMIT", 3)
    make_orders(account, 4)
    html = operator.get(reverse("home")).content.decode()
    assert "3+ orders · most in one day: 3+" in html
    assert f'data-day="{timezone.localdate():%Y-%m-%d}" data-count="3" data-capped="1"' in html
    assert 'class="bar-count">3+</text>' in html
    assert 'Days are counted up to 3 orders: a bar marked "3+" had more.' in html


def test_strips_and_coverage_of_several_accounts_match_one_by_one(account, now):
    other = SellerAccount.objects.create(
        selling_partner_id="A3OTHER", region="eu", import_orders_from=now - 5 * D
    )
    start = account.import_orders_from
    make_report(account, start, start + 2 * D)
    make_report(account, start + 3 * D, now - D, Status.WAITING)
    make_report(account, start, now, report_type=FBA.report_type)
    make_report(other, now - 4 * D, now - 2 * D)
    make_report(other, now - 2 * D, now - D, Status.FAILED)
    both = coverage.accounts_coverage([account, other], now=now)
    for each in (account, other):
        assert both[each.pk] == coverage.account_coverage(each, now=now)
        assert both[each.pk] == [
            coverage.kind_coverage(each, kind, now=now) for kind in coverage.order_kinds(each)
        ]
    strips = dashboard.account_strips([account, other], now=now)
    assert [(s.account, s.pending, s.failed) for s in strips] == [(account, 1, 0), (other, 0, 1)]
    assert strips[1].coverages == both[other.pk]
    last = {item.kind.key: item.at for item in strips[1].last_imports}
    assert last[MFN.key] == selectors.last_imports(other)[MFN.key] == now - 2 * D


def test_home_of_a_new_installation(operator):
    html = operator.get(reverse("home")).content.decode()
    assert "No Amazon account connected yet" in html
    assert 'id="orders-chart"' not in html


def test_with_amazon_the_page_waits_for_nothing_and_the_worker_makes_the_calls(
    amazon, operator, handed_out, django_capture_on_commit_callbacks
):
    account = connect_demo_seller(amazon)
    received = len(amazon.calls())
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.get(reverse("reports:diagnosis", args=[account.pk]))
    assert len(amazon.calls()) == received
    assert not ApiCall.objects.exists()
    assert 'data-state="waiting"' in response.content.decode()

    run_handed_out(handed_out)
    operations = [call["operation"] for call in amazon.calls()[received:]]
    assert "getMarketplaceParticipations" in operations and "getReportSchedules" in operations
    assert set(ApiCall.objects.values_list("operation", "outcome")) == {
        ("LWA.refreshToken", ApiCall.Outcome.SUCCESS),
        ("Sellers.getMarketplaceParticipations", ApiCall.Outcome.SUCCESS),
        ("Reports.getReportSchedules", ApiCall.Outcome.SUCCESS),
    }
    response = poll(operator, account)
    assert response.status_code == 286
    html = response.content.decode()
    assert "Sellers.getMarketplaceParticipations: 5 marketplaces: " in html
    assert "Reports.getReportSchedules: Amazon granted access to reports." in html
    assert 'id="check-authorization" data-status="ok"' in html


def test_with_the_rate_limit_spent_the_page_still_touches_no_call_and_no_bucket(
    amazon, operator, handed_out, django_capture_on_commit_callbacks
):
    account = connect_demo_seller(amazon)
    # Many callers queued for the account's tokens: refilling them takes Amazon many hours.
    prefix = f"{account.selling_partner_id}:{account.region}:"
    for operation in ("Sellers.getMarketplaceParticipations", "Reports.getReportSchedules"):
        RateLimitBucket.objects.create(
            key=prefix + operation, tokens=-1000.0, updated_at=time.time()
        )
    buckets = list(
        RateLimitBucket.objects.order_by("key").values_list("key", "tokens", "updated_at")
    )
    evidence = ("last_attempt_at", "last_error", "status", "status_changed_at")
    before = SellerAccount.objects.values(*evidence).get(pk=account.pk)
    received = len(amazon.calls())

    with django_capture_on_commit_callbacks(execute=True):
        response = operator.get(reverse("reports:diagnosis", args=[account.pk]))
    assert response.status_code == 200
    assert SellerAccount.objects.values(*evidence).get(pk=account.pk) == before
    assert (
        list(RateLimitBucket.objects.order_by("key").values_list("key", "tokens", "updated_at"))
        == buckets
    )
    assert len(amazon.calls()) == received
    assert not ApiCall.objects.exists()
    assert 'data-state="waiting"' in response.content.decode()

    # The worker meets the spent quota instead, and the page shows what it met.
    run_handed_out(handed_out)
    html = poll(operator, account).content.decode()
    for operation in ("Sellers.getMarketplaceParticipations", "Reports.getReportSchedules"):
        assert f"{operation}: Too many calls to {operation}; the next one is allowed in " in html
    assert "Amazon granted access" not in html
    assert len(amazon.calls(operation="getMarketplaceParticipations")) == 0


@pytest.mark.django_db(transaction=True)
def test_pages_opened_at_the_same_moment_queue_one_test(monkeypatch):
    account = SellerAccount.objects.create(
        selling_partner_id="A1SAMEMOMENT1",
        region="eu",
        refresh_token_encrypted=crypto.encrypt_secret("Atzr|test"),
        status=SellerAccount.Status.CONNECTED,
    )
    handed: list[tuple] = []
    monkeypatch.setattr(
        "reports.services.connection_tests.async_task", lambda *args, **kwargs: handed.append(args)
    )
    pages = 8
    barrier = threading.Barrier(pages)
    errors: list[BaseException] = []

    def open_page(moment: datetime) -> None:
        try:
            barrier.wait(timeout=30)
            deadline = time.monotonic() + 30
            while True:
                try:
                    connection_tests.request_connection_test(account, now=moment)
                    return
                except db.OperationalError as error:
                    # SQLite's shared in-memory test database refuses a second writer at once,
                    # where the product's database file waits for it (its busy timeout): wait
                    # the same way here. PostgreSQL makes the writers wait for the row itself.
                    if "locked" not in str(error) or time.monotonic() > deadline:
                        raise
        except BaseException as error:
            errors.append(error)
        finally:
            db.connections.close_all()

    def wave(moment: datetime) -> None:
        threads = [threading.Thread(target=open_page, args=(moment,)) for _ in range(pages)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    first = timezone.now()
    wave(first)  # the first test: the row is created once
    assert errors == [] and len(handed) == 1
    later = first + connection_tests.PICKUP_WITHIN + timedelta(seconds=1)
    wave(later)  # an unanswered test replaced once, by a guarded update
    assert errors == [] and len(handed) == 2
    test = ConnectionTest.objects.get()
    assert handed[1] == ("reports.tasks.run_connection_test", test.pk, test.run_id)

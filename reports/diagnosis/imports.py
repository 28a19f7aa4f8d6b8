"""The checks of our side: is the worker running, how long since each report type was imported,
which time no report covers, and which reports did not finish."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.urls import reverse

from amazon_settings.models import SellerAccount
from amazon_settings.selectors import format_moment
from reports import coverage
from reports.catalog import BY_KEY, ReportKind, kinds_for_region
from reports.diagnosis.results import (
    OK,
    PROBLEM,
    WARNING,
    Check,
    Evidence,
    Fix,
    describe_range,
    format_age,
    worst,
)
from reports.models import Report
from reports.selectors import (
    REPORT_LOOK_BACK,
    kind_key,
    last_imports,
    worker_last_seen,
    worker_stale_after,
)
from reports.services.cadences import effective_interval

Status = Report.ImportStatus
Amazon = Report.AmazonStatus

MAX_EVIDENCE = 12


WORKER_HOW_TO = (
    "Start the background worker on the server: python manage.py qcluster (make demo starts it "
    "for you). It needs the same settings and database as the web server."
)


def check_worker(account: SellerAccount, *, now: datetime) -> Check:
    """Without the background worker nothing is sent, polled or imported."""
    last_seen = worker_last_seen()
    how = (Fix("Start the worker", method="", text=WORKER_HOW_TO),)
    import_fix = ()
    evidence = []
    if account.order_import_active:
        evidence.append(Evidence("Automatic order import is on for this account.", OK))
    else:
        evidence.append(
            Evidence(
                "Automatic order import is off for this account: only reports you request are "
                "imported.",
                WARNING,
            )
        )
        if account.has_token:
            import_fix = (
                Fix(
                    "Switch order import on",
                    reverse("amazon_settings:order_import", args=[account.pk]),
                    fields=(("active", "on"),),
                ),
            )
    if last_seen is None:
        return Check(
            "worker",
            "Background worker",
            PROBLEM,
            "The background worker has never run: no report is sent to Amazon or imported.",
            tuple(evidence),
            how + import_fix,
        )
    age = now - last_seen
    evidence.insert(0, Evidence(f"Last seen {format_moment(last_seen)} ({format_age(age)} ago)."))
    if age > worker_stale_after():
        return Check(
            "worker",
            "Background worker",
            WARNING,
            f"The background worker has not run for {format_age(age)} (it runs every "
            f"{settings.WORKER_INTERVAL_SECONDS} seconds): it may have stopped.",
            tuple(evidence),
            how + import_fix,
        )
    return Check(
        "worker",
        "Background worker",
        WARNING if not account.order_import_active else OK,
        f"The background worker is running (last seen {format_age(age)} ago)."
        + ("" if account.order_import_active else " Automatic order import is off."),
        tuple(evidence),
        import_fix,
    )


def check_last_imports(account: SellerAccount, *, now: datetime) -> Check:
    """How long since each report type was last imported, against how often it should be."""
    imported = last_imports(account)
    chosen = {row.kind: row for row in account.cadences.all()}
    evidence = []
    statuses = []
    for kind in kinds_for_region(account.region):
        last = imported.get(kind.key)
        interval = effective_interval(chosen.get(kind.key), kind)
        if kind.default_cadence is not None and interval is None:
            evidence.append(Evidence(f"{kind.name}: off in Report cadence."))
            continue
        # A seller who asks for a type less often than usual expects it less often.
        cadence = max(kind.expected_interval, interval or kind.expected_interval)
        if last is None:
            status = PROBLEM if kind.imports_orders and account.order_import_active else ""
            text = f"{kind.name}: never imported."
        else:
            age = now - last
            if age <= cadence + worker_stale_after():
                status = OK
            elif age <= 2 * cadence + worker_stale_after():
                status = WARNING
            else:
                status = PROBLEM if kind.imports_orders else WARNING
            text = (
                f"{kind.name}: last imported {format_moment(last)} ({format_age(age)} ago; "
                f"expected every {format_age(cadence)})."
            )
        fixes = ()
        if status in (WARNING, PROBLEM) and kind.requestable and kind.offered:
            fixes = (Fix("Request it", reverse("reports:request"), method="get"),)
        evidence.append(Evidence(text, status, fixes=fixes))
        if status:
            statuses.append(status)
    overall = worst(statuses)
    summary = {
        OK: "Every report type was imported as often as Amazon makes it.",
        WARNING: "Some report types were not imported as often as expected.",
        PROBLEM: "Order reports have not been imported for longer than expected.",
    }[overall]
    if not statuses:
        summary = "Nothing has been imported yet."
    return Check("last_imports", "Last import per report type", overall, summary, tuple(evidence))


def _gap_fix(account: SellerAccount, kind: ReportKind, gap: coverage.Gap) -> Fix:
    return Fix(
        "Request this range",
        reverse("reports:diagnosis_request_gap", args=[account.pk]),
        fields=(
            ("kind", kind.key),
            ("start", gap.requestable_start.isoformat()),
            ("end", gap.end.isoformat()),
        ),
    )


def check_gaps(
    account: SellerAccount, *, coverages: list[coverage.KindCoverage], now: datetime
) -> Check:
    """Guide §3: time since the import start date that no imported report covers."""
    evidence = []
    statuses = []
    for cov in coverages:
        kind = cov.kind
        for gap in cov.gaps:
            if not gap.requestable:
                status = WARNING
                text = (
                    f"{kind.name}: {describe_range(gap.start, gap.end)} is not covered, and "
                    f"Amazon keeps this report's data only for {kind.look_back.days} days."
                )
                fixes: tuple[Fix, ...] = ()
            else:
                status = PROBLEM if gap.due else OK
                text = f"{kind.name}: {describe_range(gap.start, gap.end)} is not covered" + (
                    "." if gap.due else " yet (the next report is not due)."
                )
                fixes = (_gap_fix(account, kind, gap),)
            statuses.append(status)
            evidence.append(Evidence(text, status, fixes=fixes))
        if cov.pending_reports:
            statuses.append(WARNING if not cov.due_gaps else PROBLEM)
            evidence.append(
                Evidence(
                    f"{kind.name}: {cov.pending_reports} report"
                    f"{'s are' if cov.pending_reports != 1 else ' is'} on the way, covering "
                    + ", ".join(describe_range(s, e) for s, e in cov.pending[:3])
                    + ".",
                    WARNING,
                    url=f"{reverse('reports:processing')}?account={account.pk}&status=unfinished",
                )
            )
    overall = worst(statuses)
    since = coverage.import_start(account)
    summary = {
        OK: f"Every order report type covers the time since {format_moment(since)}.",
        WARNING: "Missing time is being imported, or is older than Amazon keeps.",
        PROBLEM: "Orders placed in these ranges may be missing: request them.",
    }[overall]
    return Check(
        "gaps", "Gaps in the imported time", overall, summary, tuple(evidence[:MAX_EVIDENCE])
    )


def check_reports(
    account: SellerAccount, *, coverages: list[coverage.KindCoverage], now: datetime
) -> Check:
    """Reports of the last 30 days that are stuck, failed, FATAL at Amazon, or were cancelled."""
    covered = {cov.kind.key: cov.covered for cov in coverages}
    reports = (
        Report.objects.filter(account=account, created_at__gte=now - REPORT_LOOK_BACK)
        .filter(
            Q(import_status__in=[Status.FAILED, Status.CANCELLED])
            | Q(amazon_status=Amazon.FATAL)
            | Q(stuck_since__isnull=False, import_status__in=Report.UNFINISHED)
        )
        .order_by("-created_at")
    )
    evidence = []
    statuses = []
    for report in reports[:MAX_EVIDENCE]:
        key = kind_key(report.report_type)
        kind = BY_KEY.get(key or "")
        name = kind.name if kind else report.report_type
        span = (
            f" for {describe_range(report.data_start, report.data_end)}"
            if report.data_start and report.data_end
            else ""
        )
        if report.import_status in Report.UNFINISHED:
            label, status = "stuck at Amazon", PROBLEM
        elif report.import_status == Status.CANCELLED:
            label, status = "cancelled", WARNING
        elif report.amazon_status == Amazon.FATAL:
            label, status = "FATAL at Amazon", PROBLEM
        else:
            label, status = f"failed ({report.get_failure_reason_display()})", PROBLEM
        if (
            status == PROBLEM
            and report.data_start
            and report.data_end
            and coverage.contains(covered.get(key or "", []), (report.data_start, report.data_end))
        ):
            status = WARNING
            label += "; its range was imported by another report since"
        fixes = ()
        if report.import_status in (Status.FAILED, *Report.UNFINISHED):
            fixes = (
                Fix(
                    "Reset",
                    reverse("reports:reset", args=[report.pk]),
                    fields=(("next", reverse("reports:diagnosis", args=[account.pk])),),
                ),
            )
        detail = f": {report.last_error}" if report.last_error else ""
        evidence.append(
            Evidence(
                f"{name} {report.amazon_report_id or '#' + str(report.pk)}{span} {label}{detail}",
                status,
                url=reverse("reports:detail", args=[report.pk]),
                fixes=fixes,
            )
        )
        statuses.append(status)
    overall = worst(statuses)
    count = reports.count()
    summary = {
        OK: "No report of the last 30 days is stuck, failed or cancelled.",
        WARNING: f"{count} report{'s' if count != 1 else ''} of the last 30 days did not finish "
        "normally; their ranges are covered otherwise, or they were cancelled.",
        PROBLEM: f"{count} report{'s' if count != 1 else ''} of the last 30 days did not finish: "
        "reset them, or request their ranges again.",
    }[overall]
    return Check("reports", "Stuck, failed or cancelled reports", overall, summary, tuple(evidence))

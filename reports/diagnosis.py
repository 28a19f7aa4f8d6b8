""" "Orders missing?": the order-import troubleshooting guide as checks run against live evidence.

Each check reads what the product already records (the account's connection evidence, the call
log, the worker's heartbeat, the reports and what they covered) and answers with a status, the
evidence behind it and the fixes that apply. Only `diagnose_account` calls Amazon (one test
call, the same as Settings' "Test connection"); the other checks are reads and can run anywhere.
The few writes the page offers are the services at the end: request a missing range, set the
import start date.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from amazon_settings import services as account_services
from amazon_settings.models import ApiCall, SellerAccount
from amazon_settings.selectors import ConnectionStatus, connection_status, format_moment
from amazon_settings.services import ConnectionCheck
from orders.selectors import orders_created_per_range
from reports import coverage, services
from reports.catalog import BY_KEY, ReportKind, kind_for_report_type, kinds_for_region
from reports.exceptions import InvalidReportRequest
from reports.models import Report
from reports.selectors import worker_last_seen

OK = "ok"
WARNING = "warning"
PROBLEM = "problem"
_RANK = {OK: 0, WARNING: 1, PROBLEM: 2}
TONES = {OK: "success", WARNING: "warning", PROBLEM: "danger"}

Status = Report.ImportStatus
Amazon = Report.AmazonStatus

REPORT_LOOK_BACK = timedelta(days=30)
THROTTLE_LOOK_BACK = timedelta(hours=24)
DENIAL_LOOK_BACK = timedelta(days=7)
MAX_EVIDENCE = 12

WORKER_HOW_TO = (
    "Start the background worker on the server: python manage.py qcluster (make demo starts it "
    "for you). It needs the same settings and database as the web server."
)


def worst(statuses: list[str]) -> str:
    return max(statuses, key=_RANK.__getitem__, default=OK)


def _age(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 2 * 3600:
        return f"{seconds // 60} minutes"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} hours"
    return f"{seconds // 86400} days"


@dataclass(frozen=True)
class Fix:
    """One thing the seller can do about a check: a POST button, a link, or instructions."""

    label: str
    url: str = ""
    method: str = "post"  # "post" (a button), "get" (a link) or "" (text only)
    fields: tuple[tuple[str, str], ...] = ()
    text: str = ""


@dataclass(frozen=True)
class Evidence:
    text: str
    status: str = ""  # "" for plain information
    url: str = ""  # where the evidence can be seen in full
    fixes: tuple[Fix, ...] = ()


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    status: str
    summary: str
    evidence: tuple[Evidence, ...] = ()
    fixes: tuple[Fix, ...] = ()

    @property
    def tone(self) -> str:
        return TONES[self.status]


@dataclass(frozen=True)
class Diagnosis:
    account: SellerAccount
    checks: list[Check]
    coverages: list[coverage.KindCoverage]
    connection: ConnectionStatus
    checked_at: datetime
    tests: list[ConnectionCheck] = field(default_factory=list)

    @property
    def status(self) -> str:
        return worst([check.status for check in self.checks])

    @property
    def tone(self) -> str:
        return TONES[self.status]

    def counts(self) -> Counter:
        return Counter(check.status for check in self.checks)


def _renew_fix(account: SellerAccount) -> Fix:
    label = "Renew access" if account.has_token else "Connect again"
    return Fix(label, reverse("amazon_settings:renew", args=[account.pk]))


# --- The checks ---------------------------------------------------------------------------------


def check_authorization(
    account: SellerAccount, *, tests: list[ConnectionCheck], now: datetime
) -> Check:
    """Guide §1: is there an authorization, and does Amazon accept it right now?"""
    status = connection_status(account, now=now)
    evidence = [
        Evidence(f"{test.operation}: {test.message}", OK if test.ok else PROBLEM) for test in tests
    ]
    evidence.append(Evidence(f"Connection status: {status.label}. {status.explanation}"))
    if not account.has_token:
        return Check(
            "authorization",
            "Authorization present and valid",
            PROBLEM,
            "No Amazon authorization is stored for this account: Amazon blocks every request.",
            tuple(evidence),
            (_renew_fix(account),),
        )
    if status.key in {"authorization_revoked", "client_rejected", "disconnected", "expired"} or (
        tests and not tests[0].ok and status.tone == "danger"
    ):
        fixes = (
            (_renew_fix(account),)
            if status.action == "renew"
            else (
                Fix(
                    "Test connection", reverse("amazon_settings:test_connection", args=[account.pk])
                ),
            )
        )
        return Check(
            "authorization",
            "Authorization present and valid",
            PROBLEM,
            f"Amazon does not accept the authorization: {status.label}.",
            tuple(evidence),
            fixes,
        )
    if status.key == "unreachable":
        return Check(
            "authorization",
            "Authorization present and valid",
            WARNING,
            "Amazon could not be reached; the authorization could not be checked.",
            tuple(evidence),
            (
                Fix(
                    "Test connection", reverse("amazon_settings:test_connection", args=[account.pk])
                ),
            ),
        )
    return Check(
        "authorization",
        "Authorization present and valid",
        OK,
        "Amazon accepted a test call with this account's authorization."
        if tests and tests[0].ok
        else f"Amazon accepted the last call at {format_moment(account.last_success_at)}.",
        tuple(evidence),
    )


def denied_operations(account: SellerAccount, *, now: datetime) -> dict[str, tuple[int, datetime]]:
    """Operations whose latest calls Amazon denied (403): operation → (denials, last denial).

    Only denials since the last grant and within a week count, and an operation that succeeded
    after its last denial is fine again.
    """
    since = now - DENIAL_LOOK_BACK
    if account.authorized_at and account.authorized_at > since:
        since = account.authorized_at
    calls = ApiCall.objects.filter(account=account, at__gte=since)
    denied = {
        row["operation"]: (row["n"], row["last"])
        for row in calls.filter(outcome=ApiCall.Outcome.DENIED)
        .values("operation")
        .annotate(n=Count("pk"), last=Max("at"))
    }
    successes = dict(
        calls.filter(outcome=ApiCall.Outcome.SUCCESS, operation__in=list(denied))
        .values("operation")
        .annotate(last=Max("at"))
        .values_list("operation", "last")
    )
    return {
        operation: value
        for operation, value in denied.items()
        if successes.get(operation) is None or successes[operation] < value[1]
    }


def check_access_rights(
    account: SellerAccount, *, tests: list[ConnectionCheck], now: datetime
) -> Check:
    """Guide §1-2: "Access to Reports … is denied": which operations Amazon refuses."""
    denied = denied_operations(account, now=now)
    evidence = [
        Evidence(
            f"{operation}: denied {count} time{'s' if count != 1 else ''}, "
            f"last at {format_moment(last)}.",
            PROBLEM,
            url=f"{reverse('amazon_settings:log')}?account={account.pk}&outcome=denied",
        )
        for operation, (count, last) in sorted(denied.items())
    ]
    failed_tests = [t for t in tests if not t.ok and "denied" in t.message.lower()]
    for test in failed_tests:
        if not any(test.operation.endswith(op.split(".")[-1]) for op in denied):
            evidence.append(Evidence(f"{test.operation} (test call): {test.message}", PROBLEM))
    if evidence:
        return Check(
            "access_rights",
            "Access rights",
            PROBLEM,
            "Amazon denies this app some operations: it lacks a role for them or the "
            "authorization is missing. Renewing access grants the app's current roles.",
            tuple(evidence),
            (_renew_fix(account),),
        )
    granted = [t.operation for t in tests if t.ok]
    return Check(
        "access_rights",
        "Access rights",
        OK,
        "Amazon denied no call in the last week."
        + (f" Granted in the test: {', '.join(granted)}." if granted else ""),
    )


def check_expiry(account: SellerAccount, *, now: datetime) -> Check:
    """Guide §2: the authorization lasts 365 days and must be renewed before it ends."""
    expires_at = account.authorization_expires_at
    if expires_at is None:
        return Check(
            "expiry",
            "Authorization expiry",
            WARNING if account.has_token else PROBLEM,
            "The date access was granted is unknown, so its expiry is too. Renew access to "
            "start a fresh 365 days.",
            fixes=(_renew_fix(account),),
        )
    remaining = expires_at - now
    evidence = (Evidence(f"Granted or renewed: {format_moment(account.authorized_at)}"),)
    if remaining <= timedelta(0):
        return Check(
            "expiry",
            "Authorization expiry",
            PROBLEM,
            f"The authorization expired on {format_moment(expires_at)}.",
            evidence,
            (_renew_fix(account),),
        )
    if remaining <= timedelta(days=30):
        return Check(
            "expiry",
            "Authorization expiry",
            WARNING,
            f"The authorization expires in {_age(remaining)}, on {format_moment(expires_at)}.",
            evidence,
            (_renew_fix(account),),
        )
    return Check(
        "expiry",
        "Authorization expiry",
        OK,
        f"The authorization is valid until {format_moment(expires_at)} ({remaining.days} days).",
        evidence,
    )


def worker_stale_after() -> timedelta:
    return max(timedelta(seconds=2 * settings.WORKER_INTERVAL_SECONDS), timedelta(minutes=3))


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
    evidence.insert(0, Evidence(f"Last seen {format_moment(last_seen)} ({_age(age)} ago)."))
    if age > worker_stale_after():
        return Check(
            "worker",
            "Background worker",
            WARNING,
            f"The background worker has not run for {_age(age)} (it runs every "
            f"{settings.WORKER_INTERVAL_SECONDS} seconds): it may have stopped.",
            tuple(evidence),
            how + import_fix,
        )
    return Check(
        "worker",
        "Background worker",
        WARNING if not account.order_import_active else OK,
        f"The background worker is running (last seen {_age(age)} ago)."
        + ("" if account.order_import_active else " Automatic order import is off."),
        tuple(evidence),
        import_fix,
    )


def last_imports(account: SellerAccount) -> dict[str, datetime]:
    """Report type → when a report of it was last imported (or found empty) for the account."""
    return accounts_last_imports([account])[account.pk]


def accounts_last_imports(accounts: Sequence[SellerAccount]) -> dict[int, dict[str, datetime]]:
    """`last_imports` of each account (by pk), in one query."""
    rows = (
        Report.objects.filter(account__in=accounts, import_status__in=coverage.COVERING_STATUSES)
        .values("account_id", "report_type")
        .annotate(last=Max("imported_at"), updated=Max("updated_at"))
        .order_by()
    )
    result: dict[int, dict[str, datetime]] = {account.pk: {} for account in accounts}
    for row in rows:
        kind = BY_KEY.get(_kind_key(row["report_type"]) or "")
        key = kind.key if kind else row["report_type"]
        moment = row["last"] or row["updated"]
        imported = result[row["account_id"]]
        if key not in imported or moment > imported[key]:
            imported[key] = moment
    return result


def _kind_key(report_type: str) -> str | None:
    kind = kind_for_report_type(report_type)
    return kind.key if kind else None


def check_last_imports(account: SellerAccount, *, now: datetime) -> Check:
    """How long since each report type was last imported, against how often it should be."""
    imported = last_imports(account)
    evidence = []
    statuses = []
    for kind in kinds_for_region(account.region):
        last = imported.get(kind.key)
        cadence = kind.expected_interval
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
                f"{kind.name}: last imported {format_moment(last)} ({_age(age)} ago; "
                f"expected every {_age(cadence)})."
            )
        fixes = ()
        if status in (WARNING, PROBLEM) and kind.requestable:
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


def describe_range(start: datetime, end: datetime) -> str:
    return f"{format_moment(start)} to {format_moment(end)} ({_age(end - start)})"


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
        key = _kind_key(report.report_type)
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


def check_throttling(account: SellerAccount, *, now: datetime) -> Check:
    """Calls Amazon answered with 429 in the last 24 hours."""
    rows = (
        ApiCall.objects.filter(
            account=account, outcome=ApiCall.Outcome.THROTTLED, at__gte=now - THROTTLE_LOOK_BACK
        )
        .values("operation")
        .annotate(n=Count("pk"), last=Max("at"))
        .order_by("-n")
    )
    evidence = tuple(
        Evidence(
            f"{row['operation']}: throttled {row['n']} time{'s' if row['n'] != 1 else ''}, "
            f"last at {format_moment(row['last'])}.",
            WARNING,
            url=f"{reverse('amazon_settings:log')}?account={account.pk}&outcome=throttled",
        )
        for row in rows
    )
    if not evidence:
        return Check(
            "throttling", "Throttling", OK, "Amazon throttled no call in the last 24 hours."
        )
    return Check(
        "throttling",
        "Throttling",
        WARNING,
        "Amazon throttled calls in the last 24 hours. The worker waits and retries on its own; "
        "if it happens often, another tool may share this account's quota.",
        evidence,
        (
            Fix(
                "Why",
                method="",
                text="Each operation has a rate per account; requesting many ranges at once, or "
                "other tools using the same seller account, use the same quota.",
            ),
        ),
    )


# --- Running the diagnosis ----------------------------------------------------------------------


def diagnose_account(
    account: SellerAccount, *, test_call: bool = True, now: datetime | None = None
) -> Diagnosis:
    """Run every check for the account. With `test_call`, Amazon is called once first (as
    "Test connection" does), which also updates the account's connection evidence."""
    tests = account_services.check_connection(account) if test_call and account.has_token else []
    if tests:
        account.refresh_from_db()
    now = now or timezone.now()
    coverages = coverage.account_coverage(account, now=now)
    checks = [
        check_authorization(account, tests=tests, now=now),
        check_access_rights(account, tests=tests, now=now),
        check_expiry(account, now=now),
        check_worker(account, now=now),
        check_last_imports(account, now=now),
        check_gaps(account, coverages=coverages, now=now),
        check_reports(account, coverages=coverages, now=now),
        check_throttling(account, now=now),
    ]
    return Diagnosis(
        account=account,
        checks=checks,
        coverages=coverages,
        connection=connection_status(account, now=now),
        checked_at=now,
        tests=tests,
    )


# --- Fixes that write ---------------------------------------------------------------------------


def request_missing_range(
    account: SellerAccount,
    *,
    kind_key: str,
    start: datetime,
    end: datetime,
    acting_user: AbstractBaseUser | None,
) -> list[Report]:
    """Request a gap of one order report type for the account's selected marketplaces, split
    into requests Amazon accepts. The start is moved up to the oldest moment Amazon still has.
    Raises InvalidReportRequest, AccountNotConnected."""
    kind = BY_KEY.get(kind_key)
    if kind is None or not kind.requestable:
        raise InvalidReportRequest("Choose a report type that can be requested.")
    now = timezone.now()
    end = min(end, now)
    start = max(start, coverage.requestable_since(kind, now=now))
    if end <= start:
        raise InvalidReportRequest(
            f"Amazon keeps {kind.name} data for {kind.look_back.days} days: nothing of this "
            "range can be requested any more."
        )
    marketplace_ids = list(
        account.marketplaces.filter(selected=True).values_list("marketplace_id", flat=True)
    )
    if not marketplace_ids:
        raise InvalidReportRequest(
            f"No marketplace of {account.display_name} is selected for import: tick them in "
            "Settings."
        )
    return services.request_reports(
        account,
        kind_key=kind.key,
        marketplace_ids=marketplace_ids,
        start=start,
        end=end,
        acting_user=acting_user,
    )


def set_import_start(
    account: SellerAccount, *, start: datetime, acting_user: AbstractBaseUser | None
) -> SellerAccount:
    """Set since when the account's orders are imported. An earlier date opens a gap that the
    worker fills (with order import on) or that the diagnosis page offers to request."""
    now = timezone.now()
    if start > now:
        raise InvalidReportRequest("The import start date cannot be in the future.")
    account.import_orders_from = start
    account.save(update_fields=["import_orders_from"])
    return account


# --- The home dashboard -------------------------------------------------------------------------


@dataclass(frozen=True)
class LastImport:
    kind: ReportKind
    at: datetime | None
    status: str


@dataclass(frozen=True)
class AccountStrip:
    account: SellerAccount
    connection: ConnectionStatus
    last_imports: list[LastImport]
    pending: int
    failed: int
    coverages: list[coverage.KindCoverage]


def account_strips(
    accounts: Sequence[SellerAccount], *, now: datetime | None = None
) -> list[AccountStrip]:
    """What the home page shows for each account, without calling Amazon.

    Three queries however many accounts and reports: the last imports, the pending and failed
    counts, and the report ranges of the coverage timelines.
    """
    now = now or timezone.now()
    imported = accounts_last_imports(accounts)
    counts = {
        row["account_id"]: row
        for row in Report.objects.filter(
            account__in=accounts, import_status__in=[*Report.UNFINISHED, Status.FAILED]
        )
        .values("account_id")
        .annotate(
            pending=Count("pk", filter=Q(import_status__in=Report.UNFINISHED)),
            failed=Count(
                "pk",
                filter=Q(import_status=Status.FAILED, created_at__gte=now - REPORT_LOOK_BACK),
            ),
        )
        .order_by()
    }
    coverages = coverage.accounts_coverage(accounts, now=now)
    strips = []
    for account in accounts:
        rows = []
        for kind in kinds_for_region(account.region):
            at = imported[account.pk].get(kind.key)
            if at is None:
                status = ""
            elif now - at <= kind.expected_interval + worker_stale_after():
                status = OK
            else:
                status = WARNING
            rows.append(LastImport(kind, at, status))
        account_counts = counts.get(account.pk, {})
        strips.append(
            AccountStrip(
                account=account,
                connection=connection_status(account, now=now),
                last_imports=rows,
                pending=account_counts.get("pending", 0),
                failed=account_counts.get("failed", 0),
                coverages=coverages[account.pk],
            )
        )
    return strips


# The chart counts each day's orders up to this many. A first import can bring a million orders
# in one day, and counting them all took 200-300 ms on every visit of the home page; counted up
# to 10,000 through the index on the orders' `created_at`, the 30 days read at most 300,000
# index entries (a few milliseconds) and a day that has more shows "10000+". Few sellers import
# more than 10,000 orders on an ordinary day.
DAY_COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class Bar:
    day: date
    count: int  # at most the chart's `limit`
    capped: bool  # the day has more orders than `count`: it was counted up to the limit
    x: float
    y: float
    height: float
    label: str


@dataclass(frozen=True)
class DailyChart:
    bars: list[Bar]
    maximum: int
    total: int
    width: float
    height: float
    bar_width: float
    limit: int
    # Some day has more than `limit` orders: `maximum` is the limit and `total` a lower bound.
    capped: bool


def orders_per_day(
    *,
    days: int = 30,
    now: datetime | None = None,
    width: float = 1000,
    height: float = 100,
    limit: int | None = None,
) -> DailyChart:
    """Orders imported per (local) day over the last `days` days, laid out as SVG bars.

    Each day is counted up to `limit` (by default DAY_COUNT_LIMIT; a bar and its label then say
    "`limit`+"), in one query whose cost does not grow with the orders
    (orders.selectors.orders_created_per_range).
    """
    limit = DAY_COUNT_LIMIT if limit is None else limit
    now = now or timezone.now()
    today = timezone.localdate(now)
    first = today - timedelta(days=days - 1)
    tz = timezone.get_current_timezone()
    # Local midnights, each made aware on its own so that days across a DST change are right.
    midnights = [
        timezone.make_aware(datetime.combine(first + timedelta(days=i), datetime.min.time()), tz)
        for i in range(days + 1)
    ]
    counted = orders_created_per_range(list(pairwise(midnights)), limit=limit)
    counts = [min(n, limit) for n in counted]
    maximum = max(counts, default=0)
    slot = width / days
    bar_width = max(1.0, slot * 0.8)
    bars = []
    for index, count in enumerate(counts):
        day = first + timedelta(days=index)
        capped = counted[index] > limit
        # The top 14 units stay free for the count above the highest bar.
        bar_height = (height - 14) * count / maximum if maximum else 0
        shown = (
            f"more than {count} orders" if capped else f"{count} order{'s' if count != 1 else ''}"
        )
        bars.append(
            Bar(
                day=day,
                count=count,
                capped=capped,
                x=round(index * slot + (slot - bar_width) / 2, 2),
                y=round(height - bar_height, 2),
                height=round(bar_height, 2),
                label=f"{date_format(day, 'SHORT_DATE_FORMAT')}: {shown}",
            )
        )
    return DailyChart(
        bars=bars,
        maximum=maximum,
        total=sum(counts),
        width=width,
        height=height,
        bar_width=round(bar_width, 2),
        limit=limit,
        capped=any(bar.capped for bar in bars),
    )

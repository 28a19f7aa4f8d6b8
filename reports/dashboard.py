"""The home page's dashboard: a status strip per account and the orders imported per day.

Reads only, and no call to Amazon: the page must stay fast and work when Amazon does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from django.db.models import Count, Q
from django.utils import timezone

from amazon_settings.models import SellerAccount
from amazon_settings.selectors import ConnectionStatus, connection_status
from orders.selectors import orders_per_range
from reports import coverage
from reports.catalog import ReportKind, kinds_for_region
from reports.charts import DailyChart, daily_bars
from reports.diagnosis.results import OK, WARNING
from reports.models import Report
from reports.selectors import REPORT_LOOK_BACK, accounts_last_imports, worker_stale_after

Status = Report.ImportStatus

# Each day is counted up to this many orders, so that the chart's one query reads a bounded
# number of index entries however many orders a day holds (a first import can bring a million
# in one day); a day with more shows "10000+". Few sellers import more on an ordinary day.
DAY_COUNT_LIMIT = 10_000


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


def orders_per_day(
    *,
    days: int = 30,
    now: datetime | None = None,
    width: float = 1000,
    height: float = 100,
    limit: int | None = None,
    by: str = "purchased",
) -> DailyChart:
    """Orders per (local) day over the last `days` days, laid out as SVG bars: by purchase
    date (`by="purchased"`, what the seller sold that day) or by the day they were imported
    (`by="imported"`).

    Each day is counted up to `limit` (by default DAY_COUNT_LIMIT; a bar and its label then say
    "`limit`+"), in one query whose cost does not grow with the orders
    (orders.selectors.orders_per_range).
    """
    limit = DAY_COUNT_LIMIT if limit is None else limit
    now = now or timezone.now()
    first = timezone.localdate(now) - timedelta(days=days - 1)
    tz = timezone.get_current_timezone()
    # Local midnights, each made aware on its own so that days across a DST change are right.
    midnights = [
        timezone.make_aware(datetime.combine(first + timedelta(days=i), datetime.min.time()), tz)
        for i in range(days + 1)
    ]
    counted = orders_per_range(list(pairwise(midnights)), limit=limit, by=by)
    return daily_bars(first, counted, limit=limit, width=width, height=height)

"""Reads of the reports pipeline that are more than a filter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max, QuerySet

from amazon_settings.models import SellerAccount
from reports import coverage
from reports.catalog import BY_KEY, kind_for_report_type
from reports.models import Report, WorkerHeartbeat

# How far back the pages look for reports that did not finish.
REPORT_LOOK_BACK = timedelta(days=30)


def worker_last_seen() -> datetime | None:
    heartbeat = WorkerHeartbeat.objects.filter(name=WorkerHeartbeat.WORKER).first()
    return heartbeat.last_seen_at if heartbeat else None


def report_list(
    *,
    account: SellerAccount | None = None,
    report_types: list[str] | None = None,
    import_status: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Report]:
    """Reports for the Processing page, newest first, with what each row shows."""
    reports = Report.objects.select_related("account", "requested_by")
    if account is not None:
        reports = reports.filter(account=account)
    if report_types:
        reports = reports.filter(report_type__in=report_types)
    if import_status == "unfinished":
        reports = reports.filter(import_status__in=Report.UNFINISHED)
    elif import_status:
        reports = reports.filter(import_status=import_status)
    if since is not None:
        reports = reports.filter(created_at__gte=since)
    if until is not None:
        reports = reports.filter(created_at__lt=until)
    return reports.order_by("-created_at", "-pk")


def worker_stale_after() -> timedelta:
    return max(timedelta(seconds=2 * settings.WORKER_INTERVAL_SECONDS), timedelta(minutes=3))


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
        kind = BY_KEY.get(kind_key(row["report_type"]) or "")
        key = kind.key if kind else row["report_type"]
        moment = row["last"] or row["updated"]
        imported = result[row["account_id"]]
        if key not in imported or moment > imported[key]:
            imported[key] = moment
    return result


def kind_key(report_type: str) -> str | None:
    kind = kind_for_report_type(report_type)
    return kind.key if kind else None

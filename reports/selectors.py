"""Reads of the reports pipeline that are more than a filter."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from amazon_settings.models import SellerAccount
from reports.models import Report, WorkerHeartbeat
from reports.services import HEARTBEAT_NAME


def worker_last_seen() -> datetime | None:
    heartbeat = WorkerHeartbeat.objects.filter(name=HEARTBEAT_NAME).first()
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

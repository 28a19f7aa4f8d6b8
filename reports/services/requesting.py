"""Asking Amazon for reports: what a seller requests, what the worker requests on its own to keep
orders flowing and their statuses true, the gaps the diagnosis page offers to fill, and since
when orders are imported.

Requests only create reports in QUEUED; the worker sends them (`reports.services.pipeline`).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from amazon_settings.exceptions import AccountNotConnected
from amazon_settings.models import SellerAccount
from reports import coverage
from reports.catalog import BY_KEY, ReportKind, status_kind
from reports.exceptions import InvalidReportRequest
from reports.models import Report
from reports.services import transitions
from reports.services.transitions import poll_interval, register_report

logger = logging.getLogger(__name__)

Status = Report.ImportStatus
Amazon = Report.AmazonStatus

# Amazon lists reports for 90 days; a finished report older than that cannot be reused.
AMAZON_RETENTION = timedelta(days=90)


def split_range(
    kind: ReportKind, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Consecutive ranges no longer than one request of `kind` may cover."""
    if kind.max_range is None:
        return [(start, end)]
    ranges = []
    cursor = start
    while cursor < end:
        stop = min(cursor + kind.max_range, end)
        ranges.append((cursor, stop))
        cursor = stop
    return ranges


def validate_request(
    account: SellerAccount, *, kind: ReportKind, start: datetime, end: datetime, now: datetime
) -> None:
    """Raise InvalidReportRequest with a sentence for the first rule the request breaks."""
    if account.region not in kind.regions:
        raise InvalidReportRequest(
            f"{kind.name} is not available in {account.get_region_display()}.", field="kind"
        )
    if not kind.requestable:
        raise InvalidReportRequest(f"Amazon produces {kind.name} only on a schedule.", field="kind")
    if end <= start:
        raise InvalidReportRequest("The end must be after the start.", field="end")
    if end > now + timedelta(minutes=1):
        raise InvalidReportRequest("The end cannot be in the future.", field="end")
    if start < now - kind.look_back:
        raise InvalidReportRequest(
            f"Amazon keeps {kind.name} data for {kind.look_back.days} days; "
            f"start on or after {(now - kind.look_back):%Y-%m-%d}.",
            field="start",
        )


def request_reports(
    account: SellerAccount,
    *,
    kind_key: str,
    marketplace_ids: list[str],
    start: datetime,
    end: datetime,
    acting_user: AbstractBaseUser | None,
    source: str = Report.Source.REQUESTED,
) -> list[Report]:
    """Create the reports for a range, split into requests Amazon accepts; the worker sends them.

    An identical report that is still pending, or one Amazon already finished for the same type
    and range, is reused instead of asking again. Returns the reports, reused ones included.
    Raises InvalidReportRequest, AccountNotConnected.
    """
    kind = BY_KEY[kind_key]
    now = timezone.now()
    if not account.has_token:
        raise AccountNotConnected(
            f"{account.display_name} is not connected to Amazon. Renew access in Settings."
        )
    validate_request(account, kind=kind, start=start, end=end, now=now)
    marketplaces = sorted(marketplace_ids)
    batch = secrets.token_hex(8)
    reports = []
    with transaction.atomic():
        for part_start, part_end in split_range(kind, start, end):
            existing = _reusable_report(
                account,
                kind=kind,
                marketplaces=marketplaces,
                start=part_start,
                end=part_end,
                now=now,
            )
            if existing is not None:
                reports.append(existing)
                continue
            report = Report(
                account=account,
                report_type=kind.report_type,
                marketplace_ids=marketplaces,
                data_start=None if kind.ignores_range else part_start,
                data_end=None if kind.ignores_range else part_end,
                source=source,
                requested_by=acting_user if getattr(acting_user, "pk", None) else None,
                batch=batch,
                next_attempt_at=now,
            )
            register_report(report, message="Requested; the worker sends it to Amazon.")
            reports.append(report)
        new_ids = [r.pk for r in reports if r.batch == batch]
        transaction.on_commit(lambda: transitions.enqueue_reports(new_ids))
    return reports


def _reusable_report(
    account: SellerAccount,
    *,
    kind: ReportKind,
    marketplaces: list[str],
    start: datetime,
    end: datetime,
    now: datetime,
) -> Report | None:
    candidates = Report.objects.filter(account=account, report_type__in=kind.all_report_types)
    if not kind.ignores_range:
        candidates = candidates.filter(data_start=start, data_end=end)
    # JSON equality is not portable across databases; the candidates are few, compare here.
    same = [
        r for r in candidates.order_by("-created_at") if sorted(r.marketplace_ids) == marketplaces
    ]
    pending = next((r for r in same if r.import_status in Report.UNFINISHED), None)
    if pending is not None or kind.ignores_range:
        return pending  # a snapshot is only worth reusing while it is being made
    finished = [
        r
        for r in same
        if r.amazon_status == Amazon.DONE
        and r.amazon_created_at is not None
        and r.amazon_created_at >= now - AMAZON_RETENTION
        # A failed, skipped or cancelled report is what the seller asks again for.
        and r.import_status not in (Status.SKIPPED, Status.CANCELLED, Status.FAILED)
    ]
    return max(finished, key=lambda r: r.amazon_created_at, default=None)


def request_automatic_reports(account: SellerAccount) -> list[Report]:
    """Keep orders flowing without manual requests, and fill what is missing.

    For each order report of the account's region, every gap since the account's import start
    date (`reports.coverage.import_start`: its "import orders from" date, by default 30 days
    before it was connected) is requested: the whole range for a newly connected account, a
    hole left by a lapsed authorization once it is renewed, and the time since the last covered
    moment once it is longer than the report's cadence. Imported, pending and recently failed
    reports count as covering their range. Each range starts an overlap earlier, so nothing
    falls between two reports (the upserts make the overlap harmless). Idempotent: the requested
    reports are pending, so a second call finds nothing to request.

    The status report (`catalog.status_kind`) is requested alike, so that cancellations and
    status changes of imported orders arrive on the same cadence, but only while none of it is
    on its way (`_request_status_changes`)."""
    now = timezone.now()
    created: list[Report] = []
    marketplace_ids = account.marketplaces.selected_ids()
    if not marketplace_ids:
        return created
    for kind in coverage.order_kinds(account):
        created += _request_missing(account, kind=kind, marketplace_ids=marketplace_ids, now=now)
    status = status_kind(account.region)
    if status is not None:
        created += _request_status_changes(
            account, kind=status, marketplace_ids=marketplace_ids, now=now
        )
    return created


def _request_missing(
    account: SellerAccount, *, kind: ReportKind, marketplace_ids: list[str], now: datetime
) -> list[Report]:
    """The automatic requests of one report type: each range `ranges_to_request` finds, an
    overlap earlier."""
    overlap = timedelta(seconds=settings.AUTOMATIC_IMPORT_OVERLAP_SECONDS)
    floor = max(coverage.import_start(account), coverage.requestable_since(kind, now=now))
    min_tail = min(kind.expected_interval, _automatic_interval())
    created = []
    for start, end in coverage.ranges_to_request(account, kind, now=now, min_tail=min_tail):
        created += request_reports(
            account,
            kind_key=kind.key,
            marketplace_ids=marketplace_ids,
            start=max(start - overlap, floor),
            end=end,
            acting_user=None,
            source=Report.Source.AUTOMATIC,
        )
    return created


def _request_status_changes(
    account: SellerAccount, *, kind: ReportKind, marketplace_ids: list[str], now: datetime
) -> list[Report]:
    """The next status reports: the first covers the time since the import start date, each
    later one starts where the last one ended (an overlap earlier) and ends now, once that is
    longer than the cadence. Nothing while a status report is on its way: Amazon may take its
    time, and ranges must not pile up behind it (the next one then starts where it ended)."""
    on_its_way = Report.objects.filter(
        account=account,
        report_type__in=kind.all_report_types,
        import_status__in=Report.UNFINISHED,
    ).exists()
    if on_its_way:
        return []
    return _request_missing(account, kind=kind, marketplace_ids=marketplace_ids, now=now)


def _automatic_interval() -> timedelta:
    return max(poll_interval(), timedelta(seconds=60))


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
    marketplace_ids = account.marketplaces.selected_ids()
    if not marketplace_ids:
        raise InvalidReportRequest(
            f"No marketplace of {account.display_name} is selected for import: tick them in "
            "Settings."
        )
    return request_reports(
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
    logger.info(
        "Orders of %s are imported from %s, set by %s",
        account,
        start.isoformat(),
        getattr(acting_user, "pk", None),
    )
    return account

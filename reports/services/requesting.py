"""Asking Amazon for reports: what a seller requests, what the worker requests on its own to keep
orders flowing and their statuses true, the gaps the diagnosis page offers to fill, and since
when orders are imported.

Requests only create reports in QUEUED; the worker sends them (`reports.services.pipeline`).
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amazon_settings import services as account_services
from amazon_settings.exceptions import AccountNotConnected
from amazon_settings.models import SellerAccount
from amazon_settings.spapi import SpApiError
from core.templatetags.moments import day
from reports import coverage
from reports import stored_texts as texts
from reports.catalog import BY_KEY, ReportKind, automatic_kinds, order_kinds_look_back
from reports.exceptions import InvalidReportRequest
from reports.models import Report, ReportCadence
from reports.services import cadences, transitions
from reports.services.transitions import poll_interval, register_report

logger = logging.getLogger(__name__)

Status = Report.ImportStatus
Amazon = Report.AmazonStatus

# Amazon lists reports for 90 days; a finished report older than that cannot be reused.
AMAZON_RETENTION = timedelta(days=90)
# A type that is off, or needed for no marketplace, is looked at again this often (a change in
# Settings makes it due at once).
IDLE_RECHECK = timedelta(hours=1)


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
            _("%(kind)s is not available in %(region)s.")
            % {"kind": kind.name, "region": account.get_region_display()},
            field="kind",
        )
    if not kind.requestable:
        raise InvalidReportRequest(
            _("Amazon produces %(kind)s only on a schedule.") % {"kind": kind.name}, field="kind"
        )
    if end <= start:
        raise InvalidReportRequest(_("The end must be after the start."), field="end")
    if end > now + timedelta(minutes=1):
        raise InvalidReportRequest(_("The end cannot be in the future."), field="end")
    if start < now - kind.look_back:
        raise InvalidReportRequest(
            _("Amazon keeps %(kind)s data for %(days)s days; start on or after %(day)s.")
            % {
                "kind": kind.name,
                "days": kind.look_back.days,
                "day": day(timezone.localtime(now - kind.look_back).date()),
            },
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
            _("%(account)s is not connected to Amazon. Renew access in Settings.")
            % {"account": account.display_name}
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
            register_report(report, message=texts.REQUESTED)
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


def request_automatic_reports(
    account: SellerAccount, *, now: datetime | None = None
) -> list[Report]:
    """Keep every report type of the account flowing on its cadence, without manual requests,
    and fill what is missing. Makes no call to Amazon: the requests are created QUEUED and
    handed to workers when the transaction commits.

    For each type whose cadence is due (`cadences.due_cadences`, taken with `claim_cadence` so
    that two worker passes at once never both request it):

    - nothing while a report of the same account, type and marketplaces is still on its way
      (or held for the seller): Amazon may take its time, and requests must not pile up behind
      it (nor inside an FBA regeneration window);
    - a type without a range (stock) is requested once per cadence;
    - a type with a range is requested for what no report claims since the import start date
      (`coverage.unclaimed_ranges`): the time since the last report once it is as long as the
      cadence, else the newest older gap (a new account's history, a hole left by a lapsed
      authorization, an earlier import start date), newest first so that today's orders come
      first, one request at a time and an overlap earlier (the upserts make it harmless);
    - a type Amazon makes on our schedule (`cadences.sync_amazon_schedule`, run by the worker)
      gets the history requested alike, but the time since the last report only when the
      schedule has not delivered for two periods: the schedule's reports are found by
      discovery.

    The status report (the catalogue's `tracks_statuses` type) is one of these types, so its
    ranges are chained one at a time. Idempotent: a second call finds the requested reports
    pending.
    """
    now = now or timezone.now()
    cadences.ensure_cadences(account, now=now)
    created: list[Report] = []
    for cadence in cadences.due_cadences(now=now, account=account):
        if cadences.claim_cadence(cadence, now=now):
            created += _request_claimed(cadence, now=now)
    return created


def request_due_types(
    *, now: datetime | None = None, limit: int | None = None, until: float | None = None
) -> list[Report]:
    """The worker's part of `request_automatic_reports`, for every account with order import on
    that it may call Amazon for, and only for the types that are due: a pass over idle
    accounts costs one query. For a type Amazon lets schedule, the Amazon-side schedule is
    first made to match the cadence (`cadences.sync_amazon_schedule`, a call to Amazon when it
    changed). Errors of one account are logged and leave the others alone. At most `limit`
    accounts, and none once `until` (time.monotonic) has passed: the types left over stay due
    for the next pass."""
    now = now or timezone.now()
    created: list[Report] = []
    accounts: set[int] = set()
    for cadence in cadences.due_cadences(now=now):
        if cadence.account_id not in accounts:
            if (limit is not None and len(accounts) >= limit) or (
                until is not None and time.monotonic() >= until
            ):
                break
            accounts.add(cadence.account_id)
        if not cadences.claim_cadence(cadence, now=now):
            continue
        kind = BY_KEY.get(cadence.kind)
        try:
            at = now
            if kind is not None and kind.schedulable:
                cadences.sync_amazon_schedule(
                    cadence,
                    kind=kind,
                    marketplaces=cadences.marketplaces_for(cadence.account, kind),
                )
                # A request now ends after the schedule began, so nothing falls between them.
                at = timezone.now()
            created += _request_claimed(cadence, now=at)
        except (SpApiError, AccountNotConnected, InvalidReportRequest) as error:
            logger.warning(
                "Automatic request of %s for %s stopped: %s", cadence.kind, cadence.account, error
            )
            cadences.reschedule(cadence, next_request_at=now + poll_interval())
    return created


def _request_claimed(cadence: ReportCadence, *, now: datetime) -> list[Report]:
    """The automatic request of one due type this pass has claimed (see
    `request_automatic_reports`). Returns the reports created."""
    account = cadence.account
    kind = BY_KEY.get(cadence.kind)
    interval = cadences.effective_interval(cadence, kind) if kind is not None else None
    marketplaces = cadences.marketplaces_for(account, kind) if interval is not None else []
    if kind is None or account.region not in kind.regions or interval is None or not marketplaces:
        # Off, or nothing to import it for: looked at again when the seller changes that.
        cadences.reschedule(cadence, next_request_at=now + IDLE_RECHECK)
        return []
    if _on_its_way(account, kind=kind, marketplaces=marketplaces):
        cadences.reschedule(cadence, next_request_at=now + poll_interval())
        return []
    if kind.ignores_range:
        # A snapshot: Amazon ignores the range, the request needs one all the same.
        wanted: tuple[datetime, datetime] | None = (now - interval, now)
        next_at = now + interval
    else:
        since = cadence.amazon_schedule_created_at if cadence.amazon_schedule_id else None
        # A type Amazon makes on our schedule: the schedule brings the time since the last
        # report; after two periods without one (and two passes to find it), it is requested.
        min_tail = 2 * interval + 2 * poll_interval() if since else interval
        wanted, gap, next_at = _next_range(account, kind=kind, min_tail=min_tail, now=now)
        if since is not None and gap is not None and gap[1] >= now and gap[0] >= since:
            # Nothing came since the schedule was made: it stopped (cancelled in Seller
            # Central, or replaced by another tool's), so the next pass makes it again (Amazon
            # replaces a schedule of the same type and marketplaces).
            cadences.forget_amazon_schedule(cadence)
    created: list[Report] = []
    with transaction.atomic():
        if wanted is not None:
            created = request_reports(
                account,
                kind_key=kind.key,
                marketplace_ids=marketplaces,
                start=wanted[0],
                end=wanted[1],
                acting_user=None,
                source=Report.Source.AUTOMATIC,
            )
        cadences.reschedule(cadence, next_request_at=next_at, requested_at=now if created else None)
    return created


def _on_its_way(account: SellerAccount, *, kind: ReportKind, marketplaces: list[str]) -> bool:
    """Whether a report of the type and marketplaces is on its way, or held for the seller."""
    waiting = Report.objects.filter(
        account=account,
        report_type__in=kind.all_report_types,
        import_status__in=(*Report.UNFINISHED, Status.HELD),
    ).values_list("marketplace_ids", flat=True)
    # JSON equality is not portable across databases; the candidates are few, compare here.
    return any(sorted(ids) == marketplaces for ids in waiting)


def _next_range(
    account: SellerAccount, *, kind: ReportKind, min_tail: timedelta, now: datetime
) -> tuple[tuple[datetime, datetime] | None, tuple[datetime, datetime] | None, datetime]:
    """The range to request now (or None), the unclaimed range it is taken from, and when to
    look again.

    The tail (time since the last report) comes first once it is `min_tail` long; otherwise the
    newest part of the newest older gap, no longer than one request may cover. A range starts
    an overlap before its gap, never before the type's automatic start.
    """
    overlap = timedelta(seconds=settings.AUTOMATIC_IMPORT_OVERLAP_SECONDS)
    since = automatic_start(account, kind=kind, now=now)
    floor = max(since, coverage.requestable_since(kind, now=now))
    missing = coverage.unclaimed_ranges(account, kind, now=now, since=since)
    tail = missing[-1] if missing and missing[-1][1] >= now else None
    older = [r for r in missing if r is not tail]
    if tail is not None and tail[1] - tail[0] >= min_tail:
        gap = tail
    elif older:
        gap = older[-1]
    else:
        # Nothing due: look again when the tail will be as long as the cadence.
        return None, None, (tail[0] if tail else now) + min_tail
    start, end = max(gap[0] - overlap, floor), gap[1]
    if kind.max_range is not None and end - start > kind.max_range:
        # The newest of equal parts that one request each may cover (equal, so that no
        # sliver of a few seconds is left for a request of its own).
        parts = math.ceil((end - start) / kind.max_range)
        start = end - (end - start) / parts
    # More history may be missing: looked at again at the next pass, once this one is in.
    return (start, end), gap, now + poll_interval()


def automatic_start(account: SellerAccount, *, kind: ReportKind, now: datetime) -> datetime:
    """Since when the worker imports the type by itself: the account's import start date, for
    the invoice reports at most `automatic_back` before now."""
    start = coverage.import_start(account)
    if kind.automatic_back is not None:
        start = max(start, now - kind.automatic_back)
    return start


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
        raise InvalidReportRequest(_("Choose a report type that can be requested."))
    now = timezone.now()
    end = min(end, now)
    start = max(start, coverage.requestable_since(kind, now=now))
    if end <= start:
        raise InvalidReportRequest(
            _(
                "Amazon keeps %(kind)s data for %(days)s days: nothing of this range can be "
                "requested any more."
            )
            % {"kind": kind.name, "days": kind.look_back.days}
        )
    marketplace_ids = account.marketplaces.selected_ids()
    if not marketplace_ids:
        raise InvalidReportRequest(
            _("No marketplace of %(account)s is selected for import: tick them in Settings.")
            % {"account": account.display_name}
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
    worker fills at its next pass (with order import on) or that the diagnosis page offers to
    request."""
    now = timezone.now()
    if start > now:
        raise InvalidReportRequest(_("The import start date cannot be in the future."))
    account.import_orders_from = start
    account.save(update_fields=["import_orders_from"])
    # The types with a range look for the new gap at once rather than at their next cadence.
    ranged = [k.key for k in automatic_kinds(account.region) if not k.ignores_range]
    ReportCadence.objects.filter(account=account, kind__in=ranged).update(next_request_at=now)
    logger.info(
        "Orders of %s are imported from %s, set by %s",
        account,
        start.isoformat(),
        getattr(acting_user, "pk", None),
    )
    return account


def earliest_import_start(account: SellerAccount, *, now: datetime | None = None) -> datetime:
    """The earliest moment whose orders Amazon still gives in a report of the account's region:
    as far back as its order report that reaches furthest (the FBA shipments report, 18 months
    in Seller Central's help on it; the MFN order report only 60 days, Amazon's report type
    values)."""
    now = now or timezone.now()
    return now - order_kinds_look_back(account.region) + coverage.LOOK_BACK_MARGIN


def first_import_day(account: SellerAccount, *, now: datetime | None = None) -> date:
    """The first whole day, in the seller's time zone, that Amazon still keeps the orders of:
    the day after the one `earliest_import_start` falls on. The look-back counts in hours from
    the moment of the request, so late in the evening the first whole day is one later than at
    noon (and a daylight saving change 18 months ago moves the hour it turns)."""
    return timezone.localdate(earliest_import_start(account, now=now)) + timedelta(days=1)


def start_order_import(
    account: SellerAccount, *, start: datetime, acting_user: AbstractBaseUser | None
) -> list[Report]:
    """What connecting an account ends with: import its orders since `start` from now on,
    without further clicks. Sets the import start date, switches order import on, and requests
    at once what every report type's cadence makes due (the newest range first), handing the
    requests to workers when the transaction commits. Returns the reports requested.

    Raises InvalidReportRequest (a start in the future) or AccountNotConnected.
    """
    now = timezone.now()
    if start > now:
        raise InvalidReportRequest(
            _("The import start date cannot be in the future."), field="import_orders_from"
        )
    with transaction.atomic():
        set_import_start(account, start=start, acting_user=acting_user)
        account_services.set_order_import(account, active=True)
        cadences.ensure_cadences(account, now=now)
        ReportCadence.objects.filter(account=account).update(next_request_at=now)
        return request_automatic_reports(account, now=now)

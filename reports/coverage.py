"""Which time each order report type has covered for an account, and the gaps in between.

A moment is *covered* for a report type when a report of that type (or its twin) whose range
contains it was imported, or finished without data (Amazon had no orders then: that is an answer
too). Reports still on their way are *pending*. Everything else between the account's import
start date and now is a *gap*: orders placed then may be missing. Ranges are half-open
`[start, end)`; overlapping and adjacent ranges merge.

Reads only, no writes: the worker's `request_automatic_reports` and the diagnosis page both
start from these functions, so they agree on what is missing.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce

from django.db.models import Q
from django.utils import timezone

from amazon_settings.models import SellerAccount
from reports.catalog import ReportKind, kinds_for_region
from reports.models import Report

Range = tuple[datetime, datetime]

Status = Report.ImportStatus

COVERING_STATUSES = (Status.IMPORTED, Status.NO_DATA)
# A range whose report failed is requested again automatically at most this often; the seller
# can request it at once from the diagnosis page.
AUTOMATIC_RETRY_AFTER = timedelta(hours=6)
# Amazon's look-back is counted from the moment it receives the request, a little after ours.
LOOK_BACK_MARGIN = timedelta(hours=1)


def merge_ranges(ranges: Iterable[Range]) -> list[Range]:
    """Sorted, non-overlapping ranges; overlapping and touching ranges become one."""
    merged: list[Range] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def missing_ranges(window: Range, covered: Iterable[Range]) -> list[Range]:
    """The parts of `window` that none of `covered` contains, in order."""
    window_start, window_end = window
    missing = []
    cursor = window_start
    for start, end in merge_ranges(covered):
        if end <= cursor:
            continue
        if start >= window_end:
            break
        if start > cursor:
            missing.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < window_end:
        missing.append((cursor, window_end))
    return missing


def contains(covered: Iterable[Range], target: Range) -> bool:
    """Whether the union of `covered` contains all of `target`."""
    return not missing_ranges(target, covered)


def import_start(account: SellerAccount) -> datetime:
    """Since when the account's orders should be in the dashboard (`SellerAccount.import_start`)."""
    return account.import_start


def order_kinds(account: SellerAccount) -> list[ReportKind]:
    """The order report types of the account's region that can be requested."""
    return [k for k in kinds_for_region(account.region) if k.imports_orders and k.requestable]


def requestable_since(kind: ReportKind, *, now: datetime) -> datetime:
    """The earliest start Amazon still accepts for `kind` (its look-back, with a margin)."""
    return now - kind.look_back + LOOK_BACK_MARGIN


@dataclass(frozen=True)
class Gap:
    """Time no report covers or is working on."""

    start: datetime
    end: datetime
    # Amazon no longer has data before this moment; None when the whole gap is too old.
    requestable_start: datetime | None
    is_tail: bool  # it runs up to now: the time since the last report
    due: bool  # a tail shorter than the report's cadence is not missing anything yet

    @property
    def requestable(self) -> bool:
        return self.requestable_start is not None


@dataclass(frozen=True)
class Segment:
    """One piece of the timeline picture, in percent of its width."""

    state: str  # "covered", "pending" or "gap"
    start: datetime
    end: datetime
    x: float
    width: float
    gap: Gap | None = None


@dataclass(frozen=True)
class KindCoverage:
    kind: ReportKind
    since: datetime
    until: datetime
    covered: list[Range]
    pending: list[Range]
    gaps: list[Gap]
    pending_reports: int
    last_covered_at: datetime | None

    @property
    def due_gaps(self) -> list[Gap]:
        return [gap for gap in self.gaps if gap.due]

    @property
    def covered_percent(self) -> int:
        total = (self.until - self.since).total_seconds()
        if total <= 0:
            return 100
        done = sum(
            (min(e, self.until) - max(s, self.since)).total_seconds() for s, e in self.covered
        )
        return max(0, min(100, int(100 * done / total)))

    def segments(self) -> list[Segment]:
        """The window as consecutive covered / pending / gap pieces, for the SVG timeline."""
        total = (self.until - self.since).total_seconds() or 1.0
        pieces: list[tuple[str, datetime, datetime, Gap | None]] = [
            ("covered", s, e, None) for s, e in self.covered
        ]
        pieces += [("pending", s, e, None) for s, e in self.pending]
        pieces += [("gap", g.start, g.end, g) for g in self.gaps]
        segments = []
        for state, start, end, gap in sorted(pieces, key=lambda p: p[1]):
            x = 100 * (start - self.since).total_seconds() / total
            width = 100 * (end - start).total_seconds() / total
            # A gap of a few minutes is still something to click on.
            segments.append(Segment(state, start, end, round(x, 3), round(max(width, 0.4), 3), gap))
        return segments


def _report_ranges(account: SellerAccount, kind: ReportKind, window: Range) -> list[tuple]:
    return list(
        Report.objects.filter(
            account=account,
            report_type__in=kind.all_report_types,
            data_start__isnull=False,
            data_end__isnull=False,
            data_start__lt=window[1],
            data_end__gt=window[0],
        )
        .order_by()
        .values_list("data_start", "data_end", "import_status", "updated_at")
    )


def kind_coverage(
    account: SellerAccount,
    kind: ReportKind,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
) -> KindCoverage:
    """Covered, pending and missing time of one report type since the import start date."""
    now = now or timezone.now()
    since = min(since or import_start(account), now)
    return _coverage(kind, _report_ranges(account, kind, (since, now)), since=since, now=now)


def _coverage(
    kind: ReportKind, rows: list[tuple], *, since: datetime, now: datetime
) -> KindCoverage:
    """`kind_coverage` from the report ranges that overlap `[since, now)`."""
    window = (since, now)
    covered = merge_ranges(
        (max(s, since), min(e, now)) for s, e, status, _ in rows if status in COVERING_STATUSES
    )
    pending_rows = [(s, e) for s, e, status, _ in rows if status in Report.UNFINISHED]
    in_flight = merge_ranges(pending_rows)
    pending = [
        part for hole in missing_ranges(window, covered) for part in _intersections(hole, in_flight)
    ]
    oldest = requestable_since(kind, now=now)
    gaps = []
    for start, end in missing_ranges(window, covered + pending):
        is_tail = end >= now
        requestable_start = max(start, oldest) if end > oldest else None
        due = not is_tail or end - start >= kind.expected_interval
        gaps.append(Gap(start, end, requestable_start, is_tail, due))
    last = max((e for s, e in covered), default=None)
    return KindCoverage(
        kind=kind,
        since=since,
        until=now,
        covered=covered,
        pending=pending,
        gaps=gaps,
        pending_reports=len(pending_rows),
        last_covered_at=last,
    )


def _intersections(target: Range, ranges: list[Range]) -> list[Range]:
    return [
        (max(target[0], s), min(target[1], e)) for s, e in ranges if s < target[1] and e > target[0]
    ]


def account_coverage(account: SellerAccount, *, now: datetime | None = None) -> list[KindCoverage]:
    """`kind_coverage` for every order report type of the account's region."""
    return accounts_coverage([account], now=now)[account.pk]


def accounts_coverage(
    accounts: Sequence[SellerAccount], *, now: datetime | None = None
) -> dict[int, list[KindCoverage]]:
    """`account_coverage` of each account (by pk), with one query for all of them."""
    now = now or timezone.now()
    since = {account.pk: min(import_start(account), now) for account in accounts}
    kinds = {account.pk: order_kinds(account) for account in accounts}
    wanted = [
        Q(
            account=account,
            report_type__in=sorted(
                {t for kind in kinds[account.pk] for t in kind.all_report_types}
            ),
            data_end__gt=since[account.pk],
        )
        for account in accounts
        if kinds[account.pk]
    ]
    rows: dict[tuple[int, str], list[tuple]] = defaultdict(list)
    if wanted:
        for account_id, report_type, *row in (
            Report.objects.filter(reduce(operator.or_, wanted), data_start__lt=now)
            .order_by()
            .values_list(
                "account_id", "report_type", "data_start", "data_end", "import_status", "updated_at"
            )
        ):
            rows[account_id, report_type].append(tuple(row))
    return {
        account.pk: [
            _coverage(
                kind,
                [row for t in kind.all_report_types for row in rows[account.pk, t]],
                since=since[account.pk],
                now=now,
            )
            for kind in kinds[account.pk]
        ]
        for account in accounts
    }


def unclaimed_ranges(
    account: SellerAccount, kind: ReportKind, *, now: datetime, since: datetime | None = None
) -> list[Range]:
    """Every requestable range of `kind` since the import start date (or the later `since`)
    that no imported, pending, held or recently failed report claims, oldest first; the last
    one runs up to now when time since the last report is unclaimed (the tail)."""
    floor = max(min(import_start(account), now), requestable_since(kind, now=now))
    if since is not None:
        floor = max(floor, since)
    if floor >= now:
        return []
    window = (floor, now)
    rows = _report_ranges(account, kind, window)
    claimed = [
        (s, e)
        for s, e, status, updated_at in rows
        if status in COVERING_STATUSES
        or status in Report.UNFINISHED
        or status == Status.HELD
        or (status == Status.FAILED and updated_at >= now - AUTOMATIC_RETRY_AFTER)
    ]
    return missing_ranges(window, claimed)

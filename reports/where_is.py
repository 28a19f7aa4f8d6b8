"""Where is order X? Why an Amazon order ID the seller knows is not among the imported orders.

Three questions, each answered from what the pipeline kept:

1. Which order reports covered the order's day (or, without a day, the last 60 days), and
   where the coverage has gaps: ranges that no imported, empty or pending report of an order
   kind covers, per account and report kind. A gap is what a new request fills.
2. Whether the ID appears in a stored document of an order report, newest first and bounded
   (MAX_FILES files), with the line number.
3. What the import did with that line: the row error's reason, or the report's own state.

Reads only; the request for a gap goes through `services.request_reports` in the view.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from amazon_settings.models import SellerAccount
from orders.models import Order
from orders.selectors import orders_by_amazon_id
from reports import documents
from reports.catalog import ReportKind
from reports.coverage import missing_ranges, order_kinds
from reports.exceptions import DocumentStorageFailed
from reports.models import Report, ReportRowError
from reports.stored_texts import translate_stored

NO_DATE_WINDOW = timedelta(days=60)
MAX_FILES = 200
MAX_LINES_PER_FILE = 20
_CHUNK = 1024 * 1024

Status = Report.ImportStatus
# A report in one of these states covers its range: imported, finished without data (Amazon had
# no orders then), or still on its way. The same rule as the diagnosis page's coverage.
COVERING = (Status.IMPORTED, Status.NO_DATA, *Report.UNFINISHED)


@dataclass(frozen=True)
class Gap:
    """A stretch of the window that no covering report of `kind` holds, for one account."""

    account: SellerAccount
    kind: ReportKind
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Sighting:
    """The order ID on one line of a stored document, and what the import made of that row."""

    report: Report
    line_number: int  # the line the ID is on (1-based, the header is line 1)
    row_line: int  # the line the importer numbers the row by (XML: the Message's start tag)
    reason: str = ""  # the importer's row error for that row, if any

    @property
    def outcome(self) -> str:
        """What the import made of the row, in the reader's language (the stored reasons
        translated as the report pages translate them)."""
        if self.reason:
            return _("The import skipped this row: %(reason)s") % {
                "reason": translate_stored(self.reason)
            }
        status = self.report.import_status
        if status == Status.IMPORTED:
            return _("The import took this row without an error.")
        if status == Status.FAILED:
            reason = translate_stored(self.report.last_error) or _("no reason recorded")
            return _("The whole report failed: %(reason)s") % {"reason": reason}
        if status == Status.HELD:
            return _("The report is held for confirmation: %(reason)s") % {
                "reason": translate_stored(self.report.last_error)
            }
        if status in Report.UNFINISHED:
            return _("The report is not imported yet.")
        return _("The report was not imported (%(status)s).") % {
            "status": self.report.get_import_status_display()
        }


@dataclass(frozen=True)
class WhereIs:
    amazon_order_id: str
    day: date | None
    window_start: datetime
    window_end: datetime
    orders: list[Order]
    accounts: list[SellerAccount]
    covering: list[Report]
    gaps: list[Gap]
    sightings: list[Sighting] = field(default_factory=list)
    files_searched: int = 0
    files_unreadable: int = 0
    more_files: bool = False  # the search stopped at MAX_FILES files

    @property
    def day_is_a_gap(self) -> bool:
        """With a day: no imported, empty or pending order report covered any of it."""
        return self.day is not None and not any(r.import_status in COVERING for r in self.covering)


def where_is_order(
    *,
    amazon_order_id: str,
    day: date | None = None,
    account: SellerAccount | None = None,
    now: datetime | None = None,
) -> WhereIs:
    """Explain where `amazon_order_id` is (see the module docstring). Reads only.

    The window is the whole `day` in the current time zone, or the last 60 days without one.
    """
    now = now or timezone.now()
    order_id = amazon_order_id.strip()
    if day is not None:
        window_start = timezone.make_aware(datetime.combine(day, time.min))
        window_end = min(window_start + timedelta(days=1), now)
    else:
        window_start, window_end = now - NO_DATE_WINDOW, now
    accounts = [account] if account is not None else list(SellerAccount.objects.order_by("pk"))
    orders = list(orders_by_amazon_id(order_id))
    if account is not None:
        orders = [o for o in orders if o.account_id == account.pk]
    covering, gaps = _coverage(accounts, window_start, window_end)
    result = WhereIs(
        amazon_order_id=order_id,
        day=day,
        window_start=window_start,
        window_end=window_end,
        orders=orders,
        accounts=accounts,
        covering=covering,
        gaps=gaps,
    )
    return _with_sightings(result)


def order_report_types(accounts: list[SellerAccount]) -> list[str]:
    return sorted({t for a in accounts for k in order_kinds(a) for t in k.all_report_types})


def _coverage(
    accounts: list[SellerAccount], start: datetime, end: datetime
) -> tuple[list[Report], list[Gap]]:
    covering = list(
        Report.objects.select_related("account")
        .filter(
            account__in=accounts,
            report_type__in=order_report_types(accounts),
            data_start__lt=end,
            data_end__gt=start,
        )
        .order_by("data_start", "pk")
    )
    gaps = []
    for account in accounts:
        for kind in order_kinds(account):
            ranges = sorted(
                (r.data_start, r.data_end)
                for r in covering
                if r.account_id == account.pk
                and r.report_type in kind.all_report_types
                and r.import_status in COVERING
            )
            gaps += [
                Gap(account=account, kind=kind, start=gap_start, end=gap_end)
                for gap_start, gap_end in missing_ranges((start, end), ranges)
                # Seconds between two reports are rounding, not a gap worth showing.
                if gap_end - gap_start >= timedelta(minutes=1)
            ]
    return covering, gaps


def _with_sightings(result: WhereIs) -> WhereIs:
    """Search the stored documents of the accounts' order reports, newest first."""
    needle = result.amazon_order_id
    if not needle:
        return result
    candidates = list(
        Report.objects.select_related("account")
        .filter(
            account__in=result.accounts,
            report_type__in=order_report_types(result.accounts),
        )
        .filter(~Q(raw_file=""))
        .order_by("-created_at", "-pk")[: MAX_FILES + 1]
    )
    sightings: list[Sighting] = []
    searched = unreadable = 0
    for report in candidates[:MAX_FILES]:
        searched += 1
        try:
            found = _lines_with(report, needle)
        except (OSError, UnicodeDecodeError, DocumentStorageFailed):
            unreadable += 1
            continue
        if not found:
            continue
        reasons = dict(
            ReportRowError.objects.filter(
                report=report,
                kind=ReportRowError.Kind.ERROR,
                line_number__in=[row for _, row in found],
            ).values_list("line_number", "reason")
        )
        sightings += [
            Sighting(report=report, line_number=line, row_line=row, reason=reasons.get(row, ""))
            for line, row in found
        ]
    return replace(
        result,
        sightings=sightings,
        files_searched=searched,
        files_unreadable=unreadable,
        more_files=len(candidates) > MAX_FILES,
    )


def _contains(report: Report, needle: bytes) -> bool:
    """A fast byte scan first: order IDs are ASCII in every charset Amazon uses."""
    overlap = b""
    with documents.open_raw(report) as handle:
        while chunk := handle.read(_CHUNK):
            if needle in overlap + chunk:
                return True
            overlap = chunk[-(len(needle) - 1) :]
    return False


def _lines_with(report: Report, needle: str) -> list[tuple[int, int]]:
    """(line, row line) pairs where `needle` occurs, numbered as the importers number them."""
    if not _contains(report, needle.encode("ascii")):
        return []
    found = []
    row_line = 0
    with documents.open_text(report) as stream:
        xml = False
        for number, line in enumerate(stream, start=1):
            if number == 1:
                xml = line.lstrip("\ufeff \t").startswith("<")
            if not xml:
                row_line = number
            elif "<Message>" in line or "<Message " in line:
                row_line = number
            if needle in line:
                found.append((number, row_line or number))
                if len(found) >= MAX_LINES_PER_FILE:
                    break
    return found

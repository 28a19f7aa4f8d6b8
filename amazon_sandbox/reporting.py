"""Reports, schedules and documents, as the Reports API 2021-06-30 behaves.

No background work: a report's status follows from its timestamps whenever it is read
(`observe`), and due scheduled reports are created when a seller's reports are listed or read
(`materialize_schedules`). The first read after processing ends renders the document once and
stores it, so a document never changes afterwards.

One module on purpose: reports, schedules and documents are one state machine (a schedule
creates reports, a finished report creates its document, retention removes both), and its
rules read best side by side.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction

from amazon_sandbox import clock, faults
from amazon_sandbox.catalog import MARKETPLACES, REPORT_TYPES, DemoSeller, ReportTypeSpec
from amazon_sandbox.errors import ApiError, invalid_input, not_found
from amazon_sandbox.generator import AddedOrders, render_report
from amazon_sandbox.models import (
    REPORT_ID_BASE,
    SCHEDULE_ID_BASE,
    AddedOrderBatch,
    Report,
    ReportDocument,
    ReportSchedule,
    SandboxState,
)

RETENTION = timedelta(days=90)
DOCUMENT_URL_LIFETIME = timedelta(minutes=5)
# How many overdue runs of one schedule are created at once (after a long clock jump); older
# runs are skipped, as a client that was away would only see recent reports anyway.
MAX_SCHEDULE_CATCH_UP = 10

PERIODS: dict[str, timedelta] = {
    "PT5M": timedelta(minutes=5),
    "PT15M": timedelta(minutes=15),
    "PT30M": timedelta(minutes=30),
    "PT1H": timedelta(hours=1),
    "PT2H": timedelta(hours=2),
    "PT4H": timedelta(hours=4),
    "PT8H": timedelta(hours=8),
    "PT12H": timedelta(hours=12),
    "P1D": timedelta(days=1),
    "P2D": timedelta(days=2),
    "P3D": timedelta(days=3),
    "PT84H": timedelta(hours=84),
    "P7D": timedelta(days=7),
    "P14D": timedelta(days=14),
    "P15D": timedelta(days=15),
    "P18D": timedelta(days=18),
    "P30D": timedelta(days=30),
    "P1M": timedelta(days=30),
}

VAT_TRANSACTIONS = "GET_VAT_TRANSACTION_DATA"


class Status:
    IN_QUEUE = "IN_QUEUE"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    CANCELLED = "CANCELLED"
    FATAL = "FATAL"
    ALL = frozenset({IN_QUEUE, IN_PROGRESS, DONE, CANCELLED, FATAL})


@dataclass(frozen=True)
class ReportState:
    """A report as getReport shows it at one moment."""

    report: Report
    status: str
    processing_start: datetime | None
    processing_end: datetime | None

    def as_json(self) -> dict:
        """The Report object of the model (only present fields; Amazon omits absent ones)."""
        report = self.report
        body: dict = {
            "reportId": report.report_id,
            "reportType": report.report_type,
            "marketplaceIds": list(report.marketplace_ids),
            "dataStartTime": iso(report.data_start),
            "dataEndTime": iso(report.data_end),
            "createdTime": iso(report.created_at),
            "processingStatus": self.status,
        }
        if report.schedule_id:
            body["reportScheduleId"] = report.schedule_id
        if self.processing_start:
            body["processingStartTime"] = iso(self.processing_start)
        if self.processing_end:
            body["processingEndTime"] = iso(self.processing_end)
        if report.document_id and self.status in (Status.DONE, Status.FATAL):
            body["reportDocumentId"] = report.document.document_id
        return body


def iso(value: datetime) -> str:
    """Amazon's production timestamp form: `2021-02-24T16:42:19+00:00`."""
    return value.astimezone(UTC).isoformat(timespec="seconds")


def spec_for(report_type: str, *, region: str) -> ReportTypeSpec:
    """The catalogue entry, or InvalidInput for a type Amazon does not know in this region."""
    spec = REPORT_TYPES.get(report_type)
    if spec is None or region not in spec.regions:
        raise invalid_input(f"Invalid reportType: {report_type}.")
    return spec


def check_marketplaces(marketplace_ids: Sequence[str], *, seller: DemoSeller) -> list[str]:
    """The ids, if the seller participates in each one in this region; InvalidInput otherwise."""
    unknown = [
        mid
        for mid in marketplace_ids
        if mid not in seller.marketplace_ids
        or MARKETPLACES.get(mid) is None
        or MARKETPLACES[mid].region != seller.region
    ]
    if unknown:
        raise invalid_input(f"Invalid marketplaceIds: {', '.join(unknown)}.")
    return list(dict.fromkeys(marketplace_ids))


def _fatal_reason(spec: ReportTypeSpec, *, seller: DemoSeller, marketplace_ids, now) -> str:
    if spec.report_type == VAT_TRANSACTIONS and now.day < 3:
        return (
            "The GET_VAT_TRANSACTION_DATA report cannot be requested before the 3rd day of "
            "the month."
        )
    if spec.regeneration_window_seconds:
        since = now - clock.amazon_seconds(spec.regeneration_window_seconds)
        recent = Report.objects.filter(
            selling_partner_id=seller.selling_partner_id,
            region=seller.region,
            report_type=spec.report_type,
            created_at__gte=since,
            fatal_reason="",
            cancelled_at__isnull=True,
        )
        if any(set(r.marketplace_ids) == set(marketplace_ids) for r in recent):
            return (
                "A report with the same report type and marketplaces was generated recently. "
                "Please wait before requesting it again."
            )
    return ""


def create_report(
    seller: DemoSeller,
    *,
    report_type: str,
    marketplace_ids: Sequence[str],
    data_start: datetime,
    data_end: datetime,
    report_options: dict[str, str] | None = None,
    origin: str = Report.Origin.API,
    schedule_id: str = "",
    created_at: datetime | None = None,
) -> Report:
    """Record a report request; validation is the caller's (see `validate_report_request`).

    Armed report faults (stuck/FATAL/CANCELLED) are consumed here; the FBA regeneration window
    and the VAT-before-the-3rd rule are decided now, so the outcome does not depend on when the
    report is first read.
    """
    created_at = created_at or clock.now()
    spec = REPORT_TYPES[report_type]
    return Report.objects.create(
        selling_partner_id=seller.selling_partner_id,
        region=seller.region,
        report_type=report_type,
        marketplace_ids=list(marketplace_ids),
        report_options=report_options or {},
        data_start=data_start,
        data_end=data_end,
        created_at=created_at,
        origin=origin,
        schedule_id=schedule_id,
        queue_seconds=clock.amazon_seconds(settings.SANDBOX_QUEUE_SECONDS).total_seconds(),
        processing_seconds=clock.amazon_seconds(
            settings.SANDBOX_PROCESSING_SECONDS
        ).total_seconds(),
        forced_outcome=faults.take_report_outcome(
            seller=seller.selling_partner_id, region=seller.region, report_type=report_type
        ),
        fatal_reason=_fatal_reason(
            spec, seller=seller, marketplace_ids=marketplace_ids, now=created_at
        ),
    )


def validate_report_request(
    seller: DemoSeller,
    *,
    report_type: str,
    marketplace_ids: Sequence[str],
    data_start: datetime | None,
    data_end: datetime | None,
    now: datetime,
    scheduled: bool = False,
) -> tuple[list[str], datetime, datetime]:
    """Apply createReport's rules; returns (marketplace ids, start, end) or raises ApiError.

    The type must exist in the region and be requestable (or schedulable, for a schedule); every
    marketplace must be the seller's in this region; start <= end <= now; the range must fit
    the type's max_range_days unless the type ignores ranges.
    """
    spec = spec_for(report_type, region=seller.region)
    if scheduled and not spec.schedulable:
        raise invalid_input(f"Report type {report_type} cannot be scheduled.")
    if not scheduled and not spec.requestable:
        if not spec.schedulable:
            # Amazon answers a request for an unrequestable type (settlement) with 429.
            raise ApiError(
                429, "QuotaExceeded", "You exceeded your quota for the requested resource."
            )
        raise invalid_input(f"Report type {report_type} can only be scheduled.")
    mids = check_marketplaces(marketplace_ids, seller=seller)
    end = data_end or now
    start = data_start or (end if data_end else now)
    if end > now or start > now:
        raise invalid_input("dataStartTime and dataEndTime must not be in the future.")
    if start > end:
        raise invalid_input("dataStartTime must be before dataEndTime.")
    if (
        spec.max_range_days
        and not spec.ignores_date_range
        and end - start > timedelta(days=spec.max_range_days)
    ):
        raise invalid_input(
            f"The date range of a {report_type} report must not exceed {spec.max_range_days} days."
        )
    return mids, start, end


def added_orders(*, seller_id: str, region: str) -> list[AddedOrders]:
    """The seller's orders added through the control API, as the generator takes them."""
    return [
        AddedOrders(
            placed_at=b.placed_at,
            count=b.count,
            fulfillment=b.fulfillment,
            marketplace_id=b.marketplace_id or None,
            batch_seed=b.batch_seed,
            cancel_after_seconds=b.cancel_after_seconds,
        )
        for b in AddedOrderBatch.objects.filter(
            selling_partner_id=seller_id, region=region
        ).order_by("pk")
    ]


def _document_id(region: str) -> str:
    suffix = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(14))
    return f"amzn1.tortuga.4.{region}.{uuid.uuid4()}.T{suffix}"


def _new_document(report: Report, *, text: str, charset: str, error: bool) -> ReportDocument:
    # Characters the charset lacks arrive as "?" from Amazon too (lossy at source).
    body = gzip.compress(text.encode(charset, errors="replace"), mtime=0)
    return ReportDocument(
        document_id=_document_id(report.region),
        selling_partner_id=report.selling_partner_id,
        region=report.region,
        report_type=report.report_type,
        body=body,
        charset=charset,
        is_error_document=error,
        created_at=clock.now(),
    )


def with_history(seller: DemoSeller) -> DemoSeller:
    """The seller as this sandbox serves it: with the history chosen by the control API."""
    return dataclasses.replace(seller, history=SandboxState.load().history)


def _finish(report: Report, *, seller: DemoSeller | None, end: datetime) -> None:
    """Decide DONE/CANCELLED/FATAL once and store the document; safe against concurrent reads."""
    document = None
    row_count = None
    if report.forced_outcome == Report.Outcome.CANCELLED:
        status = Status.CANCELLED
    elif report.forced_outcome == Report.Outcome.FATAL or report.fatal_reason:
        status = Status.FATAL
        details = report.fatal_reason or (
            "A client error occurred while processing the report. Please try again."
        )
        document = _new_document(
            report, text=json.dumps({"errorDetails": details}), charset="UTF-8", error=True
        )
    elif seller is None:
        status = Status.FATAL
        document = _new_document(
            report,
            text=json.dumps({"errorDetails": "The seller account no longer exists."}),
            charset="UTF-8",
            error=True,
        )
    else:
        # Rendered outside the write transaction: a large report must not hold SQLite's lock.
        rendered = render_report(
            report.report_type,
            seller=with_history(seller),
            marketplace_ids=report.marketplace_ids,
            data_start=report.data_start,
            data_end=report.data_end,
            now=end,
            added=added_orders(seller_id=report.selling_partner_id, region=report.region),
        )
        row_count = rendered.row_count
        if rendered.row_count == 0:
            status = Status.CANCELLED
        else:
            status = Status.DONE
            spec = REPORT_TYPES[report.report_type]
            charset = spec.eu_charset if report.region == "eu" else spec.na_charset
            document = _new_document(report, text=rendered.text, charset=charset, error=False)
    with transaction.atomic():
        fresh = Report.objects.get(pk=report.pk)
        if fresh.final_status:
            report.refresh_from_db()
            return
        if document is not None:
            document.save()
        fresh.final_status = status
        fresh.row_count = row_count
        fresh.document = document
        fresh.save(update_fields=["final_status", "row_count", "document"])
    report.refresh_from_db()


def observe(report: Report, *, seller: DemoSeller | None, now: datetime) -> ReportState:
    """The report's state at `now`, finishing it (once) if its processing time is over."""
    if report.cancelled_at is not None:
        return ReportState(report, Status.CANCELLED, None, report.cancelled_at)
    start = report.created_at + timedelta(seconds=report.queue_seconds)
    end = start + timedelta(seconds=report.processing_seconds)
    if now < start:
        return ReportState(report, Status.IN_QUEUE, None, None)
    if now < end or report.forced_outcome == Report.Outcome.STUCK:
        return ReportState(report, Status.IN_PROGRESS, start, None)
    if not report.final_status:
        _finish(report, seller=seller, end=end)
    return ReportState(report, report.final_status, start, end)


def cancel_report(report: Report, *, seller: DemoSeller, now: datetime) -> None:
    """Cancel a report that is still IN_QUEUE; InvalidInput for any other status."""
    with transaction.atomic():
        report = Report.objects.get(pk=report.pk)
        state = observe(report, seller=seller, now=now)
        if state.status != Status.IN_QUEUE:
            raise invalid_input(
                f"The report cannot be cancelled because its processingStatus is {state.status}."
            )
        report.cancelled_at = now
        report.final_status = Status.CANCELLED
        report.save(update_fields=["cancelled_at", "final_status"])


def report_for(seller: DemoSeller, report_id: str) -> Report:
    """The seller's report with this id (within retention), or NotFound."""
    try:
        pk = int(report_id) - REPORT_ID_BASE
    except ValueError:
        pk = -1
    report = (
        Report.objects.select_related("document")
        .filter(
            pk=pk,
            selling_partner_id=seller.selling_partner_id,
            region=seller.region,
            created_at__gte=clock.now() - RETENTION,
        )
        .first()
    )
    if report is None:
        raise not_found(f"Report {report_id} not found.")
    return report


def list_reports(
    seller: DemoSeller,
    *,
    report_types: Sequence[str],
    statuses: Sequence[str],
    marketplace_ids: Sequence[str],
    created_since: datetime,
    created_until: datetime,
    now: datetime,
) -> list[ReportState]:
    """The seller's reports matching the filters, newest first (getReports before paging)."""
    materialize_schedules(seller, now=now)
    rows = Report.objects.select_related("document").filter(
        selling_partner_id=seller.selling_partner_id,
        region=seller.region,
        report_type__in=list(report_types),
        created_at__gte=max(created_since, now - RETENTION),
        created_at__lte=created_until,
    )
    states = []
    for report in rows.order_by("-created_at", "-pk"):
        if marketplace_ids and not set(marketplace_ids) & set(report.marketplace_ids):
            continue
        state = observe(report, seller=seller, now=now)
        if statuses and state.status not in statuses:
            continue
        states.append(state)
    return states


def _schedule_family(report_type: str) -> set[str]:
    """The type and its XML/flat twin: only one of them may be scheduled at a time."""
    family = {report_type}
    if report_type.startswith("GET_ORDER_REPORT_DATA_"):
        family.add(report_type.replace("GET_ORDER_", "GET_FLAT_FILE_ORDER_", 1))
    elif report_type.startswith("GET_FLAT_FILE_ORDER_REPORT_DATA_"):
        family.add(report_type.replace("GET_FLAT_FILE_ORDER_", "GET_ORDER_", 1))
    return family


def create_schedule(
    seller: DemoSeller,
    *,
    report_type: str,
    marketplace_ids: Sequence[str],
    period: str,
    report_options: dict[str, str] | None,
    next_creation: datetime | None,
    now: datetime,
) -> ReportSchedule:
    """Create a schedule, cancelling one for the same type (or its XML/flat twin) and
    marketplaces, as Amazon replaces it."""
    step = clock.amazon_seconds(PERIODS[period].total_seconds())
    with transaction.atomic():
        for old in ReportSchedule.objects.filter(
            selling_partner_id=seller.selling_partner_id,
            region=seller.region,
            report_type__in=_schedule_family(report_type),
            cancelled_at__isnull=True,
        ):
            if set(old.marketplace_ids) == set(marketplace_ids):
                old.cancelled_at = now
                old.save(update_fields=["cancelled_at"])
        return ReportSchedule.objects.create(
            selling_partner_id=seller.selling_partner_id,
            region=seller.region,
            report_type=report_type,
            marketplace_ids=list(marketplace_ids),
            report_options=report_options or {},
            period=period,
            next_creation_at=next_creation or now + step,
            created_at=now,
        )


def schedule_for(seller: DemoSeller, schedule_id: str) -> ReportSchedule:
    """The seller's live schedule with this id, or NotFound."""
    try:
        pk = int(schedule_id) - SCHEDULE_ID_BASE
    except ValueError:
        pk = -1
    schedule = ReportSchedule.objects.filter(
        pk=pk,
        selling_partner_id=seller.selling_partner_id,
        region=seller.region,
        cancelled_at__isnull=True,
    ).first()
    if schedule is None:
        raise not_found(f"Report schedule {schedule_id} not found.")
    return schedule


def schedule_json(schedule: ReportSchedule) -> dict:
    """The ReportSchedule object of the model."""
    body = {
        "reportScheduleId": schedule.schedule_id,
        "reportType": schedule.report_type,
        "marketplaceIds": list(schedule.marketplace_ids),
        "period": schedule.period,
        "nextReportCreationTime": iso(schedule.next_creation_at),
    }
    if schedule.report_options:
        body["reportOptions"] = dict(schedule.report_options)
    return body


def materialize_schedules(seller: DemoSeller, *, now: datetime) -> int:
    """Create the reports the seller's schedules were due to create up to `now`; returns how many.

    A scheduled report is created at its due time (so it may already be finished when first
    seen) and covers one period of data before it, capped to the type's max range.
    """
    created = 0
    with transaction.atomic():
        due = ReportSchedule.objects.filter(
            selling_partner_id=seller.selling_partner_id,
            region=seller.region,
            cancelled_at__isnull=True,
            next_creation_at__lte=now,
        )
        for schedule in due:
            period = PERIODS[schedule.period]
            step = clock.amazon_seconds(period.total_seconds())
            runs = int((now - schedule.next_creation_at) / step) + 1
            spec = REPORT_TYPES.get(schedule.report_type)
            span = period
            if spec and spec.max_range_days:
                span = min(span, timedelta(days=spec.max_range_days))
            for k in range(max(0, runs - MAX_SCHEDULE_CATCH_UP), runs):
                at = schedule.next_creation_at + k * step
                create_report(
                    seller,
                    report_type=schedule.report_type,
                    marketplace_ids=schedule.marketplace_ids,
                    data_start=at - span,
                    data_end=at,
                    report_options=schedule.report_options,
                    origin=Report.Origin.SCHEDULE,
                    schedule_id=schedule.schedule_id,
                    created_at=at,
                )
                created += 1
            schedule.next_creation_at += runs * step
            schedule.save(update_fields=["next_creation_at"])
    return created


def document_for(seller: DemoSeller, document_id: str) -> ReportDocument:
    """The seller's document with this id, or NotFound."""
    document = ReportDocument.objects.filter(
        document_id=document_id,
        selling_partner_id=seller.selling_partner_id,
        region=seller.region,
    ).first()
    if document is None:
        raise not_found(f"Report document {document_id} not found.")
    return document


def _signature(document_id: str, amz_date: str, expires: str, encoding: str) -> str:
    message = "\n".join((document_id, amz_date, expires, encoding)).encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


AMZ_DATE = "%Y%m%dT%H%M%SZ"


def document_url(
    document: ReportDocument, *, base_url: str, content_encoding_header: bool, now: datetime
) -> str:
    """A presigned-style URL that the download view accepts for five minutes of sandbox time.

    As S3 since April 2025 the URL asks for `Content-Encoding: identity`, unless the client set
    `enableContentEncodingUrlHeader=true`, which makes the download carry `Content-Encoding: gzip`.
    """
    amz_date = now.strftime(AMZ_DATE)
    expires = str(int(DOCUMENT_URL_LIFETIME.total_seconds()))
    encoding = "gzip" if content_encoding_header else "identity"
    params = {
        "response-content-encoding": encoding,
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": expires,
        "X-Amz-SignedHeaders": "host",
        "X-Amz-Signature": _signature(document.document_id, amz_date, expires, encoding),
    }
    return f"{base_url.rstrip('/')}/documents/{document.document_id}?{urlencode(params)}"


class S3Error(Exception):
    """An S3-style download error: status, Code and Message of the XML body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def check_download(document_id: str, params: dict[str, str], *, now: datetime) -> tuple:
    """The document and the Content-Encoding to send, if the URL is signed and not expired.

    Raises S3Error 403 AccessDenied ("Request has expired") after five minutes, 403
    SignatureDoesNotMatch for an altered URL and 404 NoSuchKey for an unknown document.
    """
    amz_date = params.get("X-Amz-Date", "")
    expires = params.get("X-Amz-Expires", "")
    encoding = params.get("response-content-encoding", "")
    expected = _signature(document_id, amz_date, expires, encoding)
    if not hmac.compare_digest(expected, params.get("X-Amz-Signature", "")):
        raise S3Error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    signed_at = datetime.strptime(amz_date, AMZ_DATE).replace(tzinfo=UTC)
    if now > signed_at + timedelta(seconds=int(expires)):
        raise S3Error(403, "AccessDenied", "Request has expired")
    document = ReportDocument.objects.filter(document_id=document_id).first()
    if document is None:
        raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
    return document, encoding


def served_bytes(document: ReportDocument) -> bytes:
    """The bytes a download sends: the stored gzip, or a truncated or corrupted copy (faults)."""
    body = bytes(document.body)
    if document.corruption == ReportDocument.Corruption.TRUNCATE:
        return body[: len(body) // 2]
    if document.corruption == ReportDocument.Corruption.CORRUPT:
        damaged = bytearray(body)
        middle = len(damaged) // 2
        for i in range(max(10, middle - 8), min(len(damaged) - 8, middle + 8)):
            damaged[i] ^= 0xFF
        # The CRC too, so that even a tiny document fails its check.
        damaged[-8] ^= 0xFF
        return bytes(damaged)
    return body

"""Reports » Request, Reports » Processing, report details, and Amazon's scheduled reports."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from amazon_settings.exceptions import AccountNotConnected, AmazonSettingsError
from amazon_settings.models import SellerAccount
from orders.pagination import LimitedCountPaginator
from reports import documents, schedules_service, selectors, services
from reports.catalog import kind_for_report_type
from reports.exceptions import InvalidReportRequest, ReportActionNotAllowed, ReportsError
from reports.forms import (
    ProcessingFilterForm,
    ReportActionForm,
    ReportRequestForm,
    ScheduleCreateForm,
)
from reports.models import Report

PAGE_SIZE = 50
PREVIEW_ROWS = 200
PREVIEW_CHARS = 256 * 1024

Status = Report.ImportStatus
Amazon = Report.AmazonStatus

IMPORT_TONES = {
    Status.QUEUED: "secondary",
    Status.WAITING: "info",
    Status.DOWNLOADING: "primary",
    Status.IMPORTING: "primary",
    Status.IMPORTED: "success",
    Status.NO_DATA: "light",
    Status.FAILED: "danger",
    Status.CANCELLED: "secondary",
    Status.SKIPPED: "dark",
    Status.HELD: "warning",
}
AMAZON_TONES = {
    Amazon.NONE: "light",
    Amazon.IN_QUEUE: "secondary",
    Amazon.IN_PROGRESS: "info",
    Amazon.DONE: "success",
    Amazon.CANCELLED: "warning",
    Amazon.FATAL: "danger",
}
# The row actions and the service each one calls (looked up at call time).
ACTION_SERVICES = {
    "reset": "reset_report",
    "cancel": "cancel_report",
    "skip": "skip_report",
    "confirm": "confirm_held_report",
}


class ReportUrls:
    """The URLs a Processing row links to, each reversed once per page rather than per row.

    `reverse()` costs about 20 µs and a row links to up to six URLs; reversed in each row they
    were a fifth of the page's rendering. Each is reversed here with a placeholder pk and split
    around it, so the URLconf stays the only place that spells them.
    """

    NAMES = ("detail", "row", "reset", "cancel", "skip", "confirm")
    _PLACEHOLDER = "2147483647"

    def __init__(self) -> None:
        self._parts = {}
        for name in self.NAMES:
            prefix, _, suffix = reverse(f"reports:{name}", args=[self._PLACEHOLDER]).partition(
                self._PLACEHOLDER
            )
            self._parts[name] = (prefix, suffix)

    def for_report(self, pk: int) -> dict[str, str]:
        """Name → URL of the report `pk`, as `reverse(f"reports:{name}", args=[pk])`."""
        return {name: f"{prefix}{pk}{suffix}" for name, (prefix, suffix) in self._parts.items()}


@dataclass(frozen=True)
class ReportRow:
    """What one Processing row (and the details header) shows about a report."""

    report: Report
    kind_name: str
    import_tone: str
    amazon_tone: str
    problem: str
    renew_access: bool
    highlighted: bool
    can_cancel: bool
    can_skip: bool
    can_confirm: bool
    urls: dict[str, str]  # ReportUrls.for_report

    @classmethod
    def of(
        cls, report: Report, *, highlighted: bool = False, urls: ReportUrls | None = None
    ) -> ReportRow:
        """`urls`: a page's ReportUrls, to share between its rows."""
        kind = kind_for_report_type(report.report_type)
        renew_access = report.failure_reason == Report.FailureReason.AUTH
        if renew_access:
            problem = "Amazon denied access: renew access in Settings"
        elif report.import_status == Status.NO_DATA or (
            report.amazon_status == Amazon.CANCELLED and report.import_status != Status.CANCELLED
        ):
            problem = "Amazon found no data in this range"
        elif report.amazon_status == Amazon.FATAL:
            problem = report.last_error or "Amazon could not create this report."
        else:
            problem = report.last_error
        return cls(
            report=report,
            kind_name=kind.name if kind else report.report_type,
            import_tone=IMPORT_TONES.get(report.import_status, "secondary"),
            amazon_tone=AMAZON_TONES.get(report.amazon_status, "light"),
            problem=problem,
            renew_access=renew_access,
            highlighted=highlighted,
            can_cancel=report.import_status == Status.QUEUED
            or (report.import_status == Status.WAITING and report.amazon_status == Amazon.IN_QUEUE),
            can_skip=not report.is_finished or report.import_status in (Status.HELD, Status.FAILED),
            can_confirm=report.import_status == Status.HELD,
            urls=(urls or ReportUrls()).for_report(report.pk),
        )


# --- Reports » Request --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def request_page(request: HttpRequest) -> HttpResponse:
    """The request form; on success the reports are created and Processing shows the batch."""
    form = ReportRequestForm(request.POST or None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        started = timezone.now()
        try:
            reports = services.request_reports(
                data["account"],
                kind_key=data["kind"],
                marketplace_ids=data["marketplace_ids"],
                start=data["start"],
                end=data["end"],
                acting_user=request.user,
            )
        except InvalidReportRequest as error:
            form.add_service_error(error)
        except AccountNotConnected as error:
            form.add_error("account", str(error))
        else:
            created = [report for report in reports if report.created_at >= started]
            messages.success(request, _request_message(len(created), len(reports) - len(created)))
            url = reverse("reports:processing")
            return redirect(f"{url}?batch={created[0].batch}" if created else url)
    return render(
        request,
        "reports/request.html",
        {"form": form, "preview": form.split_preview() if form.is_bound else None},
        status=400 if form.is_bound else 200,
    )


def _request_message(created: int, reused: int) -> str:
    reports = "report" if created == 1 else "reports"
    return (
        f"{created} {reports} created, {reused} reused (the same range was already requested "
        "or made by Amazon). The worker sends new reports to Amazon within minutes."
    )


@require_POST
def request_preview(request: HttpRequest) -> HttpResponse:
    """htmx: how the chosen range will be sent, re-computed whenever the form changes."""
    form = ReportRequestForm(request.POST)
    return render(request, "reports/request.html#preview", {"preview": form.split_preview()})


# --- Reports » Processing -----------------------------------------------------------------------


@require_GET
def processing(request: HttpRequest) -> HttpResponse:
    form = ProcessingFilterForm(request.GET or None)
    filters = form.selector_filters() if form.is_bound else {}
    batch = form.cleaned_data.get("batch", "") if form.is_bound and form.is_valid() else ""
    # No COUNT(*) over every report per page (orders/pagination.py).
    page = LimitedCountPaginator(selectors.report_list(**filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    urls = ReportUrls()
    return render(
        request,
        "reports/processing.html",
        {
            "form": form,
            "page": page,
            "rows": [
                ReportRow.of(r, highlighted=bool(batch) and r.batch == batch, urls=urls)
                for r in page
            ],
            "query": query.urlencode(),
            "next": request.get_full_path(),
        },
    )


@require_GET
def report_row(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx polling: one row, fresh. A finished row answers 286, so htmx stops polling it."""
    report = get_object_or_404(selectors.report_list(), pk=pk)
    if not request.htmx:
        return redirect("reports:detail", pk=report.pk)
    context = {
        "row": ReportRow.of(report, highlighted=request.GET.get("highlight") == "1"),
        "next": request.htmx.current_url_abs_path or reverse("reports:processing"),
    }
    content = render_to_string("reports/processing.html#report-row", context, request=request)
    if report.is_finished:
        return HttpResponseStopPolling(content)
    return HttpResponse(content)


@require_POST
def report_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Reset, cancel, skip or confirm one report through its service; the result is a message."""
    report = get_object_or_404(Report.objects.select_related("account"), pk=pk)
    form = ReportActionForm(request.POST)
    service = getattr(services, ACTION_SERVICES[action])
    try:
        result = service(report, acting_user=request.user)
    except (ReportActionNotAllowed, AmazonSettingsError) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, result.message)
    target = form.cleaned_data["next"] if form.is_valid() else ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("reports:processing")
    return redirect(target)


# --- Report details and the stored document -----------------------------------------------------


@require_GET
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(selectors.report_list(), pk=pk)
    names = {m.marketplace_id: m.name for m in report.account.marketplaces.all()}
    return render(
        request,
        "reports/detail.html",
        {
            "row": ReportRow.of(report),
            "on_detail": True,
            "marketplaces": [names.get(m, m) for m in report.marketplace_ids],
            "events": report.events.all(),
            "row_errors": report.row_errors.all()[:500],
            "row_error_count": report.row_errors.count(),
            "document": _document_preview(report),
            "next": request.get_full_path(),
        },
    )


def _report_with_document(pk: int) -> Report:
    report = get_object_or_404(Report, pk=pk)
    if not report.raw_file or not report.raw_file.storage.exists(report.raw_file.name):
        raise Http404("No document is stored for this report.")
    return report


def _http_charset(charset: str) -> str:
    # "utf-8-sig" is Python's name for UTF-8 with a BOM; the BOM is part of the bytes.
    return "utf-8" if charset.lower() in {"", "utf-8-sig", "utf_8_sig"} else charset


@require_GET
def report_download(request: HttpRequest, pk: int) -> FileResponse:
    """The stored document exactly as Amazon sent it (after decompression), in its charset."""
    report = _report_with_document(pk)
    return FileResponse(
        report.raw_file.open("rb"),
        as_attachment=True,
        filename=f"{report.amazon_report_id or report.pk}-{report.report_type}.txt",
        content_type=f"text/plain; charset={_http_charset(report.raw_charset)}",
    )


@require_GET
def report_raw(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The stored document decoded, shown in the browser as UTF-8 text."""
    report = _report_with_document(pk)

    def chunks() -> Iterator[str]:
        with documents.open_text(report) as stream:
            while chunk := stream.read(64 * 1024):
                yield chunk

    return StreamingHttpResponse(chunks(), content_type="text/plain; charset=utf-8")


def _document_preview(report: Report) -> dict[str, Any] | None:
    """The first rows of the stored document: a table for flat files, raw text for XML."""
    if not report.raw_file:
        return None
    try:
        with documents.open_text(report) as stream:
            head = stream.readline(PREVIEW_CHARS)
            if head.lstrip("\ufeff \t\r\n").startswith("<"):
                text = head + stream.read(PREVIEW_CHARS - len(head))
                return {"xml": text, "truncated": bool(stream.read(1))}
            tabs = "\t" in head or "," not in head
            reader = csv.reader(
                itertools.chain([head], stream),
                delimiter="\t" if tabs else ",",
                quoting=csv.QUOTE_NONE if tabs else csv.QUOTE_MINIMAL,
            )
            header = [name.lstrip("\ufeff") for name in next(reader, [])]
            rows: list[tuple[int, list[str]]] = []
            for values in reader:
                if len(rows) == PREVIEW_ROWS:
                    return {"header": header, "rows": rows, "truncated": True}
                if any(value.strip() for value in values):
                    rows.append((reader.line_num, values + [""] * (len(header) - len(values))))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        return {"error": f"The stored document cannot be shown: {error}"}
    return {"header": header, "rows": rows, "truncated": False}


# --- Data exchange » Reports » Scheduled reports ------------------------------------------------


def _schedule_form(account: SellerAccount, data: Any = None) -> ScheduleCreateForm:
    return ScheduleCreateForm(
        data,
        prefix=f"account-{account.pk}",
        report_types=_schedulable_choices(account),
        marketplaces=list(account.marketplaces.all()),
    )


def _schedulable_choices(account: SellerAccount) -> list[tuple[str, str]]:
    return [
        (report_type, f"{label} · {report_type}")
        for report_type, label in schedules_service.schedulable_report_types(account.region)
    ]


@require_GET
def schedules(request: HttpRequest) -> HttpResponse:
    """Per connected account: Amazon's schedules for the catalogue's types, and a create form."""
    panels = []
    for account in SellerAccount.objects.connected().prefetch_related("marketplaces"):
        names = {m.marketplace_id: m.name for m in account.marketplaces.all()}
        panel: dict[str, Any] = {"account": account, "form": _schedule_form(account)}
        try:
            listed = schedules_service.list_report_schedules(account)
        except AmazonSettingsError as error:
            messages.error(request, f"{account.display_name}: {error}")
            panel["error"] = str(error)
        else:
            panel["schedules"] = [
                {
                    "schedule": schedule,
                    "label": schedules_service.report_type_label(schedule.report_type),
                    "period": schedules_service.PERIOD_LABELS.get(schedule.period, schedule.period),
                    "marketplaces": [names.get(m, m) for m in schedule.marketplace_ids],
                }
                for schedule in listed
            ]
        panels.append(panel)
    return render(request, "reports/schedules.html", {"panels": panels})


def _back_to_schedules(account: SellerAccount) -> HttpResponse:
    return redirect(f"{reverse('reports:schedules')}#account-{account.pk}")


@require_POST
def schedule_create(request: HttpRequest, account_pk: int) -> HttpResponse:
    account = get_object_or_404(SellerAccount, pk=account_pk)
    form = _schedule_form(account, request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))
        return _back_to_schedules(account)
    try:
        schedule_id = schedules_service.create_report_schedule(
            account, acting_user=request.user, **form.cleaned_data
        )
    except (AmazonSettingsError, ReportsError) as error:
        messages.error(request, str(error))
    else:
        data = form.cleaned_data
        messages.success(
            request,
            f"Amazon creates {schedules_service.report_type_label(data['report_type'])} "
            f"{schedules_service.PERIOD_LABELS[data['period']].lower()} "
            f"(schedule {schedule_id}); the worker imports each report it finds.",
        )
    return _back_to_schedules(account)


@require_POST
def schedule_cancel(request: HttpRequest, account_pk: int, schedule_id: str) -> HttpResponse:
    account = get_object_or_404(SellerAccount, pk=account_pk)
    try:
        schedules_service.cancel_report_schedule(
            account, report_schedule_id=schedule_id, acting_user=request.user
        )
    except AmazonSettingsError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Schedule {schedule_id} is cancelled on Amazon.")
    return _back_to_schedules(account)
